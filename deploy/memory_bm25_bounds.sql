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

-- Per-term totals over every namespace (the folded statistics summed by term), for searches over
-- every namespace: one row per term instead of one per (namespace, term) — at 200 namespaces the
-- statistics of a query term were ~200 index entries, each a heap visit while the fold's updates
-- are not yet marked all-visible by vacuum (docs/bm25.md, "Where the time goes, round 3").
-- Maintained by statement triggers on memory_bm25_term_stats, which only the serialised refresh
-- (and reindex) write, in the same transaction.
CREATE TABLE animus.memory_bm25_term_totals (
    term           text NOT NULL,
    df             bigint NOT NULL,
    max_tf         integer,
    min_len_ratio  double precision,
    PRIMARY KEY (term) INCLUDE (df, max_tf, min_len_ratio)
);
COMMENT ON TABLE animus.memory_bm25_term_totals IS 'BM25 statistics per term summed over every namespace, as of the last refresh (add pending animus.memory_bm25_deltas rows); kept equal to memory_bm25_term_stats by its triggers. Read by searches over every namespace only.';
COMMENT ON COLUMN animus.memory_bm25_term_totals.term IS 'A lexeme.';
COMMENT ON COLUMN animus.memory_bm25_term_totals.df IS 'Memories containing the term, over every namespace, as of the last refresh.';
COMMENT ON COLUMN animus.memory_bm25_term_totals.max_tf IS 'Greatest memory_bm25_term_stats.max_tf of the term over the namespaces (NULL = unknown).';
COMMENT ON COLUMN animus.memory_bm25_term_totals.min_len_ratio IS 'Least memory_bm25_term_stats.min_len_ratio of the term over the namespaces (NULL = unknown).';

