-- Revert animus:work_wait from pg

BEGIN;

DROP FUNCTION animus.wait_work(uuid, interval);
DROP FUNCTION animus.watch_work(uuid[]);
DROP FUNCTION animus.work_wait_state(uuid[]);
DROP TABLE animus.work_awaited;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA155', 'ZA156');

COMMIT;
