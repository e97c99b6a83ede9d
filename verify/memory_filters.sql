-- Verify animus:memory_filters on pg

BEGIN;

DO $$
BEGIN
    IF NOT has_function_privilege('animus_memory_reader', 'animus.memory_validate_filters(jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.memory_validate_filters(jsonb)';
    END IF;
    IF animus.memory_validate_filters('{"namespace": "a"}') - 'state' IS DISTINCT FROM '{"namespace": {"in": ["a"]}}' THEN
        RAISE EXCEPTION 'animus.memory_validate_filters does not normalise a namespace string';
    END IF;
    BEGIN
        PERFORM animus.memory_validate_filters(jsonb_build_object('memory_type', (SELECT jsonb_agg(i::text) FROM generate_series(1, 101) AS i)));
        RAISE EXCEPTION 'animus.memory_validate_filters accepts a list of 101 strings';
    EXCEPTION WHEN SQLSTATE 'ZA213' THEN
        NULL;
    END;
    IF to_regprocedure('animus.memory_filter_state(jsonb, boolean)') IS NULL THEN
        RAISE EXCEPTION 'animus.memory_filter_state(jsonb, boolean) is missing';
    END IF;
    IF animus.memory_validate_filters('{"include_superseded": true}') - 'state' <> '{}'::jsonb THEN
        RAISE EXCEPTION 'animus.memory_validate_filters does not know include_superseded';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA213') THEN
        RAISE EXCEPTION 'SQLSTATE ZA213 is missing from animus.error_codes';
    END IF;
END $$;

ROLLBACK;
