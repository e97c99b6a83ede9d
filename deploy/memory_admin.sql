-- Deploy animus:memory_admin to pg
-- requires: memory_store

BEGIN;

-- Changing the embedding model (and with it, possibly, the dimension) later. Vectors of two
-- models are not comparable, so every memory is re-embedded:
--   1. SELECT animus.memory_begin_reembedding('new-model', 768);   -- clears all embeddings
--   2. for each row of SELECT id, content FROM animus.memories WHERE embedding IS NULL:
--        SELECT animus.update_memory(id, embedding => <new vector>);   (or store_memories)
--   3. SELECT animus.memory_finish_reembedding();                  -- NOT NULL + HNSW again
-- Between 1 and 3, keyword search works as before; vector search sees only the memories already
-- re-embedded (exact scan, no index). Both functions are SECURITY DEFINER because they change
-- the table (ALTER TABLE needs its owner); they are granted to animus_admin only.

CREATE FUNCTION animus.memory_begin_reembedding(embedding_model text DEFAULT NULL, embedding_dim integer DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
    new_dim integer;
    n bigint;
BEGIN
    IF embedding_model IS NULL OR pg_catalog.btrim(embedding_model) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding_model must be a non-empty string',
            HINT = 'Pass the name of the new embedding model, e.g. ''text-embedding-3-small''.';
    END IF;
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    new_dim := coalesce(memory_begin_reembedding.embedding_dim, settings.embedding_dim);
    IF new_dim < 1 OR new_dim > 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'embedding_dim must be between 1 and 2000',
            DETAIL = pg_catalog.format('embedding_dim = %s', new_dim),
            HINT = 'HNSW indexes vectors of at most 2,000 dimensions.';
    END IF;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 're-embedding is already in progress',
            DETAIL = pg_catalog.format('target model %s, %s dimensions', settings.embedding_model, settings.embedding_dim),
            HINT = 'Store the missing embeddings and call animus.memory_finish_reembedding().';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';

    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    DROP INDEX animus.memories_embedding_hnsw;
    ALTER TABLE animus.memories ALTER COLUMN embedding DROP NOT NULL;
    EXECUTE pg_catalog.format('ALTER TABLE animus.memories ALTER COLUMN embedding TYPE %I.vector(%s) USING NULL',
                              vector_schema, new_dim);
    -- a new column type brings the type's default storage back (EXTERNAL): see memory_table
    ALTER TABLE animus.memories ALTER COLUMN embedding SET STORAGE MAIN;
    UPDATE animus.memory_settings
       SET embedding_model = memory_begin_reembedding.embedding_model, embedding_dim = new_dim,
           state = 'reembedding', updated_at = pg_catalog.now();
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_begin_reembedding(text, integer) IS
    'Starts a change of embedding model: records the model and dimension (NULL keeps the dimension), clears every embedding '
    '(re-typing the column to vector(embedding_dim)) and drops the HNSW index; returns how many memories need a new embedding. '
    'Raises ZA001, ZA002 (dimension outside 1..2000), ZA209 (already re-embedding).';
REVOKE ALL ON FUNCTION animus.memory_begin_reembedding(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_begin_reembedding(text, integer) TO animus_admin;

CREATE FUNCTION animus.memory_finish_reembedding()
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
    missing bigint;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'reembedding' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'no re-embedding is in progress',
            HINT = 'Start one with animus.memory_begin_reembedding(embedding_model, embedding_dim).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    SELECT pg_catalog.count(*) FILTER (WHERE m.embedding IS NULL), pg_catalog.count(*) INTO missing, n
      FROM animus.memories AS m;
    IF missing > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA210',
            MESSAGE = pg_catalog.format('%s of %s memories still lack an embedding', missing, n),
            HINT = 'Re-embed them: SELECT id, content FROM animus.memories WHERE embedding IS NULL; then animus.update_memory(id, embedding => ...).';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    ALTER TABLE animus.memories ALTER COLUMN embedding SET NOT NULL;
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    UPDATE animus.memory_settings SET state = 'ready', updated_at = pg_catalog.now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_reembedding() IS
    'Ends a change of embedding model once every memory has a new embedding: embedding NOT NULL again, HNSW index rebuilt '
    '(raise maintenance_work_mem first for large tables); returns the number of memories. '
    'Raises ZA209 (no re-embedding in progress), ZA210 (memories still lack an embedding).';
REVOKE ALL ON FUNCTION animus.memory_finish_reembedding() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_finish_reembedding() TO animus_admin;

COMMIT;
