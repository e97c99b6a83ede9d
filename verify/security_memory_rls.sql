-- Verify animus:security_memory_rls on pg

BEGIN;

SELECT role_oid, role_name, namespace, can_write, granted_at, granted_by FROM animus.memory_namespace_grants WHERE false;

DO $$
BEGIN
    IF NOT (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = 'animus.memories'::regclass) THEN
        RAISE EXCEPTION 'row-level security is not enabled and forced on animus.memories';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = 'animus.memories'::regclass) <> 4 THEN
        RAISE EXCEPTION 'animus.memories must have its four policies (read, insert, update, delete)';
    END IF;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.memory_scope(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.memory_scope';
    END IF;
    IF has_function_privilege('animus_memory_writer', 'animus.grant_memory_namespace(text, text, boolean)', 'EXECUTE')
       OR NOT has_function_privilege('animus_admin', 'animus.grant_memory_namespace(text, text, boolean)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin and only animus_admin may grant namespaces';
    END IF;
    IF (SELECT array_agg(a.attname::text ORDER BY k.o) FROM pg_catalog.pg_constraint AS c,
               unnest(c.conkey) WITH ORDINALITY AS k(attnum, o)
          JOIN pg_catalog.pg_attribute AS a ON a.attrelid = 'animus.memory_namespace_grants'::regclass AND a.attnum = k.attnum
         WHERE c.conname = 'memory_namespace_grants_pkey' AND c.conrelid = 'animus.memory_namespace_grants'::regclass)
       IS DISTINCT FROM ARRAY['role_oid', 'namespace'] THEN
        RAISE EXCEPTION 'animus.memory_namespace_grants must be keyed by (role_oid, namespace)';
    END IF;
END $$;

ROLLBACK;
