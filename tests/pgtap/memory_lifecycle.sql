-- Lifecycle, sharing, links and review scheduling of memories: expired and superseded memories
-- leave every search (vector, text, hybrid) at once, superseded ones come back with
-- include_superseded and are listed by memory_chain; retention purges expired, never pinned,
-- memories; two owners in one namespace see exactly what visibility allows through get, search,
-- chain and neighbours; links are cycle-safe and go with their memories; FSRS reviews follow the
-- published formulas; every bad input has its SQLSTATE and writes nothing.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(58);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

SELECT has_function('animus', 'update_memory_lifecycle', ARRAY['bigint', 'timestamp with time zone', 'interval', 'boolean', 'bigint[]', 'text', 'text[]', 'boolean'], 'update_memory_lifecycle exists');
SELECT volatility_is('animus', 'memory_chain', ARRAY['bigint'], 'stable', 'memory_chain is STABLE');
SELECT volatility_is('animus', 'memory_neighbors', ARRAY['bigint', 'integer', 'text[]'], 'stable', 'memory_neighbors is STABLE');

CREATE ROLE animus_test_lc_a NOLOGIN IN ROLE animus_memory_writer;
CREATE ROLE animus_test_lc_b NOLOGIN IN ROLE animus_memory_writer;
CREATE ROLE animus_test_lc_team NOLOGIN;
GRANT animus_test_lc_team TO animus_test_lc_b;
SELECT animus.grant_memory_namespace('animus_test_lc_a', 'lc', can_write => true);
SELECT animus.grant_memory_namespace('animus_test_lc_b', 'lc', can_write => true);

CREATE FUNCTION pg_temp.vec(i integer) RETURNS vector LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN d = 1 THEN 1 WHEN d = i THEN 0.3 ELSE 0 END ORDER BY d)::vector
      FROM generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
GRANT EXECUTE ON FUNCTION pg_temp.vec(integer) TO PUBLIC;
CREATE TEMP TABLE ids (name text PRIMARY KEY, id bigint) ON COMMIT DROP;
GRANT ALL ON ids TO PUBLIC;
-- the ids a search returns, among the memories of this file
CREATE FUNCTION pg_temp.found(kind text, filters jsonb DEFAULT '{"namespace": "lc"}') RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(i.name ORDER BY i.name), '{}') FROM ids AS i WHERE i.id IN (
        SELECT s.id FROM animus.search_memory_vector(pg_temp.vec(2), 100, filters) AS s WHERE kind = 'vector'
        UNION ALL SELECT s.id FROM animus.search_memory_text('zebra', 100, filters) AS s WHERE kind = 'text'
        UNION ALL SELECT s.id FROM animus.hybrid_search('zebra', pg_temp.vec(2), 100, filters) AS s WHERE kind = 'hybrid') $$;
GRANT EXECUTE ON FUNCTION pg_temp.found(text, jsonb) TO PUBLIC;

SET LOCAL ROLE animus_test_lc_a;
INSERT INTO ids SELECT 'old', (animus.store_memory('zebra lives in the zoo', pg_temp.vec(3), 'fact', namespace => 'lc')).id;
INSERT INTO ids SELECT 'new', (animus.store_memory('zebra lives on the savanna', pg_temp.vec(4), 'fact', namespace => 'lc',
                                                   supersedes => ARRAY[(SELECT id FROM ids WHERE name = 'old')])).id;
INSERT INTO ids SELECT 'newest', (animus.store_memory('zebra lives on the savanna of Kenya', pg_temp.vec(5), 'fact', namespace => 'lc',
                                                      supersedes => ARRAY[(SELECT id FROM ids WHERE name = 'new')])).id;
INSERT INTO ids SELECT 'ttl', (animus.store_memory('zebra crossing ahead', pg_temp.vec(6), 'fact', namespace => 'lc', ttl => '1 hour')).id;
INSERT INTO ids SELECT 'pinned', (animus.store_memory('zebra stripes are unique', pg_temp.vec(7), 'fact', namespace => 'lc', pinned => true)).id;
INSERT INTO ids SELECT 'private_a', (animus.store_memory('zebra diary of A', pg_temp.vec(8), 'note', namespace => 'lc', visibility => 'private')).id;
INSERT INTO ids SELECT 'team_a', (animus.store_memory('zebra plan for the team', pg_temp.vec(9), 'note', namespace => 'lc',
                                                      visibility => 'groups', groups => ARRAY['animus_test_lc_team'])).id;
RESET ROLE;
SET LOCAL ROLE animus_test_lc_b;
INSERT INTO ids SELECT 'private_b', (animus.store_memory('zebra diary of B', pg_temp.vec(10), 'note', namespace => 'lc', visibility => 'private')).id;
RESET ROLE;

