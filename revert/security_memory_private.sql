-- Revert animus:security_memory_private from pg

BEGIN;

REVOKE SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                 animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    FROM animus_admin;
GRANT SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    TO animus_memory_reader;

COMMIT;
