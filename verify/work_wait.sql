-- Verify animus:work_wait on pg

BEGIN;

SELECT work_id, awaited_at FROM animus.work_awaited WHERE false;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_producer', 'animus.watch_work(uuid[])', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.watch_work(uuid[])', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.wait_work(uuid, interval)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.wait_work(uuid, interval)', 'EXECUTE') THEN
        RAISE EXCEPTION 'watch_work / wait_work are missing or lost their grants';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_wait_state(uuid[])') IS NULL THEN
        RAISE EXCEPTION 'animus.work_wait_state(uuid[]) is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA155', 'ZA156')) <> 2 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA155-ZA156 are missing';
    END IF;
END $$;

ROLLBACK;
