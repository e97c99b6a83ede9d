-- Verify animus:memory_store on pg

BEGIN;

DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'animus.store_memory(text, vector, text, text, jsonb, text)',
        'animus.store_memories(jsonb, text)',
        'animus.update_memory(bigint, text, vector, text, text, jsonb, text)',
        'animus.delete_memory(bigint)',
        'animus.delete_memories(bigint[])'] LOOP
        ASSERT has_function_privilege('animus_memory_writer', fn, 'EXECUTE'), 'animus_memory_writer cannot execute ' || fn;
        ASSERT (SELECT p.prosecdef AND p.proconfig && ARRAY['search_path=""', 'search_path=pg_catalog, pg_temp'] FROM pg_catalog.pg_proc p WHERE p.oid = fn::regprocedure),
            fn || ' must be SECURITY DEFINER with search_path = ''''';
    END LOOP;
    ASSERT NOT has_table_privilege('animus_memory_writer', 'animus.memories', 'INSERT, UPDATE, DELETE'),
        'animus_memory_writer must not write animus.memories directly';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.memory_store_batch(jsonb, text)', 'EXECUTE'),
        'animus_memory_writer must not execute the internal animus.memory_store_batch';
    PERFORM animus.memory_write_scope() WHERE false;
    ASSERT has_function_privilege('animus_memory_reader', 'animus.get_memory(bigint)', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.get_memory(bigint)';
    ASSERT NOT has_function_privilege('animus_memory_reader', 'animus.store_memory(text, vector, text, text, jsonb, text)', 'EXECUTE'),
        'animus_memory_reader must not execute animus.store_memory';
    ASSERT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA211'), 'SQLSTATE ZA211 is missing';
END $$;

ROLLBACK;
