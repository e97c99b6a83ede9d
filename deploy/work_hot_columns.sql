-- Deploy animus:work_hot_columns to pg
-- requires: work_concurrency
-- requires: work_items
-- requires: work_submit
-- requires: column_comments

BEGIN;

-- HOT claims. An UPDATE is a heap-only tuple (HOT) update, writing no index entry, only when no
-- column any index names (key, expression or predicate) changes value. The dedup index and the
-- running-per-key index named `state` in their predicates, so every claim (queued -> running) and
-- every settle wrote a new entry into the primary key index and, across pages, a tuple-lock record.
-- Two stored generated columns carry what those indexes need, and only change for the items the
-- indexes are about:
--   active_key  = dedup_key while the item is queued or running (NULL otherwise and for items
--                 without a dedup_key): unchanged by a claim; unchanged at the end of a keyless item;
--   running_key = concurrency_key while the item is running (NULL otherwise and for items without
--                 a key): unchanged by the claim and the end of an item without a concurrency key.
-- The old indexes are dropped by work_hot_indexes once every function uses the new ones.
ALTER TABLE animus.work_items
    ADD COLUMN active_key text GENERATED ALWAYS AS (CASE WHEN state IN ('queued', 'running') THEN dedup_key END) STORED,
    ADD COLUMN running_key text GENERATED ALWAYS AS (CASE WHEN state = 'running' THEN concurrency_key END) STORED;
COMMENT ON COLUMN animus.work_items.active_key IS
'Generated: dedup_key while the item is queued or running, else NULL. The dedup index work_items_active_key is on it (not on state), so claims and the ends of keyless items change no indexed column and stay HOT updates.';
COMMENT ON COLUMN animus.work_items.running_key IS
'Generated: concurrency_key while the item is running, else NULL. Running items per key are counted from the index work_items_running_key (not on state), so items without a concurrency key change no indexed column when claimed.';

CREATE UNIQUE INDEX work_items_active_key ON animus.work_items (queue_name, work_type, active_key)
    WHERE active_key IS NOT NULL AND waits_for IS NULL;
CREATE INDEX work_items_running_key ON animus.work_items (queue_name, running_key)
    WHERE running_key IS NOT NULL;

COMMIT;
