-- Deploy animus:memory_store to pg
-- requires: memory_store@v0.7.0
-- requires: memory_lifecycle

BEGIN;

-- store_memories (the batch form) takes the lifecycle and sharing keys store_memory takes, per
-- element: expires_at (a timestamp string), ttl (an interval string such as "2 hours", or a
-- number of seconds), pinned (boolean), supersedes (array of ids), visibility (string), groups
-- (array of role names). They are checked as store_memory checks them (animus.memory_apply_lifecycle),
-- and an error names the element (memories[N], counting from 1); nothing is written when one
-- element is bad. Batches without such keys take the load path of before unchanged.
-- Like store_memory, a batch no longer overwrites a memory the caller does not see (private to
-- another role) that has the same content: ZA211 names the element.
CREATE OR REPLACE FUNCTION animus.store_memories(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    life_keys constant text[] := ARRAY['expires_at', 'ttl', 'pinned', 'supersedes', 'visibility', 'groups'];
    viewer jsonb;
    scope text[];
    bad record;
    cur_ord bigint;
    st text;
    msg text;
    det text;
    hnt text;
    r record;
    out_ordinals integer[];
    out_ids bigint[];
    out_created boolean[];
BEGIN
    IF memories IS NULL OR pg_catalog.jsonb_typeof(memories) <> 'array' THEN
        RETURN QUERY SELECT b.ordinal, b.id, b.created
                       FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
        RETURN;   -- (it raises ZA208)
    END IF;
    -- The content of a memory the caller does not see: refuse rather than overwrite it. Only
    -- callers with a viewer (not every namespace) when some memory is not namespace-visible.
    viewer := animus.memory_viewer();
    IF viewer IS NOT NULL AND animus.memory_state_active() THEN
        scope := animus.memory_scope('read');
        SELECT a.ord INTO bad
          FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
          JOIN animus.memories AS m
            ON m.namespace = coalesce(a.e ->> 'namespace', store_memories.namespace)
           AND m.content_hash = animus.memory_content_hash(a.e ->> 'content')
         WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND pg_catalog.jsonb_typeof(a.e -> 'content') = 'string'
           AND m.visibility <> 'namespace'
           AND NOT animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('memories[%s]: another memory of its namespace, not shared with you, has this content', bad.ord),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = 'Store it in another namespace, or ask its owner to share it.';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(memories) AS a(e)
                    WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND a.e ?| life_keys) THEN
        RETURN QUERY SELECT b.ordinal, b.id, b.created
                       FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
        RETURN;
    END IF;

    -- The shape of the lifecycle keys, first bad element named.
    SELECT a.ord, p.problem INTO bad
      FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
     CROSS JOIN LATERAL (
        SELECT c.problem FROM (VALUES
            (1, 'has "expires_at" that is not a timestamp string',
                a.e ? 'expires_at' AND NOT animus.memory_is_timestamptz(a.e -> 'expires_at')),
            (2, 'has "ttl" that is not an interval string or a number of seconds',
                a.e ? 'ttl' AND NOT animus.memory_is_interval(a.e -> 'ttl')),
            (3, 'has "pinned" that is not true or false',
                a.e ? 'pinned' AND pg_catalog.jsonb_typeof(a.e -> 'pinned') NOT IN ('boolean', 'null')),
            (4, 'has "supersedes" that is not an array of memory ids',
                a.e ? 'supersedes' AND (pg_catalog.jsonb_typeof(a.e -> 'supersedes') <> 'array'
                    OR pg_catalog.jsonb_path_exists(a.e -> 'supersedes', '$[*] ? (@.type() != "number" || @ != @.floor())'))),
            (5, 'has "visibility" that is not a string',
                a.e ? 'visibility' AND pg_catalog.jsonb_typeof(a.e -> 'visibility') NOT IN ('string', 'null')),
            (6, 'has "groups" that is not an array of role names',
                a.e ? 'groups' AND (pg_catalog.jsonb_typeof(a.e -> 'groups') NOT IN ('array', 'null')
                    OR pg_catalog.jsonb_path_exists(a.e -> 'groups', '$[*] ? (@.type() != "string")')))
        ) AS c(n, problem, failed)
        WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND c.failed
        ORDER BY c.n
        LIMIT 1) AS p
     ORDER BY a.ord
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA208',
            MESSAGE = pg_catalog.format('memories[%s] %s', bad.ord, bad.problem),
            DETAIL = 'Nothing was stored (positions count from 1).',
            HINT = 'Lifecycle keys: "expires_at": "2026-12-31T00:00:00Z", "ttl": "2 hours" or 7200, "pinned": true, '
                   '"supersedes": [12, 13], "visibility": "private" | "groups" | "namespace", "groups": ["role"].';
    END IF;

    scope := animus.memory_write_scope();
    SELECT pg_catalog.array_agg(b.ordinal ORDER BY b.ordinal), pg_catalog.array_agg(b.id ORDER BY b.ordinal),
           pg_catalog.array_agg(b.created ORDER BY b.ordinal)
      INTO out_ordinals, out_ids, out_created
      FROM animus.memory_store_batch(
               (SELECT pg_catalog.jsonb_agg(CASE WHEN pg_catalog.jsonb_typeof(a.e) = 'object' THEN a.e - life_keys ELSE a.e END
                                            ORDER BY a.ord)
                  FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)),
               store_memories.namespace) AS b;
    -- One subtransaction for every element's lifecycle; an error names the element being applied.
    BEGIN
        FOR r IN
            SELECT o.ordinal AS ord, o.id, a.e
              FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
              JOIN unnest(out_ordinals, out_ids) AS o(ordinal, id) ON o.ordinal = a.ord
             WHERE a.e ?| life_keys
             ORDER BY a.ord
        LOOP
            cur_ord := r.ord;
            PERFORM animus.memory_apply_lifecycle(
                r.id,
                (r.e ->> 'expires_at')::timestamptz,
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'ttl') = 'number'
                     THEN pg_catalog.make_interval(secs => (r.e ->> 'ttl')::double precision)
                     ELSE (r.e ->> 'ttl')::interval END,
                (r.e ->> 'pinned')::boolean,
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'supersedes') = 'array'
                     THEN ARRAY(SELECT x::bigint FROM pg_catalog.jsonb_array_elements_text(r.e -> 'supersedes') AS x) END,
                r.e ->> 'visibility',
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'groups') = 'array'
                     THEN ARRAY(SELECT x FROM pg_catalog.jsonb_array_elements_text(r.e -> 'groups') AS x) END,
                scope);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = pg_catalog.format('memories[%s]: %s', cur_ord, msg),
            DETAIL = pg_catalog.concat_ws('. ', nullif(det, ''), 'Nothing was stored (positions count from 1).'),
            HINT = coalesce(nullif(hnt, ''), 'Fix that element and store the batch again.');
    END;
    RETURN QUERY SELECT o.ordinal, o.id, o.created FROM unnest(out_ordinals, out_ids, out_created) AS o(ordinal, id, created);
