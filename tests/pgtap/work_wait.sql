-- Awaiting a result: watch_work marks the item a waiter awaits and returns its state (a merged
-- submission resolves to its canonical item); wait_work polls until the end or the timeout.
-- Notifications are delivered at commit, so their delivery is tested by pytest
-- (tests/python/test_work_wait.py); here the marks in animus.work_awaited are checked.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(41);

-- shape, grants
SELECT has_table('animus', 'work_awaited', 'animus.work_awaited exists');
SELECT col_is_pk('animus', 'work_awaited', 'work_id', 'one mark per item');
SELECT ok(NOT has_table_privilege('animus_producer', 'animus.work_awaited', 'SELECT')
          AND NOT has_table_privilege('animus_worker', 'animus.work_awaited', 'INSERT'), 'the roles do not touch the marks directly');
SELECT has_function('animus', 'watch_work', ARRAY['uuid[]'], 'watch_work(work_ids) exists');
SELECT has_function('animus', 'wait_work', ARRAY['uuid', 'interval'], 'wait_work(work_id, timeout) exists');
SELECT volatility_is('animus', 'watch_work', ARRAY['uuid[]'], 'volatile', 'watch_work is volatile (it marks)');
SELECT volatility_is('animus', 'wait_work', ARRAY['uuid', 'interval'], 'volatile', 'wait_work is volatile (it sleeps)');
SELECT is_definer('animus', 'watch_work', ARRAY['uuid[]'], 'watch_work is SECURITY DEFINER');
SELECT is_definer('animus', 'wait_work', ARRAY['uuid', 'interval'], 'wait_work is SECURITY DEFINER');
SELECT ok(has_function_privilege('animus_producer', 'animus.watch_work(uuid[])', 'EXECUTE')
          AND has_function_privilege('animus_worker', 'animus.watch_work(uuid[])', 'EXECUTE')
          AND has_function_privilege('animus_admin', 'animus.watch_work(uuid[])', 'EXECUTE'),
          'producers, workers and admins may watch');
SELECT ok(has_function_privilege('animus_producer', 'animus.wait_work(uuid, interval)', 'EXECUTE')
          AND has_function_privilege('animus_worker', 'animus.wait_work(uuid, interval)', 'EXECUTE'),
          'producers and workers may wait');
SELECT ok(NOT has_function_privilege('animus_memory_reader', 'animus.wait_work(uuid, interval)', 'EXECUTE'),
          'a memory reader may not wait for work');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.work_wait_state(uuid[])', 'EXECUTE'),
          'the internal work_wait_state is not callable by the roles');

-- watch_work: marks active canonical items, returns the state in input order
SELECT animus.create_queue('t_wait') AS created \gset
SELECT work_id AS a FROM animus.submit_work('t', 's', queue => 't_wait', dedup_key => 'k') \gset
SELECT work_id AS a_dup, status AS a_dup_status FROM animus.submit_work('t', 's2', queue => 't_wait', dedup_key => 'k') \gset
SELECT work_id AS b FROM animus.submit_work('t', 's', queue => 't_wait') \gset
SELECT is(:'a_dup_status'::text, 'merged', 'the second submission of key k is merged');
SELECT is((SELECT count(*)::int FROM animus.work_awaited a JOIN animus.work_items w ON w.id = a.work_id WHERE w.queue_name = 't_wait'), 0,
    'nothing is awaited before a waiter comes');

CREATE TEMP TABLE w1 AS SELECT * FROM animus.watch_work(ARRAY[:'b', :'a_dup', gen_random_uuid()]::uuid[]) WITH ORDINALITY AS t;
SELECT results_eq($$SELECT work_id, canonical_id, state, ended FROM w1 ORDER BY ordinality$$,
    format($$VALUES (%L::uuid, %L::uuid, 'queued'::text, false), (%L::uuid, %L::uuid, 'queued'::text, false), ((SELECT work_id FROM w1 WHERE ordinality = 3), NULL::uuid, NULL::text, false)$$,
           :'b', :'b', :'a_dup', :'a'),
    'one row per id in input order; the merged submission resolves to its canonical item; an unknown id has state NULL');
SELECT set_eq($$SELECT a.work_id FROM animus.work_awaited a JOIN animus.work_items w ON w.id = a.work_id WHERE w.queue_name = 't_wait'$$, format($$VALUES (%L::uuid), (%L::uuid)$$, :'a', :'b'),
    'the canonical items are marked awaited, the merged row itself is not');
SELECT results_eq(format($$SELECT watching FROM animus.watch_work(ARRAY[%L, %L]::uuid[])$$, :'a', :'a_dup'), $$VALUES (true), (true)$$,
    'watching an awaited item again is fine: watching (its end will be notified), also through its merged submission');

-- ended items carry their outcome or error and are not marked
SELECT work_id AS c FROM animus.submit_work('t', 's', queue => 't_wait') \gset
SELECT work_id AS d FROM animus.submit_work('t', 's', queue => 't_wait') \gset
SELECT work_id AS e FROM animus.submit_work('t', 's', queue => 't_wait') \gset
SELECT count(*) AS claimed FROM animus.read_work('t_wait', qty => 10) \gset
SELECT animus.complete_work(:'c'::uuid, '{"answer": 42}') AS done \gset
SELECT state AS d_state FROM animus.fail_work(:'d'::uuid, 'boom', retryable => false) \gset
SELECT animus.cancel_work(:'e'::uuid) AS cancelled \gset
SELECT results_eq(format($$SELECT state, ended, outcome, error FROM animus.watch_work(ARRAY[%L, %L, %L]::uuid[])$$, :'c', :'d', :'e'),
    $$VALUES ('completed'::text, true, '{"answer": 42}'::jsonb, NULL::text), ('dead', true, NULL, 'boom'), ('cancelled', true, NULL, NULL)$$,
    'ended items: completed with its outcome, dead with its error, cancelled');
