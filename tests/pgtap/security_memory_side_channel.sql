-- No side channel into another tenant's memories. A tenant role holding SELECT on a table with
-- other tenants' rows learns them through the planner even under row-level security: leakproof
-- comparisons run as index conditions before the policy's filter, and EXPLAIN (ANALYZE) prints
-- "Rows Removed by Filter". Each probe below, run as a reader (and a writer) of tenant A against
-- a memory of tenant B, must now be refused (42501) or learn nothing, while A's own searches
-- return exactly what the owner's search filtered on A returns.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(24);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

CREATE ROLE animus_test_side_a NOLOGIN IN ROLE animus_memory_reader;
CREATE ROLE animus_test_side_aw NOLOGIN IN ROLE animus_memory_writer;
SELECT animus.grant_memory_namespace('animus_test_side_a', 'side-A');
SELECT animus.grant_memory_namespace('animus_test_side_aw', 'side-A', can_write => true);

CREATE FUNCTION pg_temp.vec(i integer, w real DEFAULT 1) RETURNS vector LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN d = i THEN w WHEN d = 1 THEN 0.5 ELSE 0 END ORDER BY d)::vector
      FROM generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
GRANT EXECUTE ON FUNCTION pg_temp.vec(integer, real) TO PUBLIC;
CREATE FUNCTION pg_temp.explain_text(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.explain_text(text) TO PUBLIC;

CREATE TEMP TABLE ids ON COMMIT DROP AS
SELECT 'A' AS tenant, (animus.store_memory(format('apple password note %s of tenant A', i), pg_temp.vec(10 + i), 'fact',
                                           namespace => 'side-A')).id
  FROM generate_series(1, 5) AS i
UNION ALL
SELECT 'B', (animus.store_memory('bob hunter2 password zebra', pg_temp.vec(3), 'fact', namespace => 'side-B')).id;
GRANT SELECT ON ids TO PUBLIC;
-- What A must get: the owner's searches filtered on A.
CREATE TEMP TABLE a_text ON COMMIT DROP AS
SELECT t.id, t.rank, t.score FROM animus.search_memory_text('password apple', 10, '{"namespace": "side-A"}') AS t;
CREATE TEMP TABLE a_vec ON COMMIT DROP AS
SELECT v.id, v.rank FROM animus.search_memory_vector(pg_temp.vec(3), 3, '{"namespace": "side-A"}') AS v;
GRANT SELECT ON a_text, a_vec TO PUBLIC;
-- Probes that need literal values (EXPLAIN takes no parameters): the hidden memory's id and vector.
SELECT format('EXPLAIN (ANALYZE) SELECT 1 FROM animus.memory_terms WHERE memory_id = %s AND term >= %L AND term < %L',
              (SELECT id FROM ids WHERE tenant = 'B'), 'h', 'i') AS probe_terms,
       format('EXPLAIN (ANALYZE) SELECT 1 FROM animus.memories ORDER BY embedding <=> %L::vector LIMIT 5',
              pg_temp.vec(3)::text) AS probe_knn \gset

SET LOCAL ROLE animus_test_side_a;
SELECT throws_ok(:'probe_terms', '42501', NULL,
                 'reader A: EXPLAIN ANALYZE of a prefix range on the postings of a B memory is refused (42501), it rebuilt B''s words');
SELECT throws_ok($$EXPLAIN (ANALYZE) SELECT 1 FROM animus.memories WHERE namespace >= 'side-B' AND namespace < 'side-C'$$, '42501', NULL,
                 'reader A: EXPLAIN ANALYZE of a range on memories.namespace is refused (42501), it listed hidden tenants');
SELECT throws_ok($$EXPLAIN (ANALYZE) SELECT 1 FROM animus.memories
                    WHERE content_hash = animus.memory_content_hash('bob hunter2 password zebra')$$, '42501', NULL,
                 'reader A: EXPLAIN ANALYZE on memories.content_hash is refused (42501), it confirmed a guessed text');
SELECT throws_ok(:'probe_knn', '42501', NULL,
                 'reader A: EXPLAIN ANALYZE of a nearest-neighbour scan (embedding <=>) is refused (42501), it counted hidden neighbours');
SELECT throws_ok($$EXPLAIN SELECT 1 FROM animus.memories WHERE namespace = 'side-B'$$, '42501', NULL,
                 'reader A: plain EXPLAIN on namespace B is refused (42501), its estimate counted B''s rows');
SELECT throws_ok($$SELECT refreshed_through FROM animus.memory_bm25_settings$$, '42501', NULL,
                 'reader A: memory_bm25_settings (refreshed_through counts every tenant''s writes) is not readable (42501)');
SELECT throws_ok($$EXPLAIN SELECT 1 FROM animus.memory_bm25_term_stats WHERE term = 'hunter2'$$, '42501', NULL,
                 'reader A: the BM25 document frequencies are not readable, not even by EXPLAIN (42501)');
SELECT throws_ok($$SELECT * FROM animus.memory_bm25_topk('hunter2', '{"namespace": {"in": ["side-B"]}}')$$, '42501', NULL,
                 'reader A: calling the internal BM25 top-k with a normalised filter on B is refused (42501)');
SELECT throws_ok(format('SELECT * FROM animus.memory_vector_candidates(%L::vector, %L)', pg_temp.vec(3)::text, '{"namespace": {"in": ["side-B"]}}'),
                 '42501', NULL, 'reader A: calling the internal vector branch with a filter on B is refused (42501)');
SELECT is_empty($$SELECT 1 FROM animus.search_memory_text('hunter2 zebra bob')$$,
                'reader A: a keyword search for B''s words finds nothing');
SELECT is_empty($$SELECT 1 FROM animus.search_memory_text('hunter2', 10, '{"namespace": "side-B"}')$$,
                'reader A: the same with a filter naming namespace B finds nothing');
SELECT is_empty($$SELECT 1 FROM animus.search_memory_text('hunter2', 10, '{"namespace": {"prefix": "side-"}}')$$,
                'reader A: the same with a namespace prefix covering B finds nothing');
SELECT is((SELECT count(*) FROM animus.hybrid_search('hunter2 zebra', pg_temp.vec(3), 10) WHERE namespace <> 'side-A'), 0::bigint,
          'reader A: hybrid search near B''s vector and words returns no row outside A');
SELECT is_empty(format('SELECT 1 FROM animus.get_memory(%s)', (SELECT id FROM ids WHERE tenant = 'B')),
                'reader A: get_memory of the B id returns no row');
SELECT results_eq($$SELECT id, rank, score FROM animus.search_memory_text('password apple', 10) ORDER BY rank$$,
                  $$SELECT id, rank, score FROM a_text ORDER BY rank$$,
                  'reader A: keyword results and BM25 scores are the owner''s filtered on A (idf from A alone)');
SELECT results_eq($$SELECT id, rank FROM animus.search_memory_vector(pg_temp.vec(3), 3) ORDER BY rank$$,
                  $$SELECT id, rank FROM a_vec ORDER BY rank$$,
                  'reader A: vector results are the owner''s filtered on A (B''s nearer memory is not among them)');
SELECT unalike(pg_temp.explain_text($$SELECT * FROM animus.search_memory_text('hunter2 zebra')$$), '%Removed%',
               'reader A: EXPLAIN ANALYZE of a search shows the function call only, no rows removed by a hidden filter');
RESET ROLE;

-- The owner adds B memories with A's query words: A's scores must not move (idf counts A alone).
CREATE TEMP TABLE more_b ON COMMIT DROP AS
SELECT s.id FROM generate_series(1, 30) AS i,
       animus.store_memory(format('password apple apple %s of tenant B', i), pg_temp.vec(200 + i), 'fact', namespace => 'side-B') AS s;
SET LOCAL ROLE animus_test_side_a;
SELECT results_eq($$SELECT id, rank, score FROM animus.search_memory_text('password apple', 10) ORDER BY rank$$,
                  $$SELECT id, rank, score FROM a_text ORDER BY rank$$,
                  'reader A: 30 new B memories with the query''s words change neither A''s results nor their scores');
RESET ROLE;

-- A writer of A (a member of animus_memory_reader through animus_memory_writer) is no better placed.
SET LOCAL ROLE animus_test_side_aw;
SELECT throws_ok(:'probe_terms', '42501', NULL, 'writer A: the postings probe is refused (42501)');
SELECT throws_ok($$EXPLAIN SELECT 1 FROM animus.memories WHERE namespace = 'side-B'$$, '42501', NULL,
                 'writer A: EXPLAIN on namespace B is refused (42501)');
SELECT throws_ok($$SELECT count(*) FROM animus.memory_bm25_deltas$$, '42501', NULL,
                 'writer A: the BM25 deltas (ids and counts of every tenant''s writes) are not readable (42501)');
SELECT is_empty($$SELECT 1 FROM animus.search_memory_text('hunter2')$$, 'writer A: a keyword search for B''s words finds nothing');
RESET ROLE;

-- The trusted roles still read the tables.
SET LOCAL ROLE animus_admin;
SELECT lives_ok($$SELECT count(*) FROM animus.memories$$, 'animus_admin (trusted, every namespace) still reads animus.memories');
SELECT lives_ok($$SELECT count(*) FROM animus.memory_terms$$, 'animus_admin still reads the BM25 postings');
RESET ROLE;

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
