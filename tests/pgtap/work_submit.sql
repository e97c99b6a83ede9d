-- submit_work: shape, created / merged, dedup scope, message body and headers, delay, errors.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(45);

SELECT has_function('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb', 'text', 'integer'], 'submit_work exists with its named arguments');
SELECT function_returns('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb', 'text', 'integer'], 'animus.work_submission', 'submit_work returns one animus.work_submission (work_id, status, canonical_id, msg_id)');
SELECT volatility_is('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb', 'text', 'integer'], 'volatile', 'submit_work is volatile');
SELECT is_definer('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb', 'text', 'integer'], 'submit_work is SECURITY DEFINER');

SELECT animus.create_queue('t_submit') AS created \gset
-- a second queue of the test's own: the default queue 'work' may be in use (tests run on production)
SELECT animus.create_queue('t_submit_other') AS created_other \gset

-- created
SELECT work_id AS first, status AS first_status, canonical_id AS first_canon, msg_id AS first_msg
  FROM animus.submit_work(work_type => 'engage', source => 'scheduler', params => '{"person": "kelly"}',
                          dedup_key => 'person=kelly', trigger_info => 'cron 5m', queue => 't_submit',
                          trace_context => '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "k=v"}') \gset
SELECT is(:'first_status'::text, 'created', 'a first submission is created');
SELECT is(:'first_canon'::text, :'first'::text, 'a created item is its own canonical item');
SELECT row_eq(format('SELECT state, work_type, dedup_key, source, trigger_info, params, priority, attempts, max_attempts, msg_id FROM animus.work_items WHERE id = %L', :'first'),
    ROW('queued'::text, 'engage'::text, 'person=kelly'::text, 'scheduler'::text, 'cron 5m'::text, '{"person": "kelly"}'::jsonb, 0, 0, 5, :'first_msg'::bigint),
    'the work item is queued with its arguments and the defaults priority 0, max_attempts 5');
SELECT is((SELECT message FROM pgmq.q_t_submit WHERE msg_id = :'first_msg'),
    jsonb_build_object('work_id', :'first', 'work_type', 'engage'),
    'the pgmq message body is {"work_id", "work_type"}');
SELECT is((SELECT headers FROM pgmq.q_t_submit WHERE msg_id = :'first_msg'),
    '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "k=v"}'::jsonb,
    'the pgmq message headers carry the W3C trace context (priority 0 adds no header)');
SELECT is((SELECT trace_context FROM animus.work_items WHERE id = :'first'),
    '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "k=v"}'::jsonb,
    'the trace context is stored on the work item');
SELECT is((SELECT count(*) FROM pgmq.read('t_submit', 0, 10)), 1::bigint, 'a stock pgmq.read sees the message (vt 0: left visible)');

-- merged
SELECT work_id AS second, status AS second_status, canonical_id AS second_canon, msg_id AS second_msg
  FROM animus.submit_work(work_type => 'engage', source => 'human', params => '{"person": "kelly", "why": "asked"}',
                          dedup_key => 'person=kelly', trigger_info => 'chat', queue => 't_submit',
                          trace_context => '{"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}') \gset
SELECT is(:'second_status'::text, 'merged', 'a second submission with the same key while the first is queued is merged');
SELECT is(:'second_canon'::text, :'first'::text, 'the merged submission points at the canonical item');
SELECT is(:'second_msg'::text, :'first_msg'::text, 'a merged submission returns the canonical item''s message id');
SELECT isnt(:'second'::text, :'first'::text, 'the merged submission has its own work id');
SELECT row_eq(format('SELECT state, merged_into, source, trigger_info, params, trace_context, msg_id FROM animus.work_items WHERE id = %L', :'second'),
    ROW('merged'::text, :'first'::uuid, 'human'::text, 'chat'::text, '{"person": "kelly", "why": "asked"}'::jsonb,
        '{"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}'::jsonb, NULL::bigint),
    'the merged row keeps its own source, trigger_info, params and trace context, and has no message');
SELECT is((SELECT count(*) FROM pgmq.q_t_submit), 1::bigint, 'a duplicate sends no message');
SELECT row_eq(format('SELECT params, state FROM animus.work_items WHERE id = %L', :'first'),
    ROW('{"person": "kelly"}'::jsonb, 'queued'::text), 'merge keeps the canonical item as it was');

-- dedup scope: queue + work_type + dedup_key
SELECT is((SELECT status FROM animus.submit_work('other_type', 'human', dedup_key => 'person=kelly', queue => 't_submit')), 'created',
    'the same key with another work_type is another item');
SELECT is((SELECT status FROM animus.submit_work('engage', 'human', dedup_key => 'person=kelly', queue => 't_submit_other')), 'created',
    'the same key in another queue is another item');
SELECT is((SELECT status FROM animus.submit_work('engage', 'human', queue => 't_submit')), 'created',
    'an item without dedup_key is never merged');
