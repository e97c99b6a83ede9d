-- submit_work_batch: one row per input in order, dedup against active items and within the batch, errors.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(17);

SELECT has_function('animus', 'submit_work_batch', ARRAY['jsonb', 'text', 'text', 'jsonb'], 'submit_work_batch exists');
SELECT function_returns('animus', 'submit_work_batch', ARRAY['jsonb', 'text', 'text', 'jsonb'], 'setof record', 'submit_work_batch returns a set of rows');
SELECT volatility_is('animus', 'submit_work_batch', ARRAY['jsonb', 'text', 'text', 'jsonb'], 'volatile', 'submit_work_batch is volatile');
SELECT is_definer('animus', 'submit_work_batch', ARRAY['jsonb', 'text', 'text', 'jsonb'], 'submit_work_batch is SECURITY DEFINER');

SELECT animus.create_queue('t_batch') AS created \gset
SELECT work_id AS existing FROM animus.submit_work('mail', 'test', dedup_key => 'm1', queue => 't_batch') \gset

CREATE TEMP TABLE res AS
SELECT * FROM animus.submit_work_batch($$[
    {"work_type": "mail", "source": "a", "dedup_key": "m1", "params": {"n": 1}},
    {"work_type": "mail", "source": "b", "dedup_key": "m2", "params": {"n": 2}, "priority": 3,
     "trace_context": {"traceparent": "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01"}},
    {"work_type": "mail", "source": "c", "dedup_key": "m2", "params": {"n": 3}},
    {"work_type": "mail", "source": "d"},
    {"work_type": "mail", "source": "e", "dedup_key": "m3", "delay": 3600}
]$$, queue => 't_batch');

SELECT results_eq('SELECT ord, status FROM res ORDER BY ord',
    $$VALUES (1, 'merged'), (2, 'created'), (3, 'merged'), (4, 'created'), (5, 'created')$$,
    'one row per input, in input order, with its status');
SELECT is((SELECT canonical_id FROM res WHERE ord = 1), :'existing'::uuid, 'a key active before the batch merges into that item');
SELECT is((SELECT canonical_id FROM res WHERE ord = 3), (SELECT work_id FROM res WHERE ord = 2), 'a duplicate inside the batch merges into the first one');
SELECT is((SELECT msg_id FROM res WHERE ord = 3), (SELECT msg_id FROM res WHERE ord = 2), 'a merged row reports its canonical item''s message');
SELECT is((SELECT count(*) FROM pgmq.q_t_batch), 4::bigint, 'only created items have messages (1 before + 3 created)');
SELECT row_eq(format('SELECT priority, trace_context, source FROM animus.work_items WHERE id = %L', (SELECT work_id FROM res WHERE ord = 2)),
    ROW(3, '{"traceparent": "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01"}'::jsonb, 'b'::text),
    'per-item priority, trace_context and source are stored');
SELECT ok((SELECT vt FROM pgmq.q_t_batch WHERE msg_id = (SELECT msg_id FROM res WHERE ord = 5)) > now() + interval '59 minutes',
    'a per-item delay (seconds) keeps the item invisible');
SELECT is((SELECT params FROM animus.work_items WHERE id = (SELECT work_id FROM res WHERE ord = 3)), '{"n": 3}'::jsonb,
    'a merged item keeps its own params');

CREATE TEMP TABLE counts AS SELECT (SELECT count(*) FROM animus.work_items WHERE queue_name = 't_batch') AS items, (SELECT count(*) FROM pgmq.q_t_batch) AS msgs;
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('{"work_type": "x"}', queue => 't_batch')$$, 'ZA003', NULL, 'items that is not an array raises ZA003');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "x", "source": "s"}, {"work_type": "", "source": "s"}]', queue => 't_batch')$$, 'ZA001', NULL,
    'an item with an empty work_type raises ZA001 for the whole batch');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "x", "source": "s", "params": [1]}]', queue => 't_batch')$$, 'ZA003', NULL,
    'an item whose params is not an object raises ZA003');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "x", "source": "s"}]', queue => 'no_such_queue')$$, 'ZA101', NULL,
    'an unknown queue raises ZA101');
SELECT row_eq($$SELECT (SELECT count(*) FROM animus.work_items WHERE queue_name = 't_batch'), (SELECT count(*) FROM pgmq.q_t_batch)$$,
    (SELECT ROW(items, msgs) FROM counts), 'a failed batch wrote nothing, not even its valid items');

SELECT * FROM finish();
ROLLBACK;
