-- Revert animus:memory_search from pg (back to memory_search@v0.8.0)

BEGIN;

-- memory_text_candidates_live of v0.8.0: BM25 over-fetched without the state, the state checked
-- on the candidates, the filtered call when too few passed.
CREATE OR REPLACE FUNCTION animus.memory_text_candidates_live(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb := coalesce(filters, '{}');
    over integer;
    ids bigint[];
    scores double precision[];
    fetched integer;
BEGIN
    IF query IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    IF NOT f ? 'state' THEN
        RETURN QUERY SELECT c.id, c.score FROM animus.memory_text_candidates(query, f, lim) AS c;
        RETURN;
    END IF;
    over := lim + greatest(lim / 2, 10);
    SELECT count(*)::integer,
           (array_agg(c.id ORDER BY c.score DESC, c.id) FILTER (WHERE animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)))[1:lim],
           (array_agg(c.score ORDER BY c.score DESC, c.id) FILTER (WHERE animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)))[1:lim]
      INTO fetched, ids, scores
      FROM animus.memory_text_candidates(query, f - 'state', over) AS c
      JOIN animus.memories AS m ON m.id = c.id;
    IF coalesce(cardinality(ids), 0) >= lim OR fetched < over THEN
        -- lim rows passed, or BM25 had no more rows to give: the answer is complete.
        RETURN QUERY SELECT u.id, u.score FROM unnest(ids, scores) AS u(id, score);
        RETURN;
    END IF;
    RETURN QUERY SELECT c.id, c.score FROM animus.memory_text_candidates(query, f, lim) AS c;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates_live(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: memory_text_candidates with a filter''s lifecycle "state" entry '
    'checked on over-fetched candidates (lim + max(lim/2, 10)) instead of inside BM25''s top-k; the filtered call when too few pass. '
    'Same rows as memory_text_candidates(query, filters, lim). Granted to nobody. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_text_candidates_live(text, jsonb, integer) FROM PUBLIC;

COMMIT;
