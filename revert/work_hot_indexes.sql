-- Revert animus:work_hot_indexes from pg

BEGIN;

ALTER INDEX animus.work_items_dedup_active RENAME TO work_items_active_key;
CREATE UNIQUE INDEX work_items_dedup_active ON animus.work_items (queue_name, work_type, dedup_key)
    WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL;
CREATE INDEX work_items_concurrency_running ON animus.work_items (queue_name, concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;
ALTER TABLE animus.work_items SET (fillfactor = 85);

COMMIT;
