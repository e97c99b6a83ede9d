-- Per-key concurrency and rate limits: functions, errors, privileges, admission, deferral and wakes.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(78);

-- shape and privileges
SELECT has_column('animus', 'work_items', 'concurrency_key', 'work_items.concurrency_key exists');
SELECT col_type_is('animus', 'work_items', 'cost', 'integer', 'work_items.cost is an integer');
SELECT col_not_null('animus', 'work_items', 'cost', 'work_items.cost is NOT NULL');
SELECT col_default_is('animus', 'work_items', 'cost', '1', 'work_items.cost defaults to 1');
SELECT has_column('animus', 'queues', 'concurrency_param', 'queues.concurrency_param exists');
SELECT has_table('animus', 'concurrency_limits', 'animus.concurrency_limits exists');
SELECT has_function('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb', 'text', 'integer'],
    'submit_work takes concurrency_key and cost');
SELECT hasnt_function('animus', 'submit_work', ARRAY['text', 'text', 'jsonb', 'text', 'text', 'integer', 'uuid', 'integer', 'text', 'interval', 'timestamp with time zone', 'text', 'jsonb'],
    'the v0.5.0 submit_work is gone (no ambiguous overload)');
SELECT is_definer('animus', 'set_concurrency_limit', ARRAY['text', 'text', 'integer', 'integer', 'interval'], 'set_concurrency_limit is SECURITY DEFINER');
SELECT ok(has_function_privilege('animus_admin', 'animus.set_concurrency_limit(text, text, integer, integer, interval)', 'EXECUTE'), 'animus_admin may set limits');
SELECT ok(NOT has_function_privilege('animus_worker', 'animus.set_concurrency_limit(text, text, integer, integer, interval)', 'EXECUTE'), 'animus_worker may not set limits');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.drop_concurrency_limit(text, text)', 'EXECUTE'), 'animus_producer may not drop limits');
SELECT ok(has_function_privilege('animus_worker', 'animus.sweep_concurrency_keys(text)', 'EXECUTE'), 'animus_worker may sweep');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.sweep_concurrency_keys(text)', 'EXECUTE'), 'animus_producer may not sweep');
SELECT ok(NOT has_function_privilege('animus_admin', 'animus.work_key_wake(text, text[])', 'EXECUTE'), 'work_key_wake is internal (no role executes it)');
SELECT ok(NOT has_function_privilege('animus_admin', 'animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[])', 'EXECUTE'), 'work_key_admit is internal');
SELECT ok(has_function_privilege('animus_producer', 'animus.concurrency_stats(text)', 'EXECUTE'), 'animus_producer may read concurrency_stats');
SELECT ok(NOT has_table_privilege('animus_worker', 'animus.concurrency_keys', 'SELECT'), 'no tenant role reads the key state');
SELECT is((SELECT count(*)::int FROM animus.error_codes WHERE sqlstate IN ('ZA125', 'ZA126', 'ZA127', 'ZA128', 'ZA129') AND hint <> ''), 5,
    'ZA125-ZA129 are registered with a hint');

-- bad input: a ZA code naming the argument, nothing written
SELECT animus.create_queue('t_cc') AS created \gset
CREATE TEMP TABLE n0 AS SELECT count(*) AS n FROM animus.work_items WHERE queue_name = 't_cc';
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => 't_cc', concurrency_key => repeat('k', 201))$$, 'ZA125', NULL, 'a key over 200 characters is ZA125');
SELECT throws_like($$SELECT animus.submit_work('t', 's', queue => 't_cc', concurrency_key => E' \t')$$, '%concurrency_key%', 'a blank key is refused, naming concurrency_key');
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => 't_cc', concurrency_key => '')$$, 'ZA125', NULL, 'an empty key is ZA125');
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => 't_cc', cost => 0)$$, 'ZA126', NULL, 'cost 0 is ZA126');
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => 't_cc', cost => 1000001)$$, 'ZA126', NULL, 'cost over 1000000 is ZA126');
SELECT throws_ok($$SELECT animus.submit_work('t', 's', queue => 't_cc', cost => NULL)$$, 'ZA126', NULL, 'cost NULL is ZA126');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type":"t","source":"s"},{"work_type":"t","source":"s","cost":0}]', queue => 't_cc')$$,
    'ZA126', NULL, 'a batch element with cost 0 is ZA126');
