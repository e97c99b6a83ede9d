-- Revert animus:work_status from pg

BEGIN;

DROP FUNCTION animus.purge_work(interval, text);
DROP FUNCTION animus.queue_stats(text);
DROP FUNCTION animus.work_children(uuid);
DROP FUNCTION animus.get_work(uuid);

COMMIT;
