-- Verify animus:memory_bulk_bm25 on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.memory_begin_bulk_load()'::pg_catalog.regprocedure),
                             'memory_terms_impact_idx') > 0,
        'memory_begin_bulk_load does not drop the BM25 postings indexes';
    ASSERT pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.memory_finish_bulk_load(text, integer)'::pg_catalog.regprocedure),
                             'memory_terms_impact_idx') > 0,
        'memory_finish_bulk_load does not rebuild the BM25 postings indexes';
    ASSERT pg_catalog.has_function_privilege('animus_admin', 'animus.memory_begin_bulk_load()', 'EXECUTE'),
        'animus_admin cannot execute memory_begin_bulk_load';
    ASSERT pg_catalog.has_function_privilege('animus_admin', 'animus.memory_finish_bulk_load(text, integer)', 'EXECUTE'),
        'animus_admin cannot execute memory_finish_bulk_load';
END
$$;

ROLLBACK;
