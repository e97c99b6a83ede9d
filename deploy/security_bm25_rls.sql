-- Deploy animus:security_bm25_rls to pg
-- requires: memory_bm25
-- requires: security_memory_rls

BEGIN;

-- The BM25 postings and statistics are derived from memories and name their namespace: the terms
-- of a memory are its content as a bag of words, and the statistics are counts per tenant. Readers
-- SELECT them (memory_bm25_topk is SECURITY INVOKER), so they get the memories' read policy:
-- a reader sees (and BM25 ranks with) the postings and statistics of its own namespaces only,
-- so idf and average length are computed over what it may see and never over another tenant.
-- Not FORCEd: the owner's SECURITY DEFINER triggers and refresh maintain every namespace.
ALTER TABLE animus.memory_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_namespace_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_term_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_deltas ENABLE ROW LEVEL SECURITY;

CREATE POLICY memory_terms_read ON animus.memory_terms FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_namespace_stats_read ON animus.memory_bm25_namespace_stats FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_term_stats_read ON animus.memory_bm25_term_stats FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_deltas_read ON animus.memory_bm25_deltas FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));

-- memory_bm25_refresh folds the pending statistics of EVERY namespace and returns how many rows
-- it folded: a count over other tenants' writes. The write triggers call it as the owner when
-- needed; a manual refresh is an administrator's job.
REVOKE EXECUTE ON FUNCTION animus.memory_bm25_refresh(boolean) FROM animus_memory_writer;

COMMIT;
