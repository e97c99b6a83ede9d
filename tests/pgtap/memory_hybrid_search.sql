-- hybrid_search: shape, Reciprocal Rank Fusion arithmetic, per-branch ranks, branches switched off
-- by NULL/empty input or zero weight, deterministic ties, filters, and every bad-input error.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(22);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;

SELECT has_function('animus', 'hybrid_search',
    ARRAY['text', 'vector', 'integer', 'jsonb', 'double precision', 'double precision', 'integer', 'integer', 'text', 'double precision',
          'double precision', 'double precision', 'interval', 'double precision', 'integer', 'text[]', 'double precision'],
    'hybrid_search(query_text, query_embedding, k, filters, text_weight, vector_weight, rrf_k, candidates, fusion, alpha, retrievability_weight, recency_weight, recency_half_life, importance_weight, graph_depth, graph_relations, graph_decay) exists');
SELECT volatility_is('animus', 'hybrid_search',
    ARRAY['text', 'vector', 'integer', 'jsonb', 'double precision', 'double precision', 'integer', 'integer', 'text', 'double precision',
          'double precision', 'double precision', 'interval', 'double precision', 'integer', 'text[]', 'double precision'], 'stable',
    'hybrid_search is STABLE (replica-safe)');
SELECT is_definer('animus', 'hybrid_search',
    ARRAY['text', 'vector', 'integer', 'jsonb', 'double precision', 'double precision', 'integer', 'integer', 'text', 'double precision',
          'double precision', 'double precision', 'interval', 'double precision', 'integer', 'text[]', 'double precision'],
    'hybrid_search is SECURITY DEFINER (it confines itself to the read scope; readers do not read the tables)');

-- Text favours "tea" memories, the vector favours direction (1, 0).
SELECT is((SELECT count(*)::int FROM animus.store_memories(jsonb_build_array(
    jsonb_build_object('content', 'green tea with honey',      'embedding', pg_temp.v(0, 1)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'black tea in the morning',  'embedding', pg_temp.v(1, 0.2)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'coffee in the morning',     'embedding', pg_temp.v(1, 0)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'a walk in the park',        'embedding', pg_temp.v(1, 1)::text, 'memory_type', 'episode')),
    namespace => 'pgtap-hybrid')), 4, 'stored 4 test memories');

CREATE TEMP TABLE h AS
    SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}', fusion => 'rrf');
SELECT is((SELECT content FROM h WHERE rank = 1), 'black tea in the morning', 'the memory good in both branches ranks first');
SELECT ok((SELECT bool_and(abs(score - (coalesce(1.0 / (60 + vector_rank), 0) + coalesce(1.0 / (60 + text_rank), 0))) < 1e-12) FROM h),
          'score = 1/(60 + vector_rank) + 1/(60 + text_rank), a missing branch adding 0');
SELECT is((SELECT array_agg(text_rank ORDER BY text_rank) FILTER (WHERE text_rank IS NOT NULL) FROM h), ARRAY[1, 2]::bigint[],
          'rows carry their rank in the keyword branch (NULL where the branch did not return them)');
SELECT is((SELECT array_agg(vector_rank ORDER BY vector_rank) FROM h), ARRAY[1, 2, 3, 4]::bigint[],
          'rows carry their rank in the vector branch');
SELECT ok((SELECT bool_and((vector_distance IS NULL) = (vector_rank IS NULL) AND (text_score IS NULL) = (text_rank IS NULL)) FROM h),
          'each branch''s distance / score is given exactly where its rank is');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM h), ARRAY[1, 2, 3, 4]::bigint[], 'the fused rank counts 1..k');
SELECT results_eq(
    $$SELECT id FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}', fusion => 'rrf')$$,
    $$SELECT id FROM h ORDER BY rank$$,
    'the same call returns the same order (deterministic ties)');
SELECT results_eq(
    $$SELECT id FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}', fusion => 'rrf') ORDER BY rank$$,
    $$SELECT id FROM h ORDER BY score DESC, least(vector_rank, text_rank), id$$,
    'ties are broken by the better branch rank, then by id');

-- switching branches off
SELECT is((SELECT count(*)::int FROM animus.hybrid_search(NULL, pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}') WHERE text_rank IS NOT NULL), 0,
          'a NULL query_text switches the keyword branch off');
SELECT is((SELECT count(*)::int FROM animus.hybrid_search('  ', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}')), 4,
          'an empty query_text leaves a vector-only search');
SELECT is((SELECT count(*)::int FROM animus.hybrid_search('tea', NULL, 4, '{"namespace": "pgtap-hybrid"}') WHERE vector_rank IS NULL), 2,
          'a NULL query_embedding switches the vector branch off (only the 2 keyword matches)');
SELECT is((SELECT count(*)::int FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-hybrid"}', vector_weight => 0)
            WHERE vector_rank IS NOT NULL), 0,
          'vector_weight = 0 switches the vector branch off');
SELECT is((SELECT count(*)::int FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 10, '{"namespace": "pgtap-hybrid", "memory_type": "episode"}')), 1,
          'filters apply to both branches');

-- errors
SELECT throws_ok($$SELECT * FROM animus.hybrid_search(NULL, NULL)$$, 'ZA001', NULL, 'no query at all raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', array_fill(1::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) + 1])::vector)$$, 'ZA200', NULL, 'a query_embedding of the wrong dimension raises ZA200');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', NULL, 0)$$, 'ZA002', NULL, 'k = 0 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', NULL, 10, text_weight => -1)$$, 'ZA002', NULL, 'a negative weight raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', NULL, 50, candidates => 20)$$, 'ZA002', NULL, 'candidates below k raises ZA002');

SELECT * FROM finish();
ROLLBACK;
