-- Revert animus:memory_bm25_bounds from pg

BEGIN;

ALTER TABLE animus.memory_bm25_term_stats DROP CONSTRAINT memory_bm25_term_stats_pkey;
ALTER TABLE animus.memory_bm25_term_stats DROP COLUMN max_tf, DROP COLUMN min_len_ratio;
ALTER TABLE animus.memory_bm25_term_stats ADD CONSTRAINT memory_bm25_term_stats_pkey PRIMARY KEY (term, namespace) INCLUDE (df);
ALTER TABLE animus.memory_bm25_deltas DROP COLUMN max_tf, DROP COLUMN min_len_ratio;

COMMIT;
