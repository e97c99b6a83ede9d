-- Tenant isolation of memories: a reader scoped to namespace A never sees, counts or is ranked
-- against rows of namespace B, through get, text, vector (HNSW) and hybrid search, and still gets
-- k results when A has k matching rows. Tenant roles read no memory table directly (42501; the
-- probes that table access allowed are in security_memory_side_channel.sql). Writers are confined to their write scope through the
-- SECURITY DEFINER write functions, and may not write the table directly.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(41);
-- pgTAP keeps its state in temporary tables; the roles this file switches to must write them.
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

CREATE ROLE animus_test_rls_a NOLOGIN IN ROLE animus_memory_reader;
CREATE ROLE animus_test_rls_b NOLOGIN IN ROLE animus_memory_writer;
CREATE ROLE animus_test_rls_ab NOLOGIN IN ROLE animus_memory_reader;
SELECT animus.grant_memory_namespace('animus_test_rls_a', 'sec-A');
SELECT animus.grant_memory_namespace('animus_test_rls_b', 'sec-B', can_write => true);
SELECT animus.grant_memory_namespace('animus_test_rls_ab', 'sec-A');
SELECT animus.grant_memory_namespace('animus_test_rls_ab', 'sec-B');

-- A unit vector along axis i, plus a little of axis 1 (all share a direction with the query).
CREATE FUNCTION pg_temp.vec(i integer, w real DEFAULT 1) RETURNS vector LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN d = i THEN w WHEN d = 1 THEN 0.5 ELSE 0 END ORDER BY d)::vector
      FROM generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
GRANT EXECUTE ON FUNCTION pg_temp.vec(integer, real) TO PUBLIC;

-- Namespace A: 6 memories about apples, far from the query vector (axis 1).
-- Namespace B: 400 memories about apples, every one nearer the query than any of A's.
CREATE TEMP TABLE a_ids ON COMMIT DROP AS
SELECT (animus.store_memory(content => format('apple orchard note %s from tenant A', i), embedding => pg_temp.vec(10 + i, 4),
                            memory_type => 'fact', namespace => 'sec-A')).id
  FROM generate_series(1, 6) AS i;
CREATE TEMP TABLE b_ids ON COMMIT DROP AS
SELECT (animus.store_memory(content => format('apple apple apple %s tenant B', i), embedding => pg_temp.vec(100 + i, 0.5),
                            memory_type => 'fact', namespace => 'sec-B')).id
  FROM generate_series(1, 400) AS i;
GRANT SELECT ON a_ids, b_ids TO PUBLIC;
-- What A should see, computed by the superuser with an explicit namespace filter.
CREATE TEMP TABLE a_hybrid ON COMMIT DROP AS
SELECT h.id, h.rank FROM animus.hybrid_search('apple orchard', pg_temp.vec(1), 5, '{"namespace": "sec-A"}') AS h;
CREATE TEMP TABLE a_text ON COMMIT DROP AS
SELECT t.id, t.rank, t.score FROM animus.search_memory_text('apple orchard', 10, '{"namespace": "sec-A"}') AS t;
GRANT SELECT ON a_hybrid, a_text TO PUBLIC;
CREATE TEMP TABLE kept (id bigint) ON COMMIT DROP;
GRANT ALL ON kept TO PUBLIC;

SELECT is((SELECT count(*) FROM animus.memories WHERE namespace IN ('sec-A', 'sec-B')), 406::bigint,
          'the superuser (as owner, not confined) sees both namespaces: 6 rows in A, 400 in B');

SET LOCAL ROLE animus_test_rls_a;
SELECT is(animus.memory_scope(), ARRAY['sec-A'], 'reader A: its scope is exactly the namespace granted to it');
SELECT throws_ok($$SELECT count(*) FROM animus.memories$$, '42501', NULL,
                 'reader A: a direct SELECT on animus.memories is refused (42501): reads go through the scoped functions');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 1000)), 6::bigint,
          'reader A: an unfiltered vector search of k=1000 finds only the 6 rows of A');
