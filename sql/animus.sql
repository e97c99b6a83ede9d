-- animus single-file install, generated from sqitch.plan by tools/gen_install.py: do not edit.
-- Prefer `sqitch deploy` (it records what is deployed and can revert); this file is for servers
-- where Sqitch is not available. Variables: embedding_dim (default 1536), embedding_model.
\set ON_ERROR_STOP on
\if :{?embedding_dim}
\else
\set embedding_dim 1536
\endif
\if :{?embedding_model}
\else
\set embedding_model unspecified
\endif
BEGIN;

-- ==== change schema (deploy/schema.sql) ====
-- Deploy animus:schema to pg

CREATE SCHEMA animus;
COMMENT ON SCHEMA animus IS 'animus: work queue with structural dedup, semantic memory, telemetry context. Functions are executable only by the animus_* roles.';

-- Functions created in schema animus by the deploying role are not executable by PUBLIC:
-- every function is granted to named roles right after it is created.
ALTER DEFAULT PRIVILEGES IN SCHEMA animus REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA animus FROM PUBLIC;

-- ==== change extensions (deploy/extensions.sql) ====
-- Deploy animus:extensions to pg
-- requires: schema

-- Which of the two extensions this deployment created, so that a revert never drops an
-- extension (and its queues) that the database already had.
CREATE TABLE animus.installed_extensions (
    extname     name PRIMARY KEY,
    created     boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.installed_extensions IS 'Extensions animus needs, and whether its deploy created them (revert drops only those).';

DO $$
DECLARE
    req record;
    installed text;
BEGIN
    FOR req IN SELECT * FROM (VALUES ('vector', '0.7.0', 'pgvector'), ('pgmq', '1.5.0', 'pgmq'))
               AS r(extname, min_version, project)
    LOOP
        SELECT extversion INTO installed FROM pg_catalog.pg_extension WHERE extname = req.extname;
        IF installed IS NULL THEN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions
                           WHERE name = req.extname
                             AND string_to_array(version, '.')::int[] >= string_to_array(req.min_version, '.')::int[]) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA010',
                    MESSAGE = format('extension "%s" (%s >= %s) is not available on this server', req.extname, req.project, req.min_version),
                    DETAIL  = format('available versions: %s', coalesce((SELECT string_agg(version, ', ') FROM pg_catalog.pg_available_extension_versions WHERE name = req.extname), 'none')),
                    HINT    = format('Install %s on the PostgreSQL server (package, or the image built from docker/), then deploy again.', req.project);
            END IF;
            EXECUTE format('CREATE EXTENSION %I', req.extname);
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, true);
        ELSE
            IF string_to_array(installed, '.')::int[] < string_to_array(req.min_version, '.')::int[] THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA011',
                    MESSAGE = format('extension "%s" is version %s; animus needs %s or later', req.extname, installed, req.min_version),
                    HINT    = format('Run ALTER EXTENSION %s UPDATE (after installing a newer %s on the server).', req.extname, req.project);
            END IF;
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, false);
        END IF;
    END LOOP;
END $$;

-- ==== change roles (deploy/roles.sql) ====
-- Deploy animus:roles to pg
-- requires: schema

-- NOLOGIN group roles. Applications log in with their own roles and are granted one of these:
--   GRANT animus_worker TO my_worker_login;
-- Roles are cluster-wide: a second database on the same cluster reuses them.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('animus_producer',      'submits work and reads the status of work'),
        ('animus_worker',        'claims, heartbeats, completes and fails work'),
        ('animus_memory_reader', 'reads and searches memories'),
        ('animus_memory_writer', 'stores, updates and deletes memories (and reads them)'),
        ('animus_admin',         'creates queues, purges, configures; member of every animus role')
    ) AS t(rolname, purpose)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.rolname) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname);
        END IF;
        EXECUTE format('COMMENT ON ROLE %I IS %L', r.rolname, 'animus: ' || r.purpose);
        EXECUTE format('GRANT USAGE ON SCHEMA animus TO %I', r.rolname);
    END LOOP;
END $$;

-- Memberships (checked first: a second database on the cluster finds them granted already).
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES ('animus_memory_reader', 'animus_memory_writer'),
                                   ('animus_producer', 'animus_admin'),
                                   ('animus_worker', 'animus_admin'),
                                   ('animus_memory_writer', 'animus_admin')) AS t(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m.member, m.grp, 'member') THEN
            EXECUTE format('GRANT %I TO %I', m.grp, m.member);
        END IF;
    END LOOP;
END $$;

-- ==== change errors (deploy/errors.sql) ====
-- Deploy animus:errors to pg
-- requires: roles

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
