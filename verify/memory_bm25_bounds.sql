-- Verify animus:memory_bm25_bounds on pg

BEGIN;

SELECT namespace, term, df, max_tf, min_len_ratio FROM animus.memory_bm25_term_stats WHERE false;
SELECT id, namespace, term, df, total_len, max_tf, min_len_ratio FROM animus.memory_bm25_deltas WHERE false;
SELECT term, df, max_tf, min_len_ratio FROM animus.memory_bm25_term_totals WHERE false;
SELECT bulk_from FROM animus.memory_bm25_settings WHERE false;

DO $$
BEGIN
    IF pg_catalog.pg_get_indexdef('animus.memory_bm25_term_stats_pkey'::regclass)
       NOT LIKE '%(term, namespace) INCLUDE (df, max_tf, min_len_ratio)%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_term_stats_pkey must be (term, namespace) INCLUDE (df, max_tf, min_len_ratio)';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'animus.memory_bm25_term_stats'::regclass
          AND tgfoid = 'animus.memory_bm25_term_stats_after_write()'::regprocedure) <> 4 THEN
        RAISE EXCEPTION 'animus.memory_bm25_term_stats must keep animus.memory_bm25_term_totals (4 triggers)';
    END IF;
END $$;

ROLLBACK;
