-- The BM25 top-k over many namespaces (more than lim: the cut terms seed nothing) and over a
-- namespace list gives exact scores and, where proven, the exhaustive top-k; every result passes
-- the filter predicate animus.memory_filter_match, also when it adds conditions of its own (as
-- the lifecycle change does: expiry), with the top-k refilled from the rows that pass.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(8);

CREATE FUNCTION pg_temp.v(i integer) RETURNS vector LANGUAGE sql AS $$
    SELECT (array_fill(0::real, ARRAY[(SELECT embedding_dim FROM animus.memory_settings) - 1]) || (i % 7 + 1)::real)::vector
$$;

-- 12 namespaces x 10 memories: "apple" common, "zebra" rare, lengths vary.
SELECT is((SELECT count(*)::int FROM animus.store_memories((
    SELECT jsonb_agg(jsonb_build_object(
        'content', format('memory %s %s %s %s', i, repeat('apple ', 1 + i % 4), CASE WHEN i % 9 = 0 THEN 'zebra' ELSE 'lion' END,
                          repeat('grass ', i % 5)),
        'embedding', pg_temp.v(i)::text, 'memory_type', 'fact', 'namespace', format('pgtap-ns-%s', i % 12),
        'metadata', jsonb_build_object('i', i)))
    FROM generate_series(1, 120) AS i))), 120, 'stored 120 memories in 12 namespaces');

CREATE TEMP TABLE exhaustive AS
    SELECT * FROM animus.memory_bm25_topk('apple zebra grass', '{"namespace": {"prefix": "pgtap-ns-"}}', 5, 100000000);
CREATE TEMP TABLE budgeted AS   -- a budget of 10 postings: apple and grass are cut, 12 namespaces > lim 5
    SELECT * FROM animus.memory_bm25_topk('apple zebra grass', '{"namespace": {"prefix": "pgtap-ns-"}}', 5, 10);
SELECT is((SELECT count(*)::int FROM budgeted), 5, 'the budgeted search over 12 namespaces returns lim rows');
SELECT ok((SELECT bool_and(abs(b.score - x.score) < 1e-9)
             FROM budgeted b JOIN animus.memory_bm25_topk('apple zebra grass', '{"namespace": {"prefix": "pgtap-ns-"}}', 1000, 100000000) x
               ON x.id = b.id),
          'every returned score is the exact BM25 score of that memory');
SELECT ok((SELECT bool_and(NOT b.exact) OR (SELECT array_agg(id ORDER BY score DESC, id) FROM budgeted) =
                                          (SELECT array_agg(id ORDER BY score DESC, id) FROM exhaustive) FROM budgeted b),
          'a result marked exact equals the exhaustive top-k');
SELECT results_eq(
    $$SELECT id FROM animus.memory_bm25_topk('apple zebra grass', (SELECT jsonb_build_object('namespace', jsonb_build_object('in',
          jsonb_agg(format('pgtap-ns-%s', i)))) FROM generate_series(0, 11) i), 5, 100000000) ORDER BY score DESC, id$$,
    $$SELECT id FROM exhaustive ORDER BY score DESC, id$$,
    'a list of the 12 namespaces ranks as their prefix does');

-- A filter predicate with a condition of its own (here: metadata {"hidden": true} drops out, for
-- namespace filters), as memory_filter_match may gain: every search path applies it.
CREATE OR REPLACE FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text,
                                                      metadata jsonb, created_at timestamptz)
    RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((filters -> 'namespace') IS NULL
            OR CASE WHEN (filters -> 'namespace') ? 'in' THEN namespace = ANY (animus.memory_filter_list(filters -> 'namespace'))
                    ELSE starts_with(namespace, (filters -> 'namespace') ->> 'prefix') END)
           AND NOT coalesce(metadata @> '{"hidden": true}', false);
UPDATE animus.memories SET metadata = metadata || '{"hidden": true}'
 WHERE id IN (SELECT id FROM exhaustive ORDER BY score DESC, id LIMIT 3);
SELECT is((SELECT count(*)::int FROM animus.memory_bm25_topk('apple zebra grass', '{"namespace": {"prefix": "pgtap-ns-"}}', 5)
            WHERE id IN (SELECT id FROM exhaustive ORDER BY score DESC, id LIMIT 3)), 0,
          'memories the filter predicate drops are not returned (namespace-only filter)');
SELECT is((SELECT count(*)::int FROM animus.memory_bm25_topk('apple zebra grass', '{"namespace": {"prefix": "pgtap-ns-"}}', 5)), 5,
          'the top-k is refilled from memories that pass');
SELECT is((SELECT count(*)::int FROM animus.search_memory_text('apple zebra grass', 120, '{"namespace": {"prefix": "pgtap-ns-"}}')
            WHERE metadata @> '{"hidden": true}'), 0,
          'search_memory_text returns none of them either');

SELECT * FROM finish();
ROLLBACK;
