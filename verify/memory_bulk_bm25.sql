-- Verify animus:memory_bulk_bm25 on pg
-- What begin/finish do to the indexes is proven by tests/pgtap/memory_bulk_load.sql (running them
-- here would lock and rebuild every index of a production table); this checks the deployed shape.

BEGIN;

DO $$
DECLARE
    idx text;
BEGIN
    ASSERT (SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=""']
              FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.memory_begin_bulk_load()'::pg_catalog.regprocedure),
        'memory_begin_bulk_load is not SECURITY DEFINER with search_path pinned';
    ASSERT (SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=""']
              FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.memory_finish_bulk_load(text, integer)'::pg_catalog.regprocedure),
        'memory_finish_bulk_load is not SECURITY DEFINER with search_path pinned';
    ASSERT pg_catalog.has_function_privilege('animus_admin', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
        'animus_admin cannot execute memory_begin_bulk_load';
    ASSERT pg_catalog.has_function_privilege('animus_admin', 'animus.memory_finish_bulk_load(text, integer)', 'EXECUTE'),
        'animus_admin cannot execute memory_finish_bulk_load';
    ASSERT NOT pg_catalog.has_function_privilege('animus_memory_writer', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
        'animus_memory_writer must not execute memory_begin_bulk_load';
    -- the indexes the bulk path drops and rebuilds (absent only while a bulk load is in progress)
    FOREACH idx IN ARRAY ARRAY['memory_terms_memory_term_idx', 'memory_terms_impact_idx', 'memory_bm25_deltas_key_idx'] LOOP
        ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'animus' AND c.relname = idx AND c.relkind = 'i')
               OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'animus' AND c.relname = 'memories_embedding_hnsw'),
            pg_catalog.format('index animus.%s is missing', idx);
    END LOOP;
END
$$;

ROLLBACK;
