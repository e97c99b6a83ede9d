-- Durable steps: start_step / finish_step record a step once per item, replay it on later
-- attempts, are fenced by the claim, refuse a reused name; get_work lists the steps.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(46);

-- shape
SELECT has_table('animus', 'work_steps', 'table animus.work_steps exists');
SELECT col_is_pk('animus', 'work_steps', ARRAY['work_id', 'step_name', 'occurrence'], 'a step is keyed by item, name and occurrence');
SELECT has_function('animus', 'start_step', ARRAY['uuid', 'text', 'integer', 'integer', 'text'], 'start_step(work_id, step_name, attempt, occurrence, fingerprint) exists');
SELECT function_returns('animus', 'start_step', ARRAY['uuid', 'text', 'integer', 'integer', 'text'], 'setof record', 'start_step returns (done, result)');
SELECT has_function('animus', 'finish_step', ARRAY['uuid', 'text', 'integer', 'jsonb', 'integer', 'text'], 'finish_step(work_id, step_name, attempt, result, occurrence, error) exists');
SELECT volatility_is('animus', 'start_step', ARRAY['uuid', 'text', 'integer', 'integer', 'text'], 'volatile', 'start_step is volatile');
SELECT is_definer('animus', 'finish_step', ARRAY['uuid', 'text', 'integer', 'jsonb', 'integer', 'text'], 'finish_step is SECURITY DEFINER');
SELECT has_function('animus', 'get_work_steps', ARRAY['uuid'], 'get_work_steps(work_id) exists');
SELECT ok(has_function_privilege('animus_worker', 'animus.start_step(uuid, text, integer, integer, text)', 'EXECUTE')
          AND has_function_privilege('animus_worker', 'animus.finish_step(uuid, text, integer, jsonb, integer, text)', 'EXECUTE'),
    'animus_worker records steps');
SELECT ok(NOT has_function_privilege('animus_producer', 'animus.start_step(uuid, text, integer, integer, text)', 'EXECUTE')
          AND has_function_privilege('animus_producer', 'animus.get_work_steps(uuid)', 'EXECUTE'),
    'animus_producer reads steps but records none');

-- behaviour: first run records, a later attempt replays
SELECT animus.create_queue('t_steps', backoff_base => '0 seconds', backoff_jitter => 0) AS created \gset
SELECT work_id AS w FROM animus.submit_work('t', 's', queue => 't_steps') \gset
SELECT is((SELECT attempts FROM animus.read_work('t_steps', vt => '10 minutes')), 1, 'claimed: attempt 1');
SELECT row_eq(format('SELECT * FROM animus.start_step(%L, ''fetch'', 1, fingerprint => ''m.fetch'')', :'w'), ROW(false, NULL::jsonb),
    'a new step is recorded as running: done false, run it');
SELECT row_eq(format('SELECT state, attempt, kind FROM animus.work_steps WHERE work_id = %L', :'w'), ROW('running'::text, 1, 'step'::text),
    'the step is running for attempt 1');
SELECT lives_ok(format('SELECT animus.finish_step(%L, ''fetch'', 1, ''{"plan": "pro"}'')', :'w'), 'finish_step records the result');
SELECT row_eq(format('SELECT * FROM animus.start_step(%L, ''fetch'', 1, fingerprint => ''m.fetch'')', :'w'), ROW(true, '{"plan": "pro"}'::jsonb),
    'a completed step returns done true with its recorded result');
SELECT row_eq(format('SELECT * FROM animus.start_step(%L, ''fetch'', 1, occurrence => 2)', :'w'), ROW(false, NULL::jsonb),
    'occurrence 2 of the same name is another step');
SELECT lives_ok(format('SELECT animus.finish_step(%L, ''fetch'', 1, occurrence => 2, error => ''boom'')', :'w'), 'a step fails');
SELECT row_eq(format('SELECT state, error, result FROM animus.work_steps WHERE work_id = %L AND occurrence = 2', :'w'),
    ROW('failed'::text, 'boom'::text, NULL::jsonb), 'a failed step keeps its error and no result');
SELECT lives_ok(format('SELECT animus.fail_work(%L, ''failed'', attempt => 1)', :'w'), 'the attempt fails');
SELECT is((SELECT attempts FROM animus.read_work('t_steps', vt => '10 minutes')), 2, 'claimed again: attempt 2');
SELECT row_eq(format('SELECT * FROM animus.start_step(%L, ''fetch'', 2, fingerprint => ''m.fetch'')', :'w'), ROW(true, '{"plan": "pro"}'::jsonb),
    'attempt 2 replays the step attempt 1 completed');
