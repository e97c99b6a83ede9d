-- Verify animus:memory_bm25 on pg

BEGIN;

SELECT memory_id, namespace, term, tf, doc_len, impact FROM animus.memory_terms WHERE false;
SELECT namespace, docs, total_len FROM animus.memory_bm25_namespace_stats WHERE false;
SELECT namespace, term, df FROM animus.memory_bm25_term_stats WHERE false;
SELECT id, namespace, term, df, total_len FROM animus.memory_bm25_deltas WHERE false;
SELECT k1, b, postings_budget, max_postings_budget, rescore_extra, refresh_after, refreshed_through
  FROM animus.memory_bm25_settings WHERE false;

DO $$
DECLARE
    fn text;
BEGIN
    IF (SELECT count(*) FROM animus.memory_bm25_settings) <> 1 THEN
        RAISE EXCEPTION 'memory_bm25_settings must hold exactly one row';
    END IF;
    FOREACH fn IN ARRAY ARRAY[
        'animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer)',
        'animus.memory_bm25_reindex(text)',
        'animus.memory_bm25_refresh(boolean)'] LOOP
        IF NOT has_function_privilege('animus_admin', fn, 'EXECUTE') THEN
            RAISE EXCEPTION 'animus_admin cannot execute %', fn;
        END IF;
        IF NOT (SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
                  FROM pg_catalog.pg_proc AS p WHERE p.oid = fn::regprocedure) THEN
            RAISE EXCEPTION '% must be SECURITY DEFINER with search_path = pg_catalog, pg_temp', fn;
        END IF;
    END LOOP;
    IF pg_catalog.pg_get_functiondef('animus.memory_bm25_refresh(boolean)'::regprocedure) LIKE '%pg\_%advisory\_%lock%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_refresh must not serialise on an advisory lock (any login can hold its key)';
    END IF;
    -- this change: term-first BM25 indexes, a top-k planned with its actual values
    IF coalesce(pg_catalog.pg_get_indexdef(pg_catalog.to_regclass('animus.memory_terms_impact_idx')), '(term, namespace, impact DESC, memory_id)')   -- (absent during a bulk load)
       NOT LIKE '%(term, namespace, impact DESC, memory_id)%' THEN
        RAISE EXCEPTION 'animus.memory_terms_impact_idx must be keyed (term, namespace, impact DESC, memory_id)';
    END IF;
    IF pg_catalog.pg_get_indexdef('animus.memory_bm25_term_stats_pkey'::regclass) NOT LIKE '%(term, namespace)%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_term_stats must be keyed (term, namespace)';
    END IF;
    IF NOT (SELECT p.proconfig @> ARRAY['plan_cache_mode=force_generic_plan'] FROM pg_catalog.pg_proc AS p
             WHERE p.oid = 'animus.memory_bm25_topk(text, jsonb, integer, integer)'::regprocedure) THEN
        RAISE EXCEPTION 'animus.memory_bm25_topk must run with plan_cache_mode = force_generic_plan';
    END IF;
    -- this change (speed round 2): constants of the tf-weight computed once, whole-list candidates ranked flat
    IF pg_catalog.pg_get_functiondef('animus.memory_bm25_topk(text, jsonb, integer, integer)'::regprocedure) NOT LIKE '%w_base + w_len * mt.doc_len%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_topk must compute the tf-weight from w1, w_base and w_len';
    END IF;
    -- this change (speed round 3): the proof bounds a cut term by its cached bounds, which the writes and the fold keep
    IF pg_catalog.pg_get_functiondef('animus.memory_bm25_topk(text, jsonb, integer, integer)'::regprocedure) NOT LIKE '%w_len * t.min_len_ratio%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_topk must bound cut terms by memory_bm25_term_stats.max_tf / min_len_ratio';
    END IF;
    IF pg_catalog.pg_get_functiondef('animus.memory_bm25_refresh(boolean)'::regprocedure) NOT LIKE '%greatest(s.max_tf, excluded.max_tf)%'
       OR pg_catalog.pg_get_functiondef('animus.memory_bm25_index(bigint[], text[], tsvector[])'::regprocedure) NOT LIKE '%max(p.tf)%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_refresh and animus.memory_bm25_index must keep the per-term bounds';
    END IF;
    -- this change: a bulk load's memories leave no per-term deltas; searches count their postings
    IF pg_catalog.pg_get_functiondef('animus.memory_bm25_index(bigint[], text[], tsvector[])'::regprocedure) NOT LIKE '%p.memory_id <= s.bulk_from%'
       OR pg_catalog.pg_get_functiondef('animus.memory_bm25_unindex(bigint[], text[], tsvector[])'::regprocedure) NOT LIKE '%bulk_from%'
       OR pg_catalog.pg_get_functiondef('animus.memory_bm25_topk(text, jsonb, integer, integer)'::regprocedure) NOT LIKE '%mt.memory_id > s.bulk_from%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_index / _unindex / _topk must treat a bulk load''s memories by memory_bm25_settings.bulk_from';
    END IF;
END $$;

ROLLBACK;
