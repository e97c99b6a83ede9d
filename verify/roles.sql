-- Verify animus:roles on pg

BEGIN;

DO $$
DECLARE
    r name;
BEGIN
    FOREACH r IN ARRAY ARRAY['animus_producer', 'animus_worker', 'animus_memory_reader',
                             'animus_memory_writer', 'animus_admin']::name[]
    LOOP
        ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r AND NOT rolcanlogin),
            format('role %s is missing (or can log in)', r);
        ASSERT has_schema_privilege(r, 'animus', 'usage'), format('role %s lacks USAGE on schema animus', r);
    END LOOP;
    ASSERT pg_has_role('animus_admin', 'animus_worker', 'member'), 'animus_admin is not a member of animus_worker';
END $$;

ROLLBACK;
