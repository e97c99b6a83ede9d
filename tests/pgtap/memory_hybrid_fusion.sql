-- hybrid_search fusion => 'convex': alpha * normalised vector score + (1 - alpha) * normalised
-- BM25 score (theoretical-min-max: (2 - distance) / (2 - min distance), score / max score; 0 for a
-- row a branch did not return), alpha's extremes, branches switched off, and every bad input.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(13);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;

SELECT is((SELECT count(*)::int FROM animus.store_memories(jsonb_build_array(
    jsonb_build_object('content', 'green tea with honey',      'embedding', pg_temp.v(0, 1)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'black tea in the morning',  'embedding', pg_temp.v(1, 0.2)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'coffee in the morning',     'embedding', pg_temp.v(1, 0)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'a walk in the park',        'embedding', pg_temp.v(1, 1)::text, 'memory_type', 'episode')),
    namespace => 'pgtap-fusion')), 4, 'stored 4 test memories');

CREATE TEMP TABLE c AS
    SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-fusion"}', fusion => 'convex', alpha => 0.3);
SELECT ok((SELECT bool_and(abs(score - (0.3 * coalesce((2 - vector_distance) / (2 - (SELECT min(vector_distance) FROM c)), 0)
                                        + 0.7 * coalesce(text_score / (SELECT max(text_score) FROM c), 0))) < 1e-9) FROM c),
          'convex score = alpha * (2 - distance) / (2 - min distance) + (1 - alpha) * text_score / max text_score, a missing branch adding 0');
SELECT is((SELECT content FROM c WHERE rank = 1), 'black tea in the morning', 'the memory good in both branches ranks first');
SELECT results_eq($$SELECT id FROM c ORDER BY rank$$, $$SELECT id FROM c ORDER BY score DESC, least(vector_rank, text_rank), id$$,
          'rows in score order, ties by the better branch rank, then id');
SELECT results_eq(
    $$SELECT id FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-fusion"}', fusion => 'convex', alpha => 1) ORDER BY rank$$,
    $$SELECT id FROM animus.search_memory_vector(pg_temp.v(1, 0), 4, '{"namespace": "pgtap-fusion"}') ORDER BY rank$$,
    'alpha = 1 ranks as the vector search');
SELECT results_eq(
    $$SELECT id FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 2, '{"namespace": "pgtap-fusion"}', fusion => 'convex', alpha => 0) ORDER BY rank$$,
    $$SELECT id FROM animus.search_memory_text('tea', 2, '{"namespace": "pgtap-fusion"}') ORDER BY rank$$,
    'alpha = 0 ranks the keyword matches as the keyword search');
SELECT is((SELECT max(score) FROM animus.hybrid_search('tea', NULL, 4, '{"namespace": "pgtap-fusion"}', fusion => 'convex', alpha => 0.9)),
          1::double precision, 'with one branch left it ranks alone: its best row scores 1 (its weight) whatever alpha');
SELECT is((SELECT array_agg(score ORDER BY rank) FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-fusion"}', fusion => 'convex', alpha => 0.3)),
          (SELECT array_agg(score ORDER BY rank) FROM animus.hybrid_search('tea', pg_temp.v(1, 0), 4, '{"namespace": "pgtap-fusion"}')),
          'the default is fusion => ''convex'' with alpha 0.3 (tuned on NFCorpus dev)');

SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), fusion => 'linear')$$, 'ZA228', NULL,
                 'an unknown fusion raises ZA228');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), fusion => NULL)$$, 'ZA228', NULL,
                 'fusion NULL raises ZA228');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), fusion => 'rrf', alpha => 0.5)$$, 'ZA228', NULL,
                 'alpha without fusion => ''convex'' raises ZA228');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), fusion => 'convex', alpha => 1.5)$$, 'ZA002', NULL,
                 'alpha above 1 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.hybrid_search('tea', pg_temp.v(1, 0), fusion => 'convex', alpha => 'NaN')$$, 'ZA002', NULL,
                 'alpha NaN raises ZA002');

SELECT * FROM finish();
ROLLBACK;
