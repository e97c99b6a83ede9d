-- Deploy animus:security_memory_rls to pg
-- requires: memory_store
-- requires: memory_search

BEGIN;

-- Tenant isolation of animus.memories by namespace, with row-level security.
--
-- Who may see which namespace is DATA managed by animus_admin: animus.memory_namespace_grants
-- maps a role (a login role, or a group role its members inherit from) to namespaces, read-only
-- or read-write; the namespace '*' means every namespace. A session may narrow (never widen)
-- what it sees by setting the custom setting animus.namespaces to a comma-separated list:
-- a custom GUC can be set by anyone, so it is only ever intersected with the grants.
--
-- The caller is the session's role (SET ROLE target, else the login role), not current_user:
-- inside a SECURITY DEFINER function current_user is the function's owner, and the tenant of a
-- call must not change with the function it goes through. PostgreSQL checks membership when
-- the role setting is set (SET ROLE, set_config, -c role=), so it cannot be forged.
--
-- The memory read functions are SECURITY INVOKER, so these policies apply to every read. The
-- write functions are SECURITY DEFINER (nobody but the owner writes the table): they check the
-- write scope themselves through animus.memory_write_scope(), which this change points at
-- memory_scope('write'), and the policies check it again unless the owner is a superuser.
-- FORCE makes them apply to a non-superuser table owner too; superusers and BYPASSRLS roles
-- are not confined by PostgreSQL and get the scope '*'.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA320', 'security_unknown_role',    'A namespace grant names a role that does not exist.',
     'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_memory_reader TO ...), then grant it namespaces.'),
    ('ZA321', 'security_invalid_namespace', 'A namespace in a grant is empty, too long or contains a comma.',
     'Use a non-empty namespace of at most 200 characters without commas, or ''*'' for every namespace.');

CREATE TABLE animus.memory_namespace_grants (
    role_name   name NOT NULL,
    namespace   text NOT NULL CHECK (namespace <> '' AND pg_catalog.length(namespace) <= 200 AND pg_catalog.strpos(namespace, ',') = 0),
    can_write   boolean NOT NULL DEFAULT false,
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  name NOT NULL DEFAULT session_user,
    PRIMARY KEY (role_name, namespace)
);
COMMENT ON TABLE animus.memory_namespace_grants IS
    'Which role may read (and with can_write, write) the memories of which namespace; ''*'' = every namespace. '
    'Managed with animus.grant_memory_namespace / animus.revoke_memory_namespace (animus_admin). Nobody but the owner writes it directly.';
-- animus_admin sees every namespace (it manages them); revoke this row to confine admins too.
INSERT INTO animus.memory_namespace_grants (role_name, namespace, can_write, granted_by)
VALUES ('animus_admin', '*', true, 'animus');

-- The role a call is made for: the SET ROLE target, else the login role. Never current_user.
CREATE FUNCTION animus.memory_caller()
    RETURNS name
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;
COMMENT ON FUNCTION animus.memory_caller() IS
    'The role whose namespace grants apply to this session: the SET ROLE target, else the login role (session_user). '
    'Independent of SECURITY DEFINER frames. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_caller() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_caller() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The namespaces the caller may read ('read') or write ('write'), narrowed by animus.namespaces.
-- SECURITY DEFINER so that the grants table (which names every tenant) stays unreadable.
-- 'USAGE', as for table privileges: a grant to a role counts for members that inherit from it
-- (a NOINHERIT member gets it after SET ROLE to that role).
CREATE FUNCTION animus.memory_scope(access text DEFAULT 'read')
    RETURNS text[]
    STABLE
    SECURITY DEFINER
    SET search_path = ''
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
REVOKE ALL ON FUNCTION animus.memory_scope(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_scope(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL, can_write boolean DEFAULT false)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
REVOKE ALL ON FUNCTION animus.grant_memory_namespace(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.grant_memory_namespace(text, text, boolean) TO animus_admin;

CREATE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
REVOKE ALL ON FUNCTION animus.revoke_memory_namespace(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.revoke_memory_namespace(text, text) TO animus_admin;

-- The memory write functions (SECURITY DEFINER, memory_store) confine the caller to this scope.
CREATE OR REPLACE FUNCTION animus.memory_write_scope()
    RETURNS text[]
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT animus.memory_scope('write');
$$;
COMMENT ON FUNCTION animus.memory_write_scope() IS
    'The namespaces the memory write functions may change for the caller: animus.memory_scope(''write'') '
    '(the session''s role, never current_user; ''{*}'' = every namespace). Raises nothing.';

-- The policies. (SELECT ...) makes each scope an InitPlan: computed once per statement, and the
-- namespace btree index can serve "namespace = ANY (scope)".
ALTER TABLE animus.memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memories FORCE ROW LEVEL SECURITY;

CREATE POLICY memories_read ON animus.memories FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memories_insert ON animus.memories FOR INSERT
    WITH CHECK (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
                OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));
CREATE POLICY memories_update ON animus.memories FOR UPDATE
    USING (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]))
    WITH CHECK (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
                OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));
CREATE POLICY memories_delete ON animus.memories FOR DELETE
    USING (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));

COMMIT;
