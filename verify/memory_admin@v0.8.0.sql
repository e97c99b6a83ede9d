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
    -- this change: the bulk load rebuilds the BM25 postings index term first (as memory_bm25 keys it)
    IF pg_catalog.pg_get_functiondef('animus.memory_finish_bulk_load(text, integer)'::pg_catalog.regprocedure)
       NOT LIKE '%memory_terms (term, namespace, impact DESC, memory_id)%' THEN
        RAISE EXCEPTION 'memory_finish_bulk_load must rebuild animus.memory_terms_impact_idx as (term, namespace, impact DESC, memory_id)';
    END IF;
END $$;

ROLLBACK;
