-- Revert animus:work_batch from pg

BEGIN;

DROP FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]);

COMMIT;
