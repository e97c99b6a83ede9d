-- Verify animus:memory_bm25 on pg

BEGIN;

SELECT memory_id, namespace, term, tf, doc_len, impact FROM animus.memory_terms WHERE false;
SELECT namespace, docs, total_len FROM animus.memory_bm25_namespace_stats WHERE false;
SELECT namespace, term, df FROM animus.memory_bm25_term_stats WHERE false;
SELECT id, namespace, term, df, total_len FROM animus.memory_bm25_deltas WHERE false;
SELECT k1, b, postings_budget, max_postings_budget, rescore_extra, refresh_after, refreshed_through
  FROM animus.memory_bm25_settings WHERE false;

DO $$
DECLARE
    fn text;
    trg text;
BEGIN
    ASSERT (SELECT count(*) FROM animus.memory_bm25_settings) = 1, 'memory_bm25_settings must hold exactly one row';
    ASSERT EXISTS (SELECT 1 FROM animus.error_codes WHERE sqlstate = 'ZA280'), 'SQLSTATE ZA280 is not in animus.error_codes';
    FOREACH fn IN ARRAY ARRAY[
        'animus.memory_bm25_topk(text, jsonb, integer, integer)',
        'animus.memory_text_candidates(text, jsonb, integer)'] LOOP
        ASSERT has_function_privilege('animus_memory_reader', fn, 'EXECUTE'), 'animus_memory_reader cannot execute ' || fn;
        ASSERT (SELECT provolatile FROM pg_catalog.pg_proc WHERE oid = fn::regprocedure) = 's', fn || ' is not STABLE';
    END LOOP;
    ASSERT has_function_privilege('animus_admin', 'animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer)', 'EXECUTE'),
        'animus_admin cannot execute memory_bm25_configure';
    -- animus_admin, not animus_memory_writer: security_bm25_rls makes a manual refresh admin-only
    -- (it folds and counts every tenant's pending statistics); the write triggers refresh as the owner.
    ASSERT has_function_privilege('animus_admin', 'animus.memory_bm25_refresh(boolean)', 'EXECUTE'),
        'animus_admin cannot execute memory_bm25_refresh';
    ASSERT has_table_privilege('animus_memory_reader', 'animus.memory_terms', 'SELECT'), 'animus_memory_reader cannot read memory_terms';
    FOREACH trg IN ARRAY ARRAY['memory_bm25_after_insert', 'memory_bm25_after_update', 'memory_bm25_after_delete', 'memory_bm25_after_truncate'] LOOP
        ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = 'animus.memories'::regclass AND tgname = trg AND tgenabled <> 'D'),
            'trigger ' || trg || ' on animus.memories is missing or disabled';
    END LOOP;
END $$;

ROLLBACK;
