-- Revert animus:work_concurrency from pg

BEGIN;

DROP FUNCTION animus.concurrency_stats(text);
DROP FUNCTION animus.drop_concurrency_limit(text, text);
DROP FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval);
DROP FUNCTION animus.sweep_concurrency_keys(text);
DROP FUNCTION animus.work_key_wake(text, text[]);
DROP FUNCTION animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]);
DROP FUNCTION animus.work_check_concurrency_args(text, integer, text);
DROP FUNCTION animus.work_key_limit(text, text);
DROP TABLE animus.concurrency_held;
DROP TABLE animus.concurrency_keys;
DROP TABLE animus.concurrency_limits;
DROP INDEX animus.work_items_concurrency_running;
ALTER TABLE animus.queues DROP COLUMN concurrency_param;
ALTER TABLE animus.work_items DROP COLUMN concurrency_key, DROP COLUMN cost;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA125', 'ZA126', 'ZA127', 'ZA128', 'ZA129');

COMMIT;
