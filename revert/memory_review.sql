-- Revert animus:memory_review from pg

BEGIN;

DROP FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision);
DROP FUNCTION animus.due_memories(text, timestamptz, integer);
DROP FUNCTION animus.review_memory(bigint, integer, timestamptz);
DROP FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision);
DROP FUNCTION animus.memory_retrievability(double precision, double precision);
DROP TABLE animus.memory_reviews;
DROP TABLE animus.memory_review_settings;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA222', 'ZA223', 'ZA224');

COMMIT;
