-- Verify animus:work_batch on pg

BEGIN;

DO $$
BEGIN
    IF to_regprocedure('animus.heartbeat_work_batch(uuid[], interval, integer[])') IS NULL THEN
        RAISE EXCEPTION 'animus.heartbeat_work_batch(uuid[], interval, integer[]) is missing';
    END IF;
    IF NOT has_function_privilege('animus_worker', 'animus.heartbeat_work_batch(uuid[], interval, integer[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_worker cannot execute animus.heartbeat_work_batch(uuid[], interval, integer[])';
    END IF;
    IF has_function_privilege('animus_producer', 'animus.heartbeat_work_batch(uuid[], interval, integer[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_producer must not heartbeat work';
    END IF;
END $$;

ROLLBACK;
