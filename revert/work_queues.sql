-- Revert animus:work_queues from pg (back to work_queues@v0.8.0)

BEGIN;

CREATE OR REPLACE FUNCTION animus.work_tune_queue_table(queue text)
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    -- The queue table holds only live messages: it is small, every row dies within a claim or two,
    -- so a fixed threshold (not a fraction) and no cost delay keep it a few pages long.
    EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 5000, autovacuum_vacuum_cost_delay = 0)', 'q_' || queue);
END;
$$;
REVOKE ALL ON FUNCTION animus.work_tune_queue_table(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_tune_queue_table(text) IS
'Internal: per-table autovacuum settings of pgmq.q_<queue> (vacuum after 1000 dead rows, analyze after 5000 changes, no cost delay); called by create_queue. Raises nothing of its own.';
DO $$
DECLARE
    q text;
BEGIN
    FOR q IN SELECT qq.queue_name FROM animus.queues qq LOOP
        EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
            autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor, autovacuum_vacuum_cost_delay)', 'a_' || q);
    END LOOP;
END $$;

COMMIT;