SELECT ok((SELECT resolved_at IS NOT NULL FROM animus.watch_work(ARRAY[:'c']::uuid[])), 'an ended row carries resolved_at');
SELECT is((SELECT count(*)::int FROM animus.work_awaited WHERE work_id IN (:'c', :'d', :'e')), 0, 'ended items are not marked');

-- a retry keeps the mark; the trigger still enforces the transitions
SELECT work_id AS f FROM animus.submit_work('t', 's', queue => 't_wait', max_attempts => 3) \gset
SELECT count(*) AS w FROM animus.watch_work(ARRAY[:'f']::uuid[]) \gset
SELECT count(*) AS claimed FROM animus.read_work('t_wait', qty => 10) \gset
SELECT is((SELECT state FROM animus.fail_work(:'f'::uuid, 'transient')), 'queued', 'an awaited item fails with retries left: queued again');
SELECT ok(EXISTS (SELECT 1 FROM animus.work_awaited WHERE work_id = :'f'), 'it stays awaited across the retry');
SELECT throws_ok(format($$UPDATE animus.work_items SET state = 'completed' WHERE id = %L$$, :'f'), 'ZA105', NULL,
    'an illegal transition of an awaited item still raises ZA105');
SELECT ok(pg_get_functiondef('animus.work_items_check_transition()'::regprocedure) LIKE '%pg_notify(''animus_work_done'', NEW.id::text)%',
    'the trigger notifies animus_work_done with the item id');
SELECT ok((SELECT bool_and(completed) FROM animus.complete_work(ARRAY[:'b']::uuid[])), 'an awaited item completes');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.work_awaited WHERE work_id = :'b'), 'its end removed its mark');

-- replace mode: a submission merged into a queued item gets that item's (latest) run
SELECT work_id AS r1 FROM animus.submit_work('t', 's', queue => 't_wait', dedup_key => 'r', params => '{"v": 1}') \gset
SELECT work_id AS r2, canonical_id AS r2_canon FROM animus.submit_work('t', 's', queue => 't_wait', dedup_key => 'r', params => '{"v": 2}', on_duplicate => 'replace') \gset
SELECT is((SELECT canonical_id FROM animus.watch_work(ARRAY[:'r2']::uuid[])), :'r1'::uuid,
    'a replacing submission of a queued item awaits that item (which now carries its params)');

-- errors: nothing marked when a call fails
SELECT throws_ok($$SELECT * FROM animus.watch_work(NULL)$$, 'ZA001', NULL, 'work_ids NULL raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.watch_work(ARRAY[NULL]::uuid[])$$, 'ZA001', NULL, 'a NULL id raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.watch_work(array_fill(gen_random_uuid(), ARRAY[10001]))$$, 'ZA110', NULL, 'more than 10000 ids raise ZA110');
SELECT work_id AS g FROM animus.submit_work('t', 's', queue => 't_wait') \gset
SELECT throws_ok(format($$SELECT * FROM animus.watch_work(ARRAY[%L, NULL]::uuid[])$$, :'g'), 'ZA001', NULL, 'a list with a NULL raises ZA001...');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.work_awaited WHERE work_id = :'g'), '...and marks none of its items');

-- wait_work
SELECT throws_ok($$SELECT * FROM animus.wait_work(NULL)$$, 'ZA001', NULL, 'wait_work: work_id NULL raises ZA001');
SELECT throws_ok(format($$SELECT * FROM animus.wait_work(%L, timeout => '-1 second')$$, :'c'), 'ZA155', NULL, 'a negative timeout raises ZA155');
SELECT throws_ok(format($$SELECT * FROM animus.wait_work(%L, timeout => NULL)$$, :'c'), 'ZA155', NULL, 'a NULL timeout raises ZA155');
SELECT throws_ok($$SELECT * FROM animus.wait_work(gen_random_uuid(), '1 second')$$, 'ZA102', NULL, 'an unknown id raises ZA102');
SELECT results_eq(format($$SELECT id, state, ended, outcome, timed_out FROM animus.wait_work(%L, '1 hour')$$, :'c'),
    format($$VALUES (%L::uuid, 'completed'::text, true, '{"answer": 42}'::jsonb, false)$$, :'c'),
    'an ended item returns at once with its outcome (even with a long timeout)');
SELECT results_eq(format($$SELECT id, canonical_id, state, ended, timed_out FROM animus.wait_work(%L, '0')$$, :'a_dup'),
    format($$VALUES (%L::uuid, %L::uuid, 'running'::text, false, true)$$, :'a_dup', :'a'),
    'timeout 0 looks once: a merged submission reports its canonical item, timed_out');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS at;
SELECT is((SELECT timed_out FROM animus.wait_work(:'g'::uuid, '120 milliseconds')), true, 'an item that does not end: timed_out after the timeout');
SELECT ok(clock_timestamp() - (SELECT at FROM t0) BETWEEN interval '120 milliseconds' AND interval '2 seconds',
    'wait_work returned after its timeout, not before (and not long after)');

SELECT * FROM finish();
ROLLBACK;
