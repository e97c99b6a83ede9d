-- Deploy animus:memory_search to pg
-- requires: memory_search@v0.7.0
-- requires: memory_review
-- requires: memory_links
-- requires: memory_models

BEGIN;

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- Load pgvector's library in this session (a cast to vector does): it defines the hnsw.* settings
-- memory_vector_candidates SETs; unloaded, they are placeholders, which only a superuser may name
-- in CREATE FUNCTION ... SET (as in memory_search@v0.4.0).
DO $$
BEGIN
    EXECUTE pg_catalog.format('SELECT %L::%s.vector', '[1]',
                              (SELECT e.extnamespace::regnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'vector'));
END $$;

-- hybrid_search gains the optional weighting (retrievability_weight, recency_weight,
-- recency_half_life, importance_weight: animus.memory_boost, change memory_review) and graph step
-- (graph_depth, graph_relations, graph_decay: animus.memory_graph_expand, change memory_links) of
-- issue 15. Their defaults switch them off, and then hybrid_search runs the statement of before:
-- the same rows, scores and ranks (tested), so the NFCorpus figures do not change.
DROP FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision);

-- The keyword branch with the lifecycle state checked on its candidates. The "state" entry of a
-- filter (expired, superseded, invisible memories out; present whenever some memory has state)
-- made every keyword search take BM25's filtered path (memory_bm25_topk checks the filter per
-- candidate when anything but the namespace filters). Live, visible memories are the common case,
-- so this asks BM25 for the top lim + lim/2 (at least 10 more) without the state, and drops the
-- rows the full filter refuses: when lim rows pass, they are the top lim of the filtered ranking
-- (the same scores; state takes no part in BM25's statistics). Fewer: the filtered call, as before.
CREATE FUNCTION animus.memory_text_candidates_live(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
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

-- search_memory_text: the keyword branch with the state checked on its candidates.
CREATE OR REPLACE FUNCTION animus.search_memory_text(
    query    text    DEFAULT NULL,
    k        integer DEFAULT 10,
    filters  jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
BEGIN
    IF query IS NULL OR pg_catalog.btrim(query) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'query must be non-empty text',
            HINT = 'Pass the words to search for, e.g. a question in natural language.';
    END IF;
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_read_filters(filters);   -- checked, then confined to the read scope
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.score, pg_catalog.row_number() OVER (ORDER BY c.score DESC, c.id)
      FROM animus.memory_text_candidates_live(query, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.score DESC, c.id;
END
$$;
COMMENT ON FUNCTION animus.search_memory_text(text, integer, jsonb) IS
    'The k memories that best match a natural-language query (English stemming; documents matching ANY query term are ranked), '
    'filtered (docs/memory.md), best first, ties by id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.search_memory_text(text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_text(text, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The fused candidates of hybrid_search, unordered: each branch's best n, joined on id, with the
-- fused score (RRF or convex), each branch's rank, the best of them, the distance and the text score.
-- One SQL statement that the planner inlines into hybrid_search's (LANGUAGE sql, no SET clause).
CREATE FUNCTION animus.memory_hybrid_fuse(
    query_text text, query_embedding vector, f jsonb, n integer, use_text boolean, use_vector boolean,
    fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer)
    RETURNS TABLE (id bigint, score double precision, vr bigint, tr bigint, best bigint, distance double precision, ts double precision)
    STABLE
    LANGUAGE sql
AS $$
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates_live(query_text, f, n) AS c
         WHERE use_text
    )
    SELECT coalesce(vec.id, txt.id),
           CASE WHEN fusion = 'rrf'
                THEN coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0)
                -- convex: alpha * vector + (1 - alpha) * text, each normalised by theoretical
                -- min-max (Bruch et al. 2023, TM2C2): (s - min_possible) / (max_seen - min_possible),
                -- cosine similarity from -1, BM25 from 0; a row a branch did not return gets 0 there.
                -- text_weight / vector_weight scale their branch as in RRF (default 1). A branch
                -- switched off has weight 0 (the other one ranks alone).
                ELSE vector_weight * CASE WHEN use_vector AND use_text THEN a ELSE 1 END
                         * coalesce((2 - vec.distance) / nullif(2 - min(vec.distance) OVER (), 0), 0)
                   + text_weight * CASE WHEN use_vector AND use_text THEN 1 - a ELSE 1 END
                         * coalesce(txt.score / nullif(max(txt.score) OVER (), 0), 0)
           END,
           vec.r, txt.r, least(vec.r, txt.r), vec.distance, txt.score
      FROM vec FULL JOIN txt ON txt.id = vec.id
$$;
COMMENT ON FUNCTION animus.memory_hybrid_fuse(text, vector, jsonb, integer, boolean, boolean, text, double precision, double precision, double precision, integer) IS
    'Internal: the fused candidates of hybrid_search (its arguments already checked; f a normalised read filter): each branch''s best n '
    'joined on id with the fused score (rrf or convex, as documented on hybrid_search), the vector and text ranks, the best of them, '
    'the cosine distance and the BM25 score; unordered. Granted to nobody (hybrid_search runs as the owner). Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_hybrid_fuse(text, vector, jsonb, integer, boolean, boolean, text, double precision, double precision, double precision, integer) FROM PUBLIC;

CREATE FUNCTION animus.hybrid_search(
    query_text       text             DEFAULT NULL,
    query_embedding  vector           DEFAULT NULL,
    k                integer          DEFAULT 10,
    filters          jsonb            DEFAULT '{}',
    text_weight      double precision DEFAULT 1,
    vector_weight    double precision DEFAULT 1,
    rrf_k            integer          DEFAULT 60,
    candidates       integer          DEFAULT NULL,
    fusion           text             DEFAULT 'convex',
    alpha            double precision DEFAULT NULL,
    retrievability_weight double precision DEFAULT 0,
    recency_weight        double precision DEFAULT 0,
    recency_half_life     interval         DEFAULT '30 days',
    importance_weight     double precision DEFAULT 0,
    graph_depth           integer          DEFAULT 0,
    graph_relations       text[]           DEFAULT NULL,
    graph_decay           double precision DEFAULT 0.5)
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint,
                   vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
    a double precision;
    weighted boolean;
BEGIN
    PERFORM animus.memory_check_limit(k, 'k');
    IF text_weight IS NULL OR vector_weight IS NULL OR text_weight < 0 OR vector_weight < 0
       OR text_weight = 'Infinity' OR vector_weight = 'Infinity' OR text_weight = 'NaN' OR vector_weight = 'NaN' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'text_weight and vector_weight must be finite numbers >= 0',
            DETAIL = format('text_weight = %s, vector_weight = %s', text_weight, vector_weight),
            HINT = 'Use weights such as 1 and 1; 0 switches a branch off.';
    END IF;
    IF rrf_k IS NULL OR rrf_k < 0 OR rrf_k > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'rrf_k must be between 0 and 10000',
            DETAIL = format('rrf_k = %s', rrf_k), HINT = 'The usual value is 60.';
    END IF;
    IF fusion IS NULL OR fusion NOT IN ('rrf', 'convex') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA228', MESSAGE = 'fusion must be ''rrf'' or ''convex''',
            DETAIL = format('fusion = %s', coalesce(quote_literal(fusion), 'NULL')),
            HINT = 'rrf fuses ranks (text_weight, vector_weight, rrf_k); convex mixes normalised scores (alpha).';
    END IF;
    IF alpha IS NOT NULL AND fusion <> 'convex' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA228', MESSAGE = 'alpha applies only to fusion => ''convex''',
            DETAIL = format('fusion = %L, alpha = %s', fusion, alpha),
            HINT = 'Pass fusion => ''convex'' with alpha, or omit alpha.';
    END IF;
    IF alpha IS NOT NULL AND NOT (alpha >= 0 AND alpha <= 1) THEN   -- NaN fails both
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'alpha must be between 0 and 1',
            DETAIL = format('alpha = %s', alpha),
            HINT = 'alpha is the weight of the vector branch (1 - alpha the keyword branch''s); omit it for the tuned default 0.3.';
    END IF;
    -- The weights and half-life are checked by memory_boost itself (ZA224), on a dummy score.
    PERFORM animus.memory_boost(1, NULL, NULL, NULL, retrievability_weight, recency_weight, recency_half_life, importance_weight);
    IF graph_depth IS NULL OR graph_depth < 0 OR graph_depth > 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'graph_depth must be between 0 and 5',
            DETAIL = format('graph_depth = %s', coalesce(graph_depth::text, 'NULL')),
            HINT = '0 (the default) switches the graph step off; 1 adds the direct neighbours of the top hits.';
    END IF;
    IF graph_decay IS NULL OR NOT (graph_decay > 0 AND graph_decay <= 1) THEN   -- NaN fails
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'graph_decay must be in (0, 1]',
            DETAIL = format('graph_decay = %s', coalesce(graph_decay::text, 'NULL')),
            HINT = 'The default 0.5 halves a neighbour''s score per link.';
    END IF;
    IF graph_relations IS NOT NULL THEN
        PERFORM animus.memory_check_graph_args(1, graph_relations);   -- ZA221: 1 to 100 relations
    END IF;
    weighted := retrievability_weight > 0 OR recency_weight > 0 OR importance_weight > 0 OR graph_depth > 0;
    a := coalesce(alpha, 0.3);   -- tuned on NFCorpus dev (docs/memory.md, "Fusion")
    -- 3k rows per branch (at least 30, at most 1000): on nfcorpus dev a top-10 fused from 30
    -- candidates per branch scores as 100 do, at a fraction of the work (docs/bm25.md).
    n := coalesce(candidates, least(greatest(3 * k, 30), 1000));
    IF n < k OR n > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'candidates must be between k and 1000',
            DETAIL = format('candidates = %s, k = %s', n, k),
            HINT = 'Omit it for max(3k, 30) (at most 1000), the number of rows each branch contributes to the fusion.';
    END IF;
    use_text := query_text IS NOT NULL AND btrim(query_text) <> '' AND text_weight > 0;
    use_vector := query_embedding IS NOT NULL AND vector_weight > 0;
    IF NOT use_text AND NOT use_vector THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = 'hybrid_search needs query_text or query_embedding (with a weight > 0)',
            HINT = 'Pass the query text, its embedding, or both.';
    END IF;
    IF use_vector THEN
        PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    END IF;
    f := animus.memory_read_filters(filters);   -- checked, then confined to the read scope

    IF NOT weighted THEN
        -- The defaults: exactly the ranking of before (the same statement).
        RETURN QUERY
        WITH fused AS (
            SELECT * FROM animus.memory_hybrid_fuse(query_text, query_embedding, f, n, use_text, use_vector,
                                                    fusion, a, text_weight, vector_weight, rrf_k)
        )
        -- The fused rows in their final order, joined to their memories in that order (a nested loop
        -- keeps it), so LIMIT k stops after about k primary-key probes instead of one per candidate.
        SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
               fu.score, row_number() OVER (ORDER BY fu.score DESC, fu.best, fu.id),
               fu.vr, fu.tr, fu.distance, fu.ts
          FROM (SELECT * FROM fused ORDER BY fused.score DESC, fused.best, fused.id) AS fu
          JOIN animus.memories AS m ON m.id = fu.id
         ORDER BY fu.score DESC, fu.best, fu.id
         LIMIT k;
        RETURN;
    END IF;

    -- Weighting and the graph step (docs/memory-lifecycle.md, "Weighting and the graph step"):
    -- every fused candidate's score becomes memory_boost(score, R, now() - updated_at, importance)
    -- (R: FSRS retrievability now, 1 when never reviewed; importance: metadata->>'importance' when
    -- it is a number, else 1), re-ranked; then the neighbours of the top k, graph_depth links away,
    -- join with score = hit score x link weight x graph_decay per link (memory_graph_expand), the
    -- better score kept when a neighbour is a candidate too; they pass the same filter.
    RETURN QUERY
    WITH fused AS (
        SELECT * FROM animus.memory_hybrid_fuse(query_text, query_embedding, f, n, use_text, use_vector,
                                                fusion, a, text_weight, vector_weight, rrf_k)
    ), boosted AS (
        SELECT fu.id, animus.memory_boost(fu.score,
                   animus.memory_retrievability(r.stability, extract(epoch FROM now() - r.last_review)::double precision / 86400),
                   now() - m.updated_at,
                   CASE WHEN jsonb_typeof(m.metadata -> 'importance') = 'number' THEN (m.metadata ->> 'importance')::double precision END,
                   retrievability_weight, recency_weight, recency_half_life, importance_weight) AS score,
               fu.vr, fu.tr, fu.best, fu.distance, fu.ts
          FROM fused AS fu
          JOIN animus.memories AS m ON m.id = fu.id
          LEFT JOIN animus.memory_reviews AS r ON r.memory_id = fu.id
    ), top AS (
        SELECT b.id, b.score FROM boosted AS b ORDER BY b.score DESC, b.best, b.id LIMIT k
    ), graph AS (
        SELECT g.memory_id AS id, g.score
          FROM (SELECT coalesce(array_agg(t.id ORDER BY t.score DESC, t.id), '{}') AS ids,
                       coalesce(array_agg(t.score ORDER BY t.score DESC, t.id), '{}') AS scores
                  FROM top AS t
                HAVING graph_depth > 0) AS h
         CROSS JOIN LATERAL animus.memory_graph_expand(h.ids, h.scores, greatest(graph_depth, 1), graph_relations, graph_decay) AS g
          JOIN animus.memories AS m ON m.id = g.memory_id
         WHERE animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
    ), ranked AS (
        SELECT coalesce(b.id, g.id) AS id, greatest(b.score, g.score) AS score,
               b.vr, b.tr, b.best, b.distance, b.ts
          FROM boosted AS b FULL JOIN graph AS g ON g.id = b.id
    )
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           ra.score, row_number() OVER (ORDER BY ra.score DESC, ra.best NULLS LAST, ra.id),
           ra.vr, ra.tr, ra.distance, ra.ts
      FROM (SELECT * FROM ranked ORDER BY ranked.score DESC, ranked.best NULLS LAST, ranked.id LIMIT k) AS ra
      JOIN animus.memories AS m ON m.id = ra.id
     ORDER BY ra.score DESC, ra.best NULLS LAST, ra.id;
END
$$;
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision) IS
    'Vector and keyword search fused in one statement: each branch contributes its best candidates (default max(3k, 30), '
    'at most 1000). fusion => ''rrf'' (Reciprocal Rank Fusion): score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank); '
    'fusion => ''convex'': score = vector_weight * alpha * (2 - distance) / (2 - min distance) + text_weight * (1 - alpha) * text_score / max text_score '
    '(theoretical-min-max normalisation; 0 for a row a branch did not return; alpha default 0.3). The default is convex: it beat RRF on NFCorpus dev. '
    'Optional weighting (all 0 by default, each in [0, 1]): score x (1 - wr + wr R) x (1 - wc + wc 0.5^(age / recency_half_life)) x (1 - wi + wi I), '
    'R the FSRS retrievability now (1 if never reviewed), age now() - updated_at, I metadata->>''importance'' clamped to [0, 1] (1 if unset): animus.memory_boost. '
    'Optional graph step (graph_depth 1..5, 0 = off, the default): the neighbours of the top k (links in either direction, graph_relations NULL = all) '
    'that pass the filter join with score = hit score x link weight x graph_decay per link (memory_graph_expand), vector_rank and text_rank NULL unless '
    'the neighbour is a candidate too (the better score kept). With the defaults the ranking is that of v0.7.0. '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k, alpha, graph_decay out of range), ZA221 (graph_depth, graph_relations), '
    'ZA224 (retrievability_weight, recency_weight, importance_weight outside [0, 1], recency_half_life <= 0), ZA228 (unknown fusion, alpha without convex), '
    'ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
