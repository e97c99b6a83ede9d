-- Verify animus:work_hot_indexes on pg

BEGIN;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                WHERE i.indrelid = 'animus.work_items'::regclass
                  AND (pg_catalog.pg_get_expr(i.indpred, i.indrelid) ~ '\mstate\M'
                       OR pg_catalog.pg_get_indexdef(i.indexrelid) ~ '\(.*\mstate\M.*\)\s*(WHERE|$)')) THEN
        RAISE EXCEPTION 'an index of animus.work_items still names state: claims cannot be HOT updates';
    END IF;
END $$;

ROLLBACK;
