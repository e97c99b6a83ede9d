-- Verify animus:work_queues on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.work_tune_queue_table(text)'::regprocedure), '''a_'' || queue') = 0 THEN
        RAISE EXCEPTION 'animus.work_tune_queue_table does not tune the archive table (work_queues@v0.8.0): this change is not deployed';
    END IF;
END $$;

ROLLBACK;