SELECT row_eq(format('SELECT * FROM animus.start_step(%L, ''fetch'', 2, occurrence => 2)', :'w'), ROW(false, NULL::jsonb),
    'the failed step runs again');
SELECT lives_ok(format('SELECT animus.finish_step(%L, ''fetch'', 2, ''7'', occurrence => 2)', :'w'), 'and completes');
SELECT row_eq(format('SELECT state, attempt, error, result FROM animus.work_steps WHERE work_id = %L AND occurrence = 2', :'w'),
    ROW('completed'::text, 2, NULL::text, '7'::jsonb), 'completed by attempt 2 (its earlier error cleared)');

-- claim fencing: a stale claim records nothing
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, ''late'', 1)', :'w'), 'ZA108', NULL, 'start_step with the stale attempt 1 raises ZA108');
SELECT throws_ok(format('SELECT animus.finish_step(%L, ''fetch'', 1, occurrence => 2)', :'w'), 'ZA108', NULL, 'finish_step with a stale attempt raises ZA108');
SELECT is((SELECT count(*) FROM animus.work_steps WHERE work_id = :'w' AND step_name = 'late'), 0::bigint, 'the stale start wrote no step');

-- a name reused with a different meaning: ZA113
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, ''fetch'', 2, fingerprint => ''m.other'')', :'w'), 'ZA113', NULL,
    'the same name and occurrence with another fingerprint raises ZA113');
SELECT throws_ok(format('SELECT * FROM animus.sleep_work(%L, 2, delay => ''1 hour'', step_name => ''fetch'')', :'w'), 'ZA113', NULL,
    'a step name reused for a sleep raises ZA113');

-- finish without a start: ZA114; bad arguments
SELECT throws_ok(format('SELECT animus.finish_step(%L, ''never'', 2)', :'w'), 'ZA114', NULL, 'finishing a step never started raises ZA114');
SELECT throws_ok(format('SELECT animus.finish_step(%L, ''fetch'', 2)', :'w'), 'ZA114', NULL, 'finishing a completed step again raises ZA114');
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, ''  '', 2)', :'w'), 'ZA116', NULL, 'a blank step name raises ZA116');
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, repeat(''x'', 301), 2)', :'w'), 'ZA116', NULL, 'a step name over 300 characters raises ZA116');
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, ''x'', 2, occurrence => 0)', :'w'), 'ZA002', NULL, 'occurrence 0 raises ZA002');
SELECT throws_ok(format('SELECT * FROM animus.start_step(%L, ''x'', NULL)', :'w'), 'ZA001', NULL, 'a NULL attempt raises ZA001');
SELECT lives_ok(format('SELECT * FROM animus.start_step(%L, ''big'', 2)', :'w'), 'step big starts');
SELECT throws_ok(format('SELECT animus.finish_step(%L, ''big'', 2, pg_catalog.jsonb_build_object(''x'', repeat(''y'', 1100000)))', :'w'), 'ZA115', NULL,
    'a result over 1 MB raises ZA115');
SELECT is((SELECT state FROM animus.work_steps WHERE work_id = :'w' AND step_name = 'big'), 'running', 'the refused finish wrote nothing');
SELECT throws_ok($$SELECT * FROM animus.start_step(gen_random_uuid(), 'x', 1)$$, 'ZA102', NULL, 'an unknown item raises ZA102');

-- get_work lists the steps; the rows go with their item
SELECT is((SELECT steps_total FROM animus.get_work(:'w')), 3::bigint, 'get_work counts the steps');
SELECT is((SELECT jsonb_path_query_array(steps, '$[*].name') FROM animus.get_work(:'w')), '["fetch", "fetch", "big"]'::jsonb,
    'get_work lists them in the order they last started');
SELECT ok((SELECT (steps -> 0 ->> 'duration_ms')::numeric >= 0 AND steps -> 0 ->> 'state' = 'completed' FROM animus.get_work(:'w')),
    'with their outcome and duration');
SELECT is((SELECT count(*) FROM animus.get_work_steps(:'w')), 3::bigint, 'get_work_steps returns every step');
SELECT lives_ok(format('SELECT animus.complete_work(%L, attempt => 2)', :'w'), 'the item completes');
UPDATE animus.work_items SET resolved_at = now() - interval '1 day' WHERE id = :'w';
SELECT lives_ok($$SELECT * FROM animus.purge_work(older_than => '1 hour', queue => 't_steps')$$, 'purge_work deletes the ended item');
SELECT is((SELECT count(*) FROM animus.work_steps WHERE work_id = :'w'), 0::bigint, 'its steps go with it');

SELECT * FROM finish();
ROLLBACK;
