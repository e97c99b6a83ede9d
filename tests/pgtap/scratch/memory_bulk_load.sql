-- memory_begin_bulk_load / memory_finish_bulk_load: shape, privileges, the index drop and
-- rebuild around a load in one transaction (the BM25 postings indexes included, with postings and
-- statistics equal to a recount), the settings restored, and every error.
-- Scratch databases only: the bulk load drops and rebuilds every index of animus.memories,
-- memory_terms and memory_bm25_deltas (ACCESS EXCLUSIVE, then SHARE), so readers and writers wait.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(53);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;
CREATE FUNCTION pg_temp.vt(a real, b real) RETURNS text LANGUAGE sql AS $$ SELECT pg_temp.v(a, b)::text $$;

-- shape
SELECT has_function('animus', 'memory_begin_bulk_load', ARRAY[]::text[], 'memory_begin_bulk_load() exists');
SELECT has_function('animus', 'memory_finish_bulk_load', ARRAY['text', 'integer'], 'memory_finish_bulk_load(maintenance_work_mem, parallel_workers) exists');
SELECT function_returns('animus', 'memory_begin_bulk_load', ARRAY[]::text[], 'bigint', 'memory_begin_bulk_load returns the number of memories');
SELECT function_returns('animus', 'memory_finish_bulk_load', ARRAY['text', 'integer'], 'bigint', 'memory_finish_bulk_load returns the number of memories');
SELECT volatility_is('animus', 'memory_begin_bulk_load', ARRAY[]::text[], 'volatile', 'memory_begin_bulk_load is VOLATILE');
SELECT volatility_is('animus', 'memory_finish_bulk_load', ARRAY['text', 'integer'], 'volatile', 'memory_finish_bulk_load is VOLATILE');
SELECT is_definer('animus', 'memory_begin_bulk_load', ARRAY[]::text[], 'memory_begin_bulk_load is SECURITY DEFINER (DROP INDEX needs the owner)');
SELECT is_definer('animus', 'memory_finish_bulk_load', ARRAY['text', 'integer'], 'memory_finish_bulk_load is SECURITY DEFINER (CREATE INDEX needs the owner)');
SELECT ok(has_function_privilege('animus_admin', 'animus.memory_begin_bulk_load()', 'EXECUTE')
          AND has_function_privilege('animus_admin', 'animus.memory_finish_bulk_load(text, integer)', 'EXECUTE'),
          'animus_admin may run both bulk-load functions');
