-- Verify animus:memory_admin on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_admin', 'animus.memory_begin_reembedding(text, integer)', 'EXECUTE'),
        'animus_admin cannot execute animus.memory_begin_reembedding';
    ASSERT has_function_privilege('animus_admin', 'animus.memory_finish_reembedding()', 'EXECUTE'),
        'animus_admin cannot execute animus.memory_finish_reembedding';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.memory_begin_reembedding(text, integer)', 'EXECUTE'),
        'animus_memory_writer must not execute animus.memory_begin_reembedding';
END $$;

ROLLBACK;
