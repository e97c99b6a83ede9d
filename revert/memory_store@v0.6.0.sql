-- Revert animus:memory_store from pg (back to memory_store@v0.4.0)

BEGIN;

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- The v0.4.0 functions, with search_path as change security_search_path pinned it (pg_temp last).
CREATE OR REPLACE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'content must not be NULL',
            HINT = 'Pass the text of the memory.';
    END IF;
    IF pg_catalog.btrim(content) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA203', MESSAGE = 'content must not be empty',
            DETAIL = pg_catalog.format('content = %L', pg_catalog.left(content, 40)),
            HINT = 'Store non-empty text.';
    END IF;
    IF memory_type IS NULL OR memory_type = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'memory_type must be a non-empty string',
            HINT = 'Pass a type such as ''fact'', ''episode'' or ''preference''.';
    END IF;
    IF namespace IS NULL OR namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default'', or pass the agent, user or tenant the memory belongs to.';
    END IF;
    IF metadata IS NOT NULL AND pg_catalog.jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'metadata must be a JSON object',
            DETAIL = pg_catalog.format('metadata = %s', pg_catalog.left(metadata::text, 200)),
            HINT = 'Pass an object such as {"topic": "billing"}, or omit it.';
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) IS
    'Raises unless content, memory_type and namespace are non-empty and metadata is an object (or NULL). '
    'Raises ZA001, ZA203, ZA003.';
