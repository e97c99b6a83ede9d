-- Deploy animus:memory_lifecycle to pg
-- requires: memory_table
-- requires: memory_store
-- requires: security_memory_rls
-- requires: security_memory_private
-- requires: column_comments

BEGIN;

-- Lifecycle and sharing of a memory (docs/memory-lifecycle.md):
--   * expires_at: from then on the memory is out of every search; purge_expired_memories deletes it;
--   * pinned: never expires (and is never due for review);
--   * superseded_by: the newer memory that replaced this one; out of searches unless a filter says
--     {"include_superseded": true}; memory_chain lists a chain of supersessions;
--   * owner_role, visibility, share_groups: 'namespace' (every reader of the namespace, the
--     default), 'private' (the owner only) or 'groups' (the owner and members of share_groups).
--
-- The searches confine themselves through the filter predicate animus.memory_filter_match, which
-- sees (namespace, memory_type, source, metadata, created_at) of a row. So the state that hides a
-- row is mirrored, by a trigger, into the reserved metadata key "_animus" (absent while the row
-- has the defaults: no expiry, not superseded, visible to the namespace): the predicate tests one
-- key on rows without state and the searches pick the rules up unchanged. The columns are the
-- truth (indexed for retention and chains); the trigger overwrites whatever a caller puts under
-- "_animus".
ALTER TABLE animus.memories
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN pinned        boolean NOT NULL DEFAULT false,
    ADD COLUMN superseded_by bigint REFERENCES animus.memories (id) ON DELETE SET NULL,
    ADD COLUMN superseded_at timestamptz,
    ADD COLUMN owner_role    oid,
    ADD COLUMN visibility    text NOT NULL DEFAULT 'namespace' CHECK (visibility IN ('namespace', 'private', 'groups')),
    ADD COLUMN share_groups  oid[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT memories_pinned_never_expires CHECK (NOT (pinned AND expires_at IS NOT NULL)),
    ADD CONSTRAINT memories_not_self_superseded CHECK (superseded_by IS DISTINCT FROM id),
    ADD CONSTRAINT memories_private_has_owner CHECK (visibility = 'namespace' OR owner_role IS NOT NULL);
COMMENT ON COLUMN animus.memories.expires_at IS 'When the memory expires (NULL: never): from then on no search returns it; animus.purge_expired_memories deletes it.';
COMMENT ON COLUMN animus.memories.pinned IS 'A pinned memory never expires and is never due for review.';
COMMENT ON COLUMN animus.memories.superseded_by IS 'The newer memory that replaced this one (store_memory(supersedes => ...)); NULL while current. Superseded memories leave searches unless a filter has "include_superseded": true.';
COMMENT ON COLUMN animus.memories.superseded_at IS 'When the memory was superseded (NULL while current).';
COMMENT ON COLUMN animus.memories.owner_role IS 'The role (pg_roles.oid) that stored the memory; with visibility private or groups, only it (and share_groups) see the memory.';
COMMENT ON COLUMN animus.memories.visibility IS 'Who of the readers of the namespace sees the memory: namespace (all, the default), private (owner_role only), groups (owner_role and members of share_groups).';
COMMENT ON COLUMN animus.memories.share_groups IS 'With visibility groups: the roles (pg_roles.oid) whose members see the memory.';

CREATE INDEX memories_expires_at ON animus.memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_superseded_by ON animus.memories (superseded_by) WHERE superseded_by IS NOT NULL;
-- Rows that carry state: memory_state_active() probes it once per search.
CREATE INDEX memories_with_state ON animus.memories (id) WHERE metadata ? '_animus';

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA216', 'memory_expiry_invalid', 'An expiry is in the past, a TTL is not positive, both expires_at and ttl are given, or a pinned memory is given an expiry.',
     'Pass expires_at in the future or a positive ttl (one of them), and no expiry with pinned => true.'),
    ('ZA217', 'memory_supersede_invalid', 'A memory cannot supersede itself, a memory of another namespace, or a memory that (transitively) supersedes it.',
     'Supersede older memories of the same namespace only.'),
    ('ZA218', 'memory_visibility_invalid', 'visibility is not namespace, private or groups, groups are given without visibility groups (or missing with it), or a role other than the owner changes them.',
     'Use visibility => ''private'', or visibility => ''groups'' with groups => ARRAY[''role'', ...].'),
    ('ZA219', 'memory_group_unknown', 'A group named in groups is not an existing role.',
     'Name existing roles (CREATE ROLE ... NOLOGIN); their members then see the memory.');

