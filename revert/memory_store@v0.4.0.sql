-- Revert animus:memory_store from pg

BEGIN;

DROP FUNCTION animus.delete_memories(bigint[]);
DROP FUNCTION animus.delete_memory(bigint);
DROP FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text);
DROP FUNCTION animus.get_memory(bigint);
DROP FUNCTION animus.store_memories(jsonb, text);
DROP FUNCTION animus.memory_store_batch(jsonb, text);
DROP FUNCTION animus.memory_parses_as_vector(text);
DROP FUNCTION animus.store_memory(text, vector, text, text, jsonb, text);
DROP FUNCTION animus.memory_check_fields(text, text, text, jsonb);
DROP FUNCTION animus.memory_check_embedding(vector, text);
DROP FUNCTION animus.memory_write_scope();
DELETE FROM animus.error_codes WHERE sqlstate = 'ZA211';

COMMIT;
