-- Revert animus:memory_search from pg (back to memory_search@v0.8.0)

BEGIN;

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- Load pgvector's library in this session (a cast to vector does): it defines the hnsw.* and ivfflat.* settings
-- memory_vector_candidates SETs; unloaded, they are placeholders, which only a superuser may name
-- in CREATE FUNCTION ... SET (as in memory_search@v0.4.0).
DO $$
BEGIN
    EXECUTE pg_catalog.format('SELECT %L::%s.vector', '[1]',
                              (SELECT e.extnamespace::regnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'vector'));
END $$;

-- memory_vector_candidates of v0.8.0 (HNSW only), verbatim.
-- THE vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance),
-- nearest first (ties by id); lim rows whenever lim rows match. Rewritten in this change:
--   * only vectors of the namespace's active model (animus.memory_namespace_models, change
--     memory_models): a memory whose embedding_model is another model, or unknown, while its
--     namespace has an active model (mid re-embedding) is left out; its text is still searched.
--     Namespaces without an active model use every vector, as before.
--   * which path, by the rows the filter matches:
--       - a table under 5,000 rows (pg_class.reltuples): exact search;
--       - no filter but the lifecycle state (the common case: the "state" entry only drops
--         expired, superseded and invisible rows, which are few): the HNSW index directly, the
--         state checked on each row the index returns (hnsw.iterative_scan keeps walking until
--         lim rows pass);
--       - a filter matching fewer than animus.vector_exact_below rows (default 10,000; counted
--         through the indexes, stopping there): exact search over those rows. The former
--         threshold, 2,000, sent a 0.5 % filter at 500k-1M rows to the index, whose graph walk
--         past the unfiltered neighbours found 17 % of the filtered top 10 (issue 16);
--       - a larger filter: the HNSW index with a strict-order iterative scan (pgvector returns
--         rows in distance order and keeps walking until lim rows pass the filter), with
--         hnsw.ef_search raised by the filter's selectivity (at most 1000) so the walk keeps
--         enough candidates for the filtered top lim; hnsw.max_scan_tuples caps the walk.
--   * if the index scan returned fewer than lim rows (it hit that cap), exact search over the
--     filter, so a short answer always means "no more rows match".
-- The SET clauses keep the hnsw settings inside the call.
CREATE OR REPLACE FUNCTION animus.memory_vector_candidates(query_embedding vector, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, distance double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    SET hnsw.iterative_scan = 'strict_order'
    SET hnsw.ef_search = 100
    SET hnsw.max_scan_tuples = 50000
    LANGUAGE plpgsql
AS $$
DECLARE
    exact_table_below constant real := 5000;
    exact_below integer := coalesce(nullif(current_setting('animus.vector_exact_below', true), '')::integer, 10000);
    f jsonb := coalesce(filters, '{}');
    rows_where text := 'm.embedding IS NOT NULL AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)';
    exact_sql text;
    matching integer;
    table_rows real;
    ef integer := greatest(100, lim);
    selectivity double precision;
    ids bigint[];
    distances double precision[];
BEGIN
    IF query_embedding IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM animus.memory_namespace_models) THEN
        -- An anti-join on the namespace's model: a hash join over a filter's rows, one probe of
        -- the (small) model table per row the index returns.
        rows_where := rows_where || ' AND NOT EXISTS (SELECT 1 FROM animus.memory_namespace_models AS nm
                                                        WHERE nm.namespace = m.namespace
                                                          AND nm.model IS DISTINCT FROM m.embedding_model)';
    END IF;
    exact_sql := 'WITH hits AS MATERIALIZED (SELECT m.id, m.embedding FROM animus.memories AS m WHERE ' || rows_where || ')
                  SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3';
    SELECT c.reltuples INTO table_rows FROM pg_class AS c WHERE c.oid = 'animus.memories'::regclass;
    IF table_rows >= 0 AND table_rows < exact_table_below THEN   -- -1: never analysed, size unknown
        RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
        RETURN;
    END IF;
    IF f - 'state' <> '{}' THEN
        -- Counted without the state and the model (few rows fail them), so that a namespace
        -- filter is counted from its index alone.
        EXECUTE 'SELECT count(*)::integer FROM (
                     SELECT 1 FROM animus.memories AS m
                      WHERE animus.memory_filter_match($1, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                      LIMIT $2) AS s'
            INTO matching USING f - 'state', greatest(exact_below, lim);
        IF matching < greatest(exact_below, lim) THEN
            RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
            RETURN;
        END IF;
        -- The filter's selectivity, from a block sample of about 2,000 rows (a few hundred pages):
        -- ef_search / selectivity keeps as many passing rows in the walk's candidate list as an
        -- unfiltered search has (docs/memory.md, "The vector branch"), up to
        -- pgvector's 1000. Without a sample hit, the count's lower bound exact_below / table_rows
        -- stands in.
        EXECUTE format('SELECT count(*) FILTER (WHERE %s)::double precision / greatest(count(*), 1)
                          FROM animus.memories AS m TABLESAMPLE SYSTEM (%s) REPEATABLE (0)',
                       rows_where, least(100, 100 * 2000 / greatest(table_rows, 1)))
            INTO selectivity USING query_embedding, f;
        IF coalesce(selectivity, 0) = 0 THEN
            selectivity := matching / greatest(table_rows, matching);
        END IF;
        ef := least(1000, ceil(ef / selectivity)::integer);
    END IF;
    PERFORM set_config('hnsw.ef_search', ef::text, true);
    EXECUTE
        'SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id)
           FROM (SELECT m.id, m.embedding <=> $1 AS distance
                   FROM animus.memories AS m
                  WHERE ' || rows_where || '
                  ORDER BY m.embedding <=> $1
                  LIMIT $3) AS c'
        INTO ids, distances USING query_embedding, f, lim;
    IF coalesce(cardinality(ids), 0) < lim THEN
        RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.distance FROM unnest(ids, distances) AS u(id, distance);
END
$$;
COMMENT ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) IS
    'Internal vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance), nearest first, '
    'ties by id; lim rows whenever lim rows match. filters must be normalised by memory_validate_filters. Only vectors of the '
    'namespace''s active model (memory_namespace_models) when it has one. Exact search for tables under 5,000 rows and for filters '
    'matching fewer than animus.vector_exact_below rows (default 10,000); else HNSW with a strict-order iterative scan, '
    'hnsw.ef_search raised by the filter''s selectivity (unfiltered when only the lifecycle state filters). Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

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
