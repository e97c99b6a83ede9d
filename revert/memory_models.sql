-- Revert animus:memory_models from pg

BEGIN;

DROP FUNCTION animus.memory_reembedding_progress(text);
DROP FUNCTION animus.memory_set_embedding(bigint, vector, text, text);
DROP FUNCTION animus.set_namespace_model(text, text, text);
DROP FUNCTION animus.memory_request_reembedding(text, text, integer);
DROP FUNCTION animus.register_model(text, integer, text, jsonb);
DROP TRIGGER memories_content_changed ON animus.memories;
DROP FUNCTION animus.memory_content_changed();
ALTER TABLE animus.memories DROP COLUMN embedding_model;
DROP TABLE animus.memory_namespace_models;
DROP TABLE animus.memory_models;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA225', 'ZA226', 'ZA227');

COMMIT;
