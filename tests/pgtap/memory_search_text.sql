-- search_memory_text and its branch memory_text_candidates: shape, natural-language OR matching,
-- English stemming, filters, deterministic order, and every bad-input error.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(20);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;

SELECT has_function('animus', 'search_memory_text', ARRAY['text', 'integer', 'jsonb'], 'search_memory_text(query, k, filters) exists');
SELECT volatility_is('animus', 'search_memory_text', ARRAY['text', 'integer', 'jsonb'], 'stable', 'search_memory_text is STABLE (replica-safe)');
SELECT is_definer('animus', 'search_memory_text', ARRAY['text', 'integer', 'jsonb'], 'search_memory_text is SECURITY DEFINER (it confines itself to the read scope; readers do not read the tables)');
SELECT has_function('animus', 'memory_text_candidates', ARRAY['text', 'jsonb', 'integer'], 'the keyword branch memory_text_candidates(query, filters, lim) exists');
SELECT volatility_is('animus', 'memory_text_candidates', ARRAY['text', 'jsonb', 'integer'], 'stable', 'memory_text_candidates is STABLE');
SELECT is(animus.memory_or_tsquery('The cats were running home'), $$'cat' | 'home' | 'run'$$::tsquery,
          'a query becomes an OR of its English lexemes (stop words dropped, stemmed)');
SELECT is(animus.memory_or_tsquery('the of and'), NULL, 'a query of stop words only has no lexeme');

SELECT is((SELECT count(*)::int FROM animus.store_memories(jsonb_build_array(
    jsonb_build_object('content', 'Kelly runs every morning before work', 'embedding', pg_temp.v(1, 0)::text, 'memory_type', 'habit'),
    jsonb_build_object('content', 'The cat sleeps on the sofa', 'embedding', pg_temp.v(1, 1)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'Cats and dogs were running in the park', 'embedding', pg_temp.v(0, 1)::text, 'memory_type', 'fact',
                       'metadata', '{"place": "park"}'::jsonb),
    jsonb_build_object('content', 'Quarterly invoices are due on Friday', 'embedding', pg_temp.v(1, 2)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'A running joke about cats', 'embedding', pg_temp.v(2, 1)::text, 'memory_type', 'fact',
                       'namespace', 'pgtap-text-other')),
    namespace => 'pgtap-text')), 5, 'stored 5 test memories');

SELECT is((SELECT content FROM animus.search_memory_text('did the cats go running?', 5, '{"namespace": "pgtap-text"}') WHERE rank = 1),
          'Cats and dogs were running in the park', 'the memory matching most query terms ranks first');
SELECT set_eq($$SELECT content FROM animus.search_memory_text('did the cats go running?', 5, '{"namespace": "pgtap-text"}')$$,
              ARRAY['Cats and dogs were running in the park', 'The cat sleeps on the sofa', 'Kelly runs every morning before work'],
              'memories matching ANY query term are found (OR, not AND), with stemming: cats/cat, running/runs');
SELECT is_empty($$SELECT * FROM animus.search_memory_text('invoice payment', 5, '{"namespace": "pgtap-text", "memory_type": "habit"}')$$,
                'a memory_type filter excludes the only match');
SELECT is((SELECT count(*)::int FROM animus.search_memory_text('cats', 5, '{"namespace": {"prefix": "pgtap-text"}}')), 3,
          'a namespace prefix filter spans both test namespaces');
SELECT is((SELECT content FROM animus.search_memory_text('cats', 5, '{"namespace": "pgtap-text", "metadata": {"place": "park"}}')),
          'Cats and dogs were running in the park', 'a metadata containment filter');
SELECT results_eq(
    $$SELECT id FROM animus.search_memory_text('cats running', 5, '{"namespace": {"prefix": "pgtap-text"}}')$$,
    $$SELECT id FROM animus.memory_text_candidates('cats running', animus.memory_validate_filters('{"namespace": {"prefix": "pgtap-text"}}'), 5)$$,
    'search_memory_text returns exactly the ranking of memory_text_candidates');
SELECT ok((SELECT bool_and(score > 0) AND array_agg(rank ORDER BY rank) = ARRAY[1, 2, 3]::bigint[]
             FROM animus.search_memory_text('cats running', 3, '{"namespace": {"prefix": "pgtap-text"}}')),
          'rows carry a positive score and ranks 1..k');
SELECT is_empty($$SELECT * FROM animus.search_memory_text('the of and', 5, '{"namespace": "pgtap-text"}')$$,
                'a query of stop words only returns no row');

SELECT throws_ok($$SELECT * FROM animus.search_memory_text(NULL)$$, 'ZA001', NULL, 'a NULL query raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.search_memory_text('  ')$$, 'ZA001', NULL, 'a blank query raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.search_memory_text('cats', -1)$$, 'ZA002', NULL, 'k < 1 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.search_memory_text('cats', 10, '{"namespace": {"glob": "x"}}')$$, 'ZA206', NULL, 'an unknown operator raises ZA206');

SELECT * FROM finish();
ROLLBACK;
