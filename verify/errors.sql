-- Verify animus:errors on pg

BEGIN;

SELECT sqlstate, name, meaning, hint FROM animus.error_codes WHERE false;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA001', 'ZA010')) = 2,
        'animus.error_codes lacks the foundation codes';
END $$;

ROLLBACK;
