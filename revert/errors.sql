-- Revert animus:errors from pg

BEGIN;

DROP TABLE animus.error_codes;

COMMIT;
