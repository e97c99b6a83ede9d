-- Deploy animus:memory_search to pg
-- requires: memory_search@v0.8.0
-- requires: memory_bm25

BEGIN;

-- The keyword branch with lifecycle state (docs/memory-lifecycle.md, "How the searches see it").
-- Until v0.8.0 memory_text_candidates_live asked BM25 for lim + max(lim/2, 10) candidates without
-- the filter's "state" entry, checked the state on them, and asked again with the state when fewer
-- than lim passed. A filtered search then paid a larger top-k and a join, and one whose candidates
-- were mostly hidden paid both calls (the "text, filtered" figure of bench-memory-lifecycle: 1.5x a
-- search without state). memory_bm25_topk now checks the state itself, lazily and best first (it
-- ranks a few more candidates than lim when the filter has a state entry, and checks the state
-- only on the ranked candidates until lim pass): the branch asks it once, with the whole filter.
-- The function stays (hybrid_search's fused statement and search_memory_text call it by name).
CREATE OR REPLACE FUNCTION animus.memory_text_candidates_live(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF query IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT c.id, c.score FROM animus.memory_bm25_topk(query, coalesce(filters, '{}'::jsonb), lim) AS c;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates_live(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: the BM25 top lim of memory_bm25_topk under the whole filter, '
    'its lifecycle "state" entry included (checked lazily there, best first). Granted to nobody. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_text_candidates_live(text, jsonb, integer) FROM PUBLIC;

COMMIT;
