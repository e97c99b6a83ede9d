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
    ASSERT has_function_privilege('animus_admin', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
        'animus_admin cannot execute animus.memory_begin_bulk_load';
    ASSERT has_function_privilege('animus_admin', 'animus.memory_finish_bulk_load(text, integer)', 'EXECUTE'),
        'animus_admin cannot execute animus.memory_finish_bulk_load';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
        'animus_memory_writer must not execute animus.memory_begin_bulk_load';
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate = 'ZA212') = 1, 'error code ZA212 is missing';
    ASSERT (SELECT p.prosecdef AND p.proconfig && ARRAY['search_path=""', 'search_path=pg_catalog, pg_temp']
              FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.memory_finish_bulk_load(text, integer)'::pg_catalog.regprocedure),
        'memory_finish_bulk_load is not SECURITY DEFINER with search_path pinned';
END $$;

ROLLBACK;
