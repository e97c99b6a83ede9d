-- Work queue schema: tables, dedup index, legal state transitions, error codes, privileges.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(30);

SELECT has_table('animus', 'work_items', 'table animus.work_items exists');
SELECT has_table('animus', 'queues', 'table animus.queues exists');
SELECT has_table('animus', 'work_state_transitions', 'table animus.work_state_transitions exists');
SELECT col_is_pk('animus', 'work_items', 'id', 'work_items.id is the primary key');
SELECT has_index('animus', 'work_items', 'work_items_dedup_active', 'the dedup index exists');
SELECT index_is_unique('animus', 'work_items', 'work_items_dedup_active', 'the dedup index is unique');
SELECT is(
    (SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'animus.work_items_dedup_active'::regclass),
    '((active_key IS NOT NULL) AND (waits_for IS NULL))',
    'the dedup index covers only active key holders (active_key: the dedup_key of a queued or running item; not a waiting follow-up)');
SELECT has_trigger('animus', 'work_items', 'work_items_state_transition', 'the state transition trigger exists');
SELECT set_eq(
    'SELECT from_state || ''->'' || to_state FROM animus.work_state_transitions',
    ARRAY['queued->running', 'queued->cancelled', 'queued->dead', 'running->completed', 'running->queued',
          'running->dead', 'running->cancelled'],
    'the legal transitions are exactly the documented seven');
SELECT set_eq(
    $$SELECT sqlstate::text FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA100' AND 'ZA199' AND sqlstate NOT BETWEEN 'ZA130' AND 'ZA149' AND sqlstate NOT BETWEEN 'ZA163' AND 'ZA175'$$,
    ARRAY['ZA101', 'ZA102', 'ZA103', 'ZA104', 'ZA105', 'ZA106', 'ZA107', 'ZA108', 'ZA109', 'ZA110', 'ZA111', 'ZA112',
          'ZA113', 'ZA114', 'ZA115', 'ZA116', 'ZA117', 'ZA118', 'ZA119',
          'ZA125', 'ZA126', 'ZA127', 'ZA128', 'ZA129', 'ZA155', 'ZA156'],
    'the work queue SQLSTATEs ZA101-ZA119, ZA125-ZA129 (concurrency keys) and ZA155-ZA156 (waiting) are in animus.error_codes (ZA130-ZA149: schedules, tests/pgtap/work_schedules.sql; ZA163-ZA175: operations, tests/pgtap/ops_*.sql)');
SELECT ok(EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 'work')
          AND EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 'work'),
          'the default queue work exists in animus and in pgmq');

-- Illegal transitions raise ZA105 and change nothing.
SELECT animus.create_queue('t_schema') AS created \gset
SELECT work_id AS wid FROM animus.submit_work('t', 'test', queue => 't_schema') \gset
SELECT throws_ok(format($$UPDATE animus.work_items SET state = 'completed' WHERE id = %L$$, :'wid'), 'ZA105', NULL,
    'queued -> completed is illegal (ZA105)');
SELECT throws_ok(format($$UPDATE animus.work_items SET state = 'merged', merged_into = id WHERE id = %L$$, :'wid'), 'ZA105', NULL,
    'queued -> merged is illegal (ZA105)');
SELECT lives_ok(format($$UPDATE animus.work_items SET state = 'cancelled' WHERE id = %L$$, :'wid'),
    'queued -> cancelled is legal');
SELECT throws_ok(format($$UPDATE animus.work_items SET state = 'queued' WHERE id = %L$$, :'wid'), 'ZA105', NULL,
    'cancelled -> queued is illegal: a cancelled item never runs again');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'wid'), 'cancelled', 'the refused transitions changed nothing');
SELECT throws_ok(format($$UPDATE animus.work_items SET state = 'bogus' WHERE id = %L$$, :'wid'), 'ZA105', NULL,
    'an unknown state is refused by the transition trigger (ZA105)');
SELECT is(substr(animus.work_new_id()::text, 15, 1),
          CASE WHEN current_setting('server_version_num')::int >= 180000 THEN '7' ELSE '4' END,
    'work item ids are UUIDv7 (time-ordered) on PostgreSQL 18, v4 before');
SELECT ok((SELECT work_id FROM animus.submit_work('t', 'test', queue => 't_schema')) > :'wid'::uuid
          OR current_setting('server_version_num')::int < 180000,
    'a later submission gets a larger id (time-ordered primary key)');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'animus'::regnamespace
       AND p.proname IN ('submit_work', 'read_work', 'complete_work', 'fail_work', 'heartbeat_work', 'cancel_work', 'release_work')
       AND NOT coalesce(p.proconfig @> ARRAY['plan_cache_mode=force_generic_plan', 'enable_seqscan=off'], false)$$,
    'every work queue function on a submit or worker path runs with generic plans and without sequential scans');

