-- Revert animus:work_lifecycle from pg

BEGIN;

DROP FUNCTION animus.delete_work(text, bigint);
DROP FUNCTION animus.archive_work(text, bigint);
DROP FUNCTION animus.cancel_work(uuid);
DROP FUNCTION animus.heartbeat_work(uuid, interval);
DROP FUNCTION animus.fail_work(uuid, text, boolean);
DROP FUNCTION animus.fail_work(uuid[], text, boolean);
DROP FUNCTION animus.complete_work(uuid, jsonb);
DROP FUNCTION animus.complete_work(uuid[], jsonb[]);
DROP FUNCTION animus.read_work(text, interval, integer);
DROP FUNCTION animus.work_release_followups(uuid[]);
DROP FUNCTION animus.work_raise_not_running(uuid, text);

COMMIT;