CREATE FUNCTION animus.memory_bm25_term_totals_sync(terms text[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE sql
AS $$
    WITH agg AS (
        SELECT t.term, coalesce(sum(ts.df), 0) AS df,
               CASE WHEN bool_or(ts.max_tf IS NULL) THEN NULL ELSE max(ts.max_tf) END AS max_tf,
               CASE WHEN bool_or(ts.min_len_ratio IS NULL) THEN NULL ELSE min(ts.min_len_ratio) END AS min_len_ratio
          FROM (SELECT DISTINCT x.term FROM unnest(terms) AS x(term)) t
          LEFT JOIN animus.memory_bm25_term_stats ts ON ts.term = t.term
         GROUP BY t.term
    ), gone AS (
        DELETE FROM animus.memory_bm25_term_totals tt USING agg a WHERE tt.term = a.term AND a.df = 0
    )
    INSERT INTO animus.memory_bm25_term_totals AS tt (term, df, max_tf, min_len_ratio)
    SELECT a.term, a.df, a.max_tf, a.min_len_ratio FROM agg a WHERE a.df <> 0
    ON CONFLICT (term) DO UPDATE SET df = excluded.df, max_tf = excluded.max_tf, min_len_ratio = excluded.min_len_ratio
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_term_totals_sync(text[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_term_totals_sync(text[]) IS
    'Internal (triggers on animus.memory_bm25_term_stats): recomputes the animus.memory_bm25_term_totals rows of the given terms from memory_bm25_term_stats. Raises nothing.';

-- The triggers add each statement's change of df per term, and widen the bounds with the rows
-- written (greatest / least, so lowering a bound — memory_bm25_reindex — leaves the total looser:
-- reindex calls memory_bm25_term_totals_sync to recompute).
CREATE FUNCTION animus.memory_bm25_term_stats_after_write()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
AS $$
DECLARE
    c_term   text[] := ARRAY[]::text[];
    c_df     bigint[] := ARRAY[]::bigint[];
    c_max_tf integer[] := ARRAY[]::integer[];
    c_ratio  double precision[] := ARRAY[]::double precision[];
    c_unk    boolean[] := ARRAY[]::boolean[];
    o_term   text[] := ARRAY[]::text[];
    o_df     bigint[] := ARRAY[]::bigint[];
    zero     text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE animus.memory_bm25_term_totals;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(pg_catalog.array_agg(n.term), c_term), coalesce(pg_catalog.array_agg(n.df), c_df),
               coalesce(pg_catalog.array_agg(n.max_tf), c_max_tf), coalesce(pg_catalog.array_agg(n.min_len_ratio), c_ratio),
               coalesce(pg_catalog.array_agg(n.max_tf IS NULL OR n.min_len_ratio IS NULL), c_unk)
          INTO c_term, c_df, c_max_tf, c_ratio, c_unk FROM new_rows n;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(pg_catalog.array_agg(o.term), o_term), coalesce(pg_catalog.array_agg(o.df), o_df)
          INTO o_term, o_df FROM old_rows o;
    END IF;
    WITH c AS (
        SELECT x.term, x.df, x.max_tf, x.min_len_ratio, x.unknown
          FROM unnest(c_term, c_df, c_max_tf, c_ratio, c_unk) AS x(term, df, max_tf, min_len_ratio, unknown)
        UNION ALL   -- rows replaced or deleted: their df leaves, their bounds stay (upper bounds)
        SELECT x.term, -x.df, 0, 'Infinity'::double precision, false FROM unnest(o_term, o_df) AS x(term, df)
    ), up AS (
        INSERT INTO animus.memory_bm25_term_totals AS tt (term, df, max_tf, min_len_ratio)
        SELECT c.term, sum(c.df),
               CASE WHEN bool_or(c.unknown) THEN NULL ELSE max(c.max_tf) END,
               CASE WHEN bool_or(c.unknown) THEN NULL ELSE min(c.min_len_ratio) END
          FROM c GROUP BY c.term
        ON CONFLICT (term) DO UPDATE
           SET df = tt.df + excluded.df,
               max_tf = CASE WHEN tt.max_tf IS NULL OR excluded.max_tf IS NULL THEN NULL ELSE greatest(tt.max_tf, excluded.max_tf) END,
               min_len_ratio = CASE WHEN tt.min_len_ratio IS NULL OR excluded.min_len_ratio IS NULL THEN NULL
                                    ELSE least(tt.min_len_ratio, excluded.min_len_ratio) END
        RETURNING tt.term, tt.df
    )
    SELECT pg_catalog.array_agg(up.term) INTO zero FROM up WHERE up.df = 0;
    IF zero IS NOT NULL THEN
        DELETE FROM animus.memory_bm25_term_totals tt WHERE tt.term = ANY (zero) AND tt.df = 0;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_term_stats_after_write() FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_term_stats_after_write() IS
    'Trigger (statement level, AFTER INSERT / UPDATE / DELETE / TRUNCATE ON animus.memory_bm25_term_stats): keeps animus.memory_bm25_term_totals equal to the per-term sums. Raises nothing.';
CREATE TRIGGER memory_bm25_term_stats_after_insert AFTER INSERT ON animus.memory_bm25_term_stats
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();
CREATE TRIGGER memory_bm25_term_stats_after_update AFTER UPDATE ON animus.memory_bm25_term_stats
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();
CREATE TRIGGER memory_bm25_term_stats_after_delete AFTER DELETE ON animus.memory_bm25_term_stats
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();
CREATE TRIGGER memory_bm25_term_stats_after_truncate AFTER TRUNCATE ON animus.memory_bm25_term_stats
    FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();

-- Backfill, no refresh running meanwhile (its lock: the settings row).
DO $$ BEGIN PERFORM 1 FROM animus.memory_bm25_settings FOR UPDATE; END $$;
INSERT INTO animus.memory_bm25_term_totals (term, df, max_tf, min_len_ratio)
SELECT ts.term, sum(ts.df),
       CASE WHEN bool_or(ts.max_tf IS NULL) THEN NULL ELSE max(ts.max_tf) END,
       CASE WHEN bool_or(ts.min_len_ratio IS NULL) THEN NULL ELSE min(ts.min_len_ratio) END
  FROM animus.memory_bm25_term_stats ts GROUP BY ts.term HAVING sum(ts.df) <> 0;


-- A bulk load in progress (memory_begin_bulk_load / memory_finish_bulk_load, change memory_admin):
-- the memories it writes (ids above bulk_from) leave no per-term statistic deltas; searches count
-- their postings directly, and the finish folds them once from the postings.
ALTER TABLE animus.memory_bm25_settings ADD COLUMN bulk_from bigint;
COMMENT ON COLUMN animus.memory_bm25_settings.bulk_from IS 'During a bulk load: the largest memory id before it began (memories above it have no per-term deltas until memory_finish_bulk_load folds their postings); NULL otherwise.';

COMMIT;
