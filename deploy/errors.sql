-- Deploy animus:errors to pg
-- requires: roles

BEGIN;

-- The one table of the project's SQLSTATEs. Class ZA is animus' own (SQL reserves classes
-- starting with I-Z for implementations; PostgreSQL uses none starting with Z).
--   ZA0xx  arguments and setup        ZA1xx  work queue
--   ZA2xx  memory                     ZA3xx  privileges and configuration
-- Each change that raises a new code adds its row here; docs/errors.md mirrors this table and a
-- test keeps the two equal.
CREATE TABLE animus.error_codes (
    sqlstate  char(5) PRIMARY KEY CHECK (sqlstate ~ '^ZA[0-9A-Z]{3}$'),
    name      text NOT NULL UNIQUE CHECK (name ~ '^[a-z_]+$'),
    meaning   text NOT NULL,
    hint      text NOT NULL
);
COMMENT ON TABLE animus.error_codes IS 'SQLSTATEs raised by animus (class ZA): code, condition name, meaning, what to do.';

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA001', 'null_argument',        'A required argument is NULL or empty.',                         'Pass a non-empty value for the named argument.'),
    ('ZA002', 'argument_out_of_range','A numeric argument is outside its documented range.',           'Use a value inside the range given in the message.'),
    ('ZA003', 'invalid_json_argument','A jsonb argument has the wrong shape (e.g. not an object).',    'Pass a JSON object of the documented shape.'),
    ('ZA004', 'invalid_option',       'A text option is not one of its documented values.',            'Use one of the values listed in the message.'),
    ('ZA010', 'extension_missing',    'pgvector or pgmq is not available on the server.',              'Install the extension on the server, then deploy again.'),
    ('ZA011', 'extension_too_old',    'An installed extension is older than animus needs.',            'ALTER EXTENSION ... UPDATE after installing a newer version.');

GRANT SELECT ON animus.error_codes TO animus_producer, animus_worker, animus_memory_reader, animus_admin;

COMMIT;
