-- Verify animus:work_queues on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_admin', 'animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.drop_queue(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin cannot execute create_queue, configure_queue or drop_queue';
    END IF;
    IF (SELECT count(*) FROM animus.queue_admin_lock) <> 1 THEN
        RAISE EXCEPTION 'animus.queue_admin_lock must hold exactly one row (create_queue / drop_queue lock it)';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 'work') THEN
        RAISE EXCEPTION 'the default queue work is missing';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_queue_claim(text, integer, timestamptz, text[])') IS NULL THEN
        RAISE EXCEPTION 'animus.work_queue_claim(text, integer, timestamptz, text[]) (claim with a work-type filter) is missing';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_queue_claim(text, integer, timestamptz)') IS NOT NULL THEN
        RAISE EXCEPTION 'the claim without a work-type filter is still there';
    END IF;
    BEGIN
        PERFORM animus.work_check_queue_settings('1 second', 0.5, '1 minute', 0.1, '1 second');
        RAISE EXCEPTION 'work_check_queue_settings accepted backoff_factor 0.5';
    EXCEPTION WHEN SQLSTATE 'ZA002' THEN
        NULL;
    END;
END $$;

ROLLBACK;
