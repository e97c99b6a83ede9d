-- Schedules: create / alter / pause / resume / drop / list / next runs, tick_schedules with driven
-- time (catch-up policies, max_submits, max_catchup), bad input (ZA13x, nothing written),
-- privileges and per-queue grants (a revoked grant stops the schedule from submitting).
BEGIN;
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(73);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

SELECT has_table('animus', 'schedules', 'animus.schedules exists');
SELECT has_function('animus', 'create_schedule', 'create_schedule exists');
SELECT has_function('animus', 'tick_schedules', ARRAY['timestamp with time zone', 'integer'], 'tick_schedules(now, max_submits) exists');
SELECT has_function('animus', 'cron_next_runs', ARRAY['text', 'integer', 'timestamp with time zone', 'text'], 'cron_next_runs exists');
SELECT is((SELECT count(*)::int FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA130' AND 'ZA149'), 11, 'ZA130-ZA140 are registered');

SELECT animus.create_queue('sq_a');
SELECT animus.create_queue('sq_b');

-- ---------------------------------------------------------------- cron evaluation
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('*/15 * * * *', 3, '2026-01-01 10:07:30+00')$$,
    $$VALUES ('2026-01-01 10:15+00'::timestamptz), ('2026-01-01 10:30+00'), ('2026-01-01 10:45+00')$$, 'steps: */15 strictly after the start');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('0 9 * * mon-FRI', 3, '2026-01-02 12:00+00')$$,
    $$VALUES ('2026-01-05 09:00+00'::timestamptz), ('2026-01-06 09:00+00'), ('2026-01-07 09:00+00')$$, 'weekday names, case-insensitive; the weekend is skipped');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('0 0 13 * 5', 3, '2026-01-01 00:00+00')$$,
    $$VALUES ('2026-01-02 00:00+00'::timestamptz), ('2026-01-09 00:00+00'), ('2026-01-13 00:00+00')$$, 'Vixie rule: day-of-month 13 OR Friday');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('0 0 */13 * 5', 2, '2026-01-01 00:00+00')$$,
    $$VALUES ('2026-02-27 00:00+00'::timestamptz), ('2026-03-27 00:00+00')$$, 'a day field starting with * makes it AND (days 1, 14, 27 that are Fridays)');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('0 0 * * 7', 1, '2026-01-01 00:00+00')$$,
    $$VALUES ('2026-01-04 00:00+00'::timestamptz)$$, '7 is Sunday');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('@yearly', 2, '2026-06-01 00:00+00')$$,
    $$VALUES ('2027-01-01 00:00+00'::timestamptz), ('2028-01-01 00:00+00')$$, '@yearly');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('5/20 1-12/10 29 feb *', 2, '2026-01-01 00:00+00')$$,
    $$VALUES ('2028-02-29 01:05+00'::timestamptz), ('2028-02-29 01:25+00')$$, 'a/s and a-b/s steps; 29 February skips to the leap year');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('30 2 * * *', 2, '2026-03-28 12:00+00', 'Europe/Berlin')$$,
    $$VALUES ('2026-03-29 01:00+00'::timestamptz), ('2026-03-30 00:30+00')$$, 'wall clock, spring forward: 02:30 does not exist and runs when the gap ends (03:00 CEST)');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('30 2 * * *', 2, '2026-10-24 12:00+00', 'Europe/Berlin')$$,
    $$VALUES ('2026-10-25 00:30+00'::timestamptz), ('2026-10-26 01:30+00')$$, 'wall clock, fall back: 02:30 happens twice and runs once, at the first');
SELECT is((SELECT count(*)::int FROM animus.cron_next_runs('0 * * * *', 4, '2026-10-24 23:30+00', 'Europe/Berlin')), 4, 'real clock hourly');
SELECT results_eq($$SELECT run_at FROM animus.cron_next_runs('0 * * * *', 3, '2026-10-24 23:30+00', 'Europe/Berlin')$$,
    $$VALUES ('2026-10-25 00:00+00'::timestamptz), ('2026-10-25 01:00+00'), ('2026-10-25 02:00+00')$$, 'real clock, fall back: 02:00 CEST and 02:00 CET both run');

SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('* * * *')$$, 'ZA130', NULL, 'four fields: ZA130');
SELECT throws_like($$SELECT * FROM animus.cron_next_runs('* * * * FOO')$$, '%day-of-week%FOO%', 'the message names the field and the token');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('60 * * * *')$$, 'ZA131', NULL, 'minute 60: ZA131');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('* 5-2 * * *')$$, 'ZA131', NULL, 'a reversed range: ZA131');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('*/0 * * * *')$$, 'ZA131', NULL, 'step 0: ZA131');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('0 0 30 2 *')$$, 'ZA139', NULL, '30 February never comes: ZA139');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('@reboot')$$, 'ZA130', NULL, '@reboot: ZA130');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('0 0 L * *')$$, 'ZA130', NULL, 'L (a cronsim/Quartz extension) is refused');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('* * * * *', timezone => 'Mars/Olympus')$$, 'ZA132', NULL, 'unknown zone: ZA132');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('* * * * *', timezone => 'UTC+3')$$, 'ZA132', NULL, 'a POSIX offset is not a zone: ZA132');
SELECT throws_ok($$SELECT * FROM animus.cron_next_runs('* * * * *', 0)$$, 'ZA138', NULL, 'count 0: ZA138');

