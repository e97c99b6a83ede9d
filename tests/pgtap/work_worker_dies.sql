-- A worker that dies mid-item loses nothing: the message reappears after its visibility timeout, the
-- next read counts another attempt, and past max_attempts the item is dead instead of running again.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(10);

SELECT animus.create_queue('t_dies') AS created \gset
SELECT work_id AS w, msg_id AS m FROM animus.submit_work('t', 's', max_attempts => 2, queue => 't_dies') \gset

SELECT is((SELECT attempts FROM animus.read_work('t_dies', vt => '30 seconds')), 1, 'a worker claims attempt 1 and then dies');
SELECT is_empty($$SELECT * FROM animus.read_work('t_dies')$$, 'while the visibility timeout runs, no other worker gets the item');
-- the timeout expires (the test moves the clock of the message instead of waiting 30 s)
UPDATE pgmq.q_t_dies SET vt = clock_timestamp() - interval '1 second' WHERE msg_id = :'m';
CREATE TEMP TABLE again AS SELECT * FROM animus.read_work('t_dies');
SELECT is((SELECT work_id FROM again), :'w'::uuid, 'after the timeout the message reappears and the item is read again');
SELECT is((SELECT attempts FROM again), 2, 'the new read counts another attempt');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'w'), 'running', 'the item is running again');

-- the second (last) worker dies too
UPDATE pgmq.q_t_dies SET vt = clock_timestamp() - interval '1 second' WHERE msg_id = :'m';
SELECT is_empty($$SELECT * FROM animus.read_work('t_dies')$$, 'past max_attempts the item is not returned to run again');
SELECT row_eq(format('SELECT state, attempts, resolved_at IS NOT NULL FROM animus.work_items WHERE id = %L', :'w'),
    ROW('dead'::text, 2, true), 'it is dead after its last attempt timed out');
SELECT matches((SELECT error FROM animus.work_items WHERE id = :'w'), 'timed out', 'its error says the last attempt timed out');
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.q_t_dies WHERE msg_id = :'m'), 'its message is settled (deleted)');
SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid)', :'w'), 'ZA104', NULL,
    'a late completion by a dead worker''s zombie raises ZA104');

SELECT * FROM finish();
ROLLBACK;
