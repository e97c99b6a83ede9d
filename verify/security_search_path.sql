-- Verify animus:security_search_path on pg

BEGIN;

-- Fails when a function of schema animus pins a search_path without pg_temp last, or when a
-- SECURITY DEFINER function pins none at all.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::text, ', ') INTO bad
      FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace = 'animus'::pg_catalog.regnamespace
       AND (EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS c
                     WHERE c LIKE 'search_path=%' AND c NOT LIKE '%, pg\_temp')
            OR (p.prosecdef AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS c
                                             WHERE c LIKE 'search_path=%')));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'functions without pg_temp last in a pinned search_path: %', bad;
    END IF;
END $$;

ROLLBACK;
