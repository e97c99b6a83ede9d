-- Deploy animus:memory_filters to pg
-- requires: memory_filters@v0.6.0
-- requires: memory_lifecycle

BEGIN;

-- Lifecycle and sharing in every search (docs/memory-lifecycle.md). The searches apply
-- animus.memory_filter_match to their candidates with the filter memory_validate_filters
-- normalised; that filter now carries a "state" entry whenever some memory has state (an
-- expiry, a supersession, a visibility other than namespace), and the predicate checks the
-- row's mirrored state (metadata->'_animus', change memory_lifecycle) against it: expired rows
-- and rows superseded (unless {"include_superseded": true}) drop out, and so do rows private to
-- another role. Rows without state cost one key test. A table with no state at all keeps the
-- filters (and the plans) of before.

-- The "state" entry of a normalised filter, or none.
CREATE FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean)
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT animus.memory_state_active() THEN
        RETURN normalised;
    END IF;
    RETURN normalised || pg_catalog.jsonb_build_object('state', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'include_superseded', include_superseded,
        'viewer', animus.memory_viewer())));
END
$$;
COMMENT ON FUNCTION animus.memory_filter_state(jsonb, boolean) IS
    'Internal to memory_validate_filters: adds {"state": {"include_superseded": ..., "viewer": animus.memory_viewer()}} to a '
    'normalised filter when some memory carries lifecycle or sharing state (animus.memory_state_active()). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_state(jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_state(jsonb, boolean) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}')
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    normalised jsonb := '{}';
    key text;
    value jsonb;
    op text;
    operand jsonb;
    bounds jsonb;
    bound timestamptz;
    include_superseded boolean := false;
    viewer jsonb;
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN animus.memory_filter_state(normalised, false);
    END IF;
    IF pg_catalog.jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = 'filters must be a JSON object',
            DETAIL = pg_catalog.format('filters = %s', pg_catalog.left(filters::text, 200)),
            HINT = 'Pass an object such as {"namespace": "agent-1", "memory_type": ["fact", "episode"]}.';
    END IF;
    IF pg_catalog.octet_length(filters::text) > 16384 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA213',
            MESSAGE = 'filters must be at most 16384 bytes as JSON text',
            DETAIL = pg_catalog.format('filters is %s bytes', pg_catalog.octet_length(filters::text)),
            HINT = 'Filter by fewer values: a namespace or memory_type prefix, or one metadata tag, instead of long lists.';
    END IF;
    FOR key, value IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(filters) AS e LOOP
        CASE key
        WHEN 'namespace', 'memory_type', 'source' THEN
            normalised := normalised || pg_catalog.jsonb_build_object(key, animus.memory_normalize_text_filter(key, value));
        WHEN 'metadata' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.metadata must be a JSON object (matched by containment)',
                    DETAIL = pg_catalog.format('filters.metadata = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"metadata": {"topic": "billing"}} keeps memories whose metadata contains that pair.';
            END IF;
            normalised := normalised || pg_catalog.jsonb_build_object(key, value);
        WHEN 'created_at' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' OR value = '{}'::jsonb THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.created_at must be an object of bounds',
                    DETAIL = pg_catalog.format('filters.created_at = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": "2026-02-01T00:00:00Z"}}.';
            END IF;
            bounds := '{}';
            FOR op, operand IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(value) AS e LOOP
                IF op NOT IN ('gt', 'gte', 'lt', 'lte') THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA206',
                        MESSAGE = pg_catalog.format('filters.created_at uses the unknown operator "%s"', op),
                        DETAIL = pg_catalog.format('filters.created_at = %s', value),
                        HINT = 'created_at knows the operators gt, gte, lt and lte.';
                END IF;
                BEGIN
                    IF pg_catalog.jsonb_typeof(operand) <> 'string' THEN
                        RAISE EXCEPTION USING ERRCODE = 'ZA204';
                    END IF;
                    bound := (operand #>> '{}')::timestamptz;
                EXCEPTION WHEN SQLSTATE 'ZA204' OR data_exception THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA204',
                        MESSAGE = pg_catalog.format('filters.created_at.%s must be a timestamp string', op),
                        DETAIL = pg_catalog.format('filters.created_at.%s = %s', op, operand),
                        HINT = 'Use ISO 8601 with a time zone, e.g. "2026-01-01T00:00:00Z".';
                END;
                bounds := bounds || pg_catalog.jsonb_build_object(op, bound);
            END LOOP;
            normalised := normalised || pg_catalog.jsonb_build_object(key, bounds);
        WHEN 'include_superseded' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'boolean' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.include_superseded must be true or false',
                    DETAIL = pg_catalog.format('filters.include_superseded = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"include_superseded": true} also returns memories that newer ones superseded.';
            END IF;
            include_superseded := value = 'true'::jsonb;
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata, created_at and include_superseded.';
        END CASE;
    END LOOP;
    RETURN animus.memory_filter_state(normalised, include_superseded);
END
$$;
COMMENT ON FUNCTION animus.memory_validate_filters(jsonb) IS
    'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). '
    'When some memory carries lifecycle or sharing state (animus.memory_state_active()), the result has a "state" entry '
    '({"include_superseded": bool, "viewer": animus.memory_viewer()}) by which the predicate drops expired memories, superseded ones '
    '(unless filters.include_superseded is true) and memories private to others. '
    'Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator), ZA213 (more than 100 strings in a list, or over 16384 bytes).';
REVOKE ALL ON FUNCTION animus.memory_validate_filters(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_validate_filters(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;


CREATE OR REPLACE FUNCTION animus.memory_filter_match(
    filters      jsonb,
    namespace    text,
    memory_type  text,
    source       text,
    metadata     jsonb,
    created_at   timestamptz)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    (filters -> 'namespace' IS NULL
        OR CASE WHEN filters -> 'namespace' ? 'in'
                THEN namespace = ANY (animus.memory_filter_list(filters -> 'namespace'))
                ELSE pg_catalog.starts_with(namespace, filters -> 'namespace' ->> 'prefix') END)
    AND (filters -> 'memory_type' IS NULL
        OR CASE WHEN filters -> 'memory_type' ? 'in'
                THEN memory_type = ANY (animus.memory_filter_list(filters -> 'memory_type'))
                ELSE pg_catalog.starts_with(memory_type, filters -> 'memory_type' ->> 'prefix') END)
    AND (filters -> 'source' IS NULL
        OR CASE WHEN filters -> 'source' ? 'in'
                THEN source = ANY (animus.memory_filter_list(filters -> 'source'))
                ELSE pg_catalog.starts_with(source, filters -> 'source' ->> 'prefix') END)
    AND (filters -> 'metadata' IS NULL OR metadata @> (filters -> 'metadata'))
    AND (filters #> '{created_at,gt}' IS NULL OR created_at > (filters #>> '{created_at,gt}')::timestamptz)
    AND (filters #> '{created_at,gte}' IS NULL OR created_at >= (filters #>> '{created_at,gte}')::timestamptz)
    AND (filters #> '{created_at,lt}' IS NULL OR created_at < (filters #>> '{created_at,lt}')::timestamptz)
    AND (filters #> '{created_at,lte}' IS NULL OR created_at <= (filters #>> '{created_at,lte}')::timestamptz)
    AND (filters -> 'state' IS NULL OR NOT (metadata ? '_animus')
         OR animus.memory_state_match(filters -> 'state', metadata -> '_animus'));
COMMENT ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) IS
    'True when a memory (its namespace, memory_type, source, metadata, created_at) passes a filter normalised by '
    'animus.memory_validate_filters; with the filter''s "state" entry, also that it is live (not expired, not superseded unless '
    'include_superseded) and visible to the viewer (metadata->''_animus'', change memory_lifecycle). Inlinable SQL: call it in WHERE with a constant or parameter filter. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
