-- Namespace grants belong to a role, not to a name: after DROP ROLE, a new role created with the
-- same name sees nothing. And animus_admin (through a member role) runs every memory
-- administration function docs/security.md lists as an admin ability.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(15);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

CREATE FUNCTION pg_temp.vec(i integer) RETURNS vector LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN d = i THEN 1 WHEN d = 1 THEN 0.5 ELSE 0 END ORDER BY d)::vector
      FROM generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
GRANT EXECUTE ON FUNCTION pg_temp.vec(integer) TO PUBLIC;
CREATE TEMP TABLE t_ids ON COMMIT DROP AS
SELECT s.id FROM generate_series(2, 4) AS i,
       animus.store_memory(format('grant test note %s about lighthouses', i), pg_temp.vec(i), 'fact', namespace => 'grant-T') AS s;
GRANT SELECT ON t_ids TO PUBLIC;

CREATE ROLE animus_test_grant_t NOLOGIN IN ROLE animus_memory_reader;
SELECT animus.grant_memory_namespace('animus_test_grant_t', 'grant-T');
CREATE TEMP TABLE first_oid ON COMMIT DROP AS SELECT oid FROM pg_roles WHERE rolname = 'animus_test_grant_t';
SET LOCAL ROLE animus_test_grant_t;
SELECT is(animus.memory_scope(), ARRAY['grant-T'], 'the tenant role reads its namespace');
SELECT is((SELECT count(*) FROM animus.search_memory_text('lighthouses', 10)), 3::bigint, 'the tenant role finds its 3 memories');
RESET ROLE;

DROP ROLE animus_test_grant_t;
CREATE ROLE animus_test_grant_t NOLOGIN IN ROLE animus_memory_reader;
SET LOCAL ROLE animus_test_grant_t;
SELECT is(animus.memory_scope(), '{}'::text[], 'a new role with the dropped role''s name inherits no namespace');
SELECT is((SELECT count(*) FROM animus.search_memory_text('lighthouses', 10)), 0::bigint,
          'a new role with the dropped role''s name finds none of the tenant''s memories');
SELECT is_empty(format('SELECT 1 FROM animus.get_memory(%s)', (SELECT min(id) FROM t_ids)),
                'a new role with the dropped role''s name cannot get a memory of the tenant');
RESET ROLE;
SELECT is(animus.revoke_memory_namespace('animus_test_grant_t', 'grant-T'), false,
          'revoking by the reused name finds no grant of the new role');
SELECT animus.grant_memory_namespace('animus_test_grant_t', 'grant-T');
SET LOCAL ROLE animus_test_grant_t;
SELECT is((SELECT count(*) FROM animus.search_memory_text('lighthouses', 10)), 3::bigint,
          'granted explicitly, the new role finds the memories');
RESET ROLE;
ALTER ROLE animus_test_grant_t RENAME TO animus_test_grant_t2;
SET LOCAL ROLE animus_test_grant_t2;
SELECT is(animus.memory_scope(), ARRAY['grant-T'], 'a renamed role keeps its grants (as it keeps its privileges)');
RESET ROLE;

-- animus_admin, through a member role: the BM25 administration functions (42501 before).
CREATE ROLE animus_test_grant_admin NOLOGIN IN ROLE animus_admin;
SET LOCAL ROLE animus_test_grant_admin;
SELECT lives_ok($$SELECT animus.memory_bm25_configure(k1 => 1.3)$$,
                'a member of animus_admin runs memory_bm25_configure');
SELECT lives_ok($$SELECT animus.memory_bm25_reindex('grant-T')$$, 'a member of animus_admin runs memory_bm25_reindex');
SELECT lives_ok($$SELECT animus.memory_bm25_refresh()$$, 'a member of animus_admin runs memory_bm25_refresh');
SELECT lives_ok($$SELECT animus.grant_memory_namespace('animus_test_grant_t2', 'grant-U')$$,
                'a member of animus_admin grants namespaces');
RESET ROLE;
SELECT is((SELECT k1 FROM animus.memory_bm25_settings), 1.3::double precision, 'and its memory_bm25_configure took effect');

-- The catalog side (last: before the change these columns did not exist).
SELECT is((SELECT count(*) FROM animus.memory_namespace_grants AS g
            WHERE NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.oid = g.role_oid)), 0::bigint,
          'grant and revoke delete the grants of dropped roles');
SELECT ok((SELECT g.role_oid FROM animus.memory_namespace_grants AS g WHERE g.namespace = 'grant-T')
             = (SELECT oid FROM pg_roles WHERE rolname = 'animus_test_grant_t2')
          AND (SELECT oid FROM first_oid) <> (SELECT oid FROM pg_roles WHERE rolname = 'animus_test_grant_t2'),
          'the grant is recorded for the OID of the role granted (the second, renamed role), not the dropped one''s');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
