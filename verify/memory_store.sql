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
    END LOOP;
    ASSERT has_function_privilege('animus_memory_reader', 'animus.get_memory(bigint)', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.get_memory(bigint)';
    ASSERT NOT has_function_privilege('animus_memory_reader', 'animus.store_memory(text, vector, text, text, jsonb, text)', 'EXECUTE'),
        'animus_memory_reader must not execute animus.store_memory';
    ASSERT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA211'), 'SQLSTATE ZA211 is missing';
END $$;

ROLLBACK;
