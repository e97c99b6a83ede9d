-- fail_work (single and batch): retry after exponential backoff with jitter, dead-letter, errors.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(22);

SELECT has_function('animus', 'fail_work', ARRAY['uuid', 'text', 'boolean', 'integer'], 'fail_work(work_id, error, retryable) exists');
SELECT has_function('animus', 'fail_work', ARRAY['uuid[]', 'text', 'boolean', 'integer[]'], 'fail_work(work_ids, error, retryable) exists (batch form)');
SELECT function_returns('animus', 'fail_work', ARRAY['uuid', 'text', 'boolean', 'integer'], 'setof record', 'fail_work returns (state, retry_at)');
SELECT volatility_is('animus', 'fail_work', ARRAY['uuid', 'text', 'boolean', 'integer'], 'volatile', 'fail_work is volatile');
SELECT is_definer('animus', 'fail_work', ARRAY['uuid', 'text', 'boolean', 'integer'], 'fail_work is SECURITY DEFINER');

SELECT animus.create_queue('t_fail', backoff_base => '10 seconds', backoff_factor => 3, backoff_cap => '60 seconds', backoff_jitter => 0.2) AS created \gset
SELECT work_id AS w, msg_id AS w_msg FROM animus.submit_work('t', 's', max_attempts => 3, queue => 't_fail') \gset

SELECT is((SELECT work_id FROM animus.read_work('t_fail')), :'w'::uuid, 'attempt 1 is claimed');
CREATE TEMP TABLE f1 AS SELECT *, clock_timestamp() AS at FROM animus.fail_work(:'w'::uuid, 'timeout talking to SMTP');
SELECT is((SELECT state FROM f1), 'queued', 'a retryable failure with attempts left goes back to queued');
SELECT ok((SELECT retry_at - at BETWEEN interval '7.9 seconds' AND interval '12.1 seconds' FROM f1),
    'the first retry waits backoff_base (10 s) +/- 20 % jitter');
SELECT is((SELECT vt FROM pgmq.q_t_fail WHERE msg_id = :'w_msg'), (SELECT retry_at FROM f1), 'the message becomes visible at retry_at');
SELECT row_eq(format('SELECT error, attempts, resolved_at FROM animus.work_items WHERE id = %L', :'w'),
    ROW('timeout talking to SMTP'::text, 1, NULL::timestamptz), 'the error is kept and the item is not resolved');
SELECT is_empty($$SELECT * FROM animus.read_work('t_fail')$$, 'the item is invisible during its backoff');

UPDATE pgmq.q_t_fail SET vt = clock_timestamp() WHERE msg_id = :'w_msg';
SELECT is((SELECT attempts FROM animus.read_work('t_fail')), 2, 'after the backoff it is read again as attempt 2');
CREATE TEMP TABLE f2 AS SELECT *, clock_timestamp() AS at FROM animus.fail_work(:'w'::uuid, 'again');
SELECT ok((SELECT retry_at - at BETWEEN interval '23.9 seconds' AND interval '36.1 seconds' FROM f2),
    'the second retry waits base * factor (30 s) +/- 20 %');

UPDATE pgmq.q_t_fail SET vt = clock_timestamp() WHERE msg_id = :'w_msg';
SELECT is((SELECT attempts FROM animus.read_work('t_fail')), 3, 'attempt 3 (the last) is claimed');
SELECT row_eq(format('SELECT state, retry_at FROM animus.fail_work(%L::uuid, %L)', :'w', 'still broken'), ROW('dead'::text, NULL::timestamptz),
    'a failure on the last attempt is dead');
SELECT row_eq(format('SELECT state, error, resolved_at IS NOT NULL FROM animus.work_items WHERE id = %L', :'w'),
    ROW('dead'::text, 'still broken'::text, true), 'the dead item is kept with its last error');
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.a_t_fail WHERE msg_id = :'w_msg') AND NOT EXISTS (SELECT 1 FROM pgmq.q_t_fail WHERE msg_id = :'w_msg'),
    'its message was deleted (the dead item keeps its error)');

-- not retryable, batch form, errors
SELECT array_agg(work_id) AS ids FROM animus.submit_work_batch('[{"work_type": "t", "source": "s"}, {"work_type": "t", "source": "s"}]', queue => 't_fail') \gset
SELECT is((SELECT count(*) FROM animus.read_work('t_fail', qty => 5)), 2::bigint, 'two items are claimed');
SELECT results_eq(format('SELECT failed, state FROM animus.fail_work(work_ids => %L::uuid[], error => %L, retryable => false)', :'ids', 'bad input'),
    $$VALUES (true, 'dead'::text), (true, 'dead'::text)$$, 'the batch form with retryable => false dead-letters every item at once');
SELECT throws_ok(format('SELECT * FROM animus.fail_work(%L::uuid, %L)', :'w', 'x'), 'ZA104', NULL, 'failing an ended item raises ZA104');
SELECT throws_ok(format('SELECT * FROM animus.fail_work(%L::uuid, NULL)', :'w'), 'ZA001', NULL, 'a NULL error raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.fail_work(gen_random_uuid(), 'x')$$, 'ZA102', NULL, 'an unknown work id raises ZA102');

SELECT * FROM finish();
ROLLBACK;
