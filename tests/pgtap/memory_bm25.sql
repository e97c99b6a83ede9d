-- BM25 keyword ranking (change memory_bm25): shape, postings and statistics kept by the triggers
-- on animus.memories (insert, content update, delete), refresh, settings and their errors, and
-- the ranking itself (idf: a rare term outweighs a common one; length normalisation).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(35);

CREATE FUNCTION pg_temp.v(a real, b real) RETURNS vector LANGUAGE sql AS $$
    SELECT (ARRAY[a, b] || array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 2]))::vector
$$;
-- Statistics of one namespace as a search sees them: folded rows + pending deltas.
CREATE FUNCTION pg_temp.docs(ns text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(x.docs), 0)::bigint FROM (
        SELECT docs FROM animus.memory_bm25_namespace_stats WHERE namespace = ns
        UNION ALL SELECT df FROM animus.memory_bm25_deltas WHERE namespace = ns AND term IS NULL) x
$$;
CREATE FUNCTION pg_temp.df(ns text, t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(x.df), 0)::bigint FROM (
        SELECT df FROM animus.memory_bm25_term_stats WHERE namespace = ns AND term = t
        UNION ALL SELECT df FROM animus.memory_bm25_deltas WHERE namespace = ns AND term = t) x
$$;

-- shape
SELECT has_table('animus', 'memory_terms', 'the postings table animus.memory_terms exists');
SELECT has_index('animus', 'memory_terms', 'memory_terms_impact_idx', ARRAY['term', 'namespace', 'impact', 'memory_id', 'tf', 'doc_len'],
                 'postings are indexed by (term, namespace, impact desc, memory_id) (tf, doc_len included): one range per term over every namespace, impact-ordered per namespace');
SELECT has_table('animus', 'memory_bm25_deltas', 'the append-only statistics deltas table exists');
SELECT has_function('animus', 'memory_bm25_topk', ARRAY['text', 'jsonb', 'integer', 'integer'], 'memory_bm25_topk(query, filters, lim, budget) exists');
SELECT volatility_is('animus', 'memory_bm25_topk', ARRAY['text', 'jsonb', 'integer', 'integer'], 'stable', 'memory_bm25_topk is STABLE (replica-safe)');
SELECT volatility_is('animus', 'memory_text_candidates', ARRAY['text', 'jsonb', 'integer'], 'stable', 'the keyword branch stays STABLE');
SELECT function_returns('animus', 'memory_bm25_refresh', ARRAY['boolean'], 'bigint', 'memory_bm25_refresh(wait) returns the number of deltas folded');
SELECT is_definer('animus', 'memory_bm25_after_insert', ARRAY[]::text[], 'the insert trigger function is SECURITY DEFINER (writers cannot write postings directly)');
SELECT trigger_is('animus', 'memories', 'memory_bm25_after_insert', 'animus', 'memory_bm25_after_insert', 'inserts are indexed by a trigger');
SELECT trigger_is('animus', 'memories', 'memory_bm25_after_update', 'animus', 'memory_bm25_after_update', 'updates are re-indexed by a trigger');
SELECT trigger_is('animus', 'memories', 'memory_bm25_after_delete', 'animus', 'memory_bm25_after_delete', 'deletes are unindexed by a trigger');
SELECT ok(NOT has_table_privilege('animus_memory_writer', 'animus.memory_terms', 'INSERT'), 'writers cannot insert postings by hand');

-- postings and statistics follow inserts
SELECT is((SELECT count(*)::int FROM animus.store_memories(jsonb_build_array(
    jsonb_build_object('content', 'Zebras graze on the savanna grass', 'embedding', pg_temp.v(1, 0)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'The grass is green and the grass is tall', 'embedding', pg_temp.v(1, 1)::text, 'memory_type', 'fact'),
    jsonb_build_object('content', 'Green tea in the morning', 'embedding', pg_temp.v(0, 1)::text, 'memory_type', 'habit'),
    jsonb_build_object('content', 'Grass grows after rain; the lawn needs mowing and more mowing every week in the summer months', 'embedding', pg_temp.v(1, 2)::text, 'memory_type', 'fact',
                       'metadata', '{"topic": "lawn"}'::jsonb)),
    namespace => 'pgtap-bm25')), 4, 'stored 4 memories in one batch');
SELECT is(pg_temp.docs('pgtap-bm25'), 4::bigint, 'the namespace counts 4 documents');
SELECT is(pg_temp.df('pgtap-bm25', 'grass'), 3::bigint, 'document frequency of "grass" is 3 (a repeated word counts once)');
SELECT is((SELECT tf FROM animus.memory_terms t JOIN animus.memories m ON m.id = t.memory_id
            WHERE m.content LIKE 'The grass is green%' AND t.term = 'grass'), 2, 'term frequency of "grass" in "the grass ... the grass" is 2');
SELECT is((SELECT DISTINCT doc_len FROM animus.memory_terms t JOIN animus.memories m ON m.id = t.memory_id
            WHERE m.content LIKE 'The grass is green%'), 4, 'document length counts lexeme occurrences, stop words excluded (grass green grass tall)');

