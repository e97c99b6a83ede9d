-- Verify animus:security_bm25_rls on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT bool_and(c.relrowsecurity) FROM pg_catalog.pg_class c
             WHERE c.oid IN ('animus.memory_terms'::regclass, 'animus.memory_bm25_namespace_stats'::regclass,
                             'animus.memory_bm25_term_stats'::regclass, 'animus.memory_bm25_deltas'::regclass)),
        'row-level security is not enabled on every BM25 postings/statistics table';
    ASSERT (SELECT count(*) FROM pg_catalog.pg_policy p
             WHERE p.polrelid IN ('animus.memory_terms'::regclass, 'animus.memory_bm25_namespace_stats'::regclass,
                                  'animus.memory_bm25_term_stats'::regclass, 'animus.memory_bm25_deltas'::regclass)) = 4,
        'a BM25 table lacks its read policy';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.memory_bm25_refresh(boolean)', 'EXECUTE'),
        'animus_memory_writer may still run memory_bm25_refresh';
END $$;

ROLLBACK;
