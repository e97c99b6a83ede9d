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
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                    WHERE p.oid = 'animus.queue_stats(text)'::pg_catalog.regprocedure
                      AND p.proargnames @> ARRAY['paused', 'paused_at']) THEN
        RAISE EXCEPTION 'queue_stats does not return paused and paused_at';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_admin', 'animus.purge_work(interval, text, integer)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus.purge_work(interval, text, integer) (batched retention) is missing or lost its grant';
    END IF;
END $$;

ROLLBACK;