SELECT is(pg_temp.found('vector'), ARRAY['newest', 'pinned', 'private_a', 'private_b', 'team_a', 'ttl'],
          'superuser: vector search skips the two superseded memories');
SELECT is(pg_temp.found('text'), pg_temp.found('vector'), 'superuser: text search returns the same memories');
SELECT is(pg_temp.found('hybrid'), pg_temp.found('vector'), 'superuser: hybrid search returns the same memories');
SELECT is(pg_temp.found('vector', '{"namespace": "lc", "include_superseded": true}'),
          ARRAY['new', 'newest', 'old', 'pinned', 'private_a', 'private_b', 'team_a', 'ttl'],
          'include_superseded: true brings the superseded memories back');
SELECT throws_ok($$SELECT animus.memory_validate_filters('{"include_superseded": "yes"}')$$, 'ZA204', NULL,
                 'include_superseded must be a boolean (ZA204)');

-- expiry: out of every search at once
UPDATE animus.memories SET expires_at = now() - interval '1 second' WHERE id = (SELECT id FROM ids WHERE name = 'ttl');
SELECT ok(NOT 'ttl' = ANY (pg_temp.found('vector')), 'an expired memory leaves vector search at once');
SELECT ok(NOT 'ttl' = ANY (pg_temp.found('text')), 'an expired memory leaves text search at once');
SELECT ok(NOT 'ttl' = ANY (pg_temp.found('hybrid')), 'an expired memory leaves hybrid search at once');
SELECT ok(NOT 'ttl' = ANY (pg_temp.found('vector', '{"namespace": "lc", "include_superseded": true}')),
          'include_superseded does not bring expired memories back');

-- chain
SELECT results_eq($$SELECT i.name, c.generation FROM animus.memory_chain((SELECT id FROM ids WHERE name = 'old')) AS c
                    JOIN ids AS i ON i.id = c.memory_id ORDER BY c.generation$$,
                  $$VALUES ('newest', 0), ('new', 1), ('old', 2)$$,
                  'memory_chain from the oldest lists newest (0), new (1), old (2)');
SELECT is((SELECT count(*) FROM animus.memory_chain((SELECT id FROM ids WHERE name = 'newest'))), 3::bigint,
          'memory_chain from the head lists the same three memories');
SELECT is((SELECT superseded_by FROM animus.get_memory((SELECT id FROM ids WHERE name = 'old'))), (SELECT id FROM ids WHERE name = 'new'),
          'get_memory still reads a superseded memory and says what superseded it');

-- bad lifecycle input: SQLSTATE, nothing written
SELECT throws_ok($$SELECT animus.store_memory('zebra x1', pg_temp.vec(11), 'fact', namespace => 'lc', expires_at => now() - interval '1 day')$$,
                 'ZA216', NULL, 'an expiry in the past is ZA216');
SELECT throws_ok($$SELECT animus.store_memory('zebra x1', pg_temp.vec(11), 'fact', namespace => 'lc', ttl => '-1 day')$$,
                 'ZA216', NULL, 'a negative ttl is ZA216');
SELECT throws_ok($$SELECT animus.store_memory('zebra x1', pg_temp.vec(11), 'fact', namespace => 'lc', ttl => '1 day', pinned => true)$$,
                 'ZA216', NULL, 'an expiry on a pinned memory is ZA216');
SELECT throws_ok(format($$SELECT animus.store_memory('zebra lives on the savanna of Kenya', pg_temp.vec(5), 'fact', namespace => 'lc', supersedes => ARRAY[%s::bigint])$$,
                        (SELECT id FROM ids WHERE name = 'newest')),
                 'ZA217', NULL, 'a memory superseding itself is ZA217');
SELECT throws_ok(format($$SELECT animus.store_memory('zebra elsewhere', pg_temp.vec(12), 'fact', namespace => 'lc-other', supersedes => ARRAY[%s::bigint])$$,
                        (SELECT id FROM ids WHERE name = 'pinned')),
                 'ZA217', NULL, 'superseding a memory of another namespace is ZA217');
SELECT throws_ok(format($$SELECT animus.update_memory_lifecycle(%s, supersedes => ARRAY[%s::bigint])$$,
                        (SELECT id FROM ids WHERE name = 'old'), (SELECT id FROM ids WHERE name = 'newest')),
                 'ZA217', NULL, 'a supersession cycle is ZA217');
SELECT throws_ok($$SELECT animus.store_memory('zebra x2', pg_temp.vec(13), 'fact', namespace => 'lc', supersedes => ARRAY[-5::bigint])$$,
                 'ZA207', NULL, 'superseding an unknown memory is ZA207');
