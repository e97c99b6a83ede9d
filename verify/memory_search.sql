-- Verify animus:memory_search on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.memory_text_candidates_live(text, jsonb, integer)'::regprocedure),
                         'greatest(lim / 2, 10)') > 0 THEN
        RAISE EXCEPTION 'animus.memory_text_candidates_live still over-fetches (memory_search@v0.8.0): this change is not deployed';
    END IF;
    IF pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.memory_vector_candidates(vector, jsonb, integer)'::regprocedure),
                         'memories_embedding_ivfflat') = 0 THEN
        RAISE EXCEPTION 'animus.memory_vector_candidates knows the HNSW index only (memory_search@v0.8.0): this change is not deployed';
    END IF;
END $$;

ROLLBACK;
