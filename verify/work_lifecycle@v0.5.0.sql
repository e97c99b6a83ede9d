-- Verify animus:work_lifecycle on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_worker', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_worker cannot execute animus.read_work(text, interval, integer, text[])';
    END IF;
    IF pg_catalog.to_regprocedure('animus.read_work(text, interval, integer)') IS NOT NULL THEN
        RAISE EXCEPTION 'the v0.4.0 read_work(text, interval, integer) is still there';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                    WHERE p.oid = 'animus.read_work(text, interval, integer, text[])'::pg_catalog.regprocedure
                      AND 'requesters_total' = ANY (p.proargnames)) THEN
        RAISE EXCEPTION 'read_work does not return requesters_total';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_worker', 'animus.complete_work(uuid, jsonb, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.fail_work(uuid, text, boolean, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.heartbeat_work(uuid, interval, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.cancel_work(uuid)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a worker function lost its grant';
    END IF;
    IF pg_catalog.has_function_privilege('animus_producer', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_producer may claim work';
    END IF;
END $$;

ROLLBACK;