-- ranking
SELECT is((SELECT content FROM animus.search_memory_text('zebra grass', 1, '{"namespace": "pgtap-bm25"}')),
          'Zebras graze on the savanna grass', 'the rare term (zebra) outweighs the common one (grass)');
SELECT is((SELECT content FROM animus.search_memory_text('grass', 1, '{"namespace": "pgtap-bm25"}')),
          'The grass is green and the grass is tall', 'for one term, a short memory repeating it ranks first');
SELECT ok((SELECT s1.score > s2.score FROM
             (SELECT score FROM animus.search_memory_text('grass', 3, '{"namespace": "pgtap-bm25"}') WHERE content LIKE 'Zebras%') s1,
             (SELECT score FROM animus.search_memory_text('grass', 3, '{"namespace": "pgtap-bm25"}') WHERE content LIKE 'Grass grows%') s2),
          'with equal tf, the shorter memory scores higher (length normalisation)');
SELECT ok((SELECT bool_and(exact) FROM animus.memory_bm25_topk('green grass', '{"namespace": {"in": ["pgtap-bm25"]}}', 3)),
          'on a small namespace the top-k is proven exact');
SELECT results_eq(
    $$SELECT id, score FROM animus.memory_bm25_topk('green grass mowing', '{"namespace": {"in": ["pgtap-bm25"]}}', 3, 1)$$,
    $$SELECT id, score FROM animus.memory_bm25_topk('green grass mowing', '{"namespace": {"in": ["pgtap-bm25"]}}', 3, 100000000)$$,
    'a budget of one posting still returns the exhaustive top-k here (rescoring completes the scores)');
SELECT is((SELECT count(*)::int FROM animus.search_memory_text('green', 5, '{"namespace": "pgtap-bm25", "memory_type": "habit"}')), 1,
          'a selective filter (memory_type) keeps only its matches');
SELECT is((SELECT m.content FROM animus.memory_bm25_topk('grass',
              '{"namespace": {"in": ["pgtap-bm25"]}, "metadata": {"topic": "lawn"}}', 1, 1) t
             JOIN animus.memories m ON m.id = t.id),
          'Grass grows after rain; the lawn needs mowing and more mowing every week in the summer months',
          'when no candidate read passes a selective filter, the filtered matches are scored (k rows whenever k match)');

-- updates and deletes
UPDATE animus.memories SET content = 'Zebras and lions on the savanna' WHERE namespace = 'pgtap-bm25' AND content LIKE 'Zebras%';
SELECT is(pg_temp.df('pgtap-bm25', 'grass'), 2::bigint, 'after a content update "grass" is in 2 documents');
SELECT is(pg_temp.df('pgtap-bm25', 'lion'), 1::bigint, 'the new word of the updated memory is indexed');
SELECT is(pg_temp.docs('pgtap-bm25'), 4::bigint, 'an update does not change the document count');
CREATE TEMP TABLE before_meta AS SELECT ctid::text AS c FROM animus.memory_terms WHERE namespace = 'pgtap-bm25';
UPDATE animus.memories SET metadata = '{"seen": true}' WHERE namespace = 'pgtap-bm25';
SELECT set_eq($$SELECT ctid::text AS c FROM animus.memory_terms WHERE namespace = 'pgtap-bm25'$$, $$SELECT c FROM before_meta$$,
              'an update that leaves the content alone does not rewrite postings');
DELETE FROM animus.memories WHERE namespace = 'pgtap-bm25' AND content LIKE 'Green tea%';
SELECT is(pg_temp.docs('pgtap-bm25'), 3::bigint, 'a delete removes the document from the count');
SELECT is((SELECT count(*)::int FROM animus.memory_terms t WHERE t.namespace = 'pgtap-bm25' AND t.term = 'tea'), 0, 'a delete removes its postings');

-- refresh folds the deltas without changing what searches see
SELECT ok(animus.memory_bm25_refresh() >= 0, 'refresh folds the pending deltas');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.memory_bm25_deltas WHERE namespace = 'pgtap-bm25')
          AND (SELECT docs FROM animus.memory_bm25_namespace_stats WHERE namespace = 'pgtap-bm25') = 3
          AND (SELECT df FROM animus.memory_bm25_term_stats WHERE namespace = 'pgtap-bm25' AND term = 'grass') = 2
          AND NOT EXISTS (SELECT 1 FROM animus.memory_bm25_term_stats WHERE namespace = 'pgtap-bm25' AND term = 'tea'),
          'after refresh the folded statistics are exact and terms with df 0 are gone');

-- settings
SELECT throws_ok($$SELECT animus.memory_bm25_configure(k1 => 0)$$, 'ZA280', NULL, 'k1 = 0 raises ZA280');
SELECT throws_ok($$SELECT animus.memory_bm25_configure(b => 1.5)$$, 'ZA280', NULL, 'b > 1 raises ZA280');
SELECT throws_ok($$SELECT animus.memory_bm25_configure(postings_budget => 0)$$, 'ZA280', NULL, 'a postings budget of 0 raises ZA280');

SELECT * FROM finish();
ROLLBACK;
