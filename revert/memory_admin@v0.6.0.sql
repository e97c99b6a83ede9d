-- Revert animus:memory_admin from pg

BEGIN;

DROP FUNCTION animus.memory_finish_bulk_load(text, integer);
DROP FUNCTION animus.memory_begin_bulk_load();
DROP FUNCTION animus.memory_finish_reembedding();
DROP FUNCTION animus.memory_begin_reembedding(text, integer);
DELETE FROM animus.error_codes WHERE sqlstate = 'ZA212';

COMMIT;
