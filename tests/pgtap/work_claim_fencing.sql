-- Claim fencing: complete_work, fail_work (single and array forms) and heartbeat_work refuse a stale
-- claim (the attempt passed is not the item's current one: it was claimed again since) with ZA108 and
-- write nothing; the current claim works; without the token the behaviour is unfenced as before.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(33);

SELECT has_function('animus', 'complete_work', ARRAY['uuid', 'jsonb', 'integer'], 'complete_work takes an attempt (claim token)');
SELECT has_function('animus', 'complete_work', ARRAY['uuid[]', 'jsonb[]', 'integer[]'], 'complete_work(work_ids) takes attempts aligned with the ids');
SELECT has_function('animus', 'fail_work', ARRAY['uuid', 'text', 'boolean', 'integer'], 'fail_work takes an attempt (claim token)');
SELECT has_function('animus', 'fail_work', ARRAY['uuid[]', 'text', 'boolean', 'integer[]'], 'fail_work(work_ids) takes attempts aligned with the ids');
SELECT has_function('animus', 'heartbeat_work', ARRAY['uuid', 'interval', 'integer'], 'heartbeat_work takes an attempt (claim token)');
SELECT is((SELECT name FROM animus.error_codes WHERE sqlstate = 'ZA108'), 'stale_claim', 'ZA108 is the documented stale_claim SQLSTATE');

SELECT animus.create_queue('t_fence') AS created \gset
-- expire(): the claim's visibility timeout runs out (its message becomes visible again).
CREATE FUNCTION pg_temp.expire(w uuid) RETURNS void LANGUAGE sql AS
    $$UPDATE pgmq.q_t_fence SET vt = clock_timestamp() WHERE msg_id = (SELECT msg_id FROM animus.work_items WHERE id = w)$$;

-- complete_work, single form
SELECT work_id AS c, msg_id AS c_msg FROM animus.submit_work('t', 's', queue => 't_fence') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 1, 'worker A claims the item: attempt 1');
SELECT pg_temp.expire(:'c') AS expired \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 2, 'A''s timeout expired; worker B claims it: attempt 2');
SELECT throws_ok(format('SELECT animus.complete_work(work_id => %L, outcome => ''{"by": "A"}'', attempt => 1)', :'c'), 'ZA108', NULL,
    'complete_work with the stale attempt 1 raises ZA108');
SELECT row_eq(format('SELECT state, outcome, attempts FROM animus.work_items WHERE id = %L', :'c'), ROW('running'::text, NULL::jsonb, 2),
    'the stale completion wrote nothing: still running under attempt 2');
SELECT ok(EXISTS (SELECT 1 FROM pgmq.q_t_fence WHERE msg_id = :'c_msg'), 'the stale completion did not archive the message');
SELECT ok(animus.complete_work(work_id => :'c', outcome => '{"by": "B"}', attempt => 2), 'complete_work with the current attempt 2 completes');
SELECT is((SELECT outcome FROM animus.work_items WHERE id = :'c'), '{"by": "B"}'::jsonb, 'the item holds B''s outcome');
SELECT throws_ok(format('SELECT animus.complete_work(work_id => %L, attempt => 1)', :'c'), 'ZA108', NULL,
    'A''s late completion after B completed is still a stale claim (ZA108)');

-- without the token: unfenced, as before (backward compatible)
SELECT work_id AS u FROM animus.submit_work('t', 'unfenced', queue => 't_fence') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 1, 'another item is claimed (attempt 1)');
SELECT pg_temp.expire(:'u') AS expired \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 2, 'and claimed again (attempt 2)');
SELECT ok(animus.complete_work(work_id => :'u'), 'complete_work without attempt completes the running item (no fencing)');

