-- Verify animus:security_memory_rls on pg

BEGIN;

SELECT role_name, namespace, can_write, granted_at, granted_by FROM animus.memory_namespace_grants WHERE false;

DO $$
BEGIN
    ASSERT (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = 'animus.memories'::regclass),
        'row-level security is not enabled and forced on animus.memories';
    ASSERT (SELECT count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = 'animus.memories'::regclass) = 4,
        'animus.memories must have its four policies (read, insert, update, delete)';
    ASSERT has_function_privilege('animus_memory_reader', 'animus.memory_scope(text)', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.memory_scope (the policies call it)';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.grant_memory_namespace(text, text, boolean)', 'EXECUTE'),
        'only animus_admin may grant namespaces';
    ASSERT has_function_privilege('animus_admin', 'animus.grant_memory_namespace(text, text, boolean)', 'EXECUTE'),
        'animus_admin cannot grant namespaces';
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA320', 'ZA321')) = 2,
        'the SQLSTATEs ZA320-ZA321 are missing from animus.error_codes';
END $$;

ROLLBACK;