SELECT throws_like($$SELECT * FROM animus.submit_work_batch('[{"work_type":"t","source":"s","concurrency_key":"  "}]', queue => 't_cc')$$,
    '%item 1: concurrency_key%', 'a batch element with a blank key is refused, naming the element and the key');
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch('[{"work_type":"t","source":"s","cost":1.5}]', queue => 't_cc')$$,
    'ZA112', NULL, 'a batch element with a fractional cost is ZA112');
SELECT is((SELECT count(*) FROM animus.work_items WHERE queue_name = 't_cc'), (SELECT n FROM n0), 'refused submits wrote nothing');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', 'a')$$, 'ZA127', NULL, 'a limit without max_running or rate is ZA127');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', 'a', max_running => 0)$$, 'ZA127', NULL, 'max_running 0 is ZA127');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', 'a', rate => 0, period => '1 second')$$, 'ZA127', NULL, 'rate 0 is ZA127');
SELECT throws_like($$SELECT animus.set_concurrency_limit('t_cc', 'a', rate => 5)$$, '%rate and period%', 'a rate without a period is refused, naming both');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', 'a', rate => 5, period => '0')$$, 'ZA127', NULL, 'period 0 is ZA127');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', 'a', rate => 5, period => '-1 second')$$, 'ZA127', NULL, 'a negative period is ZA127');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_cc', ' ', max_running => 1)$$, 'ZA125', NULL, 'a blank limit key is ZA125');
SELECT throws_ok($$SELECT animus.set_concurrency_limit('t_nope', 'a', max_running => 1)$$, 'ZA101', NULL, 'a limit on an unknown queue is ZA101');
SELECT throws_ok($$SELECT animus.drop_concurrency_limit('t_cc', 'never')$$, 'ZA128', NULL, 'dropping a limit that does not exist is ZA128');
SELECT is_empty($$SELECT 1 FROM animus.concurrency_limits WHERE queue_name = 't_cc'$$, 'refused limits wrote nothing');
SELECT throws_ok($$SELECT animus.configure_queue('t_cc', concurrency_param => ' ')$$, 'ZA129', NULL, 'a blank concurrency_param is ZA129');

-- the key derived from params
SELECT animus.configure_queue('t_cc', concurrency_param => 'tenant') AS cfg \gset
SELECT work_id AS dk FROM animus.submit_work('t', 's', params => '{"tenant": "acme"}', queue => 't_cc') \gset
SELECT is((SELECT concurrency_key FROM animus.work_items WHERE id = :'dk'), 'acme', 'without concurrency_key the key is params ->> concurrency_param');
SELECT work_id AS gk FROM animus.submit_work('t', 's', params => '{"tenant": "acme"}', queue => 't_cc', concurrency_key => 'given', cost => 7) \gset
SELECT row_eq(format('SELECT concurrency_key, cost FROM animus.work_items WHERE id = %L', :'gk'), ROW('given'::text, 7), 'a given key wins over params; cost is stored');
SELECT work_id AS bk FROM animus.submit_work_batch('[{"work_type":"t","source":"s","params":{"tenant":"b1"}}]', queue => 't_cc') \gset
SELECT is((SELECT concurrency_key FROM animus.work_items WHERE id = :'bk'), 'b1', 'submit_work_batch derives the key too');
SELECT throws_ok($$SELECT animus.submit_work('t', 's', params => jsonb_build_object('tenant', repeat('x', 300)), queue => 't_cc')$$, 'ZA125', NULL,
    'a derived key over 200 characters is ZA125');
