-- animus.memories and animus.memory_settings: columns, generated columns, indexes, privileges.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(25);

SELECT has_table('animus', 'memories', 'table animus.memories exists');
SELECT has_table('animus', 'memory_settings', 'table animus.memory_settings exists');
SELECT col_is_pk('animus', 'memories', 'id', 'id is the primary key');
SELECT col_type_is('animus', 'memories', 'id', 'bigint', 'id is a bigint');
SELECT col_not_null('animus', 'memories', 'content', 'content is NOT NULL');
SELECT col_default_is('animus', 'memories', 'namespace', 'default', 'namespace defaults to ''default''');
SELECT col_type_is('animus', 'memories', 'metadata', 'jsonb', 'metadata is jsonb');
SELECT col_default_is('animus', 'memories', 'metadata', '{}', 'metadata defaults to an empty object');
SELECT col_not_null('animus', 'memories', 'embedding', 'embedding is NOT NULL');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'animus.memories'::regclass AND attname = 'embedding'),
          (SELECT format('vector(%s)', embedding_dim) FROM animus.memory_settings),
          'embedding is vector(N) with N = memory_settings.embedding_dim');
SELECT is((SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'animus.memories'::regclass AND attname = 'embedding'),
          'm', 'embedding has STORAGE MAIN (stays in the heap row, no TOAST fetch per distance)');
SELECT col_type_is('animus', 'memories', 'fts', 'tsvector', 'fts is a tsvector');
SELECT is((SELECT attgenerated::text FROM pg_attribute
            WHERE attrelid = 'animus.memories'::regclass AND attname = 'fts'),
          's', 'fts is a stored generated column');
SELECT has_index('animus', 'memories', 'memories_embedding_hnsw', 'the HNSW index exists');
SELECT is((SELECT am.amname::text FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.oid = 'animus.memories_embedding_hnsw'::regclass),
          'hnsw', 'memories_embedding_hnsw is an HNSW index');
SELECT ok((SELECT pg_get_indexdef('animus.memories_embedding_hnsw'::regclass) ~ 'vector_cosine_ops'),
          'the HNSW index uses cosine distance');
SELECT is((SELECT am.amname::text FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.oid = 'animus.memories_fts_gin'::regclass),
          'gin', 'fts has a GIN index');
SELECT is((SELECT count(*)::int FROM animus.memory_settings), 1, 'memory_settings holds one row');

-- Behaviour of the generated columns.
INSERT INTO animus.memories (namespace, content, memory_type, embedding)
SELECT 'pgtap-memory-table', 'The cats were running', 'note',
       array_fill(0.5::real, ARRAY[embedding_dim])::vector FROM animus.memory_settings;
SELECT is((SELECT fts FROM animus.memories WHERE namespace = 'pgtap-memory-table'),
          to_tsvector('english', 'The cats were running'), 'fts is the English tsvector of content');
SELECT is((SELECT content_hash FROM animus.memories WHERE namespace = 'pgtap-memory-table'),
          sha256(convert_to('The cats were running', 'UTF8')), 'content_hash is sha256 of the UTF-8 content');
SELECT throws_ok(
    $$INSERT INTO animus.memories (namespace, content, memory_type, embedding)
      SELECT 'pgtap-memory-table', 'The cats were running', 'note',
             array_fill(0.25::real, ARRAY[embedding_dim])::vector FROM animus.memory_settings$$,
    '23505', NULL, 'the same content twice in one namespace violates the unique key');

-- Privileges.
SELECT ok(NOT has_table_privilege('animus_memory_reader', 'animus.memories', 'SELECT'), 'readers cannot SELECT memories (other tenants'' rows): they read through the scoped functions');
SELECT ok(NOT has_table_privilege('animus_memory_reader', 'animus.memories', 'INSERT'), 'readers cannot INSERT memories');
SELECT ok(NOT has_table_privilege('animus_memory_writer', 'animus.memories', 'INSERT, UPDATE, DELETE'), 'writers cannot INSERT, UPDATE or DELETE memories directly (only through the SECURITY DEFINER functions)');
SELECT ok(NOT has_table_privilege('animus_memory_writer', 'animus.memory_settings', 'UPDATE'), 'writers cannot change memory_settings');

SELECT * FROM finish();
ROLLBACK;