-- The state the predicate reads, from the columns. NULL while the row has the defaults.
CREATE FUNCTION animus.memory_state_of(expires_at timestamptz, superseded_by bigint, owner_role oid, visibility text, share_groups oid[])
    RETURNS jsonb
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'expires_at', expires_at,
           'superseded_by', superseded_by,
           'visibility', CASE WHEN visibility <> 'namespace' THEN visibility END,
           'owner', CASE WHEN visibility <> 'namespace' THEN owner_role::text END,
           'groups', CASE WHEN visibility = 'groups' THEN pg_catalog.to_jsonb(share_groups::text[]) END)),
       '{}'::jsonb);
COMMENT ON FUNCTION animus.memory_state_of(timestamptz, bigint, oid, text, oid[]) IS
    'Internal: the lifecycle and sharing state of a memory as mirrored into metadata->''_animus'' (NULL for the defaults). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_of(timestamptz, bigint, oid, text, oid[]) FROM PUBLIC;

CREATE FUNCTION animus.memory_state_mirror()
    RETURNS trigger
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb := animus.memory_state_of(NEW.expires_at, NEW.superseded_by, NEW.owner_role, NEW.visibility, NEW.share_groups);
BEGIN
    NEW.metadata := CASE WHEN state IS NULL THEN NEW.metadata - '_animus'
                         ELSE NEW.metadata || pg_catalog.jsonb_build_object('_animus', state) END;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION animus.memory_state_mirror() IS
    'Trigger of animus.memories: writes the row''s lifecycle and sharing state into metadata->''_animus'' (removes the key for the defaults), '
    'overwriting anything a caller stored there. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_mirror() FROM PUBLIC;

-- WHEN keeps rows without state (the bulk of a load) free of the PL/pgSQL call.
CREATE TRIGGER memories_state_mirror
    BEFORE INSERT OR UPDATE ON animus.memories
    FOR EACH ROW
    WHEN (NEW.expires_at IS NOT NULL OR NEW.superseded_by IS NOT NULL OR NEW.visibility <> 'namespace'
          OR NEW.metadata ? '_animus')
    EXECUTE FUNCTION animus.memory_state_mirror();

-- True when some memory carries state: only then do the searches pay for the state check.
CREATE FUNCTION animus.memory_state_active()
    RETURNS boolean
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT EXISTS (SELECT 1 FROM animus.memories AS m WHERE m.metadata ? '_animus');
$$;
COMMENT ON FUNCTION animus.memory_state_active() IS
    'True when at least one memory expires, is superseded or is not visible to its whole namespace (one probe of a partial index). '
    'Runs as the owner (SECURITY DEFINER); reveals one bit about the whole table. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_active() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_state_active() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Who is looking: NULL for callers that see every namespace (they see every memory), else the
-- caller's role OID and the OIDs of every role it is a member of (its groups).
CREATE FUNCTION animus.memory_viewer()
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    caller name := animus.memory_caller();
    me oid;
BEGIN
    IF '*' = ANY (animus.memory_scope('read')) THEN
        RETURN NULL;
    END IF;
    SELECT r.oid INTO me FROM pg_catalog.pg_roles AS r WHERE r.rolname = caller;
    RETURN pg_catalog.jsonb_build_object(
        'role', me::text,
        'groups', pg_catalog.to_jsonb(ARRAY(SELECT r.oid::text FROM pg_catalog.pg_roles AS r
                                             WHERE pg_catalog.pg_has_role(caller, r.oid, 'MEMBER') ORDER BY 1)));
