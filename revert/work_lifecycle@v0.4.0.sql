-- Revert animus:work_lifecycle from pg

BEGIN;

DROP FUNCTION animus.delete_work(text, bigint);
DROP FUNCTION animus.archive_work(text, bigint);
DROP FUNCTION animus.cancel_work(uuid);
DROP FUNCTION animus.heartbeat_work(uuid, interval, integer);
DROP FUNCTION animus.fail_work(uuid, text, boolean, integer);
DROP FUNCTION animus.fail_work(uuid[], text, boolean, integer[]);
DROP FUNCTION animus.complete_work(uuid, jsonb, integer);
DROP FUNCTION animus.complete_work(uuid[], jsonb[], integer[]);
DROP FUNCTION animus.read_work(text, interval, integer);
DROP FUNCTION animus.work_release_followups(uuid[]);
DROP FUNCTION animus.work_raise_unsettled(uuid[], integer[], uuid[], text);
DROP FUNCTION animus.work_raise_not_running(uuid, text, integer);
DROP FUNCTION animus.work_raise_stale_claim(uuid, text, integer, integer, text);

COMMIT;
