-- Revert animus:memory_search from pg

BEGIN;

DROP FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer);
DROP FUNCTION animus.search_memory_text(text, integer, jsonb);
DROP FUNCTION animus.search_memory_vector(vector, integer, jsonb);
DROP FUNCTION animus.memory_vector_candidates(vector, jsonb, integer);
DROP FUNCTION animus.memory_text_candidates(text, jsonb, integer);
DROP FUNCTION animus.memory_or_tsquery(text);
DROP FUNCTION animus.memory_check_limit(integer, text, integer);

COMMIT;
