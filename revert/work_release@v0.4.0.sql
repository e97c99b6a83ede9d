-- Revert animus:work_release from pg

BEGIN;

DROP FUNCTION animus.release_work(uuid, integer, interval);

COMMIT;
