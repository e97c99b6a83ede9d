-- Verify animus:memory_search on pg

BEGIN;

DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'animus.search_memory_vector(vector, integer, jsonb)',
        'animus.search_memory_text(text, integer, jsonb)',
        'animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision)'] LOOP
        IF NOT has_function_privilege('animus_memory_reader', fn, 'EXECUTE') THEN
            RAISE EXCEPTION 'animus_memory_reader cannot execute %', fn;
        END IF;
        IF NOT (SELECT p.prosecdef AND p.provolatile = 's'
                       AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
                  FROM pg_catalog.pg_proc AS p WHERE p.oid = fn::regprocedure) THEN
            RAISE EXCEPTION '% must be STABLE and SECURITY DEFINER with search_path = pg_catalog, pg_temp', fn;
        END IF;
    END LOOP;
    IF NOT (SELECT p.proconfig @> ARRAY['hnsw.iterative_scan=strict_order']
              FROM pg_catalog.pg_proc AS p WHERE p.oid = 'animus.memory_vector_candidates(vector, jsonb, integer)'::regprocedure) THEN
        RAISE EXCEPTION 'animus.memory_vector_candidates must use the strict-order iterative scan (this change)';
    END IF;
    PERFORM 'animus.memory_hybrid_fuse(text, vector, jsonb, integer, boolean, boolean, text, double precision, double precision, double precision, integer)'::regprocedure;   -- raises when missing
    IF NOT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA228') THEN
        RAISE EXCEPTION 'SQLSTATE ZA228 is not registered';
    END IF;
    IF has_function_privilege('animus_memory_reader', 'animus.memory_read_filters(jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus.memory_read_filters must be granted to nobody';
    END IF;
END $$;

ROLLBACK;
