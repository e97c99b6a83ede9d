-- Revert animus:memory_bm25_bounds from pg

BEGIN;

ALTER TABLE animus.memory_bm25_settings DROP COLUMN bulk_from;

DROP TRIGGER memory_bm25_term_stats_after_insert ON animus.memory_bm25_term_stats;
DROP TRIGGER memory_bm25_term_stats_after_update ON animus.memory_bm25_term_stats;
DROP TRIGGER memory_bm25_term_stats_after_delete ON animus.memory_bm25_term_stats;
DROP TRIGGER memory_bm25_term_stats_after_truncate ON animus.memory_bm25_term_stats;
DROP FUNCTION animus.memory_bm25_term_stats_after_write();
DROP FUNCTION animus.memory_bm25_term_totals_sync(text[]);
DROP TABLE animus.memory_bm25_term_totals;

ALTER TABLE animus.memory_bm25_term_stats DROP CONSTRAINT memory_bm25_term_stats_pkey;
ALTER TABLE animus.memory_bm25_term_stats DROP COLUMN max_tf, DROP COLUMN min_len_ratio;
ALTER TABLE animus.memory_bm25_term_stats ADD CONSTRAINT memory_bm25_term_stats_pkey PRIMARY KEY (term, namespace) INCLUDE (df);
ALTER TABLE animus.memory_bm25_deltas DROP COLUMN max_tf, DROP COLUMN min_len_ratio;

COMMIT;
