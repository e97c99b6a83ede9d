-- Revert animus:security_bm25_rls from pg

BEGIN;

GRANT EXECUTE ON FUNCTION animus.memory_bm25_refresh(boolean) TO animus_memory_writer;
DROP POLICY memory_terms_read ON animus.memory_terms;
DROP POLICY memory_bm25_namespace_stats_read ON animus.memory_bm25_namespace_stats;
DROP POLICY memory_bm25_term_stats_read ON animus.memory_bm25_term_stats;
DROP POLICY memory_bm25_deltas_read ON animus.memory_bm25_deltas;
ALTER TABLE animus.memory_terms DISABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_namespace_stats DISABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_term_stats DISABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_deltas DISABLE ROW LEVEL SECURITY;

COMMIT;