SELECT is((SELECT count(*) FROM animus.search_memory_text('apple', 1000, '{"namespace": {"prefix": "sec"}}') WHERE namespace <> 'sec-A'), 0::bigint,
          'reader A: a namespace prefix covering B finds no row of B');
SELECT is_empty($$SELECT * FROM animus.get_memory((SELECT min(id) FROM b_ids))$$, 'reader A: get_memory of a B id returns no row');
SELECT isnt_empty($$SELECT * FROM animus.get_memory((SELECT min(id) FROM a_ids))$$, 'reader A: get_memory of an A id returns its row');
SELECT is((SELECT count(*) FROM animus.search_memory_text('apple', 50)), 6::bigint,
          'reader A: text search for a word in all 406 rows returns only the 6 of A');
SELECT results_eq($$SELECT id, rank, score FROM animus.search_memory_text('apple orchard', 10) ORDER BY rank$$,
                  $$SELECT id, rank, score FROM a_text ORDER BY rank$$,
                  'reader A: text ranks and scores equal those over namespace A alone (not ranked against B)');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 6) WHERE id IN (SELECT id FROM a_ids)), 6::bigint,
          'reader A: vector search k=6 returns all 6 A rows although 400 B rows are nearer (HNSW under RLS still fills k)');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 6) WHERE id IN (SELECT id FROM a_ids)), 6::bigint,
          'reader A: with sequential scans off (forcing the HNSW index path), vector search k=6 still returns the 6 A rows');
RESET enable_seqscan;
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 3)), 3::bigint,
          'reader A: vector search k=3 returns exactly 3 rows');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 50)), 6::bigint,
          'reader A: vector search k=50 returns the 6 rows of A and nothing else (no B row fills the gap)');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM animus.search_memory_vector(pg_temp.vec(1), 50)), ARRAY[1,2,3,4,5,6]::bigint[],
          'reader A: vector ranks are 1..6, with no gap where a B row would have ranked');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 10, '{"namespace": "sec-B"}')), 0::bigint,
          'reader A: a filter on namespace B cannot widen the scope (0 rows)');
SELECT results_eq($$SELECT id, rank FROM animus.hybrid_search('apple orchard', pg_temp.vec(1), 5) ORDER BY rank$$,
                  $$SELECT id, rank FROM a_hybrid ORDER BY rank$$,
                  'reader A: hybrid search returns k=5 rows with the ranks computed over namespace A alone');
SELECT is((SELECT count(*) FROM animus.hybrid_search('apple', pg_temp.vec(1), 100) WHERE namespace <> 'sec-A'), 0::bigint,
          'reader A: hybrid search k=100 returns no row outside A');
SELECT throws_ok($$SELECT count(*) FROM animus.memory_terms WHERE namespace = 'sec-B'$$, '42501', NULL,
                 'reader A: the BM25 postings (every tenant''s words) are not readable (42501)');
SELECT throws_ok($$SELECT (SELECT count(*) FROM animus.memory_bm25_term_stats) + (SELECT count(*) FROM animus.memory_bm25_namespace_stats)$$,
                 '42501', NULL, 'reader A: the BM25 statistics (document counts, document frequencies) are not readable (42501)');
SELECT throws_ok($$SELECT count(*) FROM animus.memory_bm25_deltas$$, '42501', NULL,
                 'reader A: the BM25 statistic deltas are not readable (42501)');
SELECT isnt_empty($$SELECT 1 FROM animus.search_memory_text('orchard', 10)$$, 'reader A: its own memories are found by keyword');
SET LOCAL animus.namespaces = 'sec-B';
SELECT is(animus.memory_scope(), '{}'::text[], 'reader A: setting animus.namespaces to B does not widen the scope (empty)');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 1000)), 0::bigint,
          'reader A: with animus.namespaces = B it finds nothing at all');
RESET animus.namespaces;
RESET ROLE;

SET LOCAL ROLE animus_test_rls_ab;
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 1000)), 406::bigint,
          'reader AB: granted A and B, it finds both (406 rows)');