-- heartbeat_work
SELECT work_id AS h FROM animus.submit_work('t', 's', queue => 't_fence') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 1, 'heartbeat item: attempt 1');
SELECT pg_temp.expire(:'h') AS expired \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 2, 'heartbeat item: claimed again (attempt 2)');
SELECT throws_ok(format('SELECT * FROM animus.heartbeat_work(work_id => %L, extend => ''1 hour'', attempt => 1)', :'h'), 'ZA108', NULL,
    'heartbeat_work with the stale attempt raises ZA108');
SELECT ok((SELECT vt < now() + interval '10 minutes' FROM pgmq.q_t_fence WHERE msg_id = (SELECT msg_id FROM animus.work_items WHERE id = :'h')),
    'the stale heartbeat did not extend the visibility timeout');
SELECT row_eq(format('SELECT state, cancelled FROM animus.heartbeat_work(work_id => %L, extend => ''1 hour'', attempt => 2)', :'h'),
    ROW('running'::text, false), 'heartbeat_work with the current attempt extends the claim');

-- fail_work, single form
SELECT work_id AS f FROM animus.submit_work('t', 's', queue => 't_fence') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 1, 'fail item: attempt 1');
SELECT pg_temp.expire(:'f') AS expired \gset
SELECT is((SELECT attempts FROM animus.read_work('t_fence')), 2, 'fail item: claimed again (attempt 2)');
SELECT throws_ok(format('SELECT * FROM animus.fail_work(work_id => %L, error => ''A gave up'', attempt => 1)', :'f'), 'ZA108', NULL,
    'fail_work with the stale attempt raises ZA108');
SELECT row_eq(format('SELECT state, error FROM animus.work_items WHERE id = %L', :'f'), ROW('running'::text, NULL::text),
    'the stale failure wrote nothing');
SELECT is((SELECT state FROM animus.fail_work(work_id => :'f', error => 'B failed', attempt => 2)), 'queued',
    'fail_work with the current attempt fails it (back to queued for a retry)');

-- array forms: one stale id refuses the whole call
SELECT array_agg(work_id ORDER BY work_id) AS ids FROM animus.submit_work_batch(
    '[{"work_type": "b", "source": "s"}, {"work_type": "b", "source": "s"}]', queue => 't_fence') \gset
SELECT array_agg(attempts ORDER BY work_id) AS att FROM animus.read_work('t_fence', qty => 10) WHERE work_id = ANY (:'ids'::uuid[]) \gset
SELECT pg_temp.expire((:'ids'::uuid[])[2]) AS expired \gset
SELECT array_agg(attempts ORDER BY work_id) AS att2 FROM animus.read_work('t_fence', qty => 10) \gset
SELECT is(:'att2'::integer[], ARRAY[2], 'the second batch item is claimed again (attempt 2)');
SELECT throws_ok(format('SELECT * FROM animus.complete_work(work_ids => %L::uuid[], attempts => %L::integer[])', :'ids', :'att'), 'ZA108', NULL,
    'complete_work(work_ids, attempts) with one stale attempt raises ZA108');
SELECT throws_ok(format('SELECT * FROM animus.fail_work(work_ids => %L::uuid[], error => ''x'', attempts => %L::integer[])', :'ids', :'att'), 'ZA108', NULL,
    'fail_work(work_ids, attempts) with one stale attempt raises ZA108');
SELECT is((SELECT array_agg(state ORDER BY id) FROM animus.work_items WHERE id = ANY (:'ids'::uuid[])), ARRAY['running', 'running'],
    'the refused batch calls wrote nothing (both items still running)');
SELECT results_eq(format('SELECT completed FROM animus.complete_work(work_ids => %L::uuid[], attempts => ARRAY[1, 2])', :'ids'),
    $$VALUES (true), (true)$$, 'complete_work with the current attempts completes both');
SELECT throws_ok(format('SELECT * FROM animus.complete_work(work_ids => %L::uuid[], attempts => ARRAY[1])', :'ids'), 'ZA002', NULL,
    'attempts of another length than work_ids raises ZA002');

SELECT * FROM finish();
ROLLBACK;
