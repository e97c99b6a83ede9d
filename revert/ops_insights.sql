-- Revert animus:ops_insights from pg

BEGIN;

DROP FUNCTION animus.memory_namespace_stats();
DROP FUNCTION animus.queue_depth_history(text, interval, integer);
DELETE FROM animus.error_codes WHERE sqlstate = 'ZA168';

COMMIT;
