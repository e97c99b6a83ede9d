-- Verify animus:work_limits on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.to_regclass('animus.work_items_merged_into_order') IS NULL THEN
        RAISE EXCEPTION 'index animus.work_items_merged_into_order is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA110', 'ZA111', 'ZA112')) <> 3 THEN
        RAISE EXCEPTION 'error codes ZA110, ZA111, ZA112 are missing';
    END IF;
END $$;

ROLLBACK;
