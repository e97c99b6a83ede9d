-- Verify animus:memory_table on pg

BEGIN;

SELECT id, namespace, content, memory_type, source, metadata, embedding, fts, content_hash,
       created_at, updated_at
  FROM animus.memories WHERE false;
SELECT embedding_dim, embedding_model, state, updated_at FROM animus.memory_settings WHERE false;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM animus.memory_settings) = 1, 'animus.memory_settings must hold exactly one row';
    ASSERT (SELECT a.atttypmod FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = 'animus.memories'::regclass AND a.attname = 'embedding')
         = (SELECT embedding_dim FROM animus.memory_settings),
        'animus.memories.embedding dimension differs from animus.memory_settings.embedding_dim';
    ASSERT (SELECT a.attstorage FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = 'animus.memories'::regclass AND a.attname = 'embedding') = 'm',
        'animus.memories.embedding must have STORAGE MAIN (kept in the heap row)';
    ASSERT (SELECT count(*) FROM pg_catalog.pg_indexes
             WHERE schemaname = 'animus' AND tablename = 'memories'
               AND indexname IN ('memories_embedding_hnsw', 'memories_fts_gin')) = 2,
        'the HNSW or the full-text GIN index of animus.memories is missing';
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA200' AND 'ZA210') = 11,
        'the memory SQLSTATEs ZA200-ZA210 are missing from animus.error_codes';
    -- Readers held SELECT until change security_memory_private moved every read into the scoped
    -- functions; animus_admin reads the table either way (as a member of the reader role, then directly).
    ASSERT has_table_privilege('animus_admin', 'animus.memories', 'SELECT'),
        'animus_admin cannot SELECT animus.memories';
    ASSERT NOT has_table_privilege('animus_memory_writer', 'animus.memories', 'INSERT, UPDATE, DELETE'),
        'animus_memory_writer must not write animus.memories directly (only through the memory_store functions)';
END $$;

ROLLBACK;
