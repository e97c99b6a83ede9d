-- Verify animus:memory_store on pg

BEGIN;

DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[])',
        'animus.store_memories(jsonb, text)',
        'animus.update_memory(bigint, text, vector, text, text, jsonb, text)',
        'animus.delete_memory(bigint)',
        'animus.delete_memories(bigint[])',
        'animus.get_memory(bigint)'] LOOP
        IF NOT has_function_privilege('animus_memory_writer', fn, 'EXECUTE') THEN
            RAISE EXCEPTION 'animus_memory_writer cannot execute %', fn;
        END IF;
        IF NOT (SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
                  FROM pg_catalog.pg_proc AS p WHERE p.oid = fn::regprocedure) THEN
            RAISE EXCEPTION '% must be SECURITY DEFINER with search_path = pg_catalog, pg_temp', fn;
        END IF;
    END LOOP;
    IF has_table_privilege('animus_memory_writer', 'animus.memories', 'INSERT, UPDATE, DELETE') THEN
        RAISE EXCEPTION 'animus_memory_writer must not write animus.memories directly';
    END IF;
    IF has_function_privilege('animus_memory_writer', 'animus.memory_store_batch(jsonb, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_writer must not execute the internal animus.memory_store_batch';
    END IF;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.get_memory(bigint)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.get_memory(bigint)';
    END IF;
    IF has_function_privilege('animus_memory_reader', 'animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader must not execute animus.store_memory';
    END IF;
    IF NOT animus.memory_is_interval('"2 hours"') OR animus.memory_is_interval('"soon"')
       OR NOT animus.memory_is_timestamptz('"2026-01-01T00:00:00Z"') THEN
        RAISE EXCEPTION 'animus.memory_is_interval / memory_is_timestamptz (change memory_store @v0.7.0 rework) are missing or wrong';
    END IF;
    IF NOT animus.memory_is_blank(E'\t\n\u00a0 ') OR animus.memory_is_blank(E'\u00a0x') THEN
        RAISE EXCEPTION 'animus.memory_is_blank does not tell whitespace from text';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA211', 'ZA214', 'ZA215')) <> 3 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA211, ZA214, ZA215 must be in animus.error_codes';
    END IF;
END $$;

ROLLBACK;
