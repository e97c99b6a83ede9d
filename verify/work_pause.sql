-- Verify animus:work_pause on pg

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = 'animus.queues'::pg_catalog.regclass AND a.attname = 'paused_at' AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'animus.queues.paused_at is missing';
    END IF;
    IF to_regprocedure('animus.pause_queue(text)') IS NULL OR to_regprocedure('animus.resume_queue(text)') IS NULL THEN
        RAISE EXCEPTION 'animus.pause_queue(text) or animus.resume_queue(text) is missing';
    END IF;
    IF NOT has_function_privilege('animus_admin', 'animus.pause_queue(text)', 'EXECUTE')
       OR NOT has_function_privilege('animus_admin', 'animus.resume_queue(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin cannot pause or resume queues';
    END IF;
    IF has_function_privilege('animus_worker', 'animus.pause_queue(text)', 'EXECUTE')
       OR has_function_privilege('animus_producer', 'animus.resume_queue(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'only animus_admin may pause or resume queues';
    END IF;
END $$;

ROLLBACK;
