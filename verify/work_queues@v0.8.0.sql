-- Verify animus:work_queues on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_admin', 'animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text, boolean)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.drop_queue(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin cannot execute create_queue, configure_queue (with archive_messages) or drop_queue';
    END IF;
    IF pg_catalog.to_regprocedure('animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean)') IS NOT NULL THEN
        RAISE EXCEPTION 'the v0.5.0 create_queue (without concurrency_param) is still there';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb, text, integer)') IS NULL THEN
        RAISE EXCEPTION 'animus.work_queue_create_item with concurrency_key and cost is missing';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION 'the v0.5.0 work_queue_create_item is still there';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'animus.queues'::pg_catalog.regclass
                      AND a.attname = 'archive_messages' AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'animus.queues.archive_messages is missing';
    END IF;
    IF NOT (SELECT pg_catalog.array_to_string(c.reloptions, ',') ~ 'fillfactor=' FROM pg_catalog.pg_class c WHERE c.oid = 'animus.work_items'::pg_catalog.regclass) THEN
        RAISE EXCEPTION 'animus.work_items lacks its storage settings (fillfactor, autovacuum)';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_tune_queue_table(text)') IS NULL THEN
        RAISE EXCEPTION 'animus.work_tune_queue_table(text) is missing';
    END IF;
    IF (SELECT count(*) FROM animus.queue_admin_lock) <> 1 THEN
        RAISE EXCEPTION 'animus.queue_admin_lock must hold exactly one row (create_queue / drop_queue lock it)';
    END IF;
    BEGIN
        PERFORM animus.work_check_concurrency_param(' ', false);
        RAISE EXCEPTION 'work_check_concurrency_param accepted a blank concurrency_param';
    EXCEPTION WHEN SQLSTATE 'ZA129' THEN
        NULL;
    END;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb, text, integer)'::pg_catalog.regprocedure AND p.prosrc ~ 'active_key') THEN
        RAISE EXCEPTION 'work_queue_create_item does not use the dedup index on active_key';
    END IF;
END $$;

ROLLBACK;
