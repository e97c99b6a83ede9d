-- Verify animus:work_steps on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.to_regclass('animus.work_steps') IS NULL OR pg_catalog.to_regclass('animus.work_events') IS NULL THEN
        RAISE EXCEPTION 'table animus.work_steps or animus.work_events is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA113' AND 'ZA119') <> 7 THEN
        RAISE EXCEPTION 'error codes ZA113-ZA119 are missing';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_worker', 'animus.start_step(uuid, text, integer, integer, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.finish_step(uuid, text, integer, jsonb, integer, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.sleep_work(uuid, integer, timestamptz, text, integer, interval)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.await_event(uuid, integer, text, interval, text, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.emit_event(text, jsonb, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_event(text, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.purge_events(interval, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a step or event function is missing or lost its grant';
    END IF;
    IF pg_catalog.has_function_privilege('animus_producer', 'animus.start_step(uuid, text, integer, integer, text)', 'EXECUTE')
       OR pg_catalog.has_function_privilege('animus_worker', 'animus.purge_events(interval, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a step or event function is granted too widely';
    END IF;
END $$;

ROLLBACK;
