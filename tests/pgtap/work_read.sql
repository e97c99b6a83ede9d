-- read_work: claims by priority, counts attempts, hides delayed and cancelled items, exposes requesters.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(24);

SELECT has_function('animus', 'read_work', ARRAY['text', 'interval', 'integer', 'text[]'], 'read_work exists');
SELECT function_returns('animus', 'read_work', ARRAY['text', 'interval', 'integer', 'text[]'], 'setof record', 'read_work returns a set of work rows');
SELECT volatility_is('animus', 'read_work', ARRAY['text', 'interval', 'integer', 'text[]'], 'volatile', 'read_work is volatile');
SELECT is_definer('animus', 'read_work', ARRAY['text', 'interval', 'integer', 'text[]'], 'read_work is SECURITY DEFINER');

SELECT animus.create_queue('t_read') AS created \gset
SELECT work_id AS low FROM animus.submit_work('t', 'test', priority => -1, queue => 't_read') \gset
SELECT work_id AS mid FROM animus.submit_work('t', 'test', dedup_key => 'k', queue => 't_read',
    trace_context => '{"traceparent": "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01"}') \gset
SELECT work_id AS dup FROM animus.submit_work('t', 'other', dedup_key => 'k', trigger_info => 'again', queue => 't_read',
    trace_context => '{"traceparent": "00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-2222222222222222-01"}') \gset
SELECT work_id AS high FROM animus.submit_work('t', 'test', priority => 10, queue => 't_read') \gset
SELECT work_id AS delayed FROM animus.submit_work('t', 'test', priority => 100, delay => '1 hour', queue => 't_read') \gset
SELECT work_id AS gone FROM animus.submit_work('t', 'test', priority => 50, queue => 't_read') \gset
SELECT ok(animus.cancel_work(:'gone'), 'an item is cancelled before any read');

CREATE TEMP TABLE r1 AS SELECT * FROM animus.read_work(queue => 't_read', vt => '30 seconds', qty => 1);
SELECT is((SELECT work_id FROM r1), :'high'::uuid, 'the highest visible priority is read first (delayed and cancelled items skipped)');
SELECT row_eq(format('SELECT state, attempts FROM animus.work_items WHERE id = %L', :'high'), ROW('running'::text, 1),
    'a claimed item is running and has counted its first attempt');
SELECT ok((SELECT visible_until FROM r1) BETWEEN now() + interval '29 seconds' AND clock_timestamp() + interval '30 seconds',
    'the claim lasts the visibility timeout');
SELECT is((SELECT read_ct FROM pgmq.q_t_read WHERE msg_id = (SELECT msg_id FROM r1)), 1, 'the pgmq message was read once (read_ct)');

CREATE TEMP TABLE r2 AS SELECT * FROM animus.read_work(queue => 't_read', qty => 10);
SELECT results_eq('SELECT work_id FROM r2', format('VALUES (%L::uuid), (%L::uuid)', :'mid', :'low'),
    'the rest comes in priority order; the claimed, delayed and cancelled items are not returned');
SELECT is((SELECT jsonb_array_length(requesters) FROM r2 WHERE work_id = :'mid'), 2, 'requesters lists the canonical submission and its merged one');
SELECT is((SELECT requesters -> 1 ->> 'work_id' FROM r2 WHERE work_id = :'mid'), :'dup'::text, 'the merged submission is a requester');
SELECT is((SELECT ARRAY(SELECT r -> 'trace_context' ->> 'traceparent' FROM jsonb_array_elements(requesters) r) FROM r2 WHERE work_id = :'mid'),
    ARRAY['00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01', '00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-2222222222222222-01'],
    'read exposes the trace context of every requester, canonical first');
SELECT is((SELECT trace_context ->> 'traceparent' FROM r2 WHERE work_id = :'mid'), '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01',
    'read returns the canonical item''s own trace context');
SELECT is_empty($$SELECT * FROM animus.read_work(queue => 't_read', qty => 10)$$, 'nothing else is visible');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'gone'), 'cancelled', 'the cancelled item stays cancelled');

-- a message of a stock pgmq client without a work item is archived, not returned
SELECT pgmq.send('t_read', '{"hello": "world"}') AS stray \gset
SELECT is_empty($$SELECT * FROM animus.read_work(queue => 't_read')$$, 'a message without a work item is never returned');
SELECT ok(EXISTS (SELECT 1 FROM pgmq.a_t_read WHERE msg_id = :'stray'), 'it was archived');

SELECT throws_ok($$SELECT * FROM animus.read_work(queue => 'no_such_queue')$$, 'ZA101', NULL, 'an unknown queue raises ZA101');
SELECT throws_ok($$SELECT * FROM animus.read_work(queue => 't_read', vt => '0 seconds')$$, 'ZA002', NULL, 'a non-positive vt raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.read_work(queue => 't_read', qty => 0)$$, 'ZA002', NULL, 'qty < 1 raises ZA002');


-- Priority bands: > 0 and < 0 are read from the partial priority index, 0 (no header) from pgmq's vt
-- index; one read crosses the bands in order and stops when qty is reached.
SELECT animus.create_queue('t_bands') AS created \gset
SELECT work_id AS b0a FROM animus.submit_work('t', 'test', queue => 't_bands') \gset
SELECT work_id AS b5a FROM animus.submit_work('t', 'test', priority => 5, queue => 't_bands') \gset
SELECT work_id AS bn5 FROM animus.submit_work('t', 'test', priority => -5, queue => 't_bands') \gset
SELECT work_id AS b0b FROM animus.submit_work('t', 'test', queue => 't_bands') \gset
SELECT work_id AS b5b FROM animus.submit_work('t', 'test', priority => 5, queue => 't_bands') \gset
SELECT ok((SELECT pg_get_indexdef('pgmq.q_t_bands_animus_priority'::regclass) LIKE '%WHERE%IS NOT NULL%')
          AND (SELECT count(*) FROM pgmq.q_t_bands WHERE headers -> 'animus_priority' IS NOT NULL) = 3,
    'the priority index is partial: priority-0 messages carry no priority header and get no entry');
SELECT results_eq($$SELECT work_id FROM animus.read_work(queue => 't_bands', qty => 3)$$,
    format('VALUES (%L::uuid), (%L::uuid), (%L::uuid)', :'b5a', :'b5b', :'b0a'),
    'one read takes priority 5 (oldest first), then priority 0, and stops at qty');
SELECT results_eq($$SELECT work_id FROM animus.read_work(queue => 't_bands', qty => 5)$$,
    format('VALUES (%L::uuid), (%L::uuid)', :'b0b', :'bn5'),
    'the next read takes the rest of priority 0, then the negative priority');
SELECT * FROM finish();
ROLLBACK;
