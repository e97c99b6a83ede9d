-- heartbeat_work_batch(work_ids[], extend, attempts[]): many claims extended in one call, a status per
-- item (running, cancelled, stale, ended, unknown) instead of an error; bad arguments raise and
-- write nothing; an item of a queue the caller may not use is reported unknown and not touched.
BEGIN;
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(20);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

SELECT has_function('animus', 'heartbeat_work_batch', ARRAY['uuid[]', 'interval', 'integer[]'], 'heartbeat_work_batch exists');
SELECT function_returns('animus', 'heartbeat_work_batch', ARRAY['uuid[]', 'interval', 'integer[]'], 'setof record',
    'it returns (work_id, status, visible_until)');
SELECT volatility_is('animus', 'heartbeat_work_batch', ARRAY['uuid[]', 'interval', 'integer[]'], 'volatile', 'it is volatile');
SELECT ok(has_function_privilege('animus_worker', 'animus.heartbeat_work_batch(uuid[], interval, integer[])', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.heartbeat_work_batch(uuid[], interval, integer[])', 'EXECUTE'),
    'animus_worker may heartbeat many items, animus_producer may not');

SELECT animus.create_queue('t_hbb') AS created \gset
SELECT work_id AS r FROM animus.submit_work('t', 's', queue => 't_hbb', dedup_key => 'run') \gset
SELECT work_id AS c FROM animus.submit_work('t', 's', queue => 't_hbb', dedup_key => 'cancel') \gset
SELECT work_id AS s FROM animus.submit_work('t', 's', queue => 't_hbb', dedup_key => 'stale') \gset
SELECT work_id AS e FROM animus.submit_work('t', 's', queue => 't_hbb', dedup_key => 'end') \gset
SELECT is((SELECT count(*)::int FROM animus.read_work('t_hbb', vt => '5 seconds', qty => 10)), 4, 'four items claimed for 5 s');
SELECT ok(animus.cancel_work(:'c'::uuid), 'one is cancelled');
SELECT ok(animus.complete_work(:'e'::uuid), 'one is completed');
UPDATE animus.work_items SET attempts = attempts + 1 WHERE id = :'s';   -- as if claimed again since
SELECT gen_random_uuid() AS u \gset

CREATE TEMP TABLE hb AS
SELECT * FROM animus.heartbeat_work_batch(ARRAY[:'r', :'c', :'s', :'e', :'u']::uuid[], extend => '10 minutes', attempts => ARRAY[1, 1, 1, 1, 1]);
SELECT results_eq('SELECT work_id, status FROM hb',
    format($$VALUES (%L::uuid, 'running'), (%L::uuid, 'cancelled'), (%L::uuid, 'stale'), (%L::uuid, 'ended'), (%L::uuid, 'unknown')$$,
           :'r', :'c', :'s', :'e', :'u'),
    'one status per id, in input order: running, cancelled, stale, ended, unknown');
SELECT is((SELECT vt FROM pgmq.q_t_hbb q JOIN animus.work_items w ON w.msg_id = q.msg_id WHERE w.id = :'r'),
          (SELECT visible_until FROM hb WHERE work_id = :'r'), 'the running item''s message is invisible until visible_until');
SELECT ok((SELECT visible_until FROM hb WHERE work_id = :'r') > now() + interval '9 minutes', 'by the requested extension');
SELECT ok((SELECT bool_and(visible_until IS NULL) FROM hb WHERE work_id <> :'r'), 'the others get no visible_until');
SELECT ok((SELECT vt FROM pgmq.q_t_hbb q JOIN animus.work_items w ON w.msg_id = q.msg_id WHERE w.id = :'s') < now() + interval '1 minute',
    'the stale claim was not extended');
SELECT is((SELECT status FROM animus.heartbeat_work_batch(ARRAY[:'s']::uuid[])), 'running', 'without attempts there is no fencing: running');

SELECT throws_ok($$SELECT * FROM animus.heartbeat_work_batch(NULL::uuid[])$$, 'ZA001', NULL, 'work_ids NULL raises ZA001');
SELECT throws_ok(format($$SELECT * FROM animus.heartbeat_work_batch(ARRAY[%L, NULL]::uuid[])$$, :'r'), 'ZA001', NULL, 'a NULL id raises ZA001');
SELECT throws_ok(format($$SELECT * FROM animus.heartbeat_work_batch(ARRAY[%L]::uuid[], extend => '0 s')$$, :'r'), 'ZA002', NULL,
    'a non-positive extend raises ZA002');
SELECT throws_ok(format($$SELECT * FROM animus.heartbeat_work_batch(ARRAY[%L]::uuid[], attempts => ARRAY[1, 2])$$, :'r'), 'ZA002', NULL,
    'attempts of another length raise ZA002');
SELECT throws_ok($$SELECT * FROM animus.heartbeat_work_batch((SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 10001)))$$,
    'ZA110', NULL, 'more than 10000 ids raise ZA110');

-- A worker confined to another queue learns nothing and touches nothing.
\if :can_create_roles
CREATE ROLE animus_test_hbb_other NOLOGIN IN ROLE animus_worker;
SELECT animus.create_queue('t_hbb_other') AS created2 \gset
SELECT animus.revoke_queue('animus_worker', '*') AS revoked \gset
SELECT animus.grant_queue('animus_test_hbb_other', 't_hbb_other') AS granted \gset
SELECT heartbeat_at AS before FROM animus.work_items WHERE id = :'r' \gset
SET LOCAL ROLE animus_test_hbb_other;
SELECT is((SELECT status FROM animus.heartbeat_work_batch(ARRAY[:'r']::uuid[])), 'unknown',
    'an item of a queue the caller may not use is reported unknown');
RESET ROLE;
SELECT is((SELECT heartbeat_at FROM animus.work_items WHERE id = :'r'), :'before'::timestamptz, 'and is not heartbeated');
\else
SELECT skip('the runner cannot create roles: queue confinement not tested here', 2);
\endif

SELECT * FROM finish();
ROLLBACK;
