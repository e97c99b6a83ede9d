-- create_queue, configure_queue, drop_queue: shape, behaviour, errors.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(30);

SELECT has_function('animus', 'create_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'boolean', 'text'], 'create_queue exists');
SELECT function_returns('animus', 'create_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'boolean', 'text'], 'boolean', 'create_queue returns boolean');
SELECT volatility_is('animus', 'create_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'boolean', 'text'], 'volatile', 'create_queue is volatile');
SELECT is_definer('animus', 'create_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'boolean', 'text'], 'create_queue is SECURITY DEFINER (creates pgmq tables)');
SELECT has_function('animus', 'configure_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'text', 'boolean'], 'configure_queue exists');
SELECT function_returns('animus', 'configure_queue', ARRAY['text', 'interval', 'double precision', 'interval', 'double precision', 'boolean', 'interval', 'text', 'boolean'], 'animus.queues', 'configure_queue returns the queue row');
SELECT has_function('animus', 'drop_queue', ARRAY['text'], 'drop_queue exists');
SELECT function_returns('animus', 'drop_queue', ARRAY['text'], 'bigint', 'drop_queue returns the number of items deleted');

SELECT is(animus.create_queue(queue => 't_cq'), true, 'create_queue returns true for a new queue');
SELECT ok(EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 't_cq'), 'the pgmq queue of the same name exists');
SELECT has_index('pgmq', 'q_t_cq', 'q_t_cq_animus_priority', 'the priority index is created on the pgmq queue table');
SELECT row_eq($$SELECT backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle FROM animus.queues WHERE queue_name = 't_cq'$$,
    ROW('2 seconds'::interval, 2::double precision, '5 minutes'::interval, 0.25::double precision, true, '250 milliseconds'::interval),
    'the documented defaults: backoff 2 s * 2^n, cap 5 min, jitter 25 %, NOTIFY throttled to 250 ms');
SELECT is(animus.create_queue(queue => 't_cq', if_not_exists => true), false, 'if_not_exists => true returns false for an existing queue');
SELECT ok((SELECT prosrc FROM pg_proc WHERE oid = 'animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[])'::regprocedure) LIKE '%pgmq.q_t_cq%',
    'the generated queue functions have a static branch for the new queue');

SELECT throws_ok($$SELECT animus.create_queue(queue => 't_cq')$$, 'ZA106', NULL, 'an existing queue raises ZA106');
SELECT throws_ok($$SELECT animus.create_queue(queue => NULL)$$, 'ZA001', NULL, 'a NULL queue name raises ZA001');
SELECT throws_ok($$SELECT animus.create_queue(queue => '')$$, 'ZA001', NULL, 'an empty queue name raises ZA001');
SELECT throws_ok($$SELECT animus.create_queue(queue => 'Bad-Name')$$, 'ZA107', NULL, 'an invalid queue name raises ZA107');
SELECT throws_ok($$SELECT animus.create_queue(queue => 't_x', backoff_jitter => 1.5)$$, 'ZA002', NULL, 'a jitter >= 1 raises ZA002');
SELECT throws_ok($$SELECT animus.create_queue(queue => 't_x', backoff_factor => 0.5)$$, 'ZA002', NULL, 'a backoff factor < 1 raises ZA002');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 't_x') AND NOT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 't_x'),
    'a failed create_queue wrote nothing');

SELECT is((animus.configure_queue(queue => 't_cq', backoff_base => '1 second', notify => false)).backoff_base, '1 second'::interval,
    'configure_queue changes the given setting');
SELECT row_eq($$SELECT backoff_cap, notify FROM animus.queues WHERE queue_name = 't_cq'$$, ROW('5 minutes'::interval, false),
    'configure_queue keeps settings passed as NULL and changes notify');
SELECT throws_ok($$SELECT animus.configure_queue(queue => 'no_such_queue')$$, 'ZA101', NULL, 'configure_queue of an unknown queue raises ZA101');
SELECT throws_ok($$SELECT animus.configure_queue(queue => 't_cq', notify_throttle => '-1 s')$$, 'ZA002', NULL, 'a negative notify_throttle raises ZA002');

SELECT work_id AS wid FROM animus.submit_work('t', 'test', queue => 't_cq') \gset
SELECT is(animus.drop_queue('t_cq'), 1::bigint, 'drop_queue deletes the queue''s work items and returns their number');
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 't_cq') AND NOT EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 't_cq'),
    'drop_queue drops the pgmq queue and the animus queue');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.work_items WHERE id = :'wid'), 'the dropped queue''s work items are gone');
SELECT throws_ok($$SELECT animus.drop_queue('t_cq')$$, 'ZA101', NULL, 'dropping an unknown queue raises ZA101');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 'test', queue => 't_cq')$$, 'ZA101', NULL, 'submitting to a dropped queue raises ZA101');

SELECT * FROM finish();
ROLLBACK;
