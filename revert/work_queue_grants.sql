-- Revert animus:work_queue_grants from pg

BEGIN;

DROP FUNCTION animus.revoke_queue(text, text);
DROP FUNCTION animus.grant_queue(text, text);
DROP FUNCTION animus.work_raise_not_granted(text);
DROP FUNCTION animus.work_queue_allowed(text);
DROP FUNCTION animus.work_queue_scope();
DROP FUNCTION animus.work_caller();
DROP TABLE animus.queue_grants;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA109', 'ZA340', 'ZA341');

COMMIT;