SELECT is((SELECT status FROM animus.submit_work('engage', 'human', queue => 't_submit')), 'created',
    'a second item without dedup_key is created too');
UPDATE animus.work_items SET state = 'cancelled' WHERE id = :'first';
SELECT is((SELECT status FROM animus.submit_work('engage', 'human', dedup_key => 'person=kelly', queue => 't_submit')), 'created',
    'after the canonical item ended, the key is free again');

-- delay and run_at
SELECT work_id AS later, msg_id AS later_msg FROM animus.submit_work('later', 'test', delay => '1 hour', queue => 't_submit') \gset
SELECT ok((SELECT vt FROM pgmq.q_t_submit WHERE msg_id = :'later_msg') > now() + interval '59 minutes',
    'a delayed item''s message is invisible until due');
SELECT work_id AS at_time, msg_id AS at_msg FROM animus.submit_work('later', 'test', run_at => '2100-01-01', queue => 't_submit') \gset
SELECT is((SELECT vt FROM pgmq.q_t_submit WHERE msg_id = :'at_msg'), '2100-01-01'::timestamptz, 'run_at sets the time the item becomes visible');
SELECT work_id AS prio FROM animus.submit_work('p', 'test', priority => 7, queue => 't_submit') \gset
SELECT is((SELECT priority FROM animus.work_items WHERE id = :'prio'), 7, 'priority is stored');

-- bad input: each raises its SQLSTATE and writes nothing
CREATE TEMP TABLE counts AS SELECT (SELECT count(*) FROM animus.work_items WHERE queue_name = 't_submit') AS items, (SELECT count(*) FROM pgmq.q_t_submit) AS msgs;
SELECT throws_ok($$SELECT * FROM animus.submit_work(NULL, 'test', queue => 't_submit')$$, 'ZA001', NULL, 'a NULL work_type raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.submit_work('', 'test', queue => 't_submit')$$, 'ZA001', NULL, 'an empty work_type raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', NULL, queue => 't_submit')$$, 'ZA001', NULL, 'a NULL source raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', '', queue => 't_submit')$$, 'ZA001', NULL, 'an empty source raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', dedup_key => '', queue => 't_submit')$$, 'ZA001', NULL, 'an empty dedup_key raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', dedup_key => repeat('k', 2001), queue => 't_submit')$$, 'ZA002', NULL,
    'a dedup_key over 2000 bytes raises ZA002 (not the index''s 54000)');
SELECT throws_ok($$SELECT * FROM animus.submit_work(repeat('t', 256), 's', queue => 't_submit')$$, 'ZA002', NULL,
    'a work_type over 255 bytes raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "t", "source": "s", "dedup_key": "k"}, {"work_type": "t", "source": "s"}]'::jsonb
                   || jsonb_build_array(jsonb_build_object('work_type', 't', 'source', 's', 'dedup_key', repeat('k', 2001))), queue => 't_submit')$$,
    'ZA002', 'argument items: item 3: dedup_key is longer than 2000 bytes', 'the batch form names the element whose dedup_key is too long');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', params => '[1, 2]', queue => 't_submit')$$, 'ZA003', NULL, 'params that is not a JSON object raises ZA003');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', trace_context => '"00-abc"', queue => 't_submit')$$, 'ZA003', NULL, 'a trace_context that is not an object raises ZA003');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', delay => '-1 second', queue => 't_submit')$$, 'ZA002', NULL, 'a negative delay raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', max_attempts => 0, queue => 't_submit')$$, 'ZA002', NULL, 'max_attempts < 1 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', priority => 5000, queue => 't_submit')$$, 'ZA002', NULL, 'a priority outside -1000..1000 raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', on_duplicate => 'ignore', queue => 't_submit')$$, 'ZA004', NULL, 'an unknown on_duplicate mode raises ZA004');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', queue => 'no_such_queue')$$, 'ZA101', NULL, 'an unknown queue raises ZA101');
SELECT throws_ok($$SELECT * FROM animus.submit_work('t', 's', parent_id => gen_random_uuid(), queue => 't_submit')$$, 'ZA102', NULL, 'an unknown parent_id raises ZA102');
SELECT row_eq($$SELECT (SELECT count(*) FROM animus.work_items WHERE queue_name = 't_submit'), (SELECT count(*) FROM pgmq.q_t_submit)$$,
    (SELECT ROW(items, msgs) FROM counts), 'no failed call wrote a work item or a message');
SELECT is((SELECT count(*) FROM animus.submit_work('child', 's', parent_id => :'first', queue => 't_submit')), 1::bigint,
    'an existing parent_id is accepted');

SELECT lives_ok($$SELECT * FROM animus.submit_work(repeat('t', 255), 's', dedup_key => repeat('k', 2000), queue => 't_submit')$$,
    'the longest work_type and dedup_key are accepted by the dedup index');
SELECT * FROM finish();
ROLLBACK;
