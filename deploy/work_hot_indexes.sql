-- Deploy animus:work_hot_indexes to pg
-- requires: work_submit
-- requires: work_queues
-- requires: work_concurrency

BEGIN;

-- Every function now finds active keys through work_items_active_key and running items of a key
-- through work_items_running_key: the indexes whose predicates named `state` go, so no index of
-- animus.work_items names a column a claim changes (state, attempts, msg_id, started_at,
-- heartbeat_at, updated_at).
DROP INDEX animus.work_items_dedup_active;
DROP INDEX animus.work_items_concurrency_running;
-- the dedup index keeps its name (and stays unique): work_items_dedup_active, now on active_key
ALTER INDEX animus.work_items_active_key RENAME TO work_items_dedup_active;

-- Room for the claims' new row versions on the page of the old ones: a claim batch updates every
-- row of a page in one transaction, and a HOT update needs the new version on the same page. At
-- fillfactor 85 (v0.7.0) about one claim in ten found room (measured: 0.09 HOT updates per item with
-- read_work qty 500); at 50 nine in ten do. New pages only: existing ones fill as they are vacuumed.
ALTER TABLE animus.work_items SET (fillfactor = 50);

COMMIT;