-- ---------------------------------------------------------------- create: bad input writes nothing
SELECT throws_ok($$SELECT animus.create_schedule('s1', '61 * * * *', 'w', queue => 'sq_a')$$, 'ZA131', NULL, 'create: bad cron');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', queue => 'sq_a', every => '1 hour')$$, 'ZA133', NULL, 'create: both cron and every');
SELECT throws_ok($$SELECT animus.create_schedule('s1', work_type => 'w', queue => 'sq_a')$$, 'ZA133', NULL, 'create: neither cron nor every');
SELECT throws_ok($$SELECT animus.create_schedule('s1', work_type => 'w', queue => 'sq_a', every => '0 seconds')$$, 'ZA134', NULL, 'create: every 0');
SELECT throws_ok($$SELECT animus.create_schedule('s1', work_type => 'w', queue => 'sq_a', every => '1 month')$$, 'ZA134', NULL, 'create: every of months');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', queue => 'sq_a', timezone => 'Nowhere/City')$$, 'ZA132', NULL, 'create: unknown zone');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', queue => 'no_such_queue')$$, 'ZA101', NULL, 'create: unknown queue');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', queue => 'sq_a', catchup => 'some')$$, 'ZA137', NULL, 'create: bad policy');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', queue => 'sq_a', max_catchup => 0)$$, 'ZA138', NULL, 'create: max_catchup 0');
SELECT throws_ok($$SELECT animus.create_schedule('bad name', '* * * * *', 'w', queue => 'sq_a')$$, 'ZA140', NULL, 'create: bad name');
SELECT throws_ok($$SELECT animus.create_schedule('s1', '* * * * *', 'w', '[1]', queue => 'sq_a')$$, 'ZA003', NULL, 'create: params not an object');
SELECT is((SELECT count(*)::int FROM animus.schedules), 0, 'no failed create wrote a row');

-- ---------------------------------------------------------------- catch-up with driven time
SELECT lives_ok($$SELECT animus.create_schedule('every10', '*/10 * * * *', 'w', '{"k": 1}', queue => 'sq_a', catchup => 'all', max_catchup => 3, period_key => 'period_at')$$, 'create a cron schedule (all)');
SELECT lives_ok($$SELECT animus.create_schedule('hourly', work_type => 'h', queue => 'sq_a', every => '1 hour', start_at => '2026-01-01 00:00+00', catchup => 'latest')$$, 'create an interval schedule (latest)');
SELECT throws_ok($$SELECT animus.create_schedule('hourly', '* * * * *', 'h', queue => 'sq_a')$$, 'ZA135', NULL, 'a duplicate name: ZA135');
-- Drive time: pretend the schedules were created on 2026-01-01 (next_run_at moved back).
UPDATE animus.schedules SET next_run_at = '2026-01-01 00:00+00';
SELECT is((SELECT count(*)::int FROM animus.tick_schedules('2026-01-01 00:45+00')), 4, 'tick at 00:45: every10 submits its 3 most recent of 5 due periods (max_catchup 3), hourly its one');
SELECT results_eq($$SELECT period_at FROM animus.work_items w, LATERAL (SELECT (w.trigger_info::jsonb ->> 'period_at')::timestamptz AS period_at) p
                     WHERE w.source = 'schedule:every10' ORDER BY 1$$,
    $$VALUES ('2026-01-01 00:20+00'::timestamptz), ('2026-01-01 00:30+00'), ('2026-01-01 00:40+00')$$,
    'all: the most recent max_catchup periods, each once');
SELECT results_eq($$SELECT submitted_count, skipped_count, next_run_at FROM animus.schedules WHERE name = 'every10'$$,
    $$VALUES (3::bigint, 2::bigint, '2026-01-01 00:50+00'::timestamptz)$$, 'every10: 3 submitted, 2 skipped, next at 00:50');
SELECT is((SELECT count(*)::int FROM animus.tick_schedules('2026-01-01 00:45+00')), 0, 'a second tick at the same time submits nothing');
SELECT is((SELECT params ->> 'period_at' FROM animus.work_items WHERE source = 'schedule:every10' ORDER BY created_at DESC LIMIT 1),
    '2026-01-01T00:40:00.000000Z', 'period_key puts the period instant into params');
-- latest after downtime: 10 hours pass; one item, 9 skipped.
SELECT results_eq($$SELECT schedule, period_at FROM animus.tick_schedules('2026-01-01 10:30+00') WHERE schedule = 'hourly'$$,
    $$VALUES ('hourly'::text, '2026-01-01 10:00+00'::timestamptz)$$, 'latest: only the most recent missed period');
SELECT results_eq($$SELECT submitted_count, skipped_count FROM animus.schedules WHERE name = 'hourly'$$,
    $$VALUES (2::bigint, 9::bigint)$$, 'latest: the skipped periods are counted');
