-- No escalation through pg_temp: a role shadows types (text, jsonb, name, uuid, vector) with
-- domains whose CHECK runs its own code, and an operator, in its temporary schema, then calls the
-- animus functions it may call. The code must only ever run as that role, never as the owner of
-- a SECURITY DEFINER function: every animus function pins search_path = pg_catalog, pg_temp.
-- Each animus role is attacked through the entry points it holds (the attack that made any of
-- them the owner before the fix: memory_scope, submit_work, queue_stats, a plain SELECT through
-- the row-level security policies, store_memory, create_queue).
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(7);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

CREATE ROLE animus_test_tmp_reader   NOLOGIN IN ROLE animus_memory_reader;
CREATE ROLE animus_test_tmp_writer   NOLOGIN IN ROLE animus_memory_writer;
CREATE ROLE animus_test_tmp_producer NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_tmp_worker   NOLOGIN IN ROLE animus_worker;
CREATE ROLE animus_test_tmp_admin    NOLOGIN IN ROLE animus_admin;
SELECT animus.grant_memory_namespace('animus_test_tmp_reader', 'tmp-attack');
SELECT animus.create_queue('tmp_attack_work');  -- not the default queue 'work': it may hold production work
SELECT animus.grant_memory_namespace('animus_test_tmp_writer', 'tmp-attack', can_write => true);

-- Who ran the attacker's code: one row per run, written by the code itself.
CREATE TEMP TABLE evidence (who name, via text) ON COMMIT DROP;
GRANT ALL ON evidence TO PUBLIC;

-- The attacker's kit, created by the attacking role itself (as in the report).
CREATE FUNCTION pg_temp.arm() RETURNS void LANGUAGE plpgsql AS $arm$
BEGIN
    EXECUTE $f$CREATE FUNCTION pg_temp.evil() RETURNS boolean LANGUAGE plpgsql AS $b$
        BEGIN INSERT INTO pg_temp.evidence VALUES (current_user, 'domain'); RETURN true; END $b$$f$;
    EXECUTE $f$CREATE FUNCTION pg_temp.evil_eq(a pg_catalog.text, b pg_catalog.text) RETURNS boolean LANGUAGE plpgsql AS $b$
        BEGIN INSERT INTO pg_temp.evidence VALUES (current_user, 'operator'); RETURN a OPERATOR(pg_catalog.=) b; END $b$$f$;
    EXECUTE 'CREATE DOMAIN pg_temp.text  AS pg_catalog.text  CHECK (pg_temp.evil())';
    EXECUTE 'CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.evil())';
    EXECUTE 'CREATE DOMAIN pg_temp.name  AS pg_catalog.name  CHECK (pg_temp.evil())';
    EXECUTE 'CREATE DOMAIN pg_temp.uuid  AS pg_catalog.uuid  CHECK (pg_temp.evil())';
    EXECUTE 'CREATE DOMAIN pg_temp.vector AS public.vector CHECK (pg_temp.evil())';
    EXECUTE 'CREATE OPERATOR pg_temp.= (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = pg_temp.evil_eq)';
END $arm$;
CREATE FUNCTION pg_temp.disarm() RETURNS void LANGUAGE plpgsql AS $d$
BEGIN
    EXECUTE 'DROP OPERATOR pg_temp.= (pg_catalog.text, pg_catalog.text)';
    EXECUTE 'DROP DOMAIN pg_temp.text, pg_temp.jsonb, pg_temp.name, pg_temp.uuid, pg_temp.vector';
    EXECUTE 'DROP FUNCTION pg_temp.evil(), pg_temp.evil_eq(pg_catalog.text, pg_catalog.text)';
END $d$;
GRANT EXECUTE ON FUNCTION pg_temp.arm(), pg_temp.disarm() TO PUBLIC;
-- A call the attack goes through; an error (the role may lack a right) does not end the test.
CREATE FUNCTION pg_temp.try(sql pg_catalog.text) RETURNS void LANGUAGE plpgsql AS $t$
BEGIN EXECUTE sql; EXCEPTION WHEN OTHERS THEN NULL; END $t$;
GRANT EXECUTE ON FUNCTION pg_temp.try(pg_catalog.text) TO PUBLIC;
-- A 1536-or-whatever-dimensional embedding the writer can store.
CREATE FUNCTION pg_temp.vec() RETURNS pg_catalog.text LANGUAGE sql AS $$
    SELECT '[' || pg_catalog.array_to_string(pg_catalog.array_agg(((d % 7) + 1)::pg_catalog.text), ',') || ']'
      FROM pg_catalog.generate_series(1, (SELECT embedding_dim FROM animus.memory_settings)) AS d $$;
