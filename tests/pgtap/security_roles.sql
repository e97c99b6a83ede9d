-- Least privilege: what each animus role must NOT be able to do fails with "permission denied"
-- (SQLSTATE 42501), and a positive control per role proves the switch itself works.
-- (foundation.sql checks that no function is executable by PUBLIC and that every SECURITY
-- DEFINER function pins search_path; this file checks tables, roles and the matrix.)
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(45);

-- Runs q as role r; SET LOCAL ROLE is undone by throws_ok's subtransaction on error, and by
-- RESET ROLE on success.
CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE pg_catalog.format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RESET ROLE;
END $$;
CREATE ROLE animus_test_nobody NOLOGIN;

SELECT animus.create_queue('sec_roles_q');
SELECT animus.submit_work(work_type => 'sec', source => 'test', queue => 'sec_roles_q', dedup_key => 'k0');

-- Tables: nobody but the owner writes; PUBLIC has nothing.
SELECT is_empty($$
    SELECT c.oid::regclass::text || ' ' || a.privilege_type || ' to ' || a.grantee::regrole::text
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.relnamespace IN ('animus'::regnamespace, 'pgmq'::regnamespace)
       AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND a.grantee <> c.relowner
       AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN')$$,
    'no role but the owner may write a table of animus or pgmq (no exception)');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'animus'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND has_table_privilege('animus_memory_writer', c.oid, 'INSERT, UPDATE, DELETE')$$,
    'animus_memory_writer has no INSERT, UPDATE or DELETE on any animus table (memories included): it writes through the functions only');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.relnamespace IN ('animus'::regnamespace, 'pgmq'::regnamespace) AND a.grantee = 0$$,
    'PUBLIC holds no privilege on any table, view or sequence of animus or pgmq');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' to ' || a.grantee::regrole::text
      FROM pg_proc p, aclexplode(p.proacl) a
     WHERE p.pronamespace = 'animus'::regnamespace AND a.grantee <> p.proowner
       AND a.grantee::regrole::text NOT IN ('animus_producer', 'animus_worker', 'animus_memory_reader', 'animus_memory_writer', 'animus_admin')$$,
    'functions of schema animus are executable only by their owner and the five animus roles');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'animus'::regnamespace AND p.prosecdef
       AND (has_function_privilege('animus_memory_reader', p.oid, 'EXECUTE') OR has_function_privilege('animus_memory_writer', p.oid, 'EXECUTE'))
       AND p.oid NOT IN ('animus.memory_scope(text)'::regprocedure,
                         'animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[])'::regprocedure,
                         'animus.store_memories(jsonb, text)'::regprocedure,
                         'animus.update_memory(bigint, text, vector, text, text, jsonb, text)'::regprocedure,
                         'animus.delete_memory(bigint)'::regprocedure,
                         'animus.delete_memories(bigint[])'::regprocedure,
                         'animus.get_memory(bigint)'::regprocedure,
                         'animus.search_memory_text(text, integer, jsonb)'::regprocedure,
                         'animus.search_memory_vector(vector, integer, jsonb)'::regprocedure,
                         'animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision)'::regprocedure,
                         'animus.memory_state_active()'::regprocedure,
                         'animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean)'::regprocedure,
                         'animus.purge_expired_memories(text, interval, integer)'::regprocedure,
                         'animus.memory_chain(bigint)'::regprocedure,
                         'animus.link_memories(bigint, bigint, text, double precision, jsonb)'::regprocedure,
                         'animus.unlink_memories(bigint, bigint, text)'::regprocedure,
                         'animus.memory_neighbors(bigint, integer, text[])'::regprocedure,
                         'animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision)'::regprocedure,
                         'animus.review_memory(bigint, integer, timestamptz)'::regprocedure,
                         'animus.due_memories(text, timestamptz, integer)'::regprocedure,
                         'animus.memory_set_embedding(bigint, vector, text, text)'::regprocedure,
                         'animus.memory_reembedding_progress(text)'::regprocedure,
                         'animus.memory_namespace_stats()'::regprocedure)$$,
    'memory roles execute no SECURITY DEFINER function but memory_scope, memory_state_active (one bit: does any memory carry state), the write functions (which check the write scope) and the read functions and memory_namespace_stats (which check the read scope and visibility)');
SELECT ok(NOT has_schema_privilege('animus_test_nobody', 'animus', 'USAGE') AND NOT has_schema_privilege('animus_producer', 'pgmq', 'USAGE'),
          'a role outside animus cannot use schema animus, and animus roles cannot use schema pgmq directly');
SELECT is((SELECT rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb FROM pg_roles
            WHERE rolname IN ('animus_producer', 'animus_worker', 'animus_memory_reader', 'animus_memory_writer', 'animus_admin')
            GROUP BY 1), false, 'the five animus roles are NOLOGIN group roles without SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB');

-- animus_producer: submits and reads status; never claims, settles, administers or touches memory.
SELECT lives_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.submit_work(work_type => 'sec', source => 'p', queue => 'sec_roles_q')$q$)$$,
                'animus_producer may submit work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.read_work('sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_producer may not claim work (read_work)');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.complete_work(gen_random_uuid())$q$)$$, '42501', NULL,
                 'animus_producer may not complete work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.fail_work(gen_random_uuid(), 'x')$q$)$$, '42501', NULL,
                 'animus_producer may not fail work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.create_queue('sec_roles_q2')$q$)$$, '42501', NULL,
                 'animus_producer may not create queues');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.purge_work()$q$)$$, '42501', NULL,
                 'animus_producer may not purge');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT animus.search_memory_text('x')$q$)$$, '42501', NULL,
                 'animus_producer may not search memories');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$SELECT count(*) FROM animus.work_items$q$)$$, '42501', NULL,
                 'animus_producer may not read animus.work_items directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_producer', $q$UPDATE animus.work_items SET state = 'completed'$q$)$$, '42501', NULL,
                 'animus_producer may not write animus.work_items directly');