END
$$;
COMMENT ON FUNCTION animus.memory_viewer() IS
    'Internal: the caller as the sharing rules see it: NULL when its read scope is every namespace (it sees every memory), else '
    '{"role": own OID, "groups": [OIDs of the roles it is a member of, itself included]}. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_viewer() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_viewer() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The row rule of the predicate, on the mirrored state s (metadata->'_animus') and the filter's
-- "state" entry st ({"include_superseded": bool, "viewer": memory_viewer() or absent}).
CREATE FUNCTION animus.memory_state_match(st jsonb, s jsonb)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    s IS NULL
    OR ((s -> 'superseded_by' IS NULL OR (st -> 'include_superseded') = 'true'::jsonb)
        AND (s -> 'expires_at' IS NULL OR (s ->> 'expires_at')::timestamptz > pg_catalog.now())
        AND (s -> 'visibility' IS NULL OR st -> 'viewer' IS NULL
             OR s ->> 'owner' = st #>> '{viewer,role}'
             OR (s ->> 'visibility' = 'groups'
                 AND (s -> 'groups') ?| ARRAY(SELECT pg_catalog.jsonb_array_elements_text(st #> '{viewer,groups}')))));
COMMENT ON FUNCTION animus.memory_state_match(jsonb, jsonb) IS
    'Internal to memory_filter_match: true when a memory with mirrored state s (metadata->''_animus'') is live (not expired, not '
    'superseded unless st.include_superseded) and visible to st.viewer (owner, member of a share group, or visibility namespace). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_match(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_state_match(jsonb, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The one place that says whether the caller may see a row (get_memory, links, chains, reviews).
CREATE FUNCTION animus.memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[],
                                          scope text[], viewer jsonb)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN ('*' = ANY (scope) OR namespace = ANY (scope))
   AND (visibility = 'namespace' OR viewer IS NULL
        OR owner_role::text = viewer ->> 'role'
        OR (visibility = 'groups'
            AND share_groups::text[] && ARRAY(SELECT pg_catalog.jsonb_array_elements_text(viewer -> 'groups'))));
COMMENT ON FUNCTION animus.memory_row_visible(text, text, oid, oid[], text[], jsonb) IS
    'Internal: true when a memory (namespace, visibility, owner_role, share_groups) is visible to a caller with read scope scope '
    'and viewer animus.memory_viewer(). Lifecycle state (expiry, supersession) is not considered. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_row_visible(text, text, oid, oid[], text[], jsonb) FROM PUBLIC;

-- Lifecycle of one memory, checked and applied (store_memory and update_memory_lifecycle).
CREATE FUNCTION animus.memory_apply_lifecycle(
    memory_id   bigint,
    expires_at  timestamptz,
    ttl         interval,
    pinned      boolean,
    supersedes  bigint[],
    visibility  text,
    groups      text[],
    scope       text[])
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    cur animus.memories%ROWTYPE;
    expiry timestamptz;
    group_oids oid[];
    bad bigint;
    bad_name text;
    viewer jsonb := animus.memory_viewer();
BEGIN
    SELECT m.* INTO STRICT cur FROM animus.memories AS m WHERE m.id = memory_id FOR UPDATE;
    IF expires_at IS NOT NULL AND ttl IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'expires_at and ttl must not both be given',
            DETAIL = format('expires_at = %s, ttl = %s', expires_at, ttl),
            HINT = 'Pass one of them: ttl => ''30 days'' or expires_at => a time in the future.';
    END IF;
    IF ttl IS NOT NULL AND ttl <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'ttl must be a positive interval',
            DETAIL = format('ttl = %s', ttl), HINT = 'Pass e.g. ttl => ''30 days''.';
    END IF;
    expiry := coalesce(expires_at, now() + ttl);
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'expires_at must be in the future',
            DETAIL = format('expires_at = %s, now = %s', expires_at, now()),
            HINT = 'Pass a time after now, or delete the memory instead.';
    END IF;
    IF expiry IS NOT NULL AND coalesce(pinned, cur.pinned) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'a pinned memory cannot expire (expires_at / ttl with pinned)',
            DETAIL = format('memory %s, expires_at = %s', memory_id, expiry),
            HINT = 'Unpin it (pinned => false) to give it an expiry.';
    END IF;
    IF (visibility IS NOT NULL OR groups IS NOT NULL) AND viewer IS NOT NULL AND cur.owner_role IS NOT NULL
       AND cur.owner_role::text <> viewer ->> 'role' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = pg_catalog.format('only the owner of memory %s changes its visibility', memory_id),
            HINT = 'Ask its owner (or an animus_admin) to share it.';
    END IF;
    IF visibility IS NOT NULL AND visibility NOT IN ('namespace', 'private', 'groups') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'visibility must be namespace, private or groups',
            DETAIL = format('visibility = %L', left(visibility, 40)),
            HINT = 'namespace: every reader of the namespace; private: you only; groups: you and members of groups.';
    END IF;
    IF (coalesce(visibility, cur.visibility) = 'groups') <> (groups IS NOT NULL OR (visibility IS NULL AND cardinality(cur.share_groups) > 0)) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'groups go with visibility ''groups'', and only with it',
            DETAIL = format('visibility = %L, groups = %s', coalesce(visibility, cur.visibility), groups),
            HINT = 'Pass visibility => ''groups'' with groups => ARRAY[''role'', ...].';
    END IF;
    IF groups IS NOT NULL THEN
        IF cardinality(groups) = 0 OR cardinality(groups) > 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'groups must name 1 to 100 roles',
                DETAIL = format('groups has %s names', cardinality(groups)),
                HINT = 'Share with a few group roles; make people members of them.';
        END IF;
        SELECT g INTO bad_name FROM unnest(groups) AS g
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.rolname = g) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA219', MESSAGE = format('groups names %L, which is not a role', left(bad_name, 80)),
                HINT = 'Name existing roles; their members see the memory.';
        END IF;
        group_oids := ARRAY(SELECT DISTINCT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY (groups) ORDER BY 1);
    END IF;
    IF supersedes IS NOT NULL THEN
        IF cardinality(supersedes) > 1000 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA215', MESSAGE = 'supersedes must hold at most 1000 ids',
                DETAIL = format('supersedes holds %s ids', cardinality(supersedes)), HINT = 'Supersede in several calls.';
        END IF;
        IF memory_id = ANY (supersedes) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217', MESSAGE = format('memory %s cannot supersede itself', memory_id),
                DETAIL = 'The stored content equals that of a memory in supersedes (the same memory).',
                HINT = 'Supersede older memories only.';
        END IF;
        -- unknown, invisible or not writable: reported as not found, like get_memory does
        SELECT s INTO bad FROM unnest(supersedes) AS s
         WHERE s IS NULL OR NOT EXISTS (
               SELECT 1 FROM animus.memories AS m
                WHERE m.id = s AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
                  AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer))
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = format('supersedes names memory %s, which does not exist', coalesce(bad::text, 'NULL')),
                HINT = 'Pass ids of memories you may write; nothing was stored.';
        END IF;
        SELECT m.id INTO bad FROM animus.memories AS m
         WHERE m.id = ANY (supersedes) AND m.namespace <> cur.namespace LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217',
                MESSAGE = format('memory %s is in another namespace than %L and cannot be superseded by it', bad, left(cur.namespace, 80)),
                HINT = 'A memory supersedes memories of its own namespace only.';
        END IF;
        -- a cycle: this memory is (transitively) superseded by one of them
        WITH RECURSIVE ahead (id) AS (
            SELECT m.superseded_by FROM animus.memories AS m WHERE m.id = memory_id AND m.superseded_by IS NOT NULL
            UNION
            SELECT m.superseded_by FROM animus.memories AS m JOIN ahead AS a ON m.id = a.id WHERE m.superseded_by IS NOT NULL
        )
        SELECT a.id INTO bad FROM ahead AS a WHERE a.id = ANY (supersedes) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217',
                MESSAGE = format('memory %s already supersedes memory %s (a supersession cycle)', bad, memory_id),
                HINT = 'Supersede older memories only.';
        END IF;
        UPDATE animus.memories AS m SET superseded_by = memory_id, superseded_at = now()
         WHERE m.id = ANY (supersedes) AND m.superseded_by IS DISTINCT FROM memory_id;
    END IF;
    UPDATE animus.memories AS m
       SET expires_at   = CASE WHEN coalesce(memory_apply_lifecycle.pinned, false) THEN NULL ELSE coalesce(expiry, m.expires_at) END,
           pinned       = coalesce(memory_apply_lifecycle.pinned, m.pinned),
           owner_role   = coalesce(m.owner_role, (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = animus.memory_caller())),
           visibility   = coalesce(memory_apply_lifecycle.visibility, m.visibility),
           share_groups = CASE WHEN coalesce(memory_apply_lifecycle.visibility, m.visibility) = 'groups'
                               THEN coalesce(group_oids, m.share_groups) ELSE '{}' END
     WHERE m.id = memory_id;
END
$$;
COMMENT ON FUNCTION animus.memory_apply_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], text[]) IS
    'Internal to store_memory and update_memory_lifecycle: checks and sets expiry, pinning, supersession and sharing of memory memory_id '
    '(the caller''s write scope is scope). Granted to nobody. Raises ZA207, ZA215, ZA216, ZA217, ZA218, ZA219.';
