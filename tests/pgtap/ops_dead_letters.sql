-- Dead letters for operators: list_dead_work, retry_dead_work, discard_dead_work.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(27);

-- shape
SELECT has_function('animus', 'list_dead_work', ARRAY['text', 'integer', 'timestamp with time zone'], 'list_dead_work(queue, page_size, before) exists');
SELECT has_function('animus', 'retry_dead_work', ARRAY['uuid', 'interval'], 'retry_dead_work(work_id, delay) exists');
SELECT has_function('animus', 'discard_dead_work', ARRAY['uuid'], 'discard_dead_work(work_id) exists');
SELECT volatility_is('animus', 'list_dead_work', ARRAY['text', 'integer', 'timestamp with time zone'], 'stable', 'list_dead_work is stable (runs on a standby)');
SELECT is_definer('animus', 'retry_dead_work', ARRAY['uuid', 'interval'], 'retry_dead_work is SECURITY DEFINER');
SELECT ok(NOT has_function_privilege('animus_worker', 'animus.retry_dead_work(uuid, interval)', 'EXECUTE')
          AND NOT has_function_privilege('animus_producer', 'animus.discard_dead_work(uuid)', 'EXECUTE')
          AND has_function_privilege('animus_admin', 'animus.retry_dead_work(uuid, interval)', 'EXECUTE'),
          'retry and discard are for animus_admin only');
SELECT ok(has_function_privilege('animus_producer', 'animus.list_dead_work(text, integer, timestamp with time zone)', 'EXECUTE'),
          'every animus role may list dead letters (of its queues)');

-- two dead items, one live
SELECT animus.create_queue('t_dead') AS created \gset
SELECT work_id AS d1 FROM animus.submit_work('mail', 'agent', params => '{"n": 1}', dedup_key => 'k1', queue => 't_dead', max_attempts => 1, trigger_info => 'nightly') \gset
SELECT work_id AS d2 FROM animus.submit_work('mail', 'agent', params => '{"n": 2}', queue => 't_dead', max_attempts => 1) \gset
SELECT work_id AS live FROM animus.submit_work('mail', 'agent', params => '{"n": 3}', queue => 't_dead', delay => '1 hour') \gset
SELECT count(*) AS n FROM (SELECT animus.fail_work(work_id, 'boom ' || (params->>'n'), retryable => false) FROM animus.read_work('t_dead', qty => 5)) f \gset
SELECT is((SELECT count(*)::int FROM animus.list_dead_work('t_dead')), 2, 'both dead items are listed');
SELECT is((SELECT error FROM animus.list_dead_work('t_dead') WHERE work_id = :'d1'), 'boom 1', 'with their last error');
SELECT is((SELECT count(*)::int FROM animus.list_dead_work('t_dead', page_size => 1)), 1, 'page_size bounds the page');

-- retry
CREATE TEMP TABLE r AS SELECT * FROM animus.retry_dead_work(:'d1');
SELECT is((SELECT status FROM r), 'created', 'a retry submits a new item');
SELECT row_eq(format('SELECT queue_name, work_type, source, params, dedup_key, state FROM animus.work_items WHERE id = %L', (SELECT retried_as FROM r)),
    ROW('t_dead'::text, 'mail'::text, 'agent'::text, '{"n": 1}'::jsonb, 'k1'::text, 'queued'::text),
    'the new item carries the dead item''s queue, type, source, params and dedup key, queued');
SELECT matches((SELECT trigger_info FROM animus.work_items WHERE id = (SELECT retried_as FROM r)), '^retry of dead ' || :'d1',
    'its trigger_info says what it retries');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'d1'), 'dead', 'the dead item stays dead, with its history');
SELECT is((SELECT error FROM animus.work_items WHERE id = :'d1'), 'boom 1', 'and its error');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.list_dead_work('t_dead') WHERE work_id = :'d1'), 'a retried item leaves the dead letter list');
SELECT throws_ok(format('SELECT * FROM animus.retry_dead_work(%L)', :'d1'), 'ZA166', NULL, 'a second retry of the same dead item raises ZA166');

-- discard
SELECT ok(animus.discard_dead_work(:'d2'), 'discard returns true');
SELECT is((SELECT count(*)::int FROM animus.list_dead_work('t_dead')), 0, 'a discarded item leaves the list too');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'d2'), 'dead', 'and stays readable as dead');
SELECT throws_ok(format('SELECT animus.discard_dead_work(%L)', :'d2'), 'ZA166', NULL, 'discarding it again raises ZA166');

-- bad input: nothing changed
SELECT throws_ok(format('SELECT * FROM animus.retry_dead_work(%L)', :'live'), 'ZA165', NULL, 'retrying an item that is not dead raises ZA165');
SELECT is((SELECT count(*)::int FROM animus.work_items WHERE queue_name = 't_dead'), 4, 'a refused retry submits nothing (3 items + 1 retry)');
SELECT throws_ok('SELECT * FROM animus.retry_dead_work(''00000000-0000-0000-0000-000000000000'')', 'ZA102', NULL, 'an unknown id raises ZA102');
SELECT throws_ok('SELECT * FROM animus.list_dead_work(''t_no_such_queue'')', 'ZA101', NULL, 'an unknown queue raises ZA101');
SELECT throws_ok('SELECT * FROM animus.list_dead_work(page_size => 0)', 'ZA167', NULL, 'page_size 0 raises ZA167');
SET LOCAL ROLE animus_worker;
SELECT throws_ok(format('SELECT animus.discard_dead_work(%L)', :'live'), '42501', NULL, 'a worker role may not discard (permission denied)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
