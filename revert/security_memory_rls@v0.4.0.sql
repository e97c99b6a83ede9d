-- Revert animus:security_memory_rls from pg

BEGIN;

DROP POLICY memories_read ON animus.memories;
DROP POLICY memories_insert ON animus.memories;
DROP POLICY memories_update ON animus.memories;
DROP POLICY memories_delete ON animus.memories;
ALTER TABLE animus.memories NO FORCE ROW LEVEL SECURITY;
ALTER TABLE animus.memories DISABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION animus.memory_write_scope()
    RETURNS text[]
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT ARRAY['*']::text[];
$$;
COMMENT ON FUNCTION animus.memory_write_scope() IS
    'The namespaces the memory write functions may change for the caller (''{*}'' = every namespace). Raises nothing.';
DROP FUNCTION animus.revoke_memory_namespace(text, text);
DROP FUNCTION animus.grant_memory_namespace(text, text, boolean);
DROP FUNCTION animus.memory_scope(text);
DROP FUNCTION animus.memory_caller();
DROP TABLE animus.memory_namespace_grants;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA320', 'ZA321');

COMMIT;
