-- Deploy animus:work_queue_grants to pg
-- requires: security_search_path

BEGIN;

-- Per-queue authorisation. EXECUTE on the work functions says WHAT a role may do (animus_producer
-- submits and reads status, animus_worker claims and settles); animus.queue_grants says on WHICH
-- queues. A grant of queue '*' covers every queue, present and future.
--
-- Grants are keyed by role OID, not name: a grant survives DROP ROLE only as a row naming a role
-- that no longer exists, and a role created later with the same name gets a new OID and inherits
-- nothing.
--
-- The caller is the session's role (the SET ROLE target, else the login role), never current_user
-- (inside a SECURITY DEFINER function that is the owner); PostgreSQL checks membership when the
-- role setting is set, so it cannot be forged. A grant to a group role counts for the members that
-- inherit its privileges ('USAGE', as for table privileges). Superusers may use every queue.
--
-- Upgrade default: so that existing deployments keep working after `sqitch deploy`, the group
-- roles animus_producer, animus_worker and animus_admin get '*'. To confine tenants, an admin
-- grants each tenant's login (or tenant group) role its queues and revokes '*' from
-- animus_producer and animus_worker (docs/work-queue.md, "Authorisation").

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA109', 'queue_not_granted',        'The calling role has no grant on the work queue (animus.queue_grants) for a submit or a claim.',
     'Ask an admin for animus.grant_queue(role_name => ..., queue => ...), or use a queue granted to your role.'),
    ('ZA340', 'queue_grant_unknown_role', 'A queue grant names a role that does not exist.',
     'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_worker TO ...), then grant it queues.'),
    ('ZA341', 'queue_grant_invalid_queue', 'A queue grant names neither an existing queue nor ''*''.',
     'Pass an existing queue (see animus.queues) or ''*'' for every queue.');

CREATE TABLE animus.queue_grants (
    role_oid    oid NOT NULL,
    queue_name  text NOT NULL CHECK (queue_name = '*' OR queue_name ~ '^[a-z][a-z0-9_]{0,39}$'),
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  name NOT NULL DEFAULT session_user,
    PRIMARY KEY (role_oid, queue_name)
);
COMMENT ON TABLE animus.queue_grants IS
    'Which role (by OID: a dropped and re-created role of the same name inherits nothing) may use which work queue; '
    '''*'' = every queue. What it may do there is what its animus role allows (producer: submit, read status, cancel; '
    'worker: claim and settle). Managed with animus.grant_queue / animus.revoke_queue (animus_admin); readable by animus_admin.';
COMMENT ON COLUMN animus.queue_grants.role_oid IS 'pg_roles.oid of the grantee (role_oid::regrole shows its name; a number when the role was dropped).';
COMMENT ON COLUMN animus.queue_grants.queue_name IS 'a queue of animus.queues, or ''*'' for every queue (grants of a dropped queue are removed with it).';
GRANT SELECT ON animus.queue_grants TO animus_admin;

INSERT INTO animus.queue_grants (role_oid, queue_name, granted_by)
SELECT r.oid, '*', 'animus' FROM pg_catalog.pg_roles r
 WHERE r.rolname IN ('animus_producer', 'animus_worker', 'animus_admin');

-- The helpers below run in every submit, claim and settle. Like the generated queue functions
-- they have no SET search_path (a SET clause costs a configuration save and restore per call:
-- measured 10 us per check with it, 6.5 us without): every name in them is schema-qualified, no
-- role may execute them, and their only callers are SECURITY DEFINER functions that pin
-- search_path = pg_catalog, pg_temp.

-- The role a queue call is made for: the SET ROLE target, else the login role. Never current_user.
CREATE FUNCTION animus.work_caller()
    RETURNS name
    STABLE
    LANGUAGE sql
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;
REVOKE ALL ON FUNCTION animus.work_caller() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_caller() IS
    'Internal: the role whose queue grants apply to this session: the SET ROLE target, else the login role (session_user); '
    'independent of SECURITY DEFINER frames. Raises nothing.';

-- The queues the caller may use: '{*}' for every queue. Called once per work function call (the
-- settle functions check the queues of the rows they touched against it).
CREATE FUNCTION animus.work_queue_scope()
    RETURNS text[]
    STABLE
    LANGUAGE plpgsql
AS $$
DECLARE
    caller  name := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);   -- animus.work_caller()
    granted text[];
BEGIN
    SELECT pg_catalog.array_agg(DISTINCT g.queue_name) INTO granted
      FROM animus.queue_grants g
     WHERE pg_catalog.pg_has_role(caller, g.role_oid, 'USAGE');
    IF granted IS NULL OR NOT '*' = ANY (granted) THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND r.rolsuper) THEN
            RETURN ARRAY['*'];
        END IF;
    END IF;
    RETURN coalesce(granted, '{}');
END;
$$;
REVOKE ALL ON FUNCTION animus.work_queue_scope() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_queue_scope() IS
    'Internal: the queues the caller (animus.work_caller()) may use: those granted in animus.queue_grants to it or to a role '
    'whose privileges it inherits; ''{*}'' means every queue (a ''*'' grant, or a superuser). Raises nothing.';

-- One queue: the common check of submit and claim.
CREATE FUNCTION animus.work_queue_allowed(queue text)
    RETURNS boolean
    STABLE
    LANGUAGE plpgsql
AS $$
DECLARE
    caller name := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);   -- animus.work_caller()
BEGIN
    RETURN EXISTS (SELECT 1 FROM animus.queue_grants g
                    WHERE g.queue_name IN (work_queue_allowed.queue, '*')
                      AND pg_catalog.pg_has_role(caller, g.role_oid, 'USAGE'))
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND r.rolsuper);
END;
$$;
REVOKE ALL ON FUNCTION animus.work_queue_allowed(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_queue_allowed(text) IS
    'Internal: true when the caller (animus.work_caller()) may use queue (a grant of it or of ''*'' to the caller or a role '
    'whose privileges it inherits, or a superuser). Raises nothing.';

-- Raised by submit and claim for a queue the caller has no grant on (whether or not it exists:
-- a confined role does not learn which queues exist).
CREATE FUNCTION animus.work_raise_not_granted(queue text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA109',
        MESSAGE = pg_catalog.format('argument queue: role %s has no grant on queue %L', animus.work_caller(), pg_catalog.left(queue, 100)),
        DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(queue, 100)),
        HINT = 'Ask an admin for animus.grant_queue(role_name => ..., queue => ...), or use a queue granted to your role.';
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_not_granted(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_not_granted(text) IS 'Internal: raises ZA109 (no grant on queue) naming the caller and the queue.';

CREATE FUNCTION animus.grant_queue(role_name text DEFAULT NULL, queue text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    r_oid oid;
BEGIN
    IF grant_queue.role_name IS NULL OR grant_queue.role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument role_name must not be NULL or empty',
            HINT = 'Pass the login or group role that may use the queue.';
    END IF;
    IF grant_queue.queue IS NULL OR grant_queue.queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass an existing queue, or ''*'' for every queue.';
    END IF;
    SELECT r.oid INTO r_oid FROM pg_catalog.pg_roles r WHERE r.rolname = grant_queue.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA340', MESSAGE = 'argument role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(grant_queue.role_name, 80)),
            HINT = 'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_worker TO ...), then grant it queues.';
    END IF;
    IF grant_queue.queue <> '*' AND NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = grant_queue.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA341', MESSAGE = 'argument queue names neither a work queue nor ''*''',
            DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(grant_queue.queue, 80)),
            HINT = 'Create the queue first with animus.create_queue, or pass ''*'' for every queue.';
    END IF;
    -- Rows of dropped roles give nothing to anyone (the OID names no role); they are removed here
    -- so that an OID the server might hand out again after wrapping around finds none.
    DELETE FROM animus.queue_grants g WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role_oid);
    INSERT INTO animus.queue_grants AS g (role_oid, queue_name) VALUES (r_oid, grant_queue.queue)
    ON CONFLICT ON CONSTRAINT queue_grants_pkey DO NOTHING;
    RETURN FOUND;
