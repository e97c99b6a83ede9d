-- Verify animus:work_lifecycle on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_worker', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.complete_work(uuid, jsonb, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.complete_work(uuid[], jsonb[], integer[])', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.fail_work(uuid[], text, boolean, integer[])', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.cancel_work(uuid)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a worker function lost its grant';
    END IF;
    IF pg_catalog.has_function_privilege('animus_producer', 'animus.read_work(text, interval, integer, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_producer may claim work';
    END IF;
    IF NOT (SELECT p.prosrc LIKE '%animus.work_key_admit(%' FROM pg_catalog.pg_proc p
             WHERE p.oid = 'animus.read_work(text, interval, integer, text[])'::pg_catalog.regprocedure) THEN
        RAISE EXCEPTION 'read_work does not admit items through animus.work_key_admit (concurrency keys)';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                WHERE p.oid IN ('animus.complete_work(uuid, jsonb, integer)'::pg_catalog.regprocedure,
                                'animus.complete_work(uuid[], jsonb[], integer[])'::pg_catalog.regprocedure,
                                'animus.fail_work(uuid[], text, boolean, integer[])'::pg_catalog.regprocedure,
                                'animus.cancel_work(uuid)'::pg_catalog.regprocedure)
                  AND p.prosrc NOT LIKE '%animus.work_key_wake(%') THEN
        RAISE EXCEPTION 'a settle function does not wake held items (animus.work_key_wake)';
    END IF;
    -- Queue pause: a paused queue (a row without a pgmq queue: any claim would fail) hands out
    -- nothing and read_work returns before touching pgmq.
    INSERT INTO animus.queues (queue_name, paused_at) VALUES ('animus_verify_paused', pg_catalog.clock_timestamp());
    INSERT INTO animus.queue_grants (role_oid, queue_name)
    SELECT r.oid, 'animus_verify_paused' FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    IF (SELECT count(*) FROM animus.read_work(queue => 'animus_verify_paused')) <> 0 THEN
        RAISE EXCEPTION 'read_work handed out items of a paused queue';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.read_work(text, interval, integer, text[])'::pg_catalog.regprocedure AND p.prosrc ~ 'm_text::uuid\[\]') THEN
        RAISE EXCEPTION 'read_work does not cast the message work ids as one array';
    END IF;
END $$;

ROLLBACK;