SELECT throws_ok($$SELECT animus.store_memory('zebra x3', pg_temp.vec(13), 'fact', namespace => 'lc', visibility => 'secret')$$,
                 'ZA218', NULL, 'an unknown visibility is ZA218');
SELECT throws_ok($$SELECT animus.store_memory('zebra x3', pg_temp.vec(13), 'fact', namespace => 'lc', visibility => 'groups', groups => ARRAY['animus_no_such_role'])$$,
                 'ZA219', NULL, 'an unknown group is ZA219');
SELECT is((SELECT count(*) FROM animus.memories WHERE content LIKE 'zebra x%' OR content = 'zebra elsewhere'), 0::bigint,
          'the refused stores wrote nothing');

-- sharing: two owners in one namespace
SET LOCAL ROLE animus_test_lc_a;
SELECT is(pg_temp.found('vector'), ARRAY['newest', 'pinned', 'private_a', 'team_a'], 'owner A: vector search shows its private and team memories, not B''s private one');
SELECT is(pg_temp.found('text'), pg_temp.found('vector'), 'owner A: text search shows the same');
SELECT is(pg_temp.found('hybrid'), pg_temp.found('vector'), 'owner A: hybrid search shows the same');
SELECT is((SELECT count(*) FROM animus.get_memory((SELECT id FROM ids WHERE name = 'private_b'))), 0::bigint, 'owner A: get_memory of B''s private memory finds nothing');
SELECT is(animus.delete_memory((SELECT id FROM ids WHERE name = 'private_b')), false, 'owner A: cannot delete B''s private memory');
SELECT throws_ok(format($$SELECT animus.update_memory(%s, metadata => '{}')$$, (SELECT id FROM ids WHERE name = 'private_b')),
                 'ZA207', NULL, 'owner A: updating B''s private memory is ZA207 (not found)');
SELECT throws_ok($$SELECT animus.store_memory('zebra diary of B', pg_temp.vec(10), 'note', namespace => 'lc')$$,
                 'ZA211', NULL, 'owner A: storing the content of B''s private memory is ZA211, it does not overwrite it');
RESET ROLE;
SET LOCAL ROLE animus_test_lc_b;
SELECT is(pg_temp.found('vector'), ARRAY['newest', 'pinned', 'private_b', 'team_a'], 'owner B (in the team group): sees its own private memory and A''s team memory, not A''s private one');
SELECT is(pg_temp.found('text'), pg_temp.found('vector'), 'owner B: text search shows the same');
SELECT is((SELECT count(*) FROM animus.get_memory((SELECT id FROM ids WHERE name = 'team_a'))), 1::bigint, 'owner B: get_memory reads the team memory');
SELECT throws_ok(format($$SELECT animus.link_memories(%s, %s)$$, (SELECT id FROM ids WHERE name = 'private_b'), (SELECT id FROM ids WHERE name = 'private_a')),
                 'ZA207', NULL, 'owner B: a link to A''s private memory is ZA207');
SELECT throws_ok(format($$SELECT animus.update_memory_lifecycle(%s, visibility => 'private')$$, (SELECT id FROM ids WHERE name = 'team_a')),
                 'ZA218', NULL, 'owner B: changing the visibility of A''s team memory is ZA218 (only the owner shares)');
RESET ROLE;

-- links
SELECT lives_ok(format($$SELECT animus.link_memories(%s, %s, 'related', 0.5); SELECT animus.link_memories(%s, %s, 'cites');
                         SELECT animus.link_memories(%s, %s, 'cites'); SELECT animus.link_memories(%s, %s, 'related')$$,
                       (SELECT id FROM ids WHERE name = 'newest'), (SELECT id FROM ids WHERE name = 'pinned'),
                       (SELECT id FROM ids WHERE name = 'pinned'), (SELECT id FROM ids WHERE name = 'team_a'),
                       (SELECT id FROM ids WHERE name = 'team_a'), (SELECT id FROM ids WHERE name = 'newest'),
                       (SELECT id FROM ids WHERE name = 'team_a'), (SELECT id FROM ids WHERE name = 'private_a')),
                'links newest -> pinned -> team_a -> newest (a cycle) and team_a -> private_a');
SELECT results_eq($$SELECT i.name, n.hops FROM animus.memory_neighbors((SELECT id FROM ids WHERE name = 'newest'), 3) AS n
                    JOIN ids AS i ON i.id = n.memory_id ORDER BY n.hops, i.name$$,
                  $$VALUES ('pinned', 1), ('team_a', 1), ('private_a', 2)$$,
                  'memory_neighbors depth 3 over a cycle: each memory once, at its shallowest depth, the start never');
SELECT results_eq($$SELECT i.name FROM animus.memory_neighbors((SELECT id FROM ids WHERE name = 'newest'), 1, ARRAY['cites']) AS n
                    JOIN ids AS i ON i.id = n.memory_id$$,
                  $$VALUES ('team_a')$$, 'relations => {cites} follows only cites links');
