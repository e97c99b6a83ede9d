-- Revert animus:memory_table from pg

BEGIN;

DROP TABLE animus.memories;
DROP FUNCTION animus.memory_content_hash(text);
DROP TABLE animus.memory_settings;
DELETE FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA200' AND 'ZA210';

COMMIT;
