-- Deploy animus:security_memory_private to pg
-- requires: memory_search
-- requires: memory_store
-- requires: memory_bm25
-- requires: security_memory_rls

BEGIN;

-- Tenant roles hold no privilege on a table that holds other tenants' rows. With SELECT and
-- row-level security alone, a reader's leakproof comparisons (=, <, >=, and
-- pgvector's <=>) ran as index conditions BEFORE the policy's filter, and EXPLAIN (ANALYZE)
-- printed how many hidden rows the filter then removed ("Rows Removed by Filter"): a prefix
-- search on memory_terms rebuilt another tenant's words, the same on memories.namespace listed
-- the tenants, on content_hash confirmed a guessed text, on embedding <=> counted hidden
-- neighbours, and a plain EXPLAIN estimated their row counts. memory_bm25_settings and the
-- deltas' ids count every tenant's writes. Reads now go through the SECURITY DEFINER functions
-- (search_memory_text, search_memory_vector, hybrid_search, get_memory), which filter on the
-- caller's scope themselves; the policies stay as a second layer under a non-superuser owner.
-- animus_admin (trusted, scope '*') keeps SELECT. animus.memory_settings (the embedding model
-- and dimension, no tenant data) stays readable.
REVOKE SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                 animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    FROM animus_memory_reader;
GRANT SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    TO animus_admin;

COMMIT;
