-- Deploy animus:memory_bm25_bounds to pg
-- requires: memory_bm25
-- requires: column_comments

BEGIN;

-- Per (namespace, term) upper bounds of the BM25 tf-weight, for the proof of memory_bm25_topk
-- (docs/bm25.md, "Where the time goes, round 3"). Written as
--   tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))
--     = (k1 + 1) / (1 + k1 * (1 - b) / tf + k1 * b * (len / tf) / avgdl)
-- a posting's tf-weight grows with tf and shrinks with len / tf, so the largest tf and the smallest
-- len / tf of a term's postings bound every posting's weight, for any k1, b and average length.
-- The fold keeps them with greatest / least: after deletes they stay valid (only looser);
-- memory_bm25_reindex recomputes them. NULL = unknown (the proof then uses k1 + 1).
ALTER TABLE animus.memory_bm25_term_stats
    ADD COLUMN max_tf integer,
    ADD COLUMN min_len_ratio double precision;
ALTER TABLE animus.memory_bm25_deltas
    ADD COLUMN max_tf integer,
    ADD COLUMN min_len_ratio double precision;
-- the statistics of a search's terms stay index-only reads
ALTER TABLE animus.memory_bm25_term_stats DROP CONSTRAINT memory_bm25_term_stats_pkey;
ALTER TABLE animus.memory_bm25_term_stats ADD CONSTRAINT memory_bm25_term_stats_pkey
    PRIMARY KEY (term, namespace) INCLUDE (df, max_tf, min_len_ratio);

COMMENT ON COLUMN animus.memory_bm25_term_stats.max_tf IS 'Largest tf of the term in a memory of the namespace folded so far (an upper bound: deletes do not lower it; NULL = unknown).';
COMMENT ON COLUMN animus.memory_bm25_term_stats.min_len_ratio IS 'Smallest memory length / tf of the term over the memories folded so far (a lower bound after deletes; NULL = unknown).';
COMMENT ON COLUMN animus.memory_bm25_deltas.max_tf IS 'Rows with df > 0 and a term: largest tf among the postings this row adds (NULL = unknown); else NULL.';
COMMENT ON COLUMN animus.memory_bm25_deltas.min_len_ratio IS 'Rows with df > 0 and a term: smallest memory length / tf among the postings this row adds (NULL = unknown); else NULL.';

-- Backfill from the postings, writers held off: the folded statistics and the pending deltas that
-- add postings both get the bounds of every posting of their (namespace, term) (a superset of the
-- postings they stand for: still upper bounds).
LOCK TABLE animus.memories IN SHARE ROW EXCLUSIVE MODE;
CREATE TEMPORARY TABLE memory_bm25_bounds_backfill ON COMMIT DROP AS
    SELECT mt.namespace, mt.term, max(mt.tf) AS max_tf, min(mt.doc_len::double precision / mt.tf) AS min_len_ratio
      FROM animus.memory_terms mt GROUP BY mt.namespace, mt.term;
UPDATE animus.memory_bm25_term_stats s SET max_tf = x.max_tf, min_len_ratio = x.min_len_ratio
  FROM memory_bm25_bounds_backfill x WHERE x.namespace = s.namespace AND x.term = s.term;
UPDATE animus.memory_bm25_deltas d SET max_tf = x.max_tf, min_len_ratio = x.min_len_ratio
  FROM memory_bm25_bounds_backfill x WHERE d.term IS NOT NULL AND d.df > 0 AND x.namespace = d.namespace AND x.term = d.term;

COMMIT;
