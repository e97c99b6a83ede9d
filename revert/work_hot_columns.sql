-- Revert animus:work_hot_columns from pg

BEGIN;

DROP INDEX animus.work_items_running_key;
DROP INDEX animus.work_items_active_key;
ALTER TABLE animus.work_items DROP COLUMN running_key, DROP COLUMN active_key;

COMMIT;
