-- Deploy animus:memory_store to pg
-- requires: memory_store@v0.6.0
-- requires: memory_lifecycle

BEGIN;

-- Lifecycle and sharing on the write paths (docs/memory-lifecycle.md): store_memory takes
-- expires_at / ttl, pinned, supersedes, visibility and groups (a new signature: the old one is
-- dropped, an overload would make every call by name ambiguous); get_memory, update_memory,
-- delete_memory and delete_memories treat a memory private to another role as missing. The
-- caller's role becomes the owner of what store_memory creates.
DROP FUNCTION animus.store_memory(text, vector, text, text, jsonb, text);

CREATE FUNCTION animus.store_memory(
    content      text        DEFAULT NULL,
    embedding    vector      DEFAULT NULL,
    memory_type  text        DEFAULT NULL,
    source       text        DEFAULT NULL,
    metadata     jsonb       DEFAULT '{}',
    namespace    text        DEFAULT 'default',
    expires_at   timestamptz DEFAULT NULL,
    ttl          interval    DEFAULT NULL,
    pinned       boolean     DEFAULT NULL,
    supersedes   bigint[]    DEFAULT NULL,
    visibility   text        DEFAULT NULL,
    groups       text[]      DEFAULT NULL)
    RETURNS TABLE (id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[];
    viewer jsonb := animus.memory_viewer();
    new_id bigint;
    is_new boolean;
    other bigint;
BEGIN
    PERFORM animus.memory_check_fields(store_memory.content, store_memory.memory_type,
                                       store_memory.namespace, store_memory.metadata);
    PERFORM animus.memory_check_embedding(store_memory.embedding);
    scope := animus.memory_write_scope();
    IF NOT ('*' = ANY (scope) OR store_memory.namespace = ANY (scope)) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('namespace %L is not in the caller''s write scope', pg_catalog.left(store_memory.namespace, 80)),
            HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
    END IF;
    -- The same content as a memory the caller does not see (private to another role): refuse
    -- rather than overwrite it.
    IF viewer IS NOT NULL THEN
        SELECT m.id INTO other FROM animus.memories AS m
         WHERE m.namespace = store_memory.namespace
           AND m.content_hash = animus.memory_content_hash(store_memory.content)
           AND NOT animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer);
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('another memory of namespace %L, not shared with you, has this content', pg_catalog.left(store_memory.namespace, 80)),
                HINT = 'Store it in another namespace, or ask its owner to share it.';
        END IF;
    END IF;
    -- One race-free statement: a second store of the same content in the same namespace
    -- updates the row (xmax <> 0 on the returned row means the conflict branch ran).
    INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding, owner_role)
    VALUES (store_memory.namespace, store_memory.content, store_memory.memory_type, store_memory.source,
            coalesce(store_memory.metadata, '{}'), store_memory.embedding,
            (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = animus.memory_caller()))
    ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
       SET memory_type = EXCLUDED.memory_type,
           source      = EXCLUDED.source,
           metadata    = EXCLUDED.metadata,
           embedding   = EXCLUDED.embedding,
           updated_at  = pg_catalog.now()
    RETURNING m.id, m.xmax OPERATOR(pg_catalog.=) 0 INTO new_id, is_new;
    IF store_memory.expires_at IS NOT NULL OR store_memory.ttl IS NOT NULL OR store_memory.pinned IS NOT NULL
       OR store_memory.supersedes IS NOT NULL OR store_memory.visibility IS NOT NULL OR store_memory.groups IS NOT NULL THEN
        PERFORM animus.memory_apply_lifecycle(new_id, store_memory.expires_at, store_memory.ttl, store_memory.pinned,
                                              store_memory.supersedes, store_memory.visibility, store_memory.groups, scope);
    END IF;
    RETURN QUERY SELECT new_id, is_new;
END
$$;
COMMENT ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) IS
    'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory '
    '(memory_type, source, metadata, embedding, updated_at) and returns created = false. '
    'Lifecycle (docs/memory-lifecycle.md): expires_at or ttl (from now; out of every search once passed), pinned (never expires), '
    'supersedes (ids of older memories of the namespace this one replaces; they leave searches), visibility (namespace, the default; '
    'private; groups, with groups => role names); the caller''s role is the owner. '
    'Only into a namespace of the caller''s write scope (animus.memory_scope(''write'')); runs as the owner (SECURITY DEFINER). '
    'Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content), '
    'ZA207 (a superseded id that does not exist), ZA211 (the content of a memory not shared with the caller), ZA214, ZA215, '
    'ZA216 (expiry in the past, ttl <= 0, both, or with pinned), ZA217 (supersede itself, another namespace, a cycle), '
    'ZA218 (visibility, groups), ZA219 (unknown group), 42501 (namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m
                  WHERE m.id = get_memory.id
                    AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