SELECT ok(NOT has_function_privilege('animus_memory_writer', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
          'animus_memory_writer may not start a bulk load');
SELECT ok(NOT has_function_privilege('animus_memory_writer', 'animus.memory_finish_bulk_load(text, integer)', 'EXECUTE'),
          'animus_memory_writer may not finish a bulk load');
SELECT ok(NOT has_function_privilege('animus_memory_reader', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
          'animus_memory_reader may not start a bulk load');
SELECT is((SELECT name FROM animus.error_codes WHERE sqlstate = 'ZA212'), 'memory_bulk_load_state', 'ZA212 is registered');

-- argument errors come first, whatever the state
SELECT throws_ok($$SELECT animus.memory_finish_bulk_load(maintenance_work_mem => NULL)$$, 'ZA001', NULL, 'a NULL maintenance_work_mem is ZA001');
SELECT throws_ok($$SELECT animus.memory_finish_bulk_load(parallel_workers => -1)$$, 'ZA002', NULL, 'parallel_workers below 0 is ZA002');
SELECT throws_ok($$SELECT animus.memory_finish_bulk_load(maintenance_work_mem => 'lots')$$, 'ZA002', NULL, 'a maintenance_work_mem that is no memory size is ZA002');
SELECT throws_ok($$SELECT animus.memory_finish_bulk_load()$$, 'ZA212', NULL, 'finishing without a bulk load in progress is ZA212');

-- a whole bulk load in this transaction
SELECT is((SELECT count(*) FROM animus.store_memories(jsonb_build_array(
    jsonb_build_object('content', 'bulk before 1', 'embedding', pg_temp.vt(1, 0), 'memory_type', 'fact'),
    jsonb_build_object('content', 'bulk before 2', 'embedding', pg_temp.vt(0, 1), 'memory_type', 'fact')), namespace => 'pgtap-bulk')),
    2::bigint, 'two memories stored before the bulk load');
-- (called in a statement of its own: DROP/CREATE INDEX refuse a table the same statement reads)
CREATE TEMP TABLE began AS SELECT animus.memory_begin_bulk_load() AS n;
SELECT is((SELECT n FROM began), (SELECT count(*) FROM animus.memories), 'memory_begin_bulk_load returns the number of memories');
UPDATE animus.memory_bm25_settings SET refresh_after = 1;   -- outside a bulk load, every write would fold
SELECT hasnt_index('animus', 'memories', 'memories_embedding_hnsw', 'during a bulk load the HNSW index is dropped');
SELECT hasnt_index('animus', 'memories', 'memories_fts_gin', 'during a bulk load the fts GIN index is dropped');
SELECT hasnt_index('animus', 'memories', 'memories_metadata_gin', 'during a bulk load the metadata GIN index is dropped');
SELECT hasnt_index('animus', 'memory_terms', 'memory_terms_memory_term_idx', 'during a bulk load the postings (memory_id, term) index is dropped');
SELECT hasnt_index('animus', 'memory_terms', 'memory_terms_impact_idx', 'during a bulk load the postings impact index is dropped');
SELECT hasnt_index('animus', 'memory_bm25_deltas', 'memory_bm25_deltas_key_idx', 'during a bulk load the BM25 deltas index is dropped');
SELECT throws_ok($$SELECT animus.memory_begin_bulk_load()$$, 'ZA212', NULL, 'starting a second bulk load is ZA212');
SELECT throws_ok($$SELECT animus.memory_begin_reembedding('other-model')$$, 'ZA212', NULL, 'starting re-embedding during a bulk load is ZA212');
SELECT is((SELECT count(*) FILTER (WHERE created) FROM animus.store_memories(jsonb_build_array(
              jsonb_build_object('content', 'bulk during 1', 'embedding', pg_temp.vt(1, 1), 'memory_type', 'fact'),
              jsonb_build_object('content', 'bulk before 1', 'embedding', pg_temp.vt(1, 0.1), 'memory_type', 'note')),
              namespace => 'pgtap-bulk')),
          1::bigint, 'store_memories works during a bulk load (a new memory, a repeat merged)');
SELECT is((SELECT content FROM animus.search_memory_vector(pg_temp.v(1, 0.9), 1, '{"namespace": "pgtap-bulk"}')),
          'bulk during 1', 'vector search works without the HNSW index (exact scan)');
SELECT is((SELECT count(*) FROM animus.store_memories(jsonb_build_array(
              jsonb_build_object('content', 'Zebras graze the tall grass', 'embedding', pg_temp.vt(-1, 0), 'memory_type', 'fact'),
              jsonb_build_object('content', 'Tall zebras, tall grass, tall tales of zebras', 'embedding', pg_temp.vt(-1, -0.1), 'memory_type', 'fact'),
              jsonb_build_object('content', 'The grass is green', 'embedding', pg_temp.vt(-1, -0.2), 'memory_type', 'fact')),
              namespace => 'pgtap-bulk')),
          3::bigint, 'a second batch during the bulk load');
SELECT ok((SELECT count(*) FROM animus.memory_bm25_deltas WHERE namespace = 'pgtap-bulk') > 0,
          'writes during a bulk load leave their BM25 statistic deltas for the finish, even past refresh_after');
SELECT is((SELECT bulk_from FROM animus.memory_bm25_settings),
          (SELECT max(id) FROM animus.memories WHERE content LIKE 'bulk before%'),
          'memory_begin_bulk_load marks the memories loaded after it (bulk_from: the largest id before)');
SELECT is((SELECT count(*) FROM animus.memory_bm25_deltas WHERE namespace = 'pgtap-bulk' AND term IN ('zebra', 'graze', 'tale')), 0::bigint,
          'the loaded memories leave no per-term deltas (their postings are counted instead)');
-- a loaded memory deleted and another rewritten during the load: the statistics stay exact
SELECT is(animus.delete_memory((SELECT id FROM animus.store_memory('Zebras zebras zebras, gone again', pg_temp.v(-1, 0.3),
                                                                  'fact', namespace => 'pgtap-bulk'))),
          true, 'a memory loaded and deleted during the bulk load');
SELECT is((SELECT count(*) FROM animus.update_memory((SELECT id FROM animus.memories WHERE content = 'The grass is green'),
                                                     content => 'The green grass, where zebras graze', embedding => pg_temp.v(-1, -0.25))), 1::bigint,
          'a loaded memory rewritten during the bulk load');
CREATE TEMP TABLE text_during AS
    SELECT content, rank, score FROM animus.search_memory_text('zebras grass', 5, '{"namespace": "pgtap-bulk"}');
SELECT set_eq($$SELECT content FROM text_during WHERE content ~* 'zebra'$$,
              ARRAY['Tall zebras, tall grass, tall tales of zebras', 'Zebras graze the tall grass', 'The green grass, where zebras graze'],
              'keyword (BM25) search works during the bulk load, without the postings indexes');

SET LOCAL maintenance_work_mem = '64MB';
SET LOCAL max_parallel_maintenance_workers = 1;
SET LOCAL work_mem = '5MB';
CREATE TEMP TABLE finished AS SELECT animus.memory_finish_bulk_load(parallel_workers => 2) AS n;
SELECT is((SELECT n FROM finished), (SELECT count(*) FROM animus.memories), 'memory_finish_bulk_load returns the number of memories');
SELECT is((SELECT count(*) FROM animus.memory_bm25_deltas), 0::bigint, 'memory_finish_bulk_load folds every pending BM25 statistic delta');
SELECT is((SELECT bulk_from FROM animus.memory_bm25_settings), NULL, 'memory_finish_bulk_load clears bulk_from');
SELECT has_index('animus', 'memories', 'memories_embedding_hnsw', 'after the bulk load the HNSW index exists again');
SELECT has_index('animus', 'memories', 'memories_fts_gin', 'after the bulk load the fts GIN index exists again');
SELECT has_index('animus', 'memories', 'memories_metadata_gin', 'after the bulk load the metadata GIN index exists again');
SELECT has_index('animus', 'memory_terms', 'memory_terms_memory_term_idx', ARRAY['memory_id', 'term', 'tf', 'doc_len'],
                 'after the bulk load the postings (memory_id, term) index exists again');
SELECT has_index('animus', 'memory_terms', 'memory_terms_impact_idx', ARRAY['term', 'namespace', 'impact', 'memory_id', 'tf', 'doc_len'],
                 'after the bulk load the postings impact index exists again');
SELECT has_index('animus', 'memory_bm25_deltas', 'memory_bm25_deltas_key_idx', ARRAY['term', 'namespace'],
                 'after the bulk load the BM25 deltas index exists again');
SELECT set_eq($$SELECT t.memory_id, t.term, t.tf, t.doc_len FROM animus.memory_terms t WHERE t.namespace = 'pgtap-bulk'$$,
              $$SELECT m.id, u.lexeme, coalesce(cardinality(u.positions), 1), animus.bm25_doc_len(m.fts)
                  FROM animus.memories m CROSS JOIN LATERAL unnest(m.fts) u WHERE m.namespace = 'pgtap-bulk'$$,
              'after the bulk load the postings equal a recount from the memories'' fts');
SELECT set_eq($$SELECT sum(x.docs) AS docs, sum(x.total_len) AS total_len FROM (
                  SELECT s.docs, s.total_len FROM animus.memory_bm25_namespace_stats s WHERE s.namespace = 'pgtap-bulk'
                  UNION ALL SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.namespace = 'pgtap-bulk' AND d.term IS NULL) x$$,
              $$SELECT count(*) AS docs, sum(animus.bm25_doc_len(m.fts)) AS total_len FROM animus.memories m WHERE m.namespace = 'pgtap-bulk'$$,
              'after the bulk load the namespace statistics (documents, total length) equal a recount');
SELECT set_eq($$SELECT x.term, sum(x.df) FROM (
                  SELECT s.term, s.df FROM animus.memory_bm25_term_stats s WHERE s.namespace = 'pgtap-bulk'
                  UNION ALL SELECT d.term, d.df FROM animus.memory_bm25_deltas d WHERE d.namespace = 'pgtap-bulk' AND d.term IS NOT NULL) x
                GROUP BY x.term HAVING sum(x.df) <> 0$$,
              $$SELECT u.lexeme, count(*) FROM animus.memories m CROSS JOIN LATERAL unnest(m.fts) u
                 WHERE m.namespace = 'pgtap-bulk' GROUP BY u.lexeme$$,
              'after the bulk load the document frequencies equal a recount');
SELECT results_eq($$SELECT content, rank, score FROM animus.search_memory_text('zebras grass', 5, '{"namespace": "pgtap-bulk"}') ORDER BY rank$$,
                  $$SELECT content, rank, score FROM text_during ORDER BY rank$$,
                  'keyword (BM25) search through the rebuilt postings indexes gives the same ranks and scores as during the load');
SELECT ok((SELECT am.amname = 'hnsw' AND pg_get_indexdef(c.oid) ~ 'vector_cosine_ops' FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.oid = 'animus.memories_embedding_hnsw'::regclass),
          'the rebuilt index is HNSW with cosine distance');
SELECT is(current_setting('maintenance_work_mem') || ' ' || current_setting('max_parallel_maintenance_workers') || ' ' || current_setting('work_mem'), '64MB 1 5MB',
          'the build settings applied to the builds only: the session''s values are back');
SELECT is((SELECT array_agg(content ORDER BY rank) FROM animus.search_memory_vector(pg_temp.v(1, 0.9), 2, '{"namespace": "pgtap-bulk"}')),
          ARRAY['bulk during 1', 'bulk before 1'], 'vector search finds the loaded memories through the rebuilt index');

-- re-embedding in progress: no bulk load
UPDATE animus.memory_settings SET state = 'reembedding';
SELECT throws_ok($$SELECT animus.memory_begin_bulk_load()$$, 'ZA209', NULL, 'starting a bulk load while re-embedding is ZA209');

SELECT * FROM finish();
ROLLBACK;
