-- Verify animus:work_schedules on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.to_regclass('animus.schedules') IS NULL THEN
        RAISE EXCEPTION 'animus.schedules is missing';
    END IF;
    IF pg_catalog.to_regprocedure('animus.tick_schedules(timestamptz, integer)') IS NULL
       OR pg_catalog.to_regprocedure('animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean)') IS NULL
       OR pg_catalog.to_regprocedure('animus.cron_next_runs(text, integer, timestamptz, text)') IS NULL THEN
        RAISE EXCEPTION 'the schedule functions are missing';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_worker', 'animus.tick_schedules(timestamptz, integer)', 'EXECUTE')
       OR pg_catalog.has_function_privilege('animus_worker', 'animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean)', 'EXECUTE') THEN
        RAISE EXCEPTION 'schedule privileges are wrong (worker ticks, producer creates)';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA130' AND 'ZA140') <> 11 THEN
        RAISE EXCEPTION 'error codes ZA130-ZA140 are missing';
    END IF;
    -- the evaluator answers: the first run of '30 2 * * *' after a time in Berlin's spring-forward gap is when the gap ends
    IF (SELECT r.run_at FROM animus.cron_next_runs('30 2 * * *', 1, '2026-03-29 00:00:00+00', 'Europe/Berlin') AS r) <> '2026-03-29 01:00:00+00' THEN
        RAISE EXCEPTION 'animus.cron_next_runs gives a wrong answer';
    END IF;
END $$;

ROLLBACK;