SELECT work_id AS nk FROM animus.submit_work('t', 's', params => '{}', queue => 't_cc') \gset
SELECT is((SELECT concurrency_key FROM animus.work_items WHERE id = :'nk'), NULL, 'params without the key: no key');
SELECT animus.configure_queue('t_cc', concurrency_param => '') AS cfg \gset
SELECT work_id AS ck FROM animus.submit_work('t', 's', params => '{"tenant": "acme"}', queue => 't_cc') \gset
SELECT is((SELECT concurrency_key FROM animus.work_items WHERE id = :'ck'), NULL, 'concurrency_param => '''' clears the derivation');
SELECT animus.configure_queue('t_cc', concurrency_param => 'te$body$nant''') AS cfg \gset
SELECT work_id AS qk FROM animus.submit_work('t', 's', params => jsonb_build_object('te$body$nant''', 'q1'), queue => 't_cc') \gset
SELECT is((SELECT concurrency_key FROM animus.work_items WHERE id = :'qk'), 'q1',
    'a concurrency_param with a quote and $body$ is data (the generated functions never embed it)');
SELECT animus.drop_queue('t_cc') AS dropped \gset

-- max_running: admission, holding, waking
SELECT animus.create_queue('t_cm') AS created \gset
SELECT ok((animus.set_concurrency_limit('t_cm', 'a', max_running => 2)).max_running = 2, 'set_concurrency_limit returns the row');
CREATE TEMP TABLE a_items AS
SELECT (animus.submit_work('t', 's', queue => 't_cm', concurrency_key => 'a')).work_id AS id FROM generate_series(1, 5);
SELECT work_id AS b1 FROM animus.submit_work('t', 's', queue => 't_cm', concurrency_key => 'b') \gset
SELECT work_id AS p1 FROM animus.submit_work('t', 's', queue => 't_cm') \gset
CREATE TEMP TABLE claim1 AS SELECT r.work_id, w.concurrency_key FROM animus.read_work('t_cm', qty => 10) r JOIN animus.work_items w ON w.id = r.work_id;
SELECT is((SELECT count(*)::int FROM claim1 WHERE concurrency_key = 'a'), 2, 'of 5 items of key a (max_running 2) one read admits 2');
SELECT ok(EXISTS (SELECT 1 FROM claim1 WHERE work_id = :'b1') AND EXISTS (SELECT 1 FROM claim1 WHERE work_id = :'p1'),
    'the same read returns the item of key b (no limit) and the plain item');
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE queue_name = 't_cm' AND concurrency_key = 'a'), 3, 'the other 3 are held');
SELECT is((SELECT count(*)::int FROM pgmq.q_t_cm m JOIN animus.concurrency_held h ON h.msg_id = m.msg_id AND h.queue_name = 't_cm' WHERE m.vt = 'infinity'), 3,
    'held messages are invisible (vt infinity)');
SELECT is((SELECT count(*)::int FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'queued'), 3, 'held items stay queued');
SELECT is_empty($$SELECT * FROM animus.read_work('t_cm', qty => 10)$$, 'nothing more is claimable while key a is full');
SELECT row_eq($$SELECT running, queued, held FROM animus.concurrency_stats('t_cm') WHERE concurrency_key = 'a'$$, ROW(2::bigint, 3::bigint, 3::bigint),
    'concurrency_stats: 2 running, 3 queued, 3 held');
