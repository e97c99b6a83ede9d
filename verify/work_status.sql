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

-- purge_work deletes the dead-letter actions of the items it purges: a queue, a dead item ended two
-- days ago and its action, made in this transaction, which is rolled back.
DO $$
DECLARE
    wid uuid := pg_catalog.gen_random_uuid();
    t   timestamptz := pg_catalog.now() - interval '2 days';
BEGIN
    PERFORM animus.create_queue('verify_purge_work');
    INSERT INTO animus.work_items (id, queue_name, work_type, source, state, attempts, run_at, created_at, updated_at, resolved_at)
    VALUES (wid, 'verify_purge_work', 'v', 'verify', 'dead', 1, t, t, t, t);
    INSERT INTO animus.dead_work_actions (work_id, queue_name, action, acted_by)
    VALUES (wid, 'verify_purge_work', 'discarded', CURRENT_USER);
    PERFORM animus.purge_work(older_than => '1 day', queue => 'verify_purge_work', batch_size => 1);
    IF pg_catalog.to_regprocedure('animus.work_purge_mark(text)') IS NULL THEN
        RAISE EXCEPTION 'animus.work_purge_mark(text) (where purge_work resumes) is missing';
    END IF;
    IF EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = wid)
       OR EXISTS (SELECT 1 FROM animus.dead_work_actions d WHERE d.work_id = wid) THEN
        RAISE EXCEPTION 'purge_work left a purged dead item or its dead-letter action (animus.dead_work_actions)';
    END IF;
END $$;

ROLLBACK;