REVOKE ALL ON FUNCTION animus.memory_apply_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], text[]) FROM PUBLIC;

CREATE FUNCTION animus.update_memory_lifecycle(
    id          bigint      DEFAULT NULL,
    expires_at  timestamptz DEFAULT NULL,
    ttl         interval    DEFAULT NULL,
    pinned      boolean     DEFAULT NULL,
    supersedes  bigint[]    DEFAULT NULL,
    visibility  text        DEFAULT NULL,
    groups      text[]      DEFAULT NULL,
    clear_expiry boolean    DEFAULT false)
    RETURNS SETOF animus.memories
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF update_memory_lifecycle.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = update_memory_lifecycle.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', update_memory_lifecycle.id),
            HINT = 'Check the id (store_memory returns it); the memory may have been deleted.';
    END IF;
    IF clear_expiry THEN
        UPDATE animus.memories AS m SET expires_at = NULL WHERE m.id = update_memory_lifecycle.id;
    END IF;
    PERFORM animus.memory_apply_lifecycle(update_memory_lifecycle.id, update_memory_lifecycle.expires_at,
                                          update_memory_lifecycle.ttl, update_memory_lifecycle.pinned,
                                          update_memory_lifecycle.supersedes, update_memory_lifecycle.visibility,
                                          update_memory_lifecycle.groups, scope);
    UPDATE animus.memories AS m SET updated_at = pg_catalog.now() WHERE m.id = update_memory_lifecycle.id;
    RETURN QUERY SELECT m.* FROM animus.memories AS m WHERE m.id = update_memory_lifecycle.id;
