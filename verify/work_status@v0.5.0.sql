-- Verify animus:work_status on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_work(uuid)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.work_children(uuid)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.queue_stats(text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_work_submissions(uuid, uuid, integer)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a status function lost its grant';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                    WHERE p.oid = 'animus.get_work(uuid)'::pg_catalog.regprocedure
                      AND p.proargnames @> ARRAY['requesters_total', 'merged_total']) THEN
        RAISE EXCEPTION 'get_work does not return requesters_total and merged_total';
    END IF;
END $$;

ROLLBACK;