SELECT ok(animus.complete_work((SELECT work_id FROM claim1 WHERE concurrency_key = 'a' LIMIT 1)), 'complete one running item of a');
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE concurrency_key = 'a'), 2, 'complete_work woke one held item (one free slot)');
SELECT is((SELECT count(*)::int FROM animus.read_work('t_cm', qty => 10)), 1, 'and exactly that one is claimable');
SELECT is((SELECT count(*)::int FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'running'), 2, 'key a is at 2 running again');
-- fail_work (retry), release_work and cancel_work each free a slot
SELECT state AS st FROM animus.fail_work((SELECT id FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'running' LIMIT 1), 'boom') \gset
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE concurrency_key = 'a'), 1, 'fail_work with a retry wakes a held item');
SELECT is((SELECT count(*)::int FROM animus.read_work('t_cm', qty => 10)), 1, 'which is claimable at once (the failed one waits for its backoff)');
SELECT ok(animus.release_work((SELECT id FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'running' LIMIT 1), delay => '1 hour') > now(),
    'release one running item of a');
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE concurrency_key = 'a'), 0, 'release_work woke the last held item');
SELECT is((SELECT count(*)::int FROM animus.read_work('t_cm', qty => 10)), 1, 'and it is claimed');
SELECT ok((animus.set_concurrency_limit('t_cm', 'a', max_running => 1)).queue_name = 't_cm', 'lower the limit to 1');
-- the retried item (after its backoff) is the one left queued; make it due
UPDATE pgmq.q_t_cm SET vt = clock_timestamp() WHERE msg_id IN (SELECT msg_id FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'queued' AND released = 0);
SELECT is_empty($$SELECT * FROM animus.read_work('t_cm', qty => 10)$$, 'with 2 running and max_running 1 nothing is admitted');
SELECT ok(animus.cancel_work((SELECT id FROM animus.work_items WHERE id IN (SELECT id FROM a_items) AND state = 'running' LIMIT 1)), 'cancel a running item');
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE concurrency_key = 'a'), 1, 'at the limit after the cancel (1 running): nothing woken');
SELECT ok((animus.drop_concurrency_limit('t_cm', 'a')).concurrency_key = 'a', 'drop the limit of key a');
SELECT is((SELECT count(*)::int FROM animus.concurrency_held WHERE concurrency_key = 'a'), 0, 'dropping the limit wakes every held item of the key');
SELECT animus.drop_queue('t_cm') AS dropped \gset

-- rate: cost units per window, the rest deferred to the next window
SELECT animus.create_queue('t_cr') AS created \gset
SELECT ok((animus.set_concurrency_limit('t_cr', rate => 5, period => '1 hour')).concurrency_key = '*', 'a default (*) rate of 5 cost units per hour');
CREATE TEMP TABLE r_items AS
SELECT (animus.submit_work('t', 's', queue => 't_cr', concurrency_key => 'r', cost => 2)).work_id AS id FROM generate_series(1, 4);
SELECT is((SELECT count(*)::int FROM animus.read_work('t_cr', qty => 10)), 2, 'cost 2 each, rate 5: two start in this window');
SELECT is((SELECT window_used FROM animus.concurrency_stats('t_cr') WHERE concurrency_key = 'r'), 4::bigint, 'the window counts 4 cost units');
SELECT ok((SELECT bool_and(m.vt = date_bin('1 hour', clock_timestamp(), '2000-01-01 00:00:00+00') + interval '1 hour')
             FROM pgmq.q_t_cr m JOIN animus.work_items w ON w.msg_id = m.msg_id AND w.queue_name = 't_cr' WHERE w.state = 'queued'),
    'the other two become visible at the next window''s start');
SELECT animus.drop_queue('t_cr') AS dropped \gset

-- a replace (debounce) of a held item keeps it held (invisible until woken)
SELECT animus.create_queue('t_ch') AS created \gset
SELECT (animus.set_concurrency_limit('t_ch', 'h', max_running => 1)).max_running AS lim \gset
SELECT work_id AS h1 FROM animus.submit_work('t', 's', dedup_key => 'd1', queue => 't_ch', concurrency_key => 'h') \gset
SELECT work_id AS h2, msg_id AS h2m FROM animus.submit_work('t', 's', dedup_key => 'd2', queue => 't_ch', concurrency_key => 'h') \gset
SELECT is((SELECT work_id FROM animus.read_work('t_ch', qty => 10)), :'h1'::uuid, 'the first item is admitted, the second held');
SELECT is((SELECT status FROM animus.submit_work('t', 's', dedup_key => 'd2', queue => 't_ch', on_duplicate => 'replace', params => '{"v": 2}')),
    'replaced', 'a replace of the held item');
SELECT is((SELECT vt FROM pgmq.q_t_ch WHERE msg_id = :h2m), 'infinity'::timestamptz, 'keeps its message invisible: it stays held');
SELECT is_empty($$SELECT * FROM animus.read_work('t_ch', qty => 10)$$, 'so it is not claimed past the limit');
SELECT animus.drop_queue('t_ch') AS dropped \gset

SELECT * FROM finish();
ROLLBACK;