END
$$;
COMMENT ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) IS
    'Changes the lifecycle and sharing of memory id and returns the row: expires_at or ttl (from now), clear_expiry, pinned (a pinned '
    'memory loses its expiry), supersedes (older memories of its namespace it replaces), visibility (namespace, private, groups) with groups '
    '(role names). NULL leaves a field as it is. Only memories of the caller''s write scope that it sees; runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA207 (no such memory), ZA215, ZA216 (expiry in the past, ttl <= 0, both given, pinned), ZA217 (supersede itself, '
    'another namespace, a cycle), ZA218 (visibility/groups), ZA219 (unknown group role).';
REVOKE ALL ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) TO animus_memory_writer, animus_admin;

-- Retention: expired memories are out of every search at once; this deletes them later.
CREATE FUNCTION animus.purge_expired_memories(
    namespace  text     DEFAULT NULL,
    grace      interval DEFAULT '0',
    max_rows   integer  DEFAULT 10000)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    n bigint;
BEGIN
    IF grace IS NULL OR grace < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'grace must be an interval >= 0',
            DETAIL = pg_catalog.format('grace = %s', grace), HINT = 'Pass e.g. grace => ''7 days'' to keep expired memories a week.';
    END IF;
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'max_rows must be between 1 and 100000',
            DETAIL = pg_catalog.format('max_rows = %s', max_rows), HINT = 'Call again until it returns 0.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id IN (SELECT x.id FROM animus.memories AS x
                     WHERE x.expires_at <= pg_catalog.now() - grace AND NOT x.pinned
                       AND (purge_expired_memories.namespace IS NULL OR x.namespace = purge_expired_memories.namespace)
                       AND ('*' = ANY (scope) OR x.namespace = ANY (scope))
                     ORDER BY x.expires_at
                     LIMIT max_rows
                       FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.purge_expired_memories(text, interval, integer) IS
    'Retention: deletes up to max_rows memories that expired at least grace ago (never pinned ones), in the caller''s write scope '
    '(and namespace, when given); returns how many. Their links go with them. Skips rows locked by others; call until it returns 0. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA002 (grace < 0, max_rows outside 1..100000).';