SELECT is((SELECT min(created_at) < max(created_at) FROM animus.work_items WHERE source = 'schedule:every10'), true,
    'every10 is ticked along (catch-up of all, oldest first)');
SELECT is(animus.pause_schedule('hourly'), true, 'pause');
SELECT is(animus.pause_schedule('hourly'), false, 'pause again says it was paused');
-- max_submits: the rest on the next tick, never dropped.
SELECT lives_ok($$SELECT animus.alter_schedule('every10', max_catchup => 100)$$, 'alter max_catchup');
UPDATE animus.schedules SET next_run_at = '2026-01-02 00:00+00' WHERE name = 'every10';
SELECT is((SELECT count(*)::int FROM animus.tick_schedules('2026-01-02 01:00+00', max_submits => 4)), 4, 'max_submits 4: 4 of 7 due');
SELECT is((SELECT count(*)::int FROM animus.tick_schedules('2026-01-02 01:00+00', max_submits => 4)), 3, 'the next tick submits the other 3');
SELECT is((SELECT count(DISTINCT trigger_info)::int FROM animus.work_items WHERE source = 'schedule:every10' AND trigger_info LIKE '%2026-01-02%'), 7,
    'each period exactly once');

-- ---------------------------------------------------------------- pause / resume / next runs / drop
SELECT is((SELECT count(*)::int FROM animus.work_items WHERE source = 'schedule:hourly'), 2, 'the paused schedule submitted nothing in those ticks');
SELECT ok(animus.resume_schedule('hourly') > now() - interval '1 microsecond', 'resume: the next run is not before now (paused periods are not caught up)');
SELECT is((SELECT count(*)::int FROM animus.schedule_next_runs('every10', 4)), 4, 'schedule_next_runs');
SELECT throws_ok($$SELECT * FROM animus.schedule_next_runs('nope')$$, 'ZA136', NULL, 'next runs of an unknown schedule: ZA136');
SELECT throws_ok($$SELECT animus.pause_schedule('nope')$$, 'ZA136', NULL, 'pause an unknown schedule: ZA136');
SELECT is(animus.drop_schedule('nope', if_exists => true), false, 'drop if_exists of a missing schedule');

-- ---------------------------------------------------------------- privileges and grants
CREATE ROLE animus_test_sc_prod NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_sc_other NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_sc_work NOLOGIN IN ROLE animus_worker;
SELECT animus.revoke_queue('animus_producer', '*');
SELECT animus.revoke_queue('animus_worker', '*');
SELECT animus.grant_queue('animus_test_sc_prod', 'sq_b');
SELECT animus.grant_queue('animus_test_sc_work', 'sq_b');
SET LOCAL ROLE animus_test_sc_prod;
SELECT throws_ok($$SELECT animus.create_schedule('p1', '* * * * *', 'w', queue => 'sq_a')$$, 'ZA109', NULL, 'a producer creates only on a granted queue');
SELECT lives_ok($$SELECT animus.create_schedule('p1', '* * * * *', 'w', queue => 'sq_b')$$, 'a producer creates on its queue');
SELECT throws_ok($$SELECT animus.tick_schedules()$$, '42501', NULL, 'a producer cannot tick');
RESET ROLE;
SET LOCAL ROLE animus_test_sc_other;
SELECT throws_ok($$SELECT animus.drop_schedule('p1')$$, 'ZA136', NULL, 'another tenant''s schedule does not exist for it');
SELECT is((SELECT count(*)::int FROM animus.list_schedules()), 0, 'and is not listed');
RESET ROLE;
SET LOCAL ROLE animus_test_sc_work;
SELECT throws_ok($$SELECT animus.create_schedule('w1', '* * * * *', 'w', queue => 'sq_b')$$, '42501', NULL, 'a worker cannot create');
RESET ROLE;
UPDATE animus.schedules SET next_run_at = now() - interval '1 minute' WHERE name = 'p1';
SET LOCAL ROLE animus_test_sc_work;
SELECT is((SELECT array_agg(DISTINCT schedule) FROM animus.tick_schedules(now() + interval '1 second')), ARRAY['p1'],
    'a confined worker ticks only the schedules of its queues');
RESET ROLE;
-- The creator loses its grant: the schedule submits nothing, skips, and says why.
SELECT animus.revoke_queue('animus_test_sc_prod', 'sq_b');
UPDATE animus.schedules SET next_run_at = now() - interval '1 minute' WHERE name = 'p1';
SELECT is((SELECT count(*)::int FROM animus.tick_schedules(now() + interval '1 second') WHERE schedule = 'p1'), 0, 'a revoked grant stops the schedule from submitting');
SELECT matches((SELECT last_error FROM animus.schedules WHERE name = 'p1'), 'animus_test_sc_prod may not submit', 'last_error names the role');
SELECT is(animus.drop_schedule('every10'), true, 'drop');
SELECT animus.drop_queue('sq_b');
SELECT is((SELECT count(*)::int FROM animus.schedules WHERE name = 'p1'), 0, 'dropping a queue drops its schedules');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
