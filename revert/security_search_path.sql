-- Revert animus:security_search_path from pg

BEGIN;

-- Back to the v0.4.0 settings ('' and 'pg_catalog, <schema of pgvector>'), which let pg_temp be searched first.
DO $$
DECLARE
    f       pg_catalog.regprocedure;
    current text;
BEGIN
    FOR f, current IN
        SELECT p.oid::pg_catalog.regprocedure, pg_catalog.substr(c, 13)
          FROM pg_catalog.pg_proc AS p, pg_catalog.unnest(p.proconfig) AS c
         WHERE p.pronamespace = 'animus'::pg_catalog.regnamespace AND c LIKE 'search_path=%'
    LOOP
        IF current = 'pg_catalog, pg_temp' THEN
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = ''''', f);
        ELSIF current LIKE '%, pg\_temp' THEN
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = %s', f, pg_catalog.left(current, -9));
        END IF;
    END LOOP;
END $$;

COMMIT;
