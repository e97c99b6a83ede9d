-- Verify animus:work_submit on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_producer', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.submit_work_batch(jsonb, text, text, jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_producer cannot execute submit_work (with concurrency_key, cost) / submit_work_batch';
    END IF;
    IF pg_catalog.to_regprocedure('animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)') IS NOT NULL THEN
        RAISE EXCEPTION 'the v0.5.0 submit_work (without concurrency_key) is still there';
    END IF;
    IF pg_catalog.has_function_privilege('animus_worker', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_worker may submit work';
    END IF;
    IF pg_catalog.to_regtype('animus.work_batch_item') IS NULL THEN
        RAISE EXCEPTION 'type animus.work_batch_item is missing';
    END IF;
    BEGIN
        PERFORM animus.work_check_concurrency_args(' ', 1);
        RAISE EXCEPTION 'work_check_concurrency_args accepted a blank key';
    EXCEPTION WHEN SQLSTATE 'ZA125' THEN
        NULL;
    END;
END $$;

ROLLBACK;
