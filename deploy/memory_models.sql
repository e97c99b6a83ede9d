-- Deploy animus:memory_models to pg
-- requires: memory_lifecycle
-- requires: memory_admin
-- requires: work_submit
-- requires: work_queue_grants

BEGIN;

-- Embedding models (docs/memory-lifecycle.md, "Embedding models"): a registry of models, the
-- active model of a namespace, and the model each memory's vector came from. A memory whose
-- vector is not of its namespace's active model -- the namespace switched model, or its content
-- changed without a vector of that model -- is re-embedded by the work queue:
-- memory_request_reembedding submits one item per such memory (work type memory_reembed, dedup_key
-- memory-reembed:<id>, so a burst of edits embeds once), and a worker handler computes the vector
-- with an Embedder (Python: animus.reembedding_handlers) and writes it with memory_set_embedding,
-- which keeps it only if the content is still the one embedded.
-- All vectors share the column animus.memories.embedding: a model must have its dimension
-- (another dimension: memory_begin_reembedding first).
CREATE TABLE animus.memory_models (
    name           text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'),
    dimension      integer NOT NULL CHECK (dimension BETWEEN 1 AND 2000),
    provider       text NOT NULL DEFAULT 'unspecified',
    metadata       jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    registered_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_models IS 'Registered embedding models (register_model); a namespace uses one of them (animus.memory_namespace_models).';
COMMENT ON COLUMN animus.memory_models.name IS 'The model name, as an Embedder reports it (e.g. all-MiniLM-L6-v2).';
COMMENT ON COLUMN animus.memory_models.dimension IS 'Its vector dimension: equal to animus.memory_settings.embedding_dim.';
COMMENT ON COLUMN animus.memory_models.provider IS 'Who serves it (local, openai, ...): informative.';
COMMENT ON COLUMN animus.memory_models.metadata IS 'Free JSON object about the model (version, weights hash, ...).';
COMMENT ON COLUMN animus.memory_models.registered_at IS 'When it was registered.';

CREATE TABLE animus.memory_namespace_models (
    namespace   text PRIMARY KEY CHECK (namespace <> ''),
    model       text NOT NULL REFERENCES animus.memory_models (name),
    set_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_namespace_models IS 'The active embedding model of a namespace (set_namespace_model); namespaces without a row have none.';
COMMENT ON COLUMN animus.memory_namespace_models.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_namespace_models.model IS 'Its active model: memories whose vector is of another model are re-embedded.';
COMMENT ON COLUMN animus.memory_namespace_models.set_at IS 'When the model was made active.';
GRANT SELECT ON animus.memory_models TO animus_memory_reader, animus_admin;
GRANT SELECT ON animus.memory_namespace_models TO animus_admin;

ALTER TABLE animus.memories ADD COLUMN embedding_model text;
COMMENT ON COLUMN animus.memories.embedding_model IS 'The registered model the embedding came from (memory_set_embedding); NULL: not known (stored by store_memory, or content changed since).';

-- New content makes the vector's model unknown unless the same statement sets it.
CREATE FUNCTION animus.memory_content_changed()
    RETURNS trigger
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.embedding_model IS NOT DISTINCT FROM OLD.embedding_model THEN
        NEW.embedding_model := NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION animus.memory_content_changed() IS
    'Trigger of animus.memories: when content changes and the statement does not set embedding_model, clears it (the vector''s model is no longer known). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_content_changed() FROM PUBLIC;
CREATE TRIGGER memories_content_changed
    BEFORE UPDATE OF content ON animus.memories
    FOR EACH ROW
    WHEN (OLD.content IS DISTINCT FROM NEW.content AND OLD.embedding_model IS NOT NULL)
    EXECUTE FUNCTION animus.memory_content_changed();

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA225', 'memory_model_unregistered', 'The embedding model is not registered.', 'Register it first with animus.register_model(name, dimension).'),
    ('ZA226', 'memory_model_dimension', 'A model''s dimension, or an embedding''s, does not match (animus.memory_settings.embedding_dim, the model''s dimension).',
     'Register models of the table''s dimension; change the dimension with memory_begin_reembedding.'),
    ('ZA227', 'memory_model_name_invalid', 'A model name is empty, longer than 200 characters or has characters other than letters, digits and ._:/@+-.', 'Use the name the Embedder reports, e.g. all-MiniLM-L6-v2.');

CREATE FUNCTION animus.register_model(
    name       text    DEFAULT NULL,
    dimension  integer DEFAULT NULL,
    provider   text    DEFAULT 'unspecified',
    metadata   jsonb   DEFAULT '{}')
    RETURNS animus.memory_models
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    dim integer := (SELECT s.embedding_dim FROM animus.memory_settings AS s);
    r animus.memory_models;
BEGIN
    IF register_model.name IS NULL OR register_model.name !~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA227', MESSAGE = 'name must be 1 to 200 letters, digits or ._:/@+- (starting with a letter or digit)',
            DETAIL = pg_catalog.format('name = %L', pg_catalog.left(register_model.name, 80)),
            HINT = 'Use the name the Embedder reports, e.g. all-MiniLM-L6-v2.';
    END IF;
    IF register_model.dimension IS NULL OR register_model.dimension <> dim THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA226', MESSAGE = pg_catalog.format('dimension must be %s, the dimension of animus.memories.embedding', dim),
            DETAIL = pg_catalog.format('dimension = %s', register_model.dimension),
            HINT = 'Change the table''s dimension first with animus.memory_begin_reembedding(embedding_dim => ...).';
    END IF;
    IF register_model.metadata IS NULL OR pg_catalog.jsonb_typeof(register_model.metadata) <> 'object'
       OR register_model.provider IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'provider must be text and metadata a JSON object',
            HINT = 'Omit them, or pass e.g. provider => ''local'', metadata => ''{"version": "1"}''.';
    END IF;
    INSERT INTO animus.memory_models AS m (name, dimension, provider, metadata)
    VALUES (register_model.name, register_model.dimension, register_model.provider, register_model.metadata)
    ON CONFLICT ON CONSTRAINT memory_models_pkey DO UPDATE SET provider = EXCLUDED.provider, metadata = EXCLUDED.metadata
    RETURNING m.* INTO r;
    RETURN r;
END
$$;
COMMENT ON FUNCTION animus.register_model(text, integer, text, jsonb) IS
    'Registers an embedding model (again: updates provider and metadata) and returns it. Its dimension must be the table''s '
    '(animus.memory_settings.embedding_dim). Admin only (SECURITY DEFINER). Raises ZA001, ZA226 (dimension), ZA227 (name).';
REVOKE ALL ON FUNCTION animus.register_model(text, integer, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.register_model(text, integer, text, jsonb) TO animus_admin;

-- Submits one memory_reembed item per memory of the namespace(s) whose vector is not of the
-- active model, dedup_key memory-reembed:<id> (merged into an item still active for it).
CREATE FUNCTION animus.memory_request_reembedding(
    namespace  text    DEFAULT NULL,
    queue      text    DEFAULT 'work',
    max_items  integer DEFAULT 10000)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    items jsonb;
    n bigint;
BEGIN
    IF max_items IS NULL OR max_items < 1 OR max_items > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'max_items must be between 1 and 10000',
            DETAIL = pg_catalog.format('max_items = %s', max_items), HINT = 'Call again for more.';
    END IF;
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'work_type', 'memory_reembed', 'source', 'animus.memory_request_reembedding',
               'dedup_key', 'memory-reembed:' || m.id,
               'params', pg_catalog.jsonb_build_object('memory_id', m.id, 'model', nm.model)) ORDER BY m.id),
           count(*)
      INTO items, n
      FROM (SELECT m.id, m.namespace FROM animus.memories AS m
              JOIN animus.memory_namespace_models AS nm ON nm.namespace = m.namespace
             WHERE m.embedding_model IS DISTINCT FROM nm.model
               AND (memory_request_reembedding.namespace IS NULL OR m.namespace = memory_request_reembedding.namespace)
             ORDER BY m.id
             LIMIT max_items) AS m
      JOIN animus.memory_namespace_models AS nm ON nm.namespace = m.namespace;
    IF n > 0 THEN
        PERFORM animus.submit_work_batch(items, queue => memory_request_reembedding.queue);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_request_reembedding(text, text, integer) IS
    'Submits to queue one work item (work_type memory_reembed, params {memory_id, model}, dedup_key memory-reembed:<id>) per memory, at '
    'most max_items, whose vector is not of its namespace''s active model; returns how many were submitted (repeats merge into the item '
    'still active). Runs as the owner; the caller needs the queue (ZA109). Raises ZA002 (max_items), ZA109 and the errors of submit_work_batch.';
REVOKE ALL ON FUNCTION animus.memory_request_reembedding(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_request_reembedding(text, text, integer) TO animus_admin;

CREATE FUNCTION animus.set_namespace_model(
    namespace  text    DEFAULT NULL,
    model      text    DEFAULT NULL,
    queue      text    DEFAULT 'work')
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    total bigint := 0;
    n bigint;
BEGIN
    IF set_namespace_model.namespace IS NULL OR set_namespace_model.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string', HINT = 'Pass the namespace to switch.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.memory_models AS m WHERE m.name = set_namespace_model.model) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA225', MESSAGE = pg_catalog.format('model %L is not registered', pg_catalog.left(set_namespace_model.model, 80)),
            HINT = 'Register it first with animus.register_model(name, dimension).';
    END IF;
    INSERT INTO animus.memory_namespace_models AS nm (namespace, model)
    VALUES (set_namespace_model.namespace, set_namespace_model.model)
    ON CONFLICT ON CONSTRAINT memory_namespace_models_pkey DO UPDATE SET model = EXCLUDED.model, set_at = now()
     WHERE nm.model IS DISTINCT FROM EXCLUDED.model;
    LOOP
        n := animus.memory_request_reembedding(set_namespace_model.namespace, set_namespace_model.queue, 10000);
        total := total + n;
        EXIT WHEN n < 10000;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION animus.set_namespace_model(text, text, text) IS
    'Makes model (registered) the active embedding model of namespace and queues the re-embedding of its memories whose vector is of '
    'another model (memory_request_reembedding, into queue); returns how many were queued. Admin only (SECURITY DEFINER). '
    'Raises ZA001, ZA225 (model not registered), ZA109 (queue not granted).';
REVOKE ALL ON FUNCTION animus.set_namespace_model(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_namespace_model(text, text, text) TO animus_admin;

-- The write of a re-embedding handler: keeps the vector only while the content is the one embedded.
CREATE FUNCTION animus.memory_set_embedding(
    id         bigint DEFAULT NULL,
    embedding  vector DEFAULT NULL,
    model      text   DEFAULT NULL,
    content    text   DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    dim integer;
BEGIN
    IF memory_set_embedding.id IS NULL OR memory_set_embedding.content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id and content must not be NULL',
            HINT = 'Pass the memory id, its vector, the model and the content that was embedded.';
    END IF;
    SELECT m.dimension INTO dim FROM animus.memory_models AS m WHERE m.name = memory_set_embedding.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA225', MESSAGE = pg_catalog.format('model %L is not registered', pg_catalog.left(memory_set_embedding.model, 80)),
            HINT = 'Register it first with animus.register_model(name, dimension).';
    END IF;
    PERFORM animus.memory_check_embedding(memory_set_embedding.embedding);
    UPDATE animus.memories AS m
       SET embedding = memory_set_embedding.embedding, embedding_model = memory_set_embedding.model
     WHERE m.id = memory_set_embedding.id AND m.content = memory_set_embedding.content
       AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) IS
    'Writes the vector of memory id computed by model (registered) from content, and records the model; false (nothing written) when the '
    'memory is gone, outside the caller''s write scope or its content is no longer content. updated_at does not move. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA200 (dimension), ZA202 (zero vector), ZA225 (model not registered).';
REVOKE ALL ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.memory_reembedding_progress(namespace text DEFAULT NULL)
    RETURNS TABLE (memory_namespace text, model text, total bigint, current bigint, pending bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    RETURN QUERY
    SELECT nm.namespace, nm.model, count(m.id), count(m.id) FILTER (WHERE m.embedding_model = nm.model),
           count(m.id) FILTER (WHERE m.embedding_model IS DISTINCT FROM nm.model)
      FROM animus.memory_namespace_models AS nm
      LEFT JOIN animus.memories AS m ON m.namespace = nm.namespace
     WHERE (memory_reembedding_progress.namespace IS NULL OR nm.namespace = memory_reembedding_progress.namespace)
       AND ('*' = ANY (scope) OR nm.namespace = ANY (scope))
     GROUP BY nm.namespace, nm.model
     ORDER BY nm.namespace;
END
$$;
COMMENT ON FUNCTION animus.memory_reembedding_progress(text) IS
    'Per namespace with an active model (of the caller''s read scope; one namespace when given): the model, how many memories it has, '
    'how many have a vector of that model (current) and how many wait for one (pending). Runs as the owner. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_reembedding_progress(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_reembedding_progress(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
