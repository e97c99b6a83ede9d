-- Verify animus:work_status on pg

BEGIN;

DO $$
BEGIN
    IF NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_work(uuid)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.work_children(uuid)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.queue_stats(text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_work_submissions(uuid, uuid, integer)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.get_work_steps(uuid)', 'EXECUTE') THEN
        RAISE EXCEPTION 'a status function is missing or lost its grant';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                    WHERE p.oid = 'animus.get_work(uuid)'::pg_catalog.regprocedure
                      AND p.proargnames @> ARRAY['requesters_total', 'merged_total', 'steps', 'steps_total']) THEN
        RAISE EXCEPTION 'get_work does not return steps and steps_total';
    END IF;
END $$;

ROLLBACK;
