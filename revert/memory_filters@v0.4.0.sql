-- Revert animus:memory_filters from pg

BEGIN;

DROP FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz);
DROP FUNCTION animus.memory_validate_filters(jsonb);
DROP FUNCTION animus.memory_normalize_text_filter(text, jsonb);
DROP FUNCTION animus.memory_filter_list(jsonb);

COMMIT;