GRANT EXECUTE ON FUNCTION pg_temp.vec() TO PUBLIC;
SELECT pg_temp.vec() AS v \gset

SET LOCAL ROLE animus_test_tmp_reader;
SELECT pg_temp.arm();
SELECT pg_temp.try('SELECT animus.memory_scope()');
SELECT pg_temp.try('SELECT count(*) FROM animus.memories');
SELECT pg_temp.try('SELECT * FROM animus.search_memory_text(query => ''attack'', k => 3)');
SELECT pg_temp.try(pg_catalog.format('SELECT * FROM animus.hybrid_search(query_text => ''attack'', query_embedding => %L, k => 3)', :'v'));
SELECT pg_temp.disarm();
RESET ROLE;
SELECT is_empty($$SELECT DISTINCT who FROM evidence WHERE who <> 'animus_test_tmp_reader'$$,
                'memory reader: shadowed types and operators never run as another role (memory_scope, SELECT through RLS, searches)');

SET LOCAL ROLE animus_test_tmp_writer;
SELECT pg_temp.arm();
SELECT pg_temp.try(pg_catalog.format('SELECT animus.store_memory(content => ''attack'', embedding => %L, memory_type => ''fact'', namespace => ''tmp-attack'')', :'v'));
SELECT pg_temp.try('SELECT animus.memory_write_scope()');
SELECT pg_temp.disarm();
RESET ROLE;
SELECT is_empty($$SELECT DISTINCT who FROM evidence WHERE who <> ALL (ARRAY['animus_test_tmp_reader', 'animus_test_tmp_writer']::name[])$$,
                'memory writer: store_memory runs none of the attacker''s code as the owner');

SET LOCAL ROLE animus_test_tmp_producer;
SELECT pg_temp.arm();
SELECT pg_temp.try('SELECT animus.submit_work(work_type => ''attack'', source => ''attacker'', queue => ''tmp_attack_work'')');
SELECT pg_temp.try('SELECT animus.submit_work_batch(items => ''[{"work_type": "attack", "source": "attacker"}]'', queue => ''tmp_attack_work'')');
SELECT pg_temp.try('SELECT animus.queue_stats()');
SELECT pg_temp.disarm();
RESET ROLE;
SELECT is_empty($$SELECT DISTINCT who FROM evidence WHERE who <> ALL (ARRAY['animus_test_tmp_reader', 'animus_test_tmp_writer',
                                                                         'animus_test_tmp_producer']::name[])$$,
                'producer: submit_work and queue_stats run none of the attacker''s code as the owner');

SET LOCAL ROLE animus_test_tmp_worker;
SELECT pg_temp.arm();
SELECT pg_temp.try('SELECT animus.queue_stats()');
SELECT pg_temp.try('SELECT * FROM animus.read_work(queue => ''tmp_attack_work'', vt => ''1 second'', qty => 1)');
SELECT pg_temp.disarm();
RESET ROLE;
SELECT is_empty($$SELECT DISTINCT who FROM evidence WHERE who <> ALL (ARRAY['animus_test_tmp_reader', 'animus_test_tmp_writer',
                                                                         'animus_test_tmp_producer', 'animus_test_tmp_worker']::name[])$$,
                'worker: queue_stats and read_work run none of the attacker''s code as the owner');

SET LOCAL ROLE animus_test_tmp_admin;
SELECT pg_temp.arm();
SELECT pg_temp.try('SELECT animus.create_queue(queue => ''tmp_attack_q'')');
SELECT pg_temp.try('SELECT animus.grant_memory_namespace(''animus_test_tmp_reader'', ''tmp-attack-2'')');
SELECT pg_temp.disarm();
RESET ROLE;
SELECT is_empty($$SELECT DISTINCT who FROM evidence WHERE who <> ALL (ARRAY['animus_test_tmp_reader', 'animus_test_tmp_writer',
                                                                         'animus_test_tmp_producer', 'animus_test_tmp_worker',
                                                                         'animus_test_tmp_admin']::name[])$$,
                'admin: create_queue and grant_memory_namespace run none of the attacker''s code as the owner');

-- The kit is real: the attacker's own statements do run it (as the attacker).
SET LOCAL ROLE animus_test_tmp_producer;
SELECT pg_temp.arm();
SELECT pg_temp.try('SELECT ''x''::text');
SELECT pg_temp.disarm();
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM evidence WHERE who = 'animus_test_tmp_producer' AND via = 'domain'),
          'the shadowing domain fires in the attacker''s own statements, so the checks above can fail');
SELECT is((SELECT count(*) FROM evidence WHERE who NOT LIKE 'animus\_test\_tmp\_%'), 0::bigint,
          'no role outside the attackers ran the attacker''s code at all');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
