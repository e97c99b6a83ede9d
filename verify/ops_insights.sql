-- Verify animus:ops_insights on pg

BEGIN;

DO $$
BEGIN
    IF to_regprocedure('animus.queue_depth_history(text, interval, integer)') IS NULL THEN
        RAISE EXCEPTION 'animus.queue_depth_history(text, interval, integer) is missing';
    END IF;
    IF to_regprocedure('animus.memory_namespace_stats()') IS NULL THEN
        RAISE EXCEPTION 'animus.memory_namespace_stats() is missing';
    END IF;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.memory_namespace_stats()', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.memory_namespace_stats()';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA168') THEN
        RAISE EXCEPTION 'SQLSTATE ZA168 is not registered';
    END IF;
END $$;

ROLLBACK;