-- animus_worker: claims, heartbeats, settles; never submits top-level work, administers or touches memory.
SELECT lives_ok($$SELECT pg_temp.as_role('animus_worker', $q$SELECT animus.read_work('sec_roles_q', '30 seconds', 1)$q$)$$,
                'animus_worker may claim work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_worker', $q$SELECT animus.submit_work(work_type => 'sec', source => 'w', queue => 'sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_worker may not submit work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_worker', $q$SELECT animus.drop_queue('sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_worker may not drop queues');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_worker', $q$SELECT animus.get_memory(1)$q$)$$, '42501', NULL,
                 'animus_worker may not read memories');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_worker', $q$DELETE FROM animus.work_items$q$)$$, '42501', NULL,
                 'animus_worker may not delete from animus.work_items directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_worker', $q$SELECT pgmq.delete('sec_roles_q', 1::bigint)$q$)$$, '42501', NULL,
                 'animus_worker may not call pgmq directly');

-- animus_memory_reader: reads and searches; never writes, never grants.
SELECT lives_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$SELECT animus.search_memory_text('anything')$q$)$$,
                'animus_memory_reader may search memories');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$SELECT animus.store_memory('x', NULL, 'fact')$q$)$$, '42501', NULL,
                 'animus_memory_reader may not store memories');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$SELECT animus.delete_memory(1)$q$)$$, '42501', NULL,
                 'animus_memory_reader may not delete memories');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$DELETE FROM animus.memories$q$)$$, '42501', NULL,
                 'animus_memory_reader may not delete from animus.memories directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$SELECT animus.submit_work(work_type => 'sec', source => 'r', queue => 'sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_memory_reader may not submit work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_reader', $q$SELECT animus.grant_memory_namespace('animus_memory_reader', '*')$q$)$$, '42501', NULL,
                 'animus_memory_reader may not grant itself namespaces');

-- animus_memory_writer: also writes memories (through the functions, in its write scope); never grants, never sees the grant table.
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$SELECT animus.grant_memory_namespace('animus_memory_writer', '*', true)$q$)$$, '42501', NULL,
                 'animus_memory_writer may not grant itself namespaces');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$INSERT INTO animus.memory_namespace_grants (role_name, namespace) VALUES ('animus_memory_writer', '*')$q$)$$, '42501', NULL,
                 'animus_memory_writer may not write the grant table directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$SELECT * FROM animus.memory_namespace_grants$q$)$$, '42501', NULL,
                 'animus_memory_writer may not list the grant table (it names every tenant)');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$SELECT animus.read_work('sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_memory_writer may not claim work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$INSERT INTO animus.memories (namespace, content, memory_type, embedding) SELECT 'sec-none', 'x', 'fact', array_fill(0.1::real, ARRAY[s.embedding_dim])::vector FROM animus.memory_settings s$q$)$$, '42501', NULL,
                 'animus_memory_writer may not insert rows into animus.memories directly (no table privilege)');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$UPDATE animus.memory_settings SET embedding_model = 'x'$q$)$$, '42501', NULL,
                 'animus_memory_writer may not change the embedding settings');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_memory_writer', $q$SELECT animus.memory_begin_reembedding('other-model')$q$)$$, '42501', NULL,
                 'animus_memory_writer may not start a re-embedding (changes every tenant''s vectors)');

-- animus_admin: administers through functions only; no direct table writes either.
SELECT lives_ok($$SELECT pg_temp.as_role('animus_admin', $q$SELECT animus.grant_memory_namespace('animus_memory_reader', 'sec-roles')$q$)$$,
                'animus_admin may grant namespaces');
SELECT lives_ok($$SELECT pg_temp.as_role('animus_admin', $q$SELECT animus.create_queue('sec_roles_q3')$q$)$$,
                'animus_admin may create queues');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_admin', $q$INSERT INTO animus.queues (queue_name) VALUES ('sec_direct')$q$)$$, '42501', NULL,
                 'animus_admin may not write animus.queues directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_admin', $q$UPDATE animus.work_items SET attempts = 0$q$)$$, '42501', NULL,
                 'animus_admin may not write animus.work_items directly');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_admin', $q$DELETE FROM animus.memory_namespace_grants$q$)$$, '42501', NULL,
                 'animus_admin may not write the grant table directly (only through grant/revoke_memory_namespace)');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_admin', $q$DELETE FROM animus.error_codes$q$)$$, '42501', NULL,
                 'animus_admin may not change the SQLSTATE table');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_admin', $q$SELECT pgmq.purge_queue('sec_roles_q')$q$)$$, '42501', NULL,
                 'animus_admin may not call pgmq directly');

-- A role that is not an animus role can do nothing at all.
SELECT throws_ok($$SELECT pg_temp.as_role('animus_test_nobody', $q$SELECT animus.submit_work(work_type => 'sec', source => 'n', queue => 'sec_roles_q')$q$)$$, '42501', NULL,
                 'a role outside animus may not submit work');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_test_nobody', $q$SELECT animus.memory_scope()$q$)$$, '42501', NULL,
                 'a role outside animus may not even ask for its memory scope');
SELECT throws_ok($$SELECT pg_temp.as_role('animus_test_nobody', $q$SELECT count(*) FROM animus.memories$q$)$$, '42501', NULL,
                 'a role outside animus may not read animus.memories');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
