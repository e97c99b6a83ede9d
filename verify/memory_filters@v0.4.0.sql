-- Verify animus:memory_filters on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_memory_reader', 'animus.memory_validate_filters(jsonb)', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.memory_validate_filters(jsonb)';
    ASSERT has_function_privilege('animus_memory_reader',
        'animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz)', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.memory_filter_match(...)';
    ASSERT animus.memory_validate_filters('{"namespace": "a"}') = '{"namespace": {"in": ["a"]}}',
        'animus.memory_validate_filters does not normalise a namespace string';
END $$;

ROLLBACK;