END
$$;
COMMENT ON FUNCTION animus.store_memories(jsonb, text) IS
    'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, '
    'namespace?, expires_at?, ttl?, pinned?, supersedes?, visibility?, groups?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; '
    'namespace is the default for elements without one. The lifecycle keys are those of store_memory (ttl an interval string or seconds), '
    'checked as store_memory checks them. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. '
    'Nothing is written if one element is bad; the error names it (memories[N]). Only into namespaces of the caller''s write scope; '
    'runs as the owner (SECURITY DEFINER). Elements with lifecycle keys get the caller as owner. '
    'Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), '
    'ZA207 (a superseded id that does not exist), ZA208 (malformed element), ZA211 (the content of a memory not shared with the caller), '
    'ZA215, ZA216 (expiry), ZA217 (supersession), ZA218 (visibility, groups), ZA219 (unknown group), 42501 (a namespace outside the write scope).';

-- Shape checks of the lifecycle keys: true when a JSON value converts.
CREATE FUNCTION animus.memory_is_timestamptz(value jsonb)
    RETURNS boolean
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        RETURN true;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        RETURN false;
    END IF;
    PERFORM (value #>> '{}')::timestamptz;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION animus.memory_is_timestamptz(jsonb) IS
    'Internal to store_memories: true when value is JSON null or a string that converts to timestamptz. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_is_timestamptz(jsonb) FROM PUBLIC;

CREATE FUNCTION animus.memory_is_interval(value jsonb)
    RETURNS boolean
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        RETURN true;
    END IF;
    IF jsonb_typeof(value) = 'number' THEN
        RETURN (value #>> '{}')::double precision BETWEEN -1e12 AND 1e12;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        RETURN false;
    END IF;
    PERFORM (value #>> '{}')::interval;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION animus.memory_is_interval(jsonb) IS
    'Internal to store_memories: true when value is JSON null, a number of seconds, or a string that converts to interval. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_is_interval(jsonb) FROM PUBLIC;

COMMIT;
