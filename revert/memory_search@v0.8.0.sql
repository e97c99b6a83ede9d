-- Revert animus:memory_search from pg (back to memory_search@v0.7.0)

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

-- hybrid_search without the weighting and graph arguments: the v0.7.0 function.
DROP FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision);
DROP FUNCTION animus.memory_hybrid_fuse(text, vector, jsonb, integer, boolean, boolean, text, double precision, double precision, double precision, integer);

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
    alpha            double precision DEFAULT NULL)
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

    RETURN QUERY
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates(query_text, f, n) AS c
         WHERE use_text
    ), fused AS (
        SELECT coalesce(vec.id, txt.id) AS id,
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
               END AS score,
               vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
          FROM vec FULL JOIN txt ON txt.id = vec.id
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
END
$$;
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision) IS
    'Vector and keyword search fused in one statement: each branch contributes its best candidates (default max(3k, 30), '
    'at most 1000). fusion => ''rrf'' (Reciprocal Rank Fusion): score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank); '
    'fusion => ''convex'': score = vector_weight * alpha * (2 - distance) / (2 - min distance) + text_weight * (1 - alpha) * text_score / max text_score '
    '(theoretical-min-max normalisation; 0 for a row a branch did not return; alpha default 0.3). The default is convex: it beat RRF on NFCorpus dev. '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k, alpha out of range), ZA228 (unknown fusion, alpha without convex), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision)
    TO animus_memory_reader, animus_memory_writer, animus_admin;


-- The v0.4.0 vector branch (every vector whatever its model; exact under 2,000 matching rows,
-- else HNSW with a relaxed-order iterative scan), with the search_path change
-- security_search_path gave it.
CREATE OR REPLACE FUNCTION animus.memory_vector_candidates(query_embedding vector, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, distance double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET hnsw.max_scan_tuples = 20000
    LANGUAGE plpgsql
AS $$
DECLARE
    exact_below constant integer := 2000;
    exact_table_below constant real := 5000;
    f jsonb := coalesce(filters, '{}');
    matching integer;
    table_rows real;
    ids bigint[];
    distances double precision[];
BEGIN
    IF query_embedding IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT c.reltuples INTO table_rows FROM pg_class AS c WHERE c.oid = 'animus.memories'::regclass;
    IF table_rows >= 0 AND table_rows < exact_table_below THEN   -- -1: never analysed, size unknown
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    IF f <> '{}' THEN
        EXECUTE
            'SELECT count(*)::integer FROM (
                 SELECT 1 FROM animus.memories AS m
                  WHERE animus.memory_filter_match($1, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  LIMIT $2) AS s'
            INTO matching USING f, greatest(exact_below, lim);
        IF matching < greatest(exact_below, lim) THEN
            RETURN QUERY EXECUTE
                'WITH hits AS MATERIALIZED (
                     SELECT m.id, m.embedding FROM animus.memories AS m
                      WHERE m.embedding IS NOT NULL
                        AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
                 SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
                USING query_embedding, f, lim;
            RETURN;
        END IF;
    END IF;

    PERFORM set_config('hnsw.ef_search', greatest(100, lim)::text, true);
    EXECUTE
        'SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id)
           FROM (SELECT m.id, m.embedding <=> $1 AS distance
                   FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  ORDER BY m.embedding <=> $1
                  LIMIT $3) AS c'
        INTO ids, distances USING query_embedding, f, lim;
    IF coalesce(cardinality(ids), 0) < lim THEN
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.distance FROM unnest(ids, distances) AS u(id, distance);
END
$$;
COMMENT ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) IS
    'Internal vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance), nearest first, '
    'ties by id; lim rows whenever lim rows match. filters must be normalised by memory_validate_filters. '
    'HNSW with iterative scan; exact search for tables under 5,000 rows and filters under 2,000 rows. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;


-- search_memory_text of v0.6.0 (the keyword branch without the state over-fetch).
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
      FROM animus.memory_text_candidates(query, f, k) AS c
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

DROP FUNCTION animus.memory_text_candidates_live(text, jsonb, integer);

COMMIT;
