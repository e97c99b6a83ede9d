-- Revert animus:ops_dead_letters from pg

BEGIN;

DROP FUNCTION animus.discard_dead_work(uuid);
DROP FUNCTION animus.retry_dead_work(uuid, interval);
DROP FUNCTION animus.ops_lock_dead(uuid, text);
DROP FUNCTION animus.list_dead_work(text, integer, timestamptz);
DROP FUNCTION animus.ops_check_queue(text);
DROP TABLE animus.dead_work_actions;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA165', 'ZA166', 'ZA167');

COMMIT;
