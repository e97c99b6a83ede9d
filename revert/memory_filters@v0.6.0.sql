-- Revert animus:memory_filters from pg (back to memory_filters@v0.4.0)

BEGIN;

-- The v0.4.0 functions, with search_path as change security_search_path pinned it (pg_temp last).
CREATE OR REPLACE FUNCTION animus.memory_normalize_text_filter(field text, value jsonb)
    RETURNS jsonb
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    op text;
    operand jsonb;
BEGIN
    CASE pg_catalog.jsonb_typeof(value)
    WHEN 'string' THEN
        RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(value));
    WHEN 'array' THEN
        op := 'in';
        operand := value;
    WHEN 'object' THEN
        IF (SELECT count(*) FROM pg_catalog.jsonb_object_keys(value)) <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must name exactly one operator', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = 'Use one of {"eq": "x"}, {"in": ["x", "y"]}, {"prefix": "x"}.';
        END IF;
        SELECT k, v INTO op, operand FROM pg_catalog.jsonb_each(value) AS e(k, v);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = pg_catalog.format('filters.%s must be a string, an array of strings or an operator object', field),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = pg_catalog.format('Example: {"%s": "x"} or {"%s": ["x", "y"]} or {"%s": {"prefix": "x"}}.', field, field, field);
    END CASE;

    CASE op
    WHEN 'eq', 'prefix' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s.%s must be a string', field, op),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": {"%s": "x"}}.', field, op);
        END IF;
        IF op = 'eq' THEN
            RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(operand));
        END IF;
        RETURN pg_catalog.jsonb_build_object('prefix', operand);
    WHEN 'in' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'array'
           OR pg_catalog.jsonb_array_length(operand) = 0
           OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(operand) AS e(x)
                       WHERE pg_catalog.jsonb_typeof(e.x) <> 'string') THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must list one or more strings', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": ["x", "y"]}.', field);
        END IF;
        RETURN pg_catalog.jsonb_build_object('in', operand);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA206',
            MESSAGE = pg_catalog.format('filters.%s uses the unknown operator "%s"', field, op),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = 'Text filters know the operators eq, in and prefix.';
    END CASE;
END
$$;
COMMENT ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) IS
    'Internal to memory_validate_filters: normalises one text filter to {"in": [...]} or {"prefix": "..."}. Raises ZA204, ZA206.';
REVOKE ALL ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

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
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN normalised;
    END IF;
    IF pg_catalog.jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = 'filters must be a JSON object',
            DETAIL = pg_catalog.format('filters = %s', pg_catalog.left(filters::text, 200)),
            HINT = 'Pass an object such as {"namespace": "agent-1", "memory_type": ["fact", "episode"]}.';
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
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata and created_at.';
        END CASE;
    END LOOP;
    RETURN normalised;
END
$$;
COMMENT ON FUNCTION animus.memory_validate_filters(jsonb) IS
    'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). '
    'Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator).';
REVOKE ALL ON FUNCTION animus.memory_validate_filters(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_validate_filters(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

DELETE FROM animus.error_codes WHERE sqlstate = 'ZA213';

COMMIT;
