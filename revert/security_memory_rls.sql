-- Revert animus:security_memory_rls from pg (back to security_memory_rls@v0.4.0)

BEGIN;

-- The v0.4.0 functions (grants by role name), with search_path as change security_search_path
-- pinned it (pg_temp last).
CREATE OR REPLACE FUNCTION animus.memory_scope(access text DEFAULT 'read')
    RETURNS text[]
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    caller   name := animus.memory_caller();
    granted  text[];
    narrowed text[];
    setting  text := pg_catalog.current_setting('animus.namespaces', true);
BEGIN
    IF access IS NULL OR access NOT IN ('read', 'write') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA004', MESSAGE = 'access must be ''read'' or ''write''',
            DETAIL = pg_catalog.format('access = %L', pg_catalog.left(access, 40)),
            HINT = 'Pass ''read'' (namespaces you may see) or ''write'' (namespaces you may change).';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND (r.rolsuper OR r.rolbypassrls)) THEN
        granted := ARRAY['*'];
    ELSE
        SELECT coalesce(pg_catalog.array_agg(DISTINCT g.namespace), '{}') INTO granted
          FROM animus.memory_namespace_grants AS g
          JOIN pg_catalog.pg_roles AS r ON r.rolname = g.role_name
         WHERE pg_catalog.pg_has_role(caller, r.oid, 'USAGE')
           AND (access = 'read' OR g.can_write);
    END IF;
    IF setting IS NULL OR pg_catalog.btrim(setting) = '' THEN
        RETURN granted;
    END IF;
    SELECT coalesce(pg_catalog.array_agg(DISTINCT n), '{}') INTO narrowed
      FROM (SELECT pg_catalog.btrim(x) AS n FROM pg_catalog.unnest(pg_catalog.string_to_array(setting, ',')) AS x) AS s
     WHERE s.n <> '' AND (s.n = ANY (granted) OR '*' = ANY (granted));
    RETURN narrowed;
END
$$;
COMMENT ON FUNCTION animus.memory_scope(text) IS
    'The namespaces of animus.memories the caller may read (access => ''read'') or write (''write''): the namespaces granted in '
    'animus.memory_namespace_grants to the caller or a role it is a member of, intersected with the session setting '
    'animus.namespaces (comma-separated) when that is set; ''{*}'' means every namespace (superusers, BYPASSRLS roles, '
    'grants of ''*''). The row-level security policies of animus.memories call it. Raises ZA004 (access).';


CREATE OR REPLACE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL, can_write boolean DEFAULT false)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF role_name IS NULL OR role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name must be a role name',
            HINT = 'Pass the login or group role that may see the namespace.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = grant_memory_namespace.role_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA320', MESSAGE = 'role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(role_name, 80)),
            HINT = 'Create the role first, then grant it namespaces.';
    END IF;
    IF namespace IS NULL OR namespace = '' OR pg_catalog.length(namespace) > 200 OR pg_catalog.strpos(namespace, ',') > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA321', MESSAGE = 'namespace must be non-empty, at most 200 characters, without commas',
            DETAIL = pg_catalog.format('namespace = %L', pg_catalog.left(namespace, 80)),
            HINT = 'Pass the namespace the role may see, or ''*'' for every namespace.';
    END IF;
    INSERT INTO animus.memory_namespace_grants AS g (role_name, namespace, can_write)
    VALUES (grant_memory_namespace.role_name, grant_memory_namespace.namespace, coalesce(grant_memory_namespace.can_write, false))
    ON CONFLICT ON CONSTRAINT memory_namespace_grants_pkey DO UPDATE
       SET can_write = EXCLUDED.can_write, granted_at = pg_catalog.now(), granted_by = session_user;
END
$$;
COMMENT ON FUNCTION animus.grant_memory_namespace(text, text, boolean) IS
    'Lets role_name (and its members) read the memories of namespace (''*'' = every namespace), and change them if can_write. '
    'Granting again replaces can_write. animus_admin only. Raises ZA001 (role_name), ZA320 (no such role), ZA321 (namespace).';


CREATE OR REPLACE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF role_name IS NULL OR namespace IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name and namespace must not be NULL',
            HINT = 'Pass the role and the namespace of a grant (see animus.memory_namespace_grants).';
    END IF;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE g.role_name = revoke_memory_namespace.role_name AND g.namespace = revoke_memory_namespace.namespace;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.revoke_memory_namespace(text, text) IS
    'Removes the grant of namespace to role_name; true if there was one. animus_admin only. Raises ZA001.';


-- Back to grants keyed by name: the current name of each role (a renamed role keeps its grants),
-- grants of dropped roles deleted (by name they would pass to a later role of that name).
DELETE FROM animus.memory_namespace_grants AS g
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid);
UPDATE animus.memory_namespace_grants AS g SET role_name = r.rolname
  FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid AND g.role_name <> r.rolname;
ALTER TABLE animus.memory_namespace_grants
    DROP CONSTRAINT memory_namespace_grants_pkey,
    ADD CONSTRAINT memory_namespace_grants_pkey PRIMARY KEY (role_name, namespace),
    DROP COLUMN role_oid;
COMMENT ON COLUMN animus.memory_namespace_grants.role_name IS NULL;

COMMIT;
