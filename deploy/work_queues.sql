-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.8.0

BEGIN;

-- A queue that archives its messages (configure_queue(archive_messages => true)) and is purged
-- by retention (purge_work, `animus retention`) deletes from pgmq.a_<queue> as fast as it
-- archives. At PostgreSQL's default autovacuum settings (20 % of the table) a 10M-row archive
-- collected over a million dead rows between two vacuums (docs/work-queue.md, "Retention beside
-- the queue"). The archive now gets the settings of animus.work_items: vacuumed after 2 % of the
-- table plus 2,000 dead rows, without cost delay.
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
    -- The archive grows with the settled messages and shrinks by retention's batched deletes.
    EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0)',
        'a_' || queue);
END;
$$;
REVOKE ALL ON FUNCTION animus.work_tune_queue_table(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_tune_queue_table(text) IS
'Internal: per-table autovacuum settings of pgmq.q_<queue> (vacuum after 1000 dead rows, analyze after 5000 changes, no cost delay) '
'and of its archive pgmq.a_<queue> (vacuum after 2 % + 2000 dead rows, no cost delay); called by create_queue. Raises nothing of its own.';
DO $$
DECLARE
    q text;
BEGIN
    FOR q IN SELECT qq.queue_name FROM animus.queues qq LOOP
        PERFORM animus.work_tune_queue_table(q);
    END LOOP;
END $$;

COMMIT;
