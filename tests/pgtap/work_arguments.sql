-- Bad arguments are refused with a project SQLSTATE and a message naming the argument (here the
-- message is the contract being tested), and nothing is written: misspelt and fractional keys of
-- submit_work_batch, white-space-only work types and sources, NULL queues, each bad queue
-- setting, and the single-id fail_work.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(27);

SELECT animus.create_queue('targs');
SELECT count(*) AS before FROM animus.work_items WHERE queue_name = 'targs' \gset

-- submit_work_batch: unknown keys, fractions
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "t", "source": "s"}, {"work_type": "t", "source": "s", "dedupe_key": "k"}]', queue => 'targs')$$,
    'ZA111', 'argument items: item 2: unknown key ''dedupe_key''', 'a misspelt dedup_key (dedupe_key) is refused with ZA111 naming the key and the element');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "t", "source": "s", "max_attempts": 1.5}]', queue => 'targs')$$,
    'ZA112', 'argument items: item 1: max_attempts is not an integer', 'max_attempts 1.5 is refused (ZA112), not rounded');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "t", "source": "s", "priority": 2.7}]', queue => 'targs')$$,
    'ZA112', 'argument items: item 1: priority is not an integer', 'priority 2.7 is refused (ZA112), not rounded');
SELECT lives_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type": "t", "source": "s", "priority": 2.0, "max_attempts": 3}]', queue => 'targs')$$,
    'a whole number written 2.0 is an integer');
DO $$
DECLARE h text;
BEGIN
    PERFORM animus.submit_work_batch('[{"work_type": "t", "source": "s"}, {"work_type": "t", "source": "s", "dedupe_key": "k"}]', queue => 'targs');
EXCEPTION WHEN SQLSTATE 'ZA111' THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    CREATE TEMP TABLE hint_seen AS SELECT h AS hint;
END $$;
SELECT ok((SELECT hint LIKE 'Fix item 2 (unknown key ''dedupe_key'')%' FROM hint_seen), 'the HINT names the element index and the key');

-- white space only
SELECT throws_ok(format($$SELECT animus.submit_work(%L, 'src', queue => 'targs')$$, E'\t\n'), 'ZA001',
    'argument work_type must not be NULL, empty or only white space', 'a work_type of a tab and a newline is refused (ZA001)');
SELECT throws_ok(format($$SELECT animus.submit_work(%L, 'src', queue => 'targs')$$, chr(160)), 'ZA001', NULL,
    'a work_type of a no-break space (U+00A0) is refused (ZA001)');
SELECT throws_ok(format($$SELECT animus.submit_work('t', %L, queue => 'targs')$$, ' ' || chr(8203) || chr(12288)), 'ZA001',
    'argument source must not be NULL, empty or only white space', 'a source of Unicode spaces is refused (ZA001)');
SELECT throws_ok(format($$SELECT * FROM animus.submit_work_batch(%L, queue => 'targs')$$,
                        jsonb_build_array(jsonb_build_object('work_type', 't', 'source', E' \t' || chr(160)))), 'ZA001',
    'argument items: item 1: source is missing, not a string, empty or only white space', 'a batch element with a white-space source is refused (ZA001)');
SELECT throws_ok(format($$SELECT * FROM animus.submit_work_batch(%L, queue => 'targs')$$,
                        jsonb_build_array(jsonb_build_object('work_type', E'\n', 'source', 's'))), 'ZA001', NULL,
    'a batch element with a white-space work_type is refused (ZA001)');
SELECT lives_ok(format($$SELECT animus.submit_work(%L, 'src', queue => 'targs')$$, ' engage '), 'a work_type with text around spaces is accepted');

-- queue => NULL
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => NULL)$$, 'ZA001', 'argument queue must not be NULL', 'submit_work(queue => NULL) is ZA001, not ZA101');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[]', queue => NULL)$$, 'ZA001', 'argument queue must not be NULL', 'submit_work_batch(queue => NULL) is ZA001');
SELECT throws_ok($$SELECT * FROM animus.read_work(queue => NULL)$$, 'ZA001', 'argument queue must not be NULL', 'read_work(queue => NULL) is ZA001');
SELECT throws_ok($$SELECT animus.configure_queue(NULL)$$, 'ZA001', 'argument queue must not be NULL or empty', 'configure_queue(NULL) is ZA001');

-- create_queue: one message per setting
SELECT throws_ok($$SELECT animus.create_queue('tq_x', backoff_base => '-1 second')$$, 'ZA002', 'argument backoff_base must not be negative', 'create_queue names backoff_base');
SELECT throws_ok($$SELECT animus.create_queue('tq_x', backoff_factor => 0.5)$$, 'ZA002', 'argument backoff_factor must be at least 1', 'create_queue names backoff_factor');
SELECT throws_ok($$SELECT animus.create_queue('tq_x', backoff_cap => '-1 second')$$, 'ZA002', 'argument backoff_cap must not be negative', 'create_queue names backoff_cap');
SELECT throws_ok($$SELECT animus.create_queue('tq_x', backoff_jitter => 1)$$, 'ZA002', 'argument backoff_jitter must be at least 0 and below 1', 'create_queue names backoff_jitter');
SELECT throws_ok($$SELECT animus.create_queue('tq_x', notify_throttle => '-1 second')$$, 'ZA002', 'argument notify_throttle must not be negative', 'create_queue names notify_throttle');
SELECT throws_ok($$SELECT animus.create_queue('tq_x', backoff_factor => NULL)$$, 'ZA001', 'argument backoff_factor must not be NULL', 'create_queue names a NULL setting');
SELECT throws_ok($$SELECT animus.configure_queue('targs', backoff_jitter => -0.1)$$, 'ZA002', 'argument backoff_jitter must be at least 0 and below 1', 'configure_queue names backoff_jitter');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 'tq_x'), 'no queue was created by the refused calls');

-- single-id fail_work names work_id
SELECT throws_ok($$SELECT * FROM animus.fail_work('00000000-0000-0000-0000-000000000001'::uuid, 'boom')$$, 'ZA102',
    'argument work_id: no such work item (fail_work)', 'fail_work of an unknown id names work_id (not work_ids)');
SELECT throws_ok($$SELECT * FROM animus.fail_work(ARRAY['00000000-0000-0000-0000-000000000001']::uuid[], 'boom')$$, 'ZA102',
    'argument work_ids: no such work item', 'the many-id fail_work names work_ids');

-- read_work's vt is an interval; the comment says how to pass seconds
SELECT ok(obj_description('animus.read_work(text, interval, integer, text[])'::regprocedure, 'pg_proc') LIKE '%vt => 30 * interval ''1 second''%',
    'read_work''s contract says how to pass a number of seconds');

SELECT is((SELECT count(*)::int FROM animus.work_items WHERE queue_name = 'targs'), :before + 2,
    'only the two accepted submissions were written');

SELECT * FROM finish();
ROLLBACK;