-- The trigger allows exactly the pairs of animus.work_state_transitions (it keeps its own constant list).
CREATE FUNCTION pg_temp.transition_allowed(from_state text, to_state text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    wid uuid := gen_random_uuid();
BEGIN
    INSERT INTO animus.work_items (id, queue_name, work_type, source, state, merged_into, run_at)
    VALUES (wid, 't_schema', 'x', 'y', from_state, CASE WHEN from_state = 'merged' THEN wid END, now());
    BEGIN
        UPDATE animus.work_items SET state = to_state, merged_into = CASE WHEN to_state = 'merged' THEN id END WHERE id = wid;
        RETURN true;
    EXCEPTION WHEN SQLSTATE 'ZA105' THEN
        RETURN false;
    END;
END $$;
SELECT is_empty($$
    SELECT f || '->' || t
      FROM unnest(ARRAY['queued', 'running', 'completed', 'dead', 'cancelled', 'merged']) AS f,
           unnest(ARRAY['queued', 'running', 'completed', 'dead', 'cancelled', 'merged']) AS t
     WHERE f <> t
       AND pg_temp.transition_allowed(f, t) IS DISTINCT FROM
           EXISTS (SELECT 1 FROM animus.work_state_transitions s WHERE s.from_state = f AND s.to_state = t)$$,
    'the trigger allows exactly the transitions listed in animus.work_state_transitions (all 30 pairs tried)');

-- Privileges: the roles have no table rights and only the functions of their job.
SELECT ok(NOT has_table_privilege('animus_producer', 'animus.work_items', 'SELECT, INSERT, UPDATE, DELETE'),
    'animus_producer has no privilege on animus.work_items');
SELECT ok(NOT has_table_privilege('animus_worker', 'animus.work_items', 'SELECT, INSERT, UPDATE, DELETE'),
    'animus_worker has no privilege on animus.work_items');
SELECT ok(NOT has_schema_privilege('animus_worker', 'pgmq', 'USAGE'), 'animus_worker has no access to schema pgmq');
SELECT ok(has_function_privilege('animus_producer', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer)', 'EXECUTE')
          AND has_function_privilege('animus_producer', 'animus.get_work(uuid)', 'EXECUTE')
          AND has_function_privilege('animus_producer', 'animus.queue_stats(text)', 'EXECUTE'),
    'animus_producer can submit work and read its status');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.complete_work(uuid, jsonb, integer)', 'EXECUTE'),
    'animus_producer cannot claim or complete work');
SELECT ok(has_function_privilege('animus_worker', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE')
          AND has_function_privilege('animus_worker', 'animus.heartbeat_work(uuid, interval, integer)', 'EXECUTE')
          AND has_function_privilege('animus_worker', 'animus.fail_work(uuid[], text, boolean, integer[])', 'EXECUTE'),
    'animus_worker can read, heartbeat, complete and fail work');
SELECT ok(NOT has_function_privilege('animus_worker', 'animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text)', 'EXECUTE')
          AND NOT has_function_privilege('animus_worker', 'animus.purge_work(interval, text, integer)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.purge_work(interval, text, integer)', 'EXECUTE'),
    'only animus_admin creates queues and purges');
SELECT is_empty($$SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'animus' AND p.proname LIKE 'work\_%' AND p.proname NOT IN ('work_children', 'work_message_headers')
                    AND (has_function_privilege('animus_producer', p.oid, 'EXECUTE') OR has_function_privilege('animus_worker', p.oid, 'EXECUTE'))$$,
    'internal work_* helpers are executable by no animus role');
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'animus' AND p.prosecdef AND (p.proname LIKE '%work%' OR p.proname LIKE '%queue%')$$,
    ARRAY['create_queue', 'configure_queue', 'drop_queue', 'submit_work', 'submit_work_batch', 'read_work',
          'complete_work', 'fail_work', 'heartbeat_work', 'cancel_work', 'archive_work', 'delete_work',
          'get_work', 'work_children', 'queue_stats', 'purge_work', 'release_work', 'get_work_submissions', 'grant_queue', 'revoke_queue',
          'watch_work', 'wait_work', 'sleep_work', 'get_work_steps', 'heartbeat_work_batch', 'pause_queue', 'resume_queue',
          'list_dead_work', 'retry_dead_work', 'discard_dead_work', 'queue_depth_history'],
    'SECURITY DEFINER is exactly the documented public work API (no internal helper)');

SELECT * FROM finish();
ROLLBACK;
