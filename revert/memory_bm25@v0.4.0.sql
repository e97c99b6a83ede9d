-- Revert animus:memory_bm25 from pg

BEGIN;

-- The keyword branch goes back to the memory_search version (ts_rank over an OR query), verbatim.
CREATE OR REPLACE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
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

DROP TRIGGER memory_bm25_after_insert ON animus.memories;
DROP TRIGGER memory_bm25_after_update ON animus.memories;
DROP TRIGGER memory_bm25_after_delete ON animus.memories;
DROP TRIGGER memory_bm25_after_truncate ON animus.memories;
DROP FUNCTION animus.memory_bm25_reindex(text);
DROP FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer);
DROP FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer);
DROP FUNCTION animus.memory_bm25_after_insert();
DROP FUNCTION animus.memory_bm25_after_update();
DROP FUNCTION animus.memory_bm25_after_delete();
DROP FUNCTION animus.memory_bm25_after_truncate();
DROP FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]);
DROP FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]);
DROP FUNCTION animus.memory_bm25_refresh(boolean);
DROP FUNCTION animus.bm25_doc_len(tsvector);
DROP FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision);
DROP TABLE animus.memory_bm25_deltas;
DROP TABLE animus.memory_bm25_term_stats;
DROP TABLE animus.memory_bm25_namespace_stats;
DROP TABLE animus.memory_terms;
DROP TABLE animus.memory_bm25_settings;
DELETE FROM animus.error_codes WHERE sqlstate = 'ZA280';

COMMIT;
