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

GRANT animus_memory_reader TO animus_memory_writer;
GRANT animus_producer, animus_worker, animus_memory_writer TO animus_admin;

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

-- ==== change memory_table (deploy/memory_table.sql) ====
-- Deploy animus:memory_table to pg
-- requires: errors
-- requires: extensions

-- Which embedding model the vectors in animus.memories come from, and their dimension. One row.
-- The dimension is the deploy variable :embedding_dim (sqitch.conf, or --set embedding_dim=384),
-- the model name :'embedding_model'. animus.memory_begin_reembedding() changes both later
-- (see docs/memory.md, "Changing the embedding model").
CREATE TABLE animus.memory_settings (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    embedding_dim    integer NOT NULL CHECK (embedding_dim BETWEEN 1 AND 2000),
    embedding_model  text NOT NULL CHECK (embedding_model <> ''),
    -- 'ready': every memory has an embedding of embedding_dim dimensions and the HNSW index exists;
    -- 'reembedding': between memory_begin_reembedding() and memory_finish_reembedding().
    state            text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'reembedding')),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_settings IS
    'The embedding model and dimension of animus.memories.embedding (one row). Change it with animus.memory_begin_reembedding().';
-- HNSW indexes vectors of at most 2,000 dimensions (pgvector 0.8), hence the CHECK above.
INSERT INTO animus.memory_settings (embedding_dim, embedding_model)
VALUES (:embedding_dim, :'embedding_model');

-- The content hash that makes "the same content in the same namespace" one memory. sha256 over
-- the UTF-8 bytes: convert_to() is only STABLE because it depends on the server encoding, which
-- cannot change for a database, so this wrapper is IMMUTABLE (a generated column needs that).
-- The SQL-standard body is bound at creation time, so it needs no search_path.
CREATE FUNCTION animus.memory_content_hash(content text)
    RETURNS bytea
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN pg_catalog.sha256(pg_catalog.convert_to(content, 'UTF8'));
COMMENT ON FUNCTION animus.memory_content_hash(text) IS
    'sha256 of the UTF-8 bytes of content: the key (with namespace) under which store_memory merges a repeated memory. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_content_hash(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_content_hash(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE TABLE animus.memories (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace     text NOT NULL DEFAULT 'default' CHECK (namespace <> ''),
    content       text NOT NULL CHECK (pg_catalog.btrim(content) <> ''),
    memory_type   text NOT NULL CHECK (memory_type <> ''),
    source        text,
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    embedding     vector(:embedding_dim) NOT NULL,
    fts           tsvector GENERATED ALWAYS AS (pg_catalog.to_tsvector('english'::regconfig, content)) STORED,
    content_hash  bytea GENERATED ALWAYS AS (animus.memory_content_hash(content)) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memories_namespace_content_key UNIQUE (namespace, content_hash)
);
COMMENT ON TABLE animus.memories IS
    'Semantic memories: text, embedding (dimension in animus.memory_settings), metadata; one row per (namespace, content).';
COMMENT ON COLUMN animus.memories.namespace IS 'Whose memory: an agent, a user, a tenant. Filters and (later) row-level security scope by it.';
COMMENT ON COLUMN animus.memories.fts IS 'English tsvector of content (stemmed, stop words removed), GIN-indexed: the keyword branch of search.';
COMMENT ON COLUMN animus.memories.content_hash IS 'animus.memory_content_hash(content): with namespace, the dedup key of store_memory.';

-- Cosine HNSW index (pgvector defaults m = 16, ef_construction = 64). Search functions set
-- hnsw.ef_search and iterative scans themselves (docs/memory.md).
CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding vector_cosine_ops);
CREATE INDEX memories_fts_gin ON animus.memories USING gin (fts);
-- Filters: namespace (+ memory_type) by btree, metadata containment by GIN, time ranges by btree.
CREATE INDEX memories_namespace_type ON animus.memories (namespace, memory_type);
CREATE INDEX memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
CREATE INDEX memories_created_at ON animus.memories (created_at);

-- Privileges: readers SELECT, writers also INSERT/UPDATE/DELETE. Every memory function is
-- SECURITY INVOKER, so the row-level security policies a later change adds apply to the caller.
GRANT SELECT ON animus.memories, animus.memory_settings TO animus_memory_reader;
GRANT INSERT, UPDATE, DELETE ON animus.memories TO animus_memory_writer;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA200', 'memory_dimension_mismatch',   'An embedding does not have the dimension recorded in animus.memory_settings.',     'Embed with the model in animus.memory_settings, or change the model with animus.memory_begin_reembedding().'),
    ('ZA201', 'memory_embedding_not_finite', 'An embedding component is NaN, infinite or not a number.',                         'Check the embedding model output; every component must be a finite number.'),
    ('ZA202', 'memory_zero_vector',          'An embedding is the zero vector, which has no cosine direction.',                   'Pass a non-zero embedding (e.g. the model output for non-empty text).'),
    ('ZA203', 'memory_empty_content',        'The content of a memory is empty or only whitespace.',                              'Store non-empty text.'),
    ('ZA204', 'memory_invalid_filter',       'A search filter value has the wrong JSON shape.',                                  'Use the filter shape in docs/memory.md (strings, arrays of strings, operator objects).'),
    ('ZA205', 'memory_unknown_filter_key',   'A search filter has a key animus does not know.',                                  'Use only namespace, memory_type, source, metadata and created_at.'),
    ('ZA206', 'memory_unknown_filter_operator','A search filter uses an operator animus does not know.',                         'Use eq, in or prefix (text fields), gt/gte/lt/lte (created_at).'),
    ('ZA207', 'memory_not_found',            'No memory has the given id (or it is not visible to the caller).',                 'Check the id; get_memory returns no row for a missing id.'),
    ('ZA208', 'memory_invalid_batch',        'An element of a batch of memories is malformed.',                                  'Pass a JSON array of objects with content, embedding and memory_type (docs/memory.md).'),
    ('ZA209', 'memory_reembedding_state',    'The operation does not fit the embedding state (ready or reembedding).',           'See animus.memory_settings.state; finish or begin re-embedding first.'),
    ('ZA210', 'memory_embeddings_missing',   'Re-embedding cannot finish while memories still lack an embedding.',               'Store the new embeddings (animus.update_memory or store_memories), then finish again.');

COMMIT;
