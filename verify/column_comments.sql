-- Verify animus:column_comments on pg

BEGIN;

DO $$
DECLARE
    bare text;
BEGIN
    SELECT pg_catalog.string_agg(c.relname || '.' || a.attname, ', ' ORDER BY c.relname, a.attnum) INTO bare
      FROM pg_catalog.pg_attribute AS a
      JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'animus'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p')
       AND a.attnum > 0 AND NOT a.attisdropped
       AND pg_catalog.col_description(c.oid, a.attnum) IS NULL;
    IF bare IS NOT NULL THEN
        RAISE EXCEPTION 'animus columns without a comment: %', bare;
    END IF;
END $$;

ROLLBACK;
