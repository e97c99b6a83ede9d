-- Revert animus:memory_admin from pg

BEGIN;

DROP FUNCTION animus.memory_finish_reembedding();
DROP FUNCTION animus.memory_begin_reembedding(text, integer);

COMMIT;
