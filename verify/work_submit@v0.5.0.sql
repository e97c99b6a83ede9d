-- Verify animus:work_submit on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_producer', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.submit_work_batch(jsonb, text, text, jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_producer cannot execute submit_work / submit_work_batch';
    END IF;
    IF pg_catalog.has_function_privilege('animus_worker', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_worker may submit work';
    END IF;
    IF NOT animus.work_is_blank(E'\t\n' || pg_catalog.chr(160)) OR animus.work_is_blank('engage') THEN
        RAISE EXCEPTION 'animus.work_is_blank does not tell white space from a work type';
    END IF;
    BEGIN
        PERFORM animus.work_check_submit_args(' ', 'src', '{}', NULL, 0, 5, '0', 'merge', NULL);
        RAISE EXCEPTION 'work_check_submit_args accepted a blank work_type';
    EXCEPTION WHEN SQLSTATE 'ZA001' THEN
        NULL;
    END;
END $$;

ROLLBACK;
