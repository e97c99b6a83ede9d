-- Durable sleeps and event waits: sleep_work and await_event give the item back without a failed
-- attempt, later runs use the recorded time; emit_event delivers to waits in both orders, per queue.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(40);

-- shape
SELECT has_function('animus', 'sleep_work', ARRAY['uuid', 'integer', 'timestamp with time zone', 'text', 'integer', 'interval'], 'sleep_work exists');
SELECT has_function('animus', 'await_event', ARRAY['uuid', 'integer', 'text', 'interval', 'text', 'integer'], 'await_event exists');
SELECT has_function('animus', 'emit_event', ARRAY['text', 'jsonb', 'text'], 'emit_event(event_key, payload, queue) exists');
SELECT function_returns('animus', 'emit_event', ARRAY['text', 'jsonb', 'text'], 'integer', 'emit_event returns how many waits it delivered to');
SELECT has_function('animus', 'get_event', ARRAY['text', 'text'], 'get_event exists');
SELECT has_function('animus', 'purge_events', ARRAY['interval', 'text'], 'purge_events exists');
SELECT ok(has_function_privilege('animus_producer', 'animus.emit_event(text, jsonb, text)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.await_event(uuid, integer, text, interval, text, integer)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.purge_events(interval, text)', 'EXECUTE'),
    'producers emit events; only workers wait; only admins purge');

-- sleep: given back until the recorded time, not a failed attempt
SELECT animus.create_queue('t_ev') AS c1 \gset
SELECT animus.create_queue('t_ev2') AS c2 \gset
SELECT work_id AS w, msg_id AS m FROM animus.submit_work('t', 's', queue => 't_ev', max_attempts => 1) \gset
SELECT is((SELECT attempts FROM animus.read_work('t_ev', vt => '10 minutes')), 1, 'claimed: attempt 1');
CREATE TEMP TABLE s1 AS SELECT * FROM animus.sleep_work(:'w', 1, delay => '1 hour');
SELECT ok((SELECT suspended AND resume_at > now() + interval '59 minutes' FROM s1), 'a sleep into the future suspends the item');
SELECT row_eq(format('SELECT state, attempts, released FROM animus.work_items WHERE id = %L', :'w'), ROW('queued'::text, 1, 1),
    'the item is queued again and its claim released (no failed attempt)');
SELECT is((SELECT vt FROM pgmq.q_t_ev WHERE msg_id = :'m'), (SELECT resume_at FROM s1), 'its message is invisible until the wake-up time');
SELECT is_empty($$SELECT * FROM animus.read_work('t_ev')$$, 'nothing to claim while it sleeps');
SELECT throws_ok(format('SELECT * FROM animus.sleep_work(%L, 1, delay => ''1 hour'')', :'w'), 'ZA103', NULL, 'a suspended (queued) item cannot sleep again: ZA103');
-- the time comes (moved here instead of waiting an hour)
UPDATE animus.work_steps SET wake_at = clock_timestamp() - interval '1 second' WHERE work_id = :'w';
UPDATE pgmq.q_t_ev SET vt = clock_timestamp() WHERE msg_id = :'m';
SELECT is((SELECT attempts FROM animus.read_work('t_ev', vt => '10 minutes')), 2,
    'claimed again although max_attempts is 1: the sleep did not use an attempt');
SELECT row_eq(format('SELECT suspended FROM animus.sleep_work(%L, 2, delay => ''1 hour'')', :'w'), ROW(false),
    'the run after the resume passes the sleep: the recorded time counts, not the new delay');
SELECT is((SELECT state FROM animus.work_steps WHERE work_id = :'w' AND kind = 'sleep'), 'completed', 'the sleep step completed');
SELECT row_eq(format('SELECT suspended FROM animus.sleep_work(%L, 2, wake_at => now() - interval ''1 day'', occurrence => 2)', :'w'), ROW(false),
    'a sleep until a past time goes straight on');