REVOKE ALL ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.memory_store_batch(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    bad record;
    err_message text;
    dim integer;
    scope text[];
BEGIN
    IF memories IS NULL OR jsonb_typeof(memories) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA208',
            MESSAGE = 'memories must be a JSON array of memory objects',
            DETAIL = format('memories is %s', coalesce(jsonb_typeof(memories), 'NULL')),
            HINT = 'Pass [{"content": "...", "embedding": [...], "memory_type": "..."}, ...].';
    END IF;
    IF memory_store_batch.namespace IS NULL OR memory_store_batch.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default''; an element''s own "namespace" overrides it.';
    END IF;

    -- Shape of every element: one boolean expression per element (no number is parsed for string
    -- embeddings); only when it fails, the query below names the first bad element and why.
    IF NOT (SELECT coalesce(bool_and(coalesce(
                jsonb_typeof(a.e) = 'object'
                AND (a.e - ARRAY['content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace']) = '{}'::jsonb
                AND jsonb_typeof(a.e -> 'content') = 'string' AND btrim(a.e ->> 'content') <> ''
                AND jsonb_typeof(a.e -> 'memory_type') = 'string' AND a.e ->> 'memory_type' <> ''
                AND coalesce(jsonb_typeof(a.e -> 'source'), 'null') IN ('string', 'null')
                AND coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') = 'object'
                AND (NOT a.e ? 'namespace' OR (jsonb_typeof(a.e -> 'namespace') = 'string' AND a.e ->> 'namespace' <> ''))
                AND (jsonb_typeof(a.e -> 'embedding') = 'string'
                     OR (jsonb_typeof(a.e -> 'embedding') = 'array'
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))),
                false)), true)
              FROM jsonb_array_elements(memories) AS a(e)) THEN
        SELECT a.ord, p.code, p.problem INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         CROSS JOIN LATERAL (
            SELECT c.code, c.problem FROM (VALUES
                (1, 'ZA208', 'is not a JSON object', jsonb_typeof(a.e) <> 'object'),
                (2, 'ZA208', 'has an unknown key (known: content, embedding, memory_type, source, metadata, namespace)',
                    jsonb_typeof(a.e) = 'object' AND EXISTS (
                        SELECT 1 FROM jsonb_object_keys(a.e) AS k
                         WHERE k NOT IN ('content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace'))),
                (3, 'ZA208', 'needs "content" as a string', jsonb_typeof(a.e -> 'content') IS DISTINCT FROM 'string'),
                (4, 'ZA203', 'has empty content', btrim(a.e ->> 'content') = ''),
                (5, 'ZA208', 'needs "memory_type" as a non-empty string',
                    jsonb_typeof(a.e -> 'memory_type') IS DISTINCT FROM 'string' OR a.e ->> 'memory_type' = ''),
                (6, 'ZA208', 'has a "source" that is not a string',
                    coalesce(jsonb_typeof(a.e -> 'source'), 'null') NOT IN ('string', 'null')),
                (7, 'ZA208', 'has "metadata" that is not an object',
                    coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') <> 'object'),
                (8, 'ZA208', 'has a "namespace" that is not a non-empty string',
                    a.e ? 'namespace' AND (jsonb_typeof(a.e -> 'namespace') <> 'string' OR a.e ->> 'namespace' = '')),
                (9, 'ZA208', 'needs "embedding" as an array of numbers or a string "[0.1,...]"',
                    coalesce(jsonb_typeof(a.e -> 'embedding'), 'null') NOT IN ('array', 'string')),
                (10, 'ZA201', 'has an embedding component that is not a number (NaN, Infinity, a string, null)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')),
                (11, 'ZA201', 'has an embedding component beyond the float4 range (infinite)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))
            ) AS c(n, code, problem, failed)
            WHERE c.failed IS TRUE
            ORDER BY c.n
            LIMIT 1) AS p
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = bad.code,
                MESSAGE = format('memories[%s] %s', bad.ord, bad.problem),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = CASE bad.code
                       WHEN 'ZA201' THEN 'Every embedding component must be a finite number.'
                       WHEN 'ZA203' THEN 'Store non-empty text.'
                       ELSE 'Each element is {"content": "...", "embedding": [...], "memory_type": "...", "source"?, "metadata"?, "namespace"?}.'
                       END;
        END IF;
    END IF;

    -- Every element's namespace must be in the caller's write scope (the session's role: this
    -- runs inside the SECURITY DEFINER store_memories, as the owner).
    scope := animus.memory_write_scope();
    IF NOT '*' = ANY (scope) THEN
        SELECT a.ord, coalesce(a.e ->> 'namespace', memory_store_batch.namespace) AS ns INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         WHERE NOT coalesce(a.e ->> 'namespace', memory_store_batch.namespace) = ANY (scope)
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('memories[%s] is for namespace %L, which is not in the caller''s write scope', bad.ord, left(bad.ns, 80)),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
        END IF;
    END IF;

    -- Repeats are found by (namespace, content), not by the content hash: equal texts have equal
    -- hashes, and the table computes the hash once (its generated column) instead of twice; byte order
    -- ("C") sorts them without the collation's cost.
    -- Dimension and zero vector are checked per row while the INSERT reads its input: two C calls
    -- per row; memory_check_embedding (which raises ZA200 / ZA202 naming the element) runs only
    -- for a bad row (calling it for every row cost ~15 % of the load).
    SELECT s.embedding_dim INTO dim FROM animus.memory_settings AS s;
    BEGIN
        -- input is MATERIALIZED: inlined, every reference to emb below would parse the vector
        -- text again (three parses per row: 45 % of the load's CPU, measured).
        RETURN QUERY
        WITH input AS MATERIALIZED (
            SELECT a.ord::integer AS ord,
                   coalesce(a.e ->> 'namespace', memory_store_batch.namespace) AS ns,
                   a.e ->> 'content' AS body,
                   a.e ->> 'memory_type' AS mtype,
                   a.e ->> 'source' AS src,
                   coalesce(a.e -> 'metadata', '{}') AS meta,
                   CASE jsonb_typeof(a.e -> 'embedding')
                   WHEN 'string' THEN (a.e ->> 'embedding')::vector
                   ELSE (a.e -> 'embedding')::text::vector END AS emb
              FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
        ), checked AS MATERIALIZED (
            SELECT i.*,
                   CASE WHEN vector_dims(i.emb) <> dim OR vector_norm(i.emb) = 0
                        THEN animus.memory_check_embedding(i.emb, format('memories[%s].embedding', i.ord)) END AS ok
              FROM input AS i
        ), last_of_each AS (
            SELECT DISTINCT ON (c.ns COLLATE "C", c.body COLLATE "C") c.*
              FROM checked AS c ORDER BY c.ns COLLATE "C", c.body COLLATE "C", c.ord DESC
        ), written AS (
            INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
            SELECT l.ns, l.body, l.mtype, l.src, l.meta, l.emb
              FROM last_of_each AS l ORDER BY l.ord
            ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
               SET memory_type = EXCLUDED.memory_type,
                   source      = EXCLUDED.source,
                   metadata    = EXCLUDED.metadata,
                   embedding   = EXCLUDED.embedding,
                   updated_at  = now()
            RETURNING m.id, m.namespace, m.content, m.xmax = 0 AS is_new
        )
        SELECT c.ord, w.id, w.is_new
          FROM checked AS c JOIN written AS w ON w.namespace = c.ns AND w.content = c.body
         ORDER BY c.ord;
    EXCEPTION WHEN data_exception THEN
        -- pgvector rejected an embedding (NaN, Infinity, beyond float4, malformed string).
        GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT;
        SELECT a.ord INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         WHERE jsonb_typeof(a.e -> 'embedding') = 'string'
           AND NOT animus.memory_parses_as_vector(a.e ->> 'embedding')
         ORDER BY a.ord LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = 'ZA201',
            MESSAGE = format('memories[%s] has an embedding that is not a vector of finite numbers',
                             coalesce(bad.ord::text, '?')),
            DETAIL = format('pgvector: %s. Nothing was stored.', err_message),
            HINT = 'Every embedding component must be a finite number; the string form is "[0.1,0.2,...]".';
    END;
END
$$;
COMMENT ON FUNCTION animus.memory_store_batch(jsonb, text) IS
    'The body of animus.store_memories (which see), apart so that store_memories can be SECURITY DEFINER with search_path = '''' '
    'while this parses vectors with pgvector''s schema on its search_path. Granted to nobody: only store_memories calls it, as the owner. '
    'Raises ZA001, ZA200, ZA201, ZA202, ZA203, ZA208, 42501 (a namespace outside the caller''s write scope).';
REVOKE ALL ON FUNCTION animus.memory_store_batch(jsonb, text) FROM PUBLIC;

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
    DELETE FROM animus.memories AS m
     WHERE m.id = ANY (delete_memories.ids) AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.delete_memories(bigint[]) IS
    'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memories(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memories(bigint[]) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SECURITY INVOKER
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m WHERE m.id = get_memory.id;
END
$$;
COMMENT ON FUNCTION animus.get_memory(bigint) IS
    'The memory with this id, as the table row (no row if there is none or it is not visible to the caller). Read-only (STABLE). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.get_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_memory(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

DROP FUNCTION animus.memory_is_blank(text);
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA214', 'ZA215');

COMMIT;
