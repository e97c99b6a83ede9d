-- Deploy animus:security_memory_rls to pg
-- requires: security_memory_rls@v0.4.0

BEGIN;

-- Namespace grants keyed by the role's OID, not its name. By name, a grant outlived DROP ROLE
-- (roles are cluster objects: no trigger sees them go) and a later role created with the same
-- name inherited the tenant. An OID is never the OID of another live role: a dropped role's
-- grants match no role, memory_scope ignores them, and grant/revoke delete them when they run.
-- role_name stays as the name at grant time (what an admin reads). A role renamed keeps its
-- grants, as it keeps its privileges.
ALTER TABLE animus.memory_namespace_grants ADD COLUMN role_oid oid;
UPDATE animus.memory_namespace_grants AS g SET role_oid = r.oid
  FROM pg_catalog.pg_roles AS r WHERE r.rolname = g.role_name;
DELETE FROM animus.memory_namespace_grants WHERE role_oid IS NULL;   -- grants of roles already dropped
ALTER TABLE animus.memory_namespace_grants
    ALTER COLUMN role_oid SET NOT NULL,
    DROP CONSTRAINT memory_namespace_grants_pkey,
    ADD CONSTRAINT memory_namespace_grants_pkey PRIMARY KEY (role_oid, namespace);
COMMENT ON COLUMN animus.memory_namespace_grants.role_oid IS
    'The role granted (pg_roles.oid): a grant belongs to this role only, never to a later role of the same name.';
COMMENT ON COLUMN animus.memory_namespace_grants.role_name IS
    'The role''s name when it was granted (for reading; the grant follows role_oid).';

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
        -- joined on the OID: the grants of a dropped role match no role
        SELECT coalesce(pg_catalog.array_agg(DISTINCT g.namespace), '{}') INTO granted
          FROM animus.memory_namespace_grants AS g
          JOIN pg_catalog.pg_roles AS r ON r.oid = g.role_oid
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
    'animus.memory_namespace_grants to the caller or a role it is a member of (by role OID: grants of a dropped role count for '
    'nobody), intersected with the session setting animus.namespaces (comma-separated) when that is set; ''{*}'' means every '
    'namespace (superusers, BYPASSRLS roles, grants of ''*''). The searches and the row-level security policies of '
    'animus.memories call it. Raises ZA004 (access).';

CREATE OR REPLACE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL, can_write boolean DEFAULT false)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    role_id oid;
BEGIN
    IF role_name IS NULL OR role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name must be a role name',
            HINT = 'Pass the login or group role that may see the namespace.';
    END IF;
    SELECT r.oid INTO role_id FROM pg_catalog.pg_roles AS r WHERE r.rolname = grant_memory_namespace.role_name;
    IF role_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA320', MESSAGE = 'role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(role_name, 80)),
            HINT = 'Create the role first, then grant it namespaces.';
    END IF;
    IF namespace IS NULL OR namespace = '' OR pg_catalog.length(namespace) > 200 OR pg_catalog.strpos(namespace, ',') > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA321', MESSAGE = 'namespace must be non-empty, at most 200 characters, without commas',
            DETAIL = pg_catalog.format('namespace = %L', pg_catalog.left(namespace, 80)),
            HINT = 'Pass the namespace the role may see, or ''*'' for every namespace.';
    END IF;
    -- grants of roles dropped since: they match nobody, and go now
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid);
    INSERT INTO animus.memory_namespace_grants AS g (role_oid, role_name, namespace, can_write)
    VALUES (role_id, grant_memory_namespace.role_name, grant_memory_namespace.namespace, coalesce(grant_memory_namespace.can_write, false))
    ON CONFLICT ON CONSTRAINT memory_namespace_grants_pkey DO UPDATE
       SET can_write = EXCLUDED.can_write, role_name = EXCLUDED.role_name, granted_at = pg_catalog.now(), granted_by = session_user;
END
$$;
COMMENT ON FUNCTION animus.grant_memory_namespace(text, text, boolean) IS
    'Lets role_name (and its members) read the memories of namespace (''*'' = every namespace), and change them if can_write. '
    'Granting again replaces can_write. The grant is kept by role OID: it ends with DROP ROLE and never passes to a later role '
    'of the same name (grants of dropped roles are deleted here). animus_admin only. '
    'Raises ZA001 (role_name), ZA320 (no such role), ZA321 (namespace).';

CREATE OR REPLACE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    found_one boolean;
BEGIN
    IF role_name IS NULL OR namespace IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name and namespace must not be NULL',
            HINT = 'Pass the role and the namespace of a grant (see animus.memory_namespace_grants).';
    END IF;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE g.namespace = revoke_memory_namespace.namespace
       AND g.role_oid = (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = revoke_memory_namespace.role_name);
    found_one := FOUND;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid);
    RETURN found_one;
END
$$;
COMMENT ON FUNCTION animus.revoke_memory_namespace(text, text) IS
    'Removes the grant of namespace to the role now named role_name; true if there was one. Also deletes the grants of roles '
    'dropped since. animus_admin only. Raises ZA001.';

COMMIT;
