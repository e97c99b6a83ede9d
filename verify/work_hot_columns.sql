-- Verify animus:work_hot_columns on pg

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = 'animus.work_items'::regclass AND i.indisunique
                      AND pg_catalog.pg_get_indexdef(i.indexrelid) ~ '\(queue_name, work_type, active_key\)')
       OR pg_catalog.to_regclass('animus.work_items_running_key') IS NULL THEN
        RAISE EXCEPTION 'the unique index on active_key or the index work_items_running_key is missing';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'animus.work_items'::regclass
                      AND a.attname = 'active_key' AND a.attgenerated = 's') THEN
        RAISE EXCEPTION 'animus.work_items.active_key is not a stored generated column';
    END IF;
END $$;

ROLLBACK;
