-- Queue pause: a paused queue accepts submissions and read_work hands out nothing from it until it
-- is resumed; running items settle as usual; queue_stats shows it; only animus_admin pauses, and
-- only queues it has a grant on; bad input raises documented SQLSTATEs and changes nothing.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(36);

-- shape
SELECT has_function('animus', 'pause_queue', ARRAY['text'], 'pause_queue(queue) exists');
SELECT has_function('animus', 'resume_queue', ARRAY['text'], 'resume_queue(queue) exists');
SELECT function_returns('animus', 'pause_queue', ARRAY['text'], 'boolean', 'pause_queue returns whether it paused the queue');
SELECT function_returns('animus', 'resume_queue', ARRAY['text'], 'boolean', 'resume_queue returns whether it resumed the queue');
SELECT volatility_is('animus', 'pause_queue', ARRAY['text'], 'volatile', 'pause_queue is volatile');
SELECT volatility_is('animus', 'resume_queue', ARRAY['text'], 'volatile', 'resume_queue is volatile');
SELECT is_definer('animus', 'pause_queue', ARRAY['text'], 'pause_queue is SECURITY DEFINER');
SELECT is_definer('animus', 'resume_queue', ARRAY['text'], 'resume_queue is SECURITY DEFINER');
SELECT ok(has_function_privilege('animus_admin', 'animus.pause_queue(text)', 'EXECUTE')
          AND has_function_privilege('animus_admin', 'animus.resume_queue(text)', 'EXECUTE'), 'animus_admin may pause and resume');
SELECT ok(NOT has_function_privilege('animus_worker', 'animus.pause_queue(text)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.pause_queue(text)', 'EXECUTE')
          AND NOT has_function_privilege('animus_worker', 'animus.resume_queue(text)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.resume_queue(text)', 'EXECUTE'),
    'workers and producers may neither pause nor resume');
SELECT col_type_is('animus', 'queues', 'paused_at', 'timestamp with time zone', 'animus.queues.paused_at records the pause');

-- behaviour
SELECT animus.create_queue('t_pause') AS created \gset
SELECT animus.create_queue('t_other') AS created \gset
SELECT work_id AS running FROM animus.submit_work('t', 's', queue => 't_pause') \gset
SELECT is((SELECT work_id FROM animus.read_work('t_pause', vt => '10 minutes')), :'running'::uuid, 'an item is claimed before the pause');
SELECT is(animus.pause_queue('t_pause'), true, 'pause_queue pauses a running queue and says so');
SELECT isnt((SELECT paused_at FROM animus.queues WHERE queue_name = 't_pause'), NULL, 'paused_at is set');
SELECT paused_at AS first_pause FROM animus.queues WHERE queue_name = 't_pause' \gset
SELECT is(animus.pause_queue('t_pause'), false, 'pausing a paused queue changes nothing and says so');
SELECT is((SELECT paused_at FROM animus.queues WHERE queue_name = 't_pause'), :'first_pause'::timestamptz, 'a second pause keeps the first paused_at');

SELECT work_id AS held FROM animus.submit_work('t', 's', queue => 't_pause') \gset
SELECT is((SELECT state FROM animus.work_items WHERE id = :'held'), 'queued', 'a paused queue accepts submissions (queued)');
SELECT is((SELECT count(*)::int FROM animus.submit_work_batch('[{"work_type": "t", "source": "b"}, {"work_type": "t", "source": "b"}]', queue => 't_pause')), 2,
    'and batch submissions');
SELECT is_empty($$SELECT * FROM animus.read_work('t_pause', qty => 100)$$, 'read_work hands out nothing from a paused queue');
SELECT is((SELECT count(*)::int FROM pgmq.q_t_pause WHERE read_ct = 0), 3, 'the waiting messages were not touched (never read)');
SELECT work_id AS other FROM animus.submit_work('t', 's', queue => 't_other') \gset
SELECT is((SELECT work_id FROM animus.read_work('t_other')), :'other'::uuid, 'other queues are not paused');
SELECT is(animus.complete_work(:'running'::uuid, '{"done": 1}'), true, 'an item claimed before the pause completes as usual');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'running'), 'completed', 'and is completed');

SELECT results_eq($$SELECT DISTINCT paused FROM animus.queue_stats('t_pause')$$, ARRAY[true], 'queue_stats shows the queue paused');
SELECT results_eq($$SELECT DISTINCT paused_at FROM animus.queue_stats('t_pause')$$, ARRAY[:'first_pause'::timestamptz], 'and since when');
SELECT results_eq($$SELECT DISTINCT paused FROM animus.queue_stats('t_other')$$, ARRAY[false], 'queue_stats shows another queue running');
SELECT is((SELECT queue_visible_length FROM animus.queue_stats('t_pause') WHERE state = 'queued'), 3::bigint,
    'the backlog of a paused queue shows in queue_stats');

SELECT is(animus.resume_queue('t_pause'), true, 'resume_queue resumes a paused queue and says so');
SELECT is((SELECT paused_at FROM animus.queues WHERE queue_name = 't_pause'), NULL, 'paused_at is cleared');
SELECT is(animus.resume_queue('t_pause'), false, 'resuming a running queue changes nothing and says so');
SELECT is((SELECT count(*)::int FROM animus.read_work('t_pause', qty => 100)), 3, 'after the resume read_work hands out the backlog');

-- errors: documented SQLSTATEs, nothing written
SELECT throws_ok($$SELECT animus.pause_queue(NULL)$$, 'ZA001', NULL, 'pause_queue(NULL) raises ZA001');
SELECT throws_ok($$SELECT animus.resume_queue(NULL)$$, 'ZA001', NULL, 'resume_queue(NULL) raises ZA001');
SELECT throws_ok($$SELECT animus.pause_queue('no_such_queue')$$, 'ZA101', NULL, 'pausing an unknown queue raises ZA101');
SELECT throws_ok($$SELECT animus.resume_queue('no_such_queue')$$, 'ZA101', NULL, 'resuming an unknown queue raises ZA101');
SELECT is((SELECT count(*)::int FROM animus.queues WHERE paused_at IS NOT NULL), 0, 'the refused calls paused nothing');

SELECT * FROM finish();
ROLLBACK;
