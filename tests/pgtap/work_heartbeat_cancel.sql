-- heartbeat_work extends the claim and reports cancellation; cancel_work; archive_work / delete_work.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(26);

SELECT has_function('animus', 'heartbeat_work', ARRAY['uuid', 'interval', 'integer'], 'heartbeat_work exists');
SELECT function_returns('animus', 'heartbeat_work', ARRAY['uuid', 'interval', 'integer'], 'setof record', 'heartbeat_work returns (state, cancelled, visible_until)');
SELECT volatility_is('animus', 'heartbeat_work', ARRAY['uuid', 'interval', 'integer'], 'volatile', 'heartbeat_work is volatile');
SELECT has_function('animus', 'cancel_work', ARRAY['uuid'], 'cancel_work exists');
SELECT function_returns('animus', 'cancel_work', ARRAY['uuid'], 'boolean', 'cancel_work returns boolean');
SELECT has_function('animus', 'archive_work', ARRAY['text', 'bigint'], 'archive_work exists');
SELECT has_function('animus', 'delete_work', ARRAY['text', 'bigint'], 'delete_work exists');

SELECT animus.create_queue('t_hb') AS created \gset
SELECT work_id AS w, msg_id AS m FROM animus.submit_work('t', 's', queue => 't_hb') \gset
SELECT is((SELECT work_id FROM animus.read_work('t_hb', vt => '5 seconds')), :'w'::uuid, 'the item is claimed for 5 s');
CREATE TEMP TABLE hb AS SELECT * FROM animus.heartbeat_work(:'w'::uuid, extend => '10 minutes');
SELECT row_eq('SELECT state, cancelled FROM hb', ROW('running'::text, false), 'heartbeat on a running item: running, not cancelled');
SELECT is((SELECT vt FROM pgmq.q_t_hb WHERE msg_id = :'m'), (SELECT visible_until FROM hb), 'heartbeat moved the message''s visibility timeout');
SELECT ok((SELECT visible_until FROM hb) > now() + interval '9 minutes', 'by the requested extension');
SELECT ok((SELECT heartbeat_at FROM animus.work_items WHERE id = :'w') IS NOT NULL, 'heartbeat_at is recorded');

SELECT ok(animus.cancel_work(:'w'::uuid), 'a running item is cancelled');
SELECT row_eq(format('SELECT state, cancelled FROM animus.heartbeat_work(%L::uuid)', :'w'), ROW('cancelled'::text, true),
    'the next heartbeat tells the worker it was cancelled');
SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid)', :'w'), 'ZA104', NULL, 'completing a cancelled item raises ZA104');
SELECT is(animus.cancel_work(:'w'::uuid), false, 'cancelling it again returns false');
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.q_t_hb WHERE msg_id = :'m'), 'the cancelled item''s message is settled (deleted)');

SELECT work_id AS q FROM animus.submit_work('t', 's', queue => 't_hb') \gset
SELECT throws_ok(format('SELECT * FROM animus.heartbeat_work(%L::uuid)', :'q'), 'ZA103', NULL, 'heartbeat on a queued item raises ZA103');
SELECT throws_ok(format('SELECT * FROM animus.heartbeat_work(%L::uuid, extend => ''0 s'')', :'q'), 'ZA002', NULL, 'a non-positive extend raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.heartbeat_work(gen_random_uuid())$$, 'ZA102', NULL, 'heartbeat on an unknown item raises ZA102');
SELECT throws_ok($$SELECT animus.cancel_work(gen_random_uuid())$$, 'ZA102', NULL, 'cancelling an unknown item raises ZA102');
SELECT work_id AS done FROM animus.submit_work('t2', 's', queue => 't_hb') \gset
SELECT animus.complete_work(work_id) AS ok FROM animus.read_work('t_hb', qty => 5) WHERE work_id = :'done' \gset
SELECT throws_ok(format('SELECT animus.cancel_work(%L::uuid)', :'done'), 'ZA104', NULL, 'cancelling a completed item raises ZA104');

SELECT pgmq.send('t_hb', '{"raw": 1}') AS raw1 \gset
SELECT pgmq.send('t_hb', '{"raw": 2}') AS raw2 \gset
SELECT ok(animus.archive_work('t_hb', :'raw1'), 'archive_work archives a raw message');
SELECT ok(animus.delete_work('t_hb', :'raw2') AND NOT EXISTS (SELECT 1 FROM pgmq.a_t_hb WHERE msg_id = :'raw2'),
    'delete_work deletes a raw message without archiving it');
SELECT throws_ok($$SELECT animus.archive_work('no_such_queue', 1)$$, 'ZA101', NULL, 'archive_work on an unknown queue raises ZA101');
SELECT throws_ok($$SELECT animus.delete_work('no_such_queue', 1)$$, 'ZA101', NULL, 'delete_work on an unknown queue raises ZA101');

SELECT * FROM finish();
ROLLBACK;
