-- Deploy animus:memory_store to pg
-- requires: memory_table

BEGIN;

-- Functions that use pgvector's type and operators run with search_path = pg_catalog plus the
-- schema pgvector is installed in (read here, at deploy time); every animus name is qualified.
--
-- The write functions (store_memory, store_memories, update_memory, delete_memory,
-- delete_memories) are SECURITY DEFINER with search_path = '': no role but the owner writes
-- animus.memories directly. They confine the caller to its write scope themselves
-- (animus.memory_write_scope(), which judges the session's role, never current_user), because
-- an owner that is a superuser is not subject to row-level security; for an owner that is not,
-- the forced policies of security_memory_rls check the same scope a second time.
SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- The namespaces the write functions may change for the caller. Every namespace until change
-- security_memory_rls replaces the body with animus.memory_scope('write') (and its revert puts
-- this one back). Granted to nobody: the SECURITY DEFINER write functions call it as the owner.
CREATE FUNCTION animus.memory_write_scope()
    RETURNS text[]
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT ARRAY['*']::text[];
$$;
COMMENT ON FUNCTION animus.memory_write_scope() IS
    'The namespaces the memory write functions may change for the caller (''{*}'' = every namespace). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_write_scope() FROM PUBLIC;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA211', 'memory_duplicate_content', 'An update would give a memory the same content as another memory of its namespace.',
     'Update or delete the other memory (its id is in the DETAIL), or store the content with store_memory, which merges.');

-- Checks an embedding argument against animus.memory_settings. Used by every function that
-- takes an embedding. NaN and infinite components cannot reach it: pgvector rejects them when
-- the value is parsed (SQLSTATE 22000 / 22003); the batch form, whose embeddings arrive as JSON,
-- checks them itself (ZA201).
CREATE FUNCTION animus.memory_check_embedding(embedding vector, argument text DEFAULT 'embedding')
    RETURNS void
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
DECLARE
    expected integer;
BEGIN
    IF embedding IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = format('%s must not be NULL', argument),
            HINT = 'Pass the embedding of the text as a vector, e.g. ''[0.1, 0.2, ...]''::vector.';
    END IF;
    SELECT s.embedding_dim INTO expected FROM animus.memory_settings AS s;
    IF vector_dims(embedding) <> expected THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA200',
            MESSAGE = format('%s has %s dimensions; animus.memories stores %s', argument, vector_dims(embedding), expected),
            DETAIL = format('embedding model: %s', (SELECT s.embedding_model FROM animus.memory_settings AS s)),
            HINT = 'Embed with the model recorded in animus.memory_settings, or change it with animus.memory_begin_reembedding().';
    END IF;
    IF vector_norm(embedding) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA202',
            MESSAGE = format('%s is the zero vector, which has no cosine direction', argument),
            HINT = 'Pass a non-zero embedding.';
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_check_embedding(vector, text) IS
    'Raises unless embedding is a non-NULL, non-zero vector of the dimension in animus.memory_settings. '
    'Raises ZA001 (NULL), ZA200 (dimension), ZA202 (zero vector).';
REVOKE ALL ON FUNCTION animus.memory_check_embedding(vector, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_embedding(vector, text) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Checks the text arguments of a memory; returns nothing, raises on the first bad one.
CREATE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb)
    RETURNS void
    IMMUTABLE
    SET search_path = ''
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

CREATE FUNCTION animus.store_memory(
    content      text   DEFAULT NULL,
    embedding    vector DEFAULT NULL,
    memory_type  text   DEFAULT NULL,
    source       text   DEFAULT NULL,
    metadata     jsonb  DEFAULT '{}',
    namespace    text   DEFAULT 'default')
    RETURNS TABLE (id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[];
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
    -- One race-free statement: a second store of the same content in the same namespace
    -- updates the row (xmax <> 0 on the returned row means the conflict branch ran).
    RETURN QUERY
    INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
    VALUES (store_memory.namespace, store_memory.content, store_memory.memory_type, store_memory.source,
            coalesce(store_memory.metadata, '{}'), store_memory.embedding)
    ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
       SET memory_type = EXCLUDED.memory_type,
           source      = EXCLUDED.source,
           metadata    = EXCLUDED.metadata,
           embedding   = EXCLUDED.embedding,
           updated_at  = pg_catalog.now()
    RETURNING m.id, m.xmax OPERATOR(pg_catalog.=) 0;
END
$$;
COMMENT ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) IS
    'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory '
    '(memory_type, source, metadata, embedding, updated_at) and returns created = false. '
    'Only into a namespace of the caller''s write scope (animus.memory_scope(''write'')); runs as the owner (SECURITY DEFINER). '
    'Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content), '
    '42501 (namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

-- Whether text parses as a pgvector vector (the error path of store_memories uses it to find the
-- element pgvector rejected).
CREATE FUNCTION animus.memory_parses_as_vector(value text)
    RETURNS boolean
    IMMUTABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM value::vector;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION animus.memory_parses_as_vector(text) IS
    'True if value is valid pgvector text ([finite numbers]); false otherwise. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_parses_as_vector(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_parses_as_vector(text) TO animus_memory_writer, animus_admin;

-- The batch form: one INSERT for many memories. Input is a JSON array of objects
--   {"content": "...", "embedding": ..., "memory_type": "...",
--    "source": "..." (optional), "metadata": {...} (optional), "namespace": "..." (optional)}
-- where embedding is a JSON array of numbers, or a string in pgvector's text form "[0.1,0.2,...]".
-- The string form is the fast path for bulk loads: JSON numbers are parsed as numeric, which
-- costs about 4x the whole rest of the load (measured, docs/memory.md).
-- Every element is checked before or while the one INSERT runs; the first bad one raises, naming
-- its position (1-based), and nothing is written. Repeats of one (namespace, content) inside a
-- batch collapse to the last of them.
CREATE FUNCTION animus.memory_store_batch(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SET search_path = pg_catalog, :"vector_schema"
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

CREATE FUNCTION animus.store_memories(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT b.ordinal, b.id, b.created
                   FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
END
$$;
COMMENT ON FUNCTION animus.store_memories(jsonb, text) IS
    'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, '
    'namespace?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; namespace is the default for elements '
    'without one. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. '
    'Nothing is written if one element is bad. Only into namespaces of the caller''s write scope; runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), '
    'ZA208 (malformed element), 42501 (a namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memories(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memories(jsonb, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
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

-- Changes the given fields of a memory; a NULL argument keeps that field. New content needs its
-- new embedding in the same call, so the text and its vector never disagree.
CREATE FUNCTION animus.update_memory(
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
    SET search_path = ''
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
    'New content needs its embedding in the same call. Only memories (and a new namespace) of the caller''s write scope; '
    'runs as the owner (SECURITY DEFINER). Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory in the write scope), '
    'ZA211 (another memory of the namespace has that content), 42501 (new namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.delete_memory(id bigint DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
BEGIN
    IF delete_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = delete_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.delete_memory(bigint) IS
    'Deletes memory id; true if it existed in the caller''s write scope, false otherwise. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memory(bigint) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

COMMIT;
