-- Revert animus:memory_search from pg (back to memory_search@v0.6.0)

BEGIN;

-- hybrid_search without fusion / alpha: the v0.6.0 function, RRF only.
DROP FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision);

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
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
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
    'rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k out of range), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

DELETE FROM animus.error_codes WHERE sqlstate = 'ZA228';

COMMIT;