END
$$;
COMMENT ON FUNCTION animus.get_memory(bigint) IS
    'The memory with this id, as the table row; no row if there is none, it is outside the caller''s read scope (animus.memory_scope(''read'')) or private to another role '
    '(visibility private, or groups the caller is not a member of). Expired and superseded memories are returned (see expires_at, superseded_by) until deleted. '
    'Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.get_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_memory(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.update_memory(
    id           bigint DEFAULT NULL,
    content      text   DEFAULT NULL,
    embedding    vector DEFAULT NULL,
    memory_type  text   DEFAULT NULL,
    source       text   DEFAULT NULL,
    metadata     jsonb  DEFAULT NULL,
    namespace    text   DEFAULT NULL)
    RETURNS SETOF animus.memories
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    cur animus.memories%ROWTYPE;
    other bigint;
    scope text[] := animus.memory_write_scope();
BEGIN
    IF update_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    -- A memory outside the write scope is "not found", exactly as a missing id.
    SELECT m.* INTO cur FROM animus.memories AS m
     WHERE m.id = update_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer())
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', update_memory.id),
            HINT = 'Check the id (store_memory returns it); the memory may have been deleted.';
    END IF;
    PERFORM animus.memory_check_fields(coalesce(update_memory.content, cur.content),
                                       coalesce(update_memory.memory_type, cur.memory_type),
                                       coalesce(update_memory.namespace, cur.namespace),
                                       update_memory.metadata);
    IF update_memory.embedding IS NOT NULL THEN
        PERFORM animus.memory_check_embedding(update_memory.embedding);
    ELSIF update_memory.content IS DISTINCT FROM cur.content AND update_memory.content IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding must be given when content changes',
            HINT = 'Pass the embedding of the new content in the same call.';
    END IF;
    -- Before the duplicate check, which must not probe a namespace the caller may not write.
    IF update_memory.namespace IS NOT NULL AND NOT ('*' = ANY (scope) OR update_memory.namespace = ANY (scope)) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('namespace %L is not in the caller''s write scope', pg_catalog.left(update_memory.namespace, 80)),
            HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
    END IF;
    IF update_memory.content IS NOT NULL OR update_memory.namespace IS NOT NULL THEN
        SELECT m.id INTO other FROM animus.memories AS m
         WHERE m.namespace = coalesce(update_memory.namespace, cur.namespace)
           AND m.content_hash = animus.memory_content_hash(coalesce(update_memory.content, cur.content))
           AND m.id <> cur.id;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('memory %s would have the same content as memory %s in namespace %s',
                                 cur.id, other, coalesce(update_memory.namespace, cur.namespace)),
                DETAIL = pg_catalog.format('other id: %s', other),
                HINT = 'Update or delete the other memory instead.';
        END IF;
    END IF;
    RETURN QUERY
    UPDATE animus.memories AS m
       SET content     = coalesce(update_memory.content, m.content),
           embedding   = coalesce(update_memory.embedding, m.embedding),
           memory_type = coalesce(update_memory.memory_type, m.memory_type),
           source      = coalesce(update_memory.source, m.source),
           metadata    = coalesce(update_memory.metadata, m.metadata),
           namespace   = coalesce(update_memory.namespace, m.namespace),
           updated_at  = pg_catalog.now()
     WHERE m.id = cur.id
    RETURNING m.*;
EXCEPTION WHEN unique_violation THEN
    -- a concurrent writer took the (namespace, content) between the check and the update
    RAISE EXCEPTION USING ERRCODE = 'ZA211',
        MESSAGE = pg_catalog.format('memory %s would have the same content as another memory of its namespace', update_memory.id),
        HINT = 'Update or delete the other memory instead.';
END
$$;
COMMENT ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) IS
    'Changes the non-NULL fields of memory id (metadata is replaced, not merged) and sets updated_at; returns the new row. '
    'New content needs its embedding in the same call. Only memories (and a new namespace) of the caller''s write scope that it sees (not private to another role); '
    'runs as the owner (SECURITY DEFINER). Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory in the write scope), '
    'ZA211 (another memory of the namespace has that content), 42501 (new namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.delete_memory(id bigint DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
BEGIN
    IF delete_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = delete_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.delete_memory(bigint) IS
    'Deletes memory id; true if it existed in the caller''s write scope and was not private to another role, false otherwise. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memory(bigint) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
    scope text[] := animus.memory_write_scope();
BEGIN
    IF ids IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'ids must not be NULL', HINT = 'Pass an array of memory ids.';
    END IF;
    IF pg_catalog.cardinality(ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA215', MESSAGE = 'ids must hold at most 10000 ids',
            DETAIL = pg_catalog.format('ids holds %s ids; nothing was deleted', pg_catalog.cardinality(ids)),
            HINT = 'Delete in batches of at most 10000 ids.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = ANY (delete_memories.ids) AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.delete_memories(bigint[]) IS
    'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. '
    'At most 10,000 ids a call. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA215 (more than 10,000 ids).';
REVOKE ALL ON FUNCTION animus.delete_memories(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memories(bigint[]) TO animus_memory_writer, animus_admin;

COMMIT;