END;
$$;
REVOKE ALL ON FUNCTION animus.grant_queue(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.grant_queue(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.grant_queue(text, text) IS
    'Lets role_name (and the members that inherit its privileges) use work queue `queue` (''*'' = every queue) with the animus '
    'functions its roles may execute: a producer submits there and sees and cancels its items, a worker claims and settles them. '
    'The grant is recorded by role OID: a role dropped and created again under the same name has no grant (grants of dropped '
    'roles are deleted here). Returns true when the grant is new, false when it existed. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such '
    'role), ZA341 (no such queue).';

CREATE FUNCTION animus.revoke_queue(role_name text DEFAULT NULL, queue text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    r_oid oid;
BEGIN
    IF revoke_queue.role_name IS NULL OR revoke_queue.role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument role_name must not be NULL or empty',
            HINT = 'Pass the role of a grant (see animus.queue_grants, role_oid::regrole).';
    END IF;
    IF revoke_queue.queue IS NULL OR revoke_queue.queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass the queue of a grant, or ''*''.';
    END IF;
    SELECT r.oid INTO r_oid FROM pg_catalog.pg_roles r WHERE r.rolname = revoke_queue.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA340', MESSAGE = 'argument role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(revoke_queue.role_name, 80)),
            HINT = 'Grants of a dropped role give nothing to anyone; delete them as the owner if you wish.';
    END IF;
    DELETE FROM animus.queue_grants g WHERE g.role_oid = r_oid AND g.queue_name = revoke_queue.queue;
    RETURN FOUND;
END;
$$;
REVOKE ALL ON FUNCTION animus.revoke_queue(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.revoke_queue(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.revoke_queue(text, text) IS
    'Removes the grant of queue (or ''*'') to role_name; true if there was one. Grants to a group role it is a member of are '
    'not affected. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such role).';

COMMIT;
