-- search_memory_vector: shape, cosine order, filters, k rows above hnsw.ef_search and through the
-- index with a selective filter, and every bad-input error.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(24);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;

SELECT has_function('animus', 'search_memory_vector', ARRAY['vector', 'integer', 'jsonb'], 'search_memory_vector(query_embedding, k, filters) exists');
SELECT volatility_is('animus', 'search_memory_vector', ARRAY['vector', 'integer', 'jsonb'], 'stable', 'search_memory_vector is STABLE (replica-safe)');
SELECT is_definer('animus', 'search_memory_vector', ARRAY['vector', 'integer', 'jsonb'], 'search_memory_vector is SECURITY DEFINER (it confines itself to the read scope; readers do not read the tables)');
SELECT volatility_is('animus', 'memory_vector_candidates', ARRAY['vector', 'jsonb', 'integer'], 'stable', 'memory_vector_candidates is STABLE');

-- 300 memories on a circle: angle i degrees / 300 * 90, so memory i is nearest to angle i.
-- Every third is in namespace pgtap-vec-a, the rest in pgtap-vec-b.
SELECT is((SELECT count(*)::int FROM animus.store_memories(
    (SELECT jsonb_agg(jsonb_build_object(
        'content', 'circle point ' || i,
        'embedding', pg_temp.v(cos(radians(i * 0.3))::real, sin(radians(i * 0.3))::real)::text,
        'memory_type', CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END,
        'metadata', jsonb_build_object('i', i, 'tens', i / 10),
        'namespace', CASE WHEN i % 3 = 0 THEN 'pgtap-vec-a' ELSE 'pgtap-vec-b' END))
       FROM generate_series(0, 299) AS i))), 300, 'stored 300 test memories');

SELECT results_eq(
    $$SELECT content FROM animus.search_memory_vector(pg_temp.v(cos(radians(30))::real, sin(radians(30))::real), 3,
                                                     '{"namespace": ["pgtap-vec-a", "pgtap-vec-b"]}')$$,
    -- The same order computed exhaustively: whether 99 and 101 tie exactly depends on float
    -- rounding, which differs between dimensions (they tie at 1536, 101 is nearer at 3).
    $$WITH d AS MATERIALIZED (
          SELECT id, content, embedding <=> pg_temp.v(cos(radians(30))::real, sin(radians(30))::real) AS distance
            FROM animus.memories WHERE namespace IN ('pgtap-vec-a', 'pgtap-vec-b'))
      SELECT content FROM d ORDER BY distance, id LIMIT 3$$,
    'nearest first by cosine distance, equal distances ordered by id');
SELECT is((SELECT rank FROM animus.search_memory_vector(pg_temp.v(1, 0), 5, '{"namespace": {"prefix": "pgtap-vec-"}}') WHERE content = 'circle point 0'),
          1::bigint, 'the exact match ranks first');
SELECT ok((SELECT bool_and(abs(similarity - (1 - distance)) < 1e-12) AND bool_and(distance >= 0)
             FROM animus.search_memory_vector(pg_temp.v(1, 0), 5, '{"namespace": {"prefix": "pgtap-vec-"}}')),
          'similarity = 1 - cosine distance');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM animus.search_memory_vector(pg_temp.v(1, 0), 4, '{"namespace": {"prefix": "pgtap-vec-"}}')),
          ARRAY[1, 2, 3, 4]::bigint[], 'rank counts 1..k');
SELECT is((SELECT bool_and(namespace = 'pgtap-vec-a') FROM animus.search_memory_vector(pg_temp.v(1, 0), 10, '{"namespace": "pgtap-vec-a"}')),
          true, 'a namespace filter returns only that namespace');
SELECT is((SELECT count(*)::int FROM animus.search_memory_vector(pg_temp.v(1, 0), 10,
              '{"namespace": "pgtap-vec-a", "memory_type": "even", "metadata": {"tens": 3}}')),
          2, 'filters combine (namespace, memory_type, metadata): 30 and 36 match');
SELECT is((SELECT count(*)::int FROM animus.search_memory_vector(pg_temp.v(1, 0), 10,
              '{"namespace": "pgtap-vec-a", "created_at": {"lt": "2000-01-01T00:00:00Z"}}')),
          0, 'a created_at range nothing falls in returns no row');

-- Through the HNSW index (sequential scans off): k above hnsw.ef_search (40) still gives k rows,
-- and a filter still gives k rows when k rows match.
SET LOCAL enable_seqscan = off;
SET LOCAL hnsw.ef_search = 40;
SELECT is((SELECT count(*)::int FROM animus.search_memory_vector(pg_temp.v(1, 0), 150)), 150,
          'k = 150 > hnsw.ef_search returns 150 rows through the index');
SELECT is((SELECT count(*)::int FROM animus.search_memory_vector(pg_temp.v(1, 0), 100, '{"namespace": "pgtap-vec-a"}')), 100,
          'a filter matching exactly k = 100 rows returns all 100');
SELECT is((SELECT count(*)::int FROM animus.search_memory_vector(pg_temp.v(0, 1), 60, '{"namespace": "pgtap-vec-a", "memory_type": "odd"}')), 50,
          'a filter matching fewer rows than k returns all of them (50)');
SELECT is(current_setting('hnsw.ef_search'), '40', 'the search leaves the session''s hnsw.ef_search as it was');
RESET enable_seqscan;

-- errors
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(NULL)$$, 'ZA001', NULL, 'a NULL query_embedding raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(array_fill(1::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) + 1])::vector)$$, 'ZA200', NULL, 'a query_embedding of the wrong dimension raises ZA200');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(0, 0))$$, 'ZA202', NULL, 'a zero query_embedding raises ZA202');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(1, 0), 0)$$, 'ZA002', NULL, 'k = 0 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(1, 0), 1001)$$, 'ZA002', NULL, 'k above 1000 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(1, 0), 10, '"ns"')$$, 'ZA204', NULL, 'malformed filters raise ZA204');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(1, 0), 10, '{"tenant": "x"}')$$, 'ZA205', NULL, 'an unknown filter key raises ZA205');
SELECT throws_ok($$SELECT * FROM animus.search_memory_vector(pg_temp.v(1, 0), 10, '{"namespace": {"regex": "x"}}')$$, 'ZA206', NULL, 'an unknown namespace operator raises ZA206');

SELECT * FROM finish();
ROLLBACK;