-- bad sleeps
SELECT throws_ok(format('SELECT * FROM animus.sleep_work(%L, 2, delay => ''-1 second'', occurrence => 3)', :'w'), 'ZA117', NULL, 'a negative sleep raises ZA117');
SELECT throws_ok(format('SELECT * FROM animus.sleep_work(%L, 2, occurrence => 3)', :'w'), 'ZA117', NULL, 'a sleep without a time raises ZA117');
SELECT throws_ok(format('SELECT * FROM animus.sleep_work(%L, 2, wake_at => ''infinity'', occurrence => 3)', :'w'), 'ZA117', NULL, 'an infinite sleep raises ZA117');
SELECT is((SELECT count(*) FROM animus.work_steps WHERE work_id = :'w' AND occurrence = 3), 0::bigint, 'refused sleeps wrote nothing');

-- events: a wait parks the item; emit delivers and makes it visible
SELECT row_eq(format('SELECT * FROM animus.await_event(%L, 2, ''approval:1'')', :'w'), ROW('suspended'::text, NULL::jsonb),
    'a wait for an event not emitted parks the item');
SELECT is((SELECT vt FROM pgmq.q_t_ev WHERE msg_id = :'m'), 'infinity'::timestamptz, 'without timeout its message waits for the event');
SELECT row_eq($$SELECT emitted, waiting FROM animus.get_event('approval:1', 't_ev')$$, ROW(false, 1::bigint), 'get_event shows one wait, no event yet');
SELECT is(animus.emit_event('approval:1', '{"ok": true}', 't_ev2'), 0, 'the same key in another queue delivers to nobody');
SELECT is(animus.emit_event('approval:1', '{"ok": true}', 't_ev'), 1, 'emit_event delivers to the one wait');
SELECT ok((SELECT vt <= clock_timestamp() FROM pgmq.q_t_ev WHERE msg_id = :'m'), 'the parked item is visible at once');
SELECT is((SELECT attempts FROM animus.read_work('t_ev', vt => '10 minutes')), 3, 'claimed again');
SELECT row_eq(format('SELECT * FROM animus.await_event(%L, 3, ''approval:1'')', :'w'), ROW('received'::text, '{"ok": true}'::jsonb),
    'the run after the wake-up receives the payload');
-- emitted before the wait starts: received at once
SELECT is(animus.emit_event('approval:2', '"yes"', 't_ev'), 0, 'an event nobody waits for yet');
SELECT row_eq(format('SELECT * FROM animus.await_event(%L, 3, ''approval:2'')', :'w'), ROW('received'::text, '"yes"'::jsonb),
    'a wait started after the emit receives it at once: not lost');
-- timeout
SELECT row_eq(format('SELECT * FROM animus.await_event(%L, 3, ''approval:3'', timeout => ''0 seconds'')', :'w'), ROW('timeout'::text, NULL::jsonb),
    'a wait past its deadline times out');
SELECT row_eq(format('SELECT * FROM animus.await_event(%L, 3, ''approval:3'', timeout => ''1 hour'')', :'w'), ROW('timeout'::text, NULL::jsonb),
    'and replays the timeout (the recorded deadline counts)');
SELECT throws_ok(format('SELECT * FROM animus.await_event(%L, 3, ''approval:4'', step_name => ''event:approval:1'')', :'w'), 'ZA113', NULL,
    'a wait step reused for another key raises ZA113');

-- bad input
SELECT throws_ok(format('SELECT * FROM animus.await_event(%L, 3, repeat(''k'', 256))', :'w'), 'ZA118', NULL, 'an event key over 255 characters raises ZA118');
SELECT throws_ok($$SELECT animus.emit_event('', NULL, 't_ev')$$, 'ZA118', NULL, 'an empty event key raises ZA118');
SELECT throws_ok($$SELECT animus.emit_event('big', jsonb_build_object('x', repeat('y', 1100000)), 't_ev')$$, 'ZA119', NULL, 'a payload over 1 MB raises ZA119');
SELECT throws_ok(format('SELECT * FROM animus.await_event(%L, 3, ''k'', timeout => ''-1 s'')', :'w'), 'ZA117', NULL, 'a negative timeout raises ZA117');
SELECT lives_ok(format('SELECT animus.complete_work(%L, attempt => 3)', :'w'), 'the item completes');
SELECT throws_ok(format('SELECT * FROM animus.await_event(%L, 3, ''k'')', :'w'), 'ZA104', NULL, 'waiting on an ended item raises ZA104');

SELECT * FROM finish();
ROLLBACK;
