-- Deploy animus:memory_search to pg
-- requires: memory_filters
-- requires: memory_store

BEGIN;

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- The vector branch needs pgvector 0.8's iterative index scans (hnsw.iterative_scan,
-- hnsw.max_scan_tuples); the rest of animus works with 0.7.
DO $$
BEGIN
    -- Load pgvector's library in this session (a cast to vector does): it defines the hnsw.*
    -- settings the functions below SET. Unloaded, they are placeholders, which only a superuser
    -- may name in CREATE FUNCTION ... SET (a deploy by a non-superuser owner failed here).
    EXECUTE pg_catalog.format('SELECT %L::%s.vector', '[1]',
                              (SELECT e.extnamespace::regnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'vector'));
    IF (SELECT string_to_array(extversion, '.')::int[] < '{0,8,0}' FROM pg_catalog.pg_extension WHERE extname = 'vector') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'ZA011',
            MESSAGE = format('memory search needs pgvector 0.8.0 or later; this database has %s',
                             (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'vector')),
            HINT = 'Install pgvector >= 0.8.0 on the server and run ALTER EXTENSION vector UPDATE, then deploy again.';
    END IF;
END $$;

-- k and candidates: 1 .. 1000 (1000 is also pgvector's ceiling for hnsw.ef_search).
CREATE FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer DEFAULT 1000)
    RETURNS void
    IMMUTABLE
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = pg_catalog.format('%s must not be NULL', argument),
            HINT = pg_catalog.format('Pass %s between 1 and %s, or omit it for the default.', argument, maximum);
    END IF;
    IF value < 1 OR value > maximum THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = pg_catalog.format('%s must be between 1 and %s', argument, maximum),
            DETAIL = pg_catalog.format('%s = %s', argument, value),
            HINT = pg_catalog.format('Pass %s between 1 and %s.', argument, maximum);
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_check_limit(integer, text, integer) IS
    'Raises unless 1 <= value <= maximum. Raises ZA001 (NULL), ZA002 (out of range).';
REVOKE ALL ON FUNCTION animus.memory_check_limit(integer, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_limit(integer, text, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- A natural-language query as an OR of its English lexemes: 'the cats ran home' becomes
-- 'cat' | 'ran' | 'home'. An AND (plainto_tsquery) of a sentence-long query matches almost
-- nothing; OR matches any document sharing a stemmed term and the rank sorts them.
-- NULL when the query has no lexeme (empty, or only stop words).
CREATE FUNCTION animus.memory_or_tsquery(query text)
    RETURNS tsquery
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN (SELECT pg_catalog.string_agg(
                   '''' || pg_catalog.replace(pg_catalog.replace(lexeme, '\', '\\'), '''', '''''') || '''',
                   ' | ' ORDER BY lexeme)::tsquery
          FROM pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('english'::regconfig, query))) AS lexeme);
COMMENT ON FUNCTION animus.memory_or_tsquery(text) IS
    'The English lexemes of query ORed into a tsquery (NULL if there are none). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_or_tsquery(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_or_tsquery(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- THE keyword branch of search_memory_text and hybrid_search: up to lim ids with their score,
-- best first (ties by id). filters must already be normalised by memory_validate_filters.
-- This version ranks with ts_rank over the OR query, normalisation 1 (rank / (1 + log(document
-- length))): on NFCorpus dev it beats plain ts_rank (nDCG@10 0.2765 vs 0.2708; docs/memory.md).
-- A later change (BM25) replaces this body.
-- EXECUTE ... USING plans with the actual filter, so memory_filter_match inlines and folds.
-- ROWS 100: callers join the result to animus.memories; with the default estimate (1000) the
-- planner hashes the whole table instead of probing the primary key (measured: 1 ms -> 7 ms).
CREATE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    q tsquery := animus.memory_or_tsquery(query);
BEGIN
    IF q IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT m.id, pg_catalog.ts_rank(m.fts, $1, 1)::double precision AS score
           FROM animus.memories AS m
          WHERE m.fts @@ $1
            AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
          ORDER BY score DESC, m.id
          LIMIT $3'
        USING q, coalesce(filters, '{}'), lim;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; '
    'filters must be normalised by memory_validate_filters. Ranks with ts_rank (normalisation 1) over the OR of the query''s English lexemes. '
    'Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- THE vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance),
-- nearest first (ties by id); k rows whenever k rows match. Three paths:
--   * a table of fewer than 5,000 rows (pg_class.reltuples), or a filter matching fewer than
--     2,000 rows (counted through the indexes, stopping at 2,000): exact search over those rows
--     (a few ms; cheaper than walking the graph past 99 % non-matches, and exact);
--   * otherwise the HNSW index with an iterative scan (relaxed order, re-sorted here), which keeps
--     walking the graph until lim rows pass the filter (hnsw.max_scan_tuples caps it);
--   * if the index scan still returned fewer than lim rows (it hit that cap, or the table is
--     small), exact search over the filter, so a short answer always means "no more rows match".
-- hnsw.ef_search is max(100, lim): 100 gives recall@10 >= 0.95 (docs/memory.md), and an index
-- scan otherwise stops at ef_search rows. The SET clauses keep these settings inside the call.
CREATE FUNCTION animus.memory_vector_candidates(query_embedding vector, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, distance double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, :"vector_schema"
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

CREATE FUNCTION animus.search_memory_vector(
    query_embedding  vector  DEFAULT NULL,
    k                integer DEFAULT 10,
    filters          jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   distance double precision, similarity double precision, rank bigint)
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
BEGIN
    PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_validate_filters(filters);
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.distance, 1 - c.distance, row_number() OVER (ORDER BY c.distance, c.id)
      FROM animus.memory_vector_candidates(query_embedding, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.distance, c.id;
END
$$;
COMMENT ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) IS
    'The k memories nearest to query_embedding by cosine distance (HNSW, iterative scan), filtered (docs/memory.md), '
    'nearest first, ties by id; k rows whenever k rows match. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001, ZA002 (k outside 1..1000), ZA200, ZA202, ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.search_memory_text(
    query    text    DEFAULT NULL,
    k        integer DEFAULT 10,
    filters  jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint)
    STABLE
    SET search_path = ''
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
    f := animus.memory_validate_filters(filters);
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
    'filtered (docs/memory.md), best first, ties by id. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.search_memory_text(text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_text(text, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Hybrid search: both branches fused by Reciprocal Rank Fusion in one SQL statement,
--   score = vector_weight / (rrf_k + vector_rank) + text_weight / (rrf_k + text_rank)
-- (a branch that did not return the row adds 0). A NULL or empty input, or a zero weight,
-- switches its branch off. Ties: score, then the better of the two ranks, then id.
CREATE FUNCTION animus.hybrid_search(
    query_text       text             DEFAULT NULL,
    query_embedding  vector           DEFAULT NULL,
    k                integer          DEFAULT 10,
    filters          jsonb            DEFAULT '{}',
    text_weight      double precision DEFAULT 1,
    vector_weight    double precision DEFAULT 1,
    rrf_k            integer          DEFAULT 60,
    candidates       integer          DEFAULT NULL)
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint,
                   vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
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
    f := animus.memory_validate_filters(filters);

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
               coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0) AS score,
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
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) IS
    'Vector and keyword search fused by Reciprocal Rank Fusion in one statement: each branch contributes its best '
    'candidates (default max(3k, 30), at most 1000); score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank). '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k out of range), ZA200, ZA202, ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
