-- Revert animus:roles from pg

BEGIN;

DO $$
DECLARE
    r name;
BEGIN
    FOR r IN SELECT unnest(ARRAY['animus_admin', 'animus_memory_writer', 'animus_memory_reader',
                                 'animus_worker', 'animus_producer']::name[])
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r);
        EXECUTE format('REVOKE ALL ON SCHEMA animus FROM %I', r);
        EXECUTE format('DROP OWNED BY %I', r);  -- privileges granted in this database
        BEGIN
            EXECUTE format('DROP ROLE %I', r);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            -- Another database of this cluster still has animus deployed and uses the role.
            RAISE NOTICE 'role % is kept: another database still grants it privileges', r;
        END;
    END LOOP;
END $$;

COMMIT;
