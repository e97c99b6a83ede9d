-- Verify animus:memory_bm25_bounds on pg

BEGIN;

SELECT namespace, term, df, max_tf, min_len_ratio FROM animus.memory_bm25_term_stats WHERE false;
SELECT id, namespace, term, df, total_len, max_tf, min_len_ratio FROM animus.memory_bm25_deltas WHERE false;

DO $$
BEGIN
    IF pg_catalog.pg_get_indexdef('animus.memory_bm25_term_stats_pkey'::regclass)
       NOT LIKE '%(term, namespace) INCLUDE (df, max_tf, min_len_ratio)%' THEN
        RAISE EXCEPTION 'animus.memory_bm25_term_stats_pkey must be (term, namespace) INCLUDE (df, max_tf, min_len_ratio)';
    END IF;
END $$;

ROLLBACK;
