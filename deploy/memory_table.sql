-- Deploy animus:memory_table to pg
-- requires: errors
-- requires: extensions

BEGIN;

-- The deploy variables are pasted into SQL below: refuse anything but a usable dimension first,
-- with a clear error instead of a syntax error (passed as a quoted literal, so nothing runs).
SET LOCAL animus.deploy_embedding_dim = :'embedding_dim';
SET LOCAL animus.deploy_embedding_model = :'embedding_model';
DO $$
DECLARE
    dim   text := pg_catalog.current_setting('animus.deploy_embedding_dim');
    model text := pg_catalog.current_setting('animus.deploy_embedding_model');
BEGIN
    IF dim !~ '^[0-9]{1,9}$' OR dim::integer NOT BETWEEN 1 AND 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = 'embedding_dim must be a whole number from 1 to 2000',
            DETAIL = pg_catalog.format('embedding_dim = %L', pg_catalog.left(dim, 40)),
            HINT = 'Deploy with the dimension of your embedding model, e.g. sqitch deploy --set embedding_dim=384 '
                   '(default 1536, from sqitch.conf); pgvector''s HNSW index takes at most 2000 dimensions.';
    END IF;
    IF pg_catalog.btrim(model) = '' OR pg_catalog.length(model) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = 'embedding_model must be a name of 1 to 200 characters',
            DETAIL = pg_catalog.format('embedding_model = %L', pg_catalog.left(model, 40)),
            HINT = 'Deploy with --set embedding_model=<name of your model> (default ''unspecified'', from sqitch.conf).';
    END IF;
END $$;

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
-- Keep rows whole in the heap. By default PostgreSQL shrinks any row above ~2 kB by moving its
-- largest values to the TOAST table, and a 384-d vector alone is 1.5 kB: either the vector went
-- out of line (pgvector's storage is EXTERNAL; every exact distance and index-scan candidate then
-- cost a TOAST fetch: at 100k rows, exact search over a 510-row filter took 10.6 ms) or, with the
-- vector kept in, the tsvector did (every ts_rank a TOAST fetch: keyword search 3x slower).
-- toast_tuple_target = 8160 leaves rows up to a page inline; above that, content and fts are
-- compressed or moved first (EXTENDED) and the vector (MAIN) only if the row still cannot fit.
ALTER TABLE animus.memories SET (toast_tuple_target = 8160);
ALTER TABLE animus.memories ALTER COLUMN embedding SET STORAGE MAIN;
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

-- Privileges: readers (and writers, its members) SELECT, under the row-level security policies a
-- later change adds. Nobody but the owner writes the table: writers go through the SECURITY
-- DEFINER functions of memory_store, which confine them to their write scope.
GRANT SELECT ON animus.memories, animus.memory_settings TO animus_memory_reader;

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
