-- Deploy animus:memory_search to pg
-- requires: memory_search@v0.8.0
-- requires: memory_bm25

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

-- The vector branch with either kind of vector index (change memory_vector_index: HNSW, the
-- default, or IVFFlat). The paths are those of v0.8.0 (exact search for a table under 5,000 rows
-- and for a filter matching fewer than animus.vector_exact_below rows; else the index, unfiltered
-- when only the lifecycle state filters; exact search when the index scan returns fewer than lim
-- rows). A halfvec index (memory_vector_index_settings.built_halfvec) is scanned by its expression,
-- embedding::halfvec(dim); the candidates it returns are ranked by the full-precision distance.
-- With HNSW, hnsw.ef_search is animus.memory_vector_index_settings.ef_search (NULL: 100; at
-- least lim), raised by a filter. With IVFFlat (memories_embedding_ivfflat present):
--   * ivfflat.probes from animus.memory_vector_index_settings (NULL: ceil(sqrt(lists))); a larger
--     filter raises it by 1 / sqrt(selectivity) (at most all the lists), as hnsw.ef_search is raised:
--     the filtered top lim lies among more of the unfiltered neighbours, so in more lists;
--   * ivfflat.iterative_scan = relaxed_order (IVFFlat has no strict order): when the probed lists
--     hold fewer than lim passing rows, the scan goes on to the next lists. Rows of those later
--     lists may come out nearer than earlier ones; the candidates are sorted by distance again.
-- The SET clauses keep the hnsw and ivfflat settings inside the call.
CREATE OR REPLACE FUNCTION animus.memory_vector_candidates(query_embedding vector, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, distance double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    SET hnsw.iterative_scan = 'strict_order'
    SET hnsw.ef_search = 100
    SET hnsw.max_scan_tuples = 50000
    SET ivfflat.iterative_scan = 'relaxed_order'
    SET ivfflat.probes = 1
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
    ef_conf integer;
    half_dim integer;
    index_order text := 'm.embedding <=> $1';
    selectivity double precision;
    ivf boolean;
    ivf_lists integer;
    probes integer;
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
    ivf := to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL;
    -- The settings table comes with change memory_vector_index (deployed after this one); it
    -- exists whenever the IVFFlat index does.
    IF ivf OR to_regclass('animus.memory_vector_index_settings') IS NOT NULL THEN
        EXECUTE 'SELECT greatest(coalesce(v.built_lists, v.lists, 1), 1),
                        coalesce(v.probes, ceil(sqrt(greatest(coalesce(v.built_lists, v.lists, 1), 1)))::integer),
                        v.ef_search, CASE WHEN v.built_halfvec THEN v.built_dim END
                   FROM animus.memory_vector_index_settings AS v'
            INTO ivf_lists, probes, ef_conf, half_dim;
        probes := least(coalesce(probes, 1), coalesce(ivf_lists, 1));
        ef := greatest(coalesce(ef_conf, 100), lim);
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
        IF ivf THEN
            probes := least(ivf_lists, ceil(probes / sqrt(greatest(selectivity, 1e-6)))::integer);
        END IF;
    END IF;
    IF half_dim IS NOT NULL AND (ivf OR to_regclass('animus.memories_embedding_hnsw') IS NOT NULL) THEN
        -- a halfvec index (memory_configure_vector_index(halfvec => true)): the scan orders by its
        -- expression; the candidates are then ranked by the full-precision distance
        index_order := format('m.embedding::halfvec(%s) <=> $1::halfvec(%s)', half_dim, half_dim);
    END IF;
    IF ivf THEN
        PERFORM set_config('ivfflat.probes', probes::text, true);
    ELSE
        PERFORM set_config('hnsw.ef_search', ef::text, true);
    END IF;
    -- MATERIALIZED: the LIMIT applies to the index scan's order (relaxed with IVFFlat), the
    -- aggregate sorts by distance.
    EXECUTE
        'WITH c AS MATERIALIZED (
             SELECT m.id, m.embedding <=> $1 AS distance
               FROM animus.memories AS m
              WHERE ' || rows_where || '
              ORDER BY ' || index_order || '
              LIMIT $3)
         SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id) FROM c'
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
    'matching fewer than animus.vector_exact_below rows (default 10,000); else the vector index: HNSW with a strict-order iterative scan, '
    'hnsw.ef_search of animus.memory_vector_index_settings (default 100, at least lim) raised by the filter''s selectivity, or IVFFlat (memory_configure_vector_index) with a relaxed-order iterative scan, '
    'ivfflat.probes of animus.memory_vector_index_settings raised by 1 / sqrt(selectivity) (unfiltered when only the lifecycle state filters); '
    'a halfvec index is scanned by its expression and its candidates ranked by the full-precision distance. '
    'Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