REVOKE ALL ON FUNCTION animus.purge_expired_memories(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_expired_memories(text, interval, integer) TO animus_memory_writer, animus_admin;

-- A chain of supersessions: the current memory at its head (generation 0), then what it
-- superseded (generation 1), what those superseded, ...; cycle-safe (a cycle cannot be built,
-- but the walk does not rely on it).
CREATE FUNCTION animus.memory_chain(id bigint DEFAULT NULL)
    RETURNS TABLE (memory_id bigint, generation integer, superseded_by bigint, superseded_at timestamptz,
                   content text, created_at timestamptz, expires_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    head bigint;
BEGIN
    IF memory_chain.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id of any memory of the chain.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = memory_chain.id
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', memory_chain.id),
            HINT = 'Check the id; the memory may have been deleted.';
    END IF;
    WITH RECURSIVE up (mid, n) AS (
        SELECT memory_chain.id, 0
        UNION ALL
        SELECT m.superseded_by, u.n + 1 FROM up AS u JOIN animus.memories AS m ON m.id = u.mid
         WHERE m.superseded_by IS NOT NULL AND u.n < 10000
    ) CYCLE mid SET is_cycle USING path
    SELECT u.mid INTO head FROM up AS u WHERE NOT u.is_cycle ORDER BY u.n DESC LIMIT 1;
    RETURN QUERY
    WITH RECURSIVE down (mid, g) AS (
        SELECT head, 0
        UNION ALL
        SELECT m.id, d.g + 1 FROM down AS d JOIN animus.memories AS m ON m.superseded_by = d.mid
         WHERE d.g < 10000
    ) CYCLE mid SET is_cycle USING path
    SELECT m.id, d.g, m.superseded_by, m.superseded_at, m.content, m.created_at, m.expires_at
      FROM down AS d JOIN animus.memories AS m ON m.id = d.mid
     WHERE NOT d.is_cycle
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
     ORDER BY d.g, m.created_at, m.id;
END
$$;
COMMENT ON FUNCTION animus.memory_chain(bigint) IS
    'The supersession chain of memory id: the current memory at its head (generation 0), then the memories it superseded '
    '(generation 1), theirs (2), ...; only memories the caller sees (read scope and sharing). Superseded and expired memories stay '
    'listed until deleted. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (no such memory).';
REVOKE ALL ON FUNCTION animus.memory_chain(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_chain(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