SET LOCAL ROLE animus_test_lc_b;
SELECT results_eq($$SELECT i.name FROM animus.memory_neighbors((SELECT id FROM ids WHERE name = 'newest'), 3) AS n
                    JOIN ids AS i ON i.id = n.memory_id ORDER BY 1$$,
                  $$VALUES ('pinned'), ('team_a')$$, 'owner B: neighbours leave out A''s private memory');
RESET ROLE;
SELECT is((SELECT round(score::numeric, 6) FROM animus.memory_graph_expand(ARRAY[(SELECT id FROM ids WHERE name = 'newest')], ARRAY[0.04::float8], 2)
            WHERE memory_id = (SELECT id FROM ids WHERE name = 'pinned')), 0.010000,
          'memory_graph_expand: score = hit score x weight x decay (0.04 x 0.5 x 0.5)');
SELECT throws_ok(format($$SELECT animus.link_memories(%s, %s)$$, (SELECT id FROM ids WHERE name = 'pinned'), (SELECT id FROM ids WHERE name = 'pinned')),
                 'ZA220', NULL, 'a link to itself is ZA220');
SELECT throws_ok(format($$SELECT animus.link_memories(%s, %s, 'Not An Identifier')$$, (SELECT id FROM ids WHERE name = 'pinned'), (SELECT id FROM ids WHERE name = 'newest')),
                 'ZA220', NULL, 'a relation that is not an identifier is ZA220');
SELECT throws_ok(format($$SELECT animus.link_memories(%s, -1)$$, (SELECT id FROM ids WHERE name = 'pinned')),
                 'ZA207', NULL, 'a link to an unknown memory is ZA207');
SELECT throws_ok(format($$SELECT * FROM animus.memory_neighbors(%s, 6)$$, (SELECT id FROM ids WHERE name = 'pinned')),
                 'ZA221', NULL, 'depth 6 is ZA221');
SELECT is(animus.unlink_memories((SELECT id FROM ids WHERE name = 'team_a'), (SELECT id FROM ids WHERE name = 'newest')), 1::bigint,
          'unlink_memories removes one link');
SELECT lives_ok(format($$SELECT animus.delete_memory(%s)$$, (SELECT id FROM ids WHERE name = 'team_a')), 'deleting a linked memory works');
SELECT is((SELECT count(*) FROM animus.memory_links WHERE (SELECT id FROM ids WHERE name = 'team_a') IN (source_id, target_id)), 0::bigint,
          'its links went with it');

-- retention
UPDATE animus.memories SET pinned = false WHERE id = (SELECT id FROM ids WHERE name = 'pinned');
SELECT is(animus.purge_expired_memories(namespace => 'lc'), 1::bigint, 'purge_expired_memories deletes the one expired memory');
SELECT is((SELECT count(*) FROM animus.memories WHERE id = (SELECT id FROM ids WHERE name = 'ttl')), 0::bigint, 'the expired memory is gone');
SELECT throws_ok($$SELECT animus.update_memory_lifecycle((SELECT id FROM ids WHERE name = 'pinned'), pinned => true, ttl => '1 day')$$,
                 'ZA216', NULL, 'update_memory_lifecycle: an expiry with pinned is ZA216');

-- FSRS-4.5: first review with grade 3 gives S = w2 = 3.7145, D = w4 = 5.1618
SELECT results_eq($$SELECT round(stability::numeric, 4), round(difficulty::numeric, 4), reps
                      FROM animus.review_memory((SELECT id FROM ids WHERE name = 'newest'), 3, '2026-01-01')$$,
                  $$VALUES (3.7145, 5.1618, 1)$$, 'first review (good): S = w2, D = w4');
SELECT throws_ok($$SELECT animus.review_memory((SELECT id FROM ids WHERE name = 'newest'), 5)$$, 'ZA222', NULL, 'grade 5 is ZA222');
SELECT throws_ok($$SELECT animus.review_memory((SELECT id FROM ids WHERE name = 'newest'), 3, '2025-01-01')$$, 'ZA223', NULL, 'a review before the last is ZA223');
SELECT results_eq($$SELECT i.name FROM animus.due_memories('lc', '2026-01-05') AS d JOIN ids AS i ON i.id = d.memory_id$$,
                  $$VALUES ('newest')$$, 'due_memories: due 3.7145 days after the review');
SELECT is(animus.memory_boost(0.0325), 0.0325::float8, 'memory_boost with default weights returns the score unchanged');
SELECT throws_ok($$SELECT animus.memory_boost(1, retrievability_weight => 2)$$, 'ZA224', NULL, 'a boost weight above 1 is ZA224');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
