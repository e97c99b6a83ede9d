-- Revert animus:memory_vector_index from pg

BEGIN;

-- Back to the HNSW index if IVFFlat serves (no index during a bulk load or re-embedding: their
-- finish builds HNSW).
DO $$
DECLARE
    vector_schema name;
BEGIN
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
          FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
        DROP INDEX animus.memories_embedding_ivfflat;
        EXECUTE pg_catalog.format(
            'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    END IF;
END $$;

DROP FUNCTION animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer);
DROP FUNCTION animus.memory_vector_index_status();
DROP FUNCTION animus.memory_build_vector_index(text, integer);
DROP FUNCTION animus.memory_ivfflat_lists(bigint);
DROP TABLE animus.memory_vector_index_settings;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA350', 'ZA351');

COMMIT;
