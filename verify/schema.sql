-- Verify animus:schema on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT has_schema_privilege('animus', 'usage')), 'schema animus is missing';
    ASSERT NOT has_schema_privilege('public', 'animus', 'usage'), 'PUBLIC must not have USAGE on schema animus';
END $$;

ROLLBACK;