SET LOCAL animus.namespaces = 'sec-A';
SELECT is((SELECT count(*) FROM animus.search_memory_text('apple', 1000)), 6::bigint,
          'reader AB: animus.namespaces = A narrows the session to A');
SELECT is((SELECT count(*) FROM animus.search_memory_vector(pg_temp.vec(1), 10)), 6::bigint,
          'reader AB narrowed to A: vector search returns only the 6 A rows');
RESET animus.namespaces;
RESET ROLE;

SET LOCAL ROLE animus_test_rls_b;
-- The write functions are SECURITY DEFINER (they run as the owner, here a superuser that RLS does
-- not confine): they must confine writer B to its write scope themselves.
SELECT is(animus.memory_scope('write'), ARRAY['sec-B'], 'writer B: its write scope is B');
SELECT throws_ok($$SELECT animus.store_memory('planted by B', pg_temp.vec(3), 'fact', namespace => 'sec-A')$$, '42501', NULL,
                 'writer B: store_memory into namespace A is refused (42501) although store_memory runs as the owner');
SELECT throws_ok($$SELECT * FROM animus.store_memories(jsonb_build_array(
                       jsonb_build_object('content', 'kept in batch', 'embedding', pg_temp.vec(4)::text, 'memory_type', 'fact'),
                       jsonb_build_object('content', 'planted in batch', 'embedding', pg_temp.vec(5)::text, 'memory_type', 'fact',
                                          'namespace', 'sec-A')), 'sec-B')$$, '42501', NULL,
                 'writer B: store_memories with one element for namespace A is refused (42501), nothing stored');
SELECT lives_ok($$INSERT INTO kept SELECT s.id FROM animus.store_memory('kept by B', pg_temp.vec(3), 'fact', namespace => 'sec-B') AS s$$,
                'writer B: storing into its own namespace works');
SELECT throws_ok($$SELECT animus.update_memory((SELECT min(id) FROM a_ids), metadata => '{"x": 1}')$$, 'ZA207', NULL,
                 'writer B: updating an A memory reports "not found" (ZA207), exactly as for a missing id');
SELECT throws_ok($$SELECT animus.update_memory((SELECT id FROM kept), namespace => 'sec-A')$$, '42501', NULL,
                 'writer B: moving its own memory into A with update_memory is refused (42501)');
SELECT is(animus.delete_memory((SELECT min(id) FROM a_ids)), false, 'writer B: delete_memory of an A id deletes nothing');
SELECT is(animus.delete_memories((SELECT array_agg(id) FROM a_ids)), 0::bigint, 'writer B: delete_memories of all A ids deletes nothing');
SELECT throws_ok($$UPDATE animus.memories SET namespace = 'sec-A' WHERE namespace = 'sec-B'$$, '42501', NULL,
                 'writer B: a direct UPDATE of animus.memories is refused (no table privilege: only the functions write)');
SELECT throws_ok($$DELETE FROM animus.memories$$, '42501', NULL,
                 'writer B: a direct DELETE of animus.memories is refused (no table privilege)');
RESET ROLE;
SELECT is((SELECT count(*) FROM animus.memories WHERE namespace = 'sec-A'), 6::bigint,
          'after all that, the 6 memories of A are intact');

SET LOCAL ROLE animus_admin;
SELECT is(animus.memory_scope(), ARRAY['*'], 'animus_admin sees every namespace (its ''*'' grant)');
RESET ROLE;
SELECT throws_ok($$SELECT animus.grant_memory_namespace('animus_no_such_role_x', 'sec-A')$$, 'ZA320', NULL,
                 'grant_memory_namespace refuses a role that does not exist (ZA320)');
SELECT throws_ok($$SELECT animus.grant_memory_namespace('animus_test_rls_a', 'a,b')$$, 'ZA321', NULL,
                 'grant_memory_namespace refuses a namespace with a comma (ZA321: animus.namespaces could not name it)');
SELECT throws_ok($$SELECT animus.memory_scope('delete')$$, 'ZA004', NULL, 'memory_scope refuses an unknown access (ZA004)');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
