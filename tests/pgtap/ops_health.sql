-- health(): checks with ok/warn/fail against animus.health_thresholds; set_health_threshold.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(23);

SELECT has_function('animus', 'health', ARRAY[]::text[], 'health() exists');
SELECT volatility_is('animus', 'health', ARRAY[]::text[], 'stable', 'health() is stable: read-only, runs on a standby');
SELECT is_definer('animus', 'health', ARRAY[]::text[], 'health() is SECURITY DEFINER');
SELECT ok(has_function_privilege('animus_worker', 'animus.health()', 'EXECUTE') AND has_function_privilege('animus_producer', 'animus.health()', 'EXECUTE'),
    'workers and producers may run health() (probes)');
SELECT ok(NOT has_function_privilege('animus_worker', 'animus.set_health_threshold(text, double precision, double precision, text)', 'EXECUTE'),
    'only animus_admin sets thresholds');
SELECT is(animus.health_level(5, 1, 10), 'warn', 'health_level: at or past warn_at is warn');
SELECT is(animus.health_level(10, 1, 10), 'fail', 'health_level: at or past fail_at is fail');
SELECT is(animus.health_level(0, 1, NULL), 'ok', 'health_level: below warn_at is ok; a NULL threshold is never reached');

SELECT is((SELECT status FROM animus.health() WHERE check_name = 'reachable'), 'ok', 'the database is reachable');
SELECT ok((SELECT detail FROM animus.health() WHERE check_name = 'version') ~ '^@v', 'the version comes from the Sqitch registry (a tag)');
SELECT is(animus.deployed_version(), (SELECT detail FROM animus.health() WHERE check_name = 'version'), 'deployed_version() is what health() reports');

SELECT animus.create_queue('t_health') AS created \gset
SELECT work_id AS w FROM animus.submit_work('t', 's', queue => 't_health') \gset
SELECT is((SELECT array_agg(check_name ORDER BY check_name) FROM animus.health() WHERE queue_name = 't_health'),
    ARRAY['backlog', 'dead', 'oldest_age_sec', 'paused', 'running', 'stuck'], 'six checks per queue');
SELECT is((SELECT value FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'backlog'), 1::double precision, 'backlog counts the queued item');
SELECT is((SELECT status FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'oldest_age_sec'), 'ok', 'a fresh item is ok');
SELECT pg_sleep(0.05);
SELECT animus.set_health_threshold('oldest_age_sec', warn_at => 0.001, fail_at => 0.01, queue => 't_health') IS NOT NULL AS set \gset
SELECT is((SELECT status FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'oldest_age_sec'), 'fail',
    'past the queue''s own fail_at, oldest_age_sec fails');
SELECT is((SELECT fail_at FROM animus.health() WHERE queue_name = 'work' AND check_name = 'oldest_age_sec'), 1800::double precision,
    'other queues keep the default threshold');

-- stuck: a running item whose claim passed its deadline
SELECT msg_id AS m FROM animus.read_work('t_health', vt => '1 minute') \gset
SELECT is((SELECT value FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'stuck'), 0::double precision, 'a live claim is not stuck');
UPDATE pgmq.q_t_health SET vt = clock_timestamp() - interval '1 second' WHERE msg_id = :m;
SELECT is((SELECT value FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'stuck'), 1::double precision,
    'a running item past its claim deadline is stuck');
SELECT is((SELECT status FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'stuck'), 'warn', 'one stuck item is a warning');

SELECT animus.pause_queue('t_health') AS paused \gset
SELECT is((SELECT value FROM animus.health() WHERE queue_name = 't_health' AND check_name = 'paused'), 1::double precision, 'a paused queue reports paused = 1');

-- bad input
SELECT throws_ok('SELECT animus.set_health_threshold(''no_such_check'', 1, 2)', 'ZA163', NULL, 'an unknown check raises ZA163');
SELECT throws_ok('SELECT animus.set_health_threshold(''backlog'', 10, 1)', 'ZA164', NULL, 'warn_at above fail_at raises ZA164');
SELECT throws_ok('SELECT animus.set_health_threshold(''backlog'', 1, 2, queue => ''t_no_such_queue'')', 'ZA101', NULL, 'an unknown queue raises ZA101');

SELECT * FROM finish();
ROLLBACK;
