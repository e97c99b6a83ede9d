-- Deploy animus:security_search_path to pg
-- requires: security_bm25_rls
-- requires: work_release
-- requires: memory_admin

BEGIN;

-- An empty search_path on a function does not keep the caller's temporary schema out: PostgreSQL
-- then searches pg_temp FIRST for tables and types (never for functions or operators). Any role
-- may create temporary objects, so a caller could shadow a type (CREATE DOMAIN pg_temp.text ...
-- CHECK (pg_temp.evil(VALUE))) and have a SECURITY DEFINER function, or an invoker function called
-- inside one, run its code as the owner. Naming pg_temp explicitly and LAST closes that:
-- pg_catalog (and pgvector's schema, where a function names it) is searched first.
-- Every later animus function carries the same setting in its own definition; the catalog test
-- (tests/pgtap/foundation.sql) and verify/security_search_path.sql enforce it.
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
        IF current = '""' THEN
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
        ELSIF current NOT LIKE '%, pg\_temp' THEN
            -- 'pg_catalog, <schema of pgvector>' on the functions that use pgvector's types
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = %s, pg_temp', f, current);
        END IF;
    END LOOP;
END $$;

COMMIT;
