-- release_work gives a claimed item back: queued, visible after delay, the attempt not counted.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(34);

-- shape
SELECT has_function('animus', 'release_work', ARRAY['uuid', 'integer', 'interval'], 'release_work(work_id, attempt, delay) exists');
SELECT function_returns('animus', 'release_work', ARRAY['uuid', 'integer', 'interval'], 'timestamp with time zone', 'release_work returns when the item is visible again');
SELECT volatility_is('animus', 'release_work', ARRAY['uuid', 'integer', 'interval'], 'volatile', 'release_work is volatile');
SELECT is_definer('animus', 'release_work', ARRAY['uuid', 'integer', 'interval'], 'release_work is SECURITY DEFINER');
SELECT ok(has_function_privilege('animus_worker', 'animus.release_work(uuid, integer, interval)', 'EXECUTE'), 'animus_worker may release work');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.release_work(uuid, integer, interval)', 'EXECUTE'), 'animus_producer may not release work');

-- behaviour: release at once
SELECT animus.create_queue('t_rel') AS created \gset
SELECT work_id AS w, msg_id AS m FROM animus.submit_work('t', 's', queue => 't_rel', max_attempts => 2) \gset
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes')), 1, 'the first claim counts attempt 1');
SELECT ok(animus.release_work(:'w'::uuid) <= clock_timestamp(), 'a release without delay is visible at once');
SELECT row_eq(format('SELECT state, attempts, released FROM animus.work_items WHERE id = %L', :'w'), ROW('queued'::text, 1, 1),
    'the released item is queued again; its claim is recorded as released (attempts, the claim token, never goes down)');
SELECT ok((SELECT vt FROM pgmq.q_t_rel WHERE msg_id = :'m') <= clock_timestamp(), 'its message is visible again (not after the 10 minute claim)');
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes')), 2, 'the next claim is attempt 2: a new claim token');
SELECT lives_ok(format('SELECT animus.release_work(%L::uuid)', :'w'), 'a second claim can be released too');
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes')), 3,
    'releases never use up attempts: an item with max_attempts 2 is claimed a third time, not dead-lettered');
SELECT is((SELECT state FROM animus.work_items WHERE id = :'w'), 'running', 'and it runs');

-- behaviour: release with a delay
CREATE TEMP TABLE rel AS SELECT animus.release_work(:'w'::uuid, delay => '5 minutes') AS at;
SELECT ok((SELECT at FROM rel) > now() + interval '4 minutes', 'a delayed release returns the later visibility time');
SELECT is((SELECT vt FROM pgmq.q_t_rel WHERE msg_id = :'m'), (SELECT at FROM rel), 'the message becomes visible at that time');
SELECT is_empty($$SELECT * FROM animus.read_work('t_rel')$$, 'a delayed release is not claimable before its time');

-- errors, and nothing written by a refused call
SELECT throws_ok(format('SELECT animus.release_work(%L::uuid)', :'w'), 'ZA103', NULL, 'releasing a queued item raises ZA103');
SELECT work_id AS done FROM animus.submit_work('t2', 's', queue => 't_rel') \gset
SELECT animus.complete_work(work_id) AS ok FROM animus.read_work('t_rel', qty => 5) WHERE work_id = :'done' \gset
SELECT throws_ok(format('SELECT animus.release_work(%L::uuid)', :'done'), 'ZA104', NULL, 'releasing a completed item raises ZA104');
SELECT row_eq(format('SELECT state, attempts FROM animus.work_items WHERE id = %L', :'done'), ROW('completed'::text, 1),
    'a refused release changes nothing');
SELECT throws_ok($$SELECT animus.release_work(gen_random_uuid())$$, 'ZA102', NULL, 'releasing an unknown item raises ZA102');
SELECT throws_ok($$SELECT animus.release_work(NULL)$$, 'ZA001', NULL, 'a NULL work_id raises ZA001');
SELECT throws_ok(format('SELECT animus.release_work(%L::uuid, delay => ''-1 s'')', :'w'), 'ZA002', NULL, 'a negative delay raises ZA002');
SELECT throws_ok(format('SELECT animus.release_work(%L::uuid, delay => NULL)', :'w'), 'ZA002', NULL, 'a NULL delay raises ZA002');

-- claim fencing: with attempt, only the caller's own (current) claim is released
SELECT work_id AS f, msg_id AS f_msg FROM animus.submit_work('tf', 's', queue => 't_rel') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes') WHERE work_id = :'f'), 1, 'worker A claims an item: attempt 1');
UPDATE pgmq.q_t_rel SET vt = clock_timestamp() WHERE msg_id = :'f_msg';
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes') WHERE work_id = :'f'), 2, 'A''s timeout expired; worker B claims it: attempt 2');
SELECT throws_ok(format('SELECT animus.release_work(%L::uuid, attempt => 1)', :'f'), 'ZA108', NULL, 'A''s release with its stale attempt 1 raises ZA108');
SELECT row_eq(format('SELECT state, attempts FROM animus.work_items WHERE id = %L', :'f'), ROW('running'::text, 2),
    'the stale release wrote nothing: B still holds attempt 2');
SELECT lives_ok(format('SELECT animus.release_work(%L::uuid, attempt => 2)', :'f'), 'B releases with its current attempt 2');
SELECT row_eq(format('SELECT state, attempts - released FROM animus.work_items WHERE id = %L', :'f'), ROW('queued'::text, 1),
    'released: queued, B''s claim not counted against max_attempts (only A''s timed-out attempt remains)');
SELECT is((SELECT attempts FROM animus.read_work('t_rel', vt => '10 minutes') WHERE work_id = :'f'), 3, 'worker C claims the released item: attempt 3');
SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid, attempt => 2)', :'f'), 'ZA108', NULL,
    'B''s late completion of the claim it released raises ZA108: it cannot complete C''s claim');
SELECT throws_ok(format('SELECT animus.fail_work(%L::uuid, ''late'', attempt => 2)', :'f'), 'ZA108', NULL,
    'nor fail it');
SELECT lives_ok(format('SELECT animus.complete_work(%L::uuid, attempt => 3)', :'f'), 'C completes with its own attempt 3');

SELECT * FROM finish();
ROLLBACK;
