-- Verify animus:memory_search on pg

BEGIN;

DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'animus.search_memory_vector(vector, integer, jsonb)',
        'animus.search_memory_text(text, integer, jsonb)',
        'animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer)',
        'animus.memory_text_candidates(text, jsonb, integer)',
        'animus.memory_vector_candidates(vector, jsonb, integer)'] LOOP
        ASSERT has_function_privilege('animus_memory_reader', fn, 'EXECUTE'), 'animus_memory_reader cannot execute ' || fn;
        ASSERT (SELECT provolatile FROM pg_catalog.pg_proc WHERE oid = fn::regprocedure) = 's', fn || ' is not STABLE';
    END LOOP;
END $$;

ROLLBACK;
