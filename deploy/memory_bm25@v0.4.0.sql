-- Deploy animus:memory_bm25 to pg
-- requires: memory_search

BEGIN;

-- Okapi BM25 for the keyword branch of search_memory_text and hybrid_search, in plain SQL.
-- Design and measurements: docs/bm25.md. In short:
--   * memory_terms holds one posting per (memory, lexeme) with tf, the memory's length and an
--     "impact" (the BM25 tf-weight at write time); an index on (namespace, term, impact DESC)
--     lets a query read only the best postings of each term instead of every match.
--   * Corpus statistics are per namespace (a tenant's idf is its own corpus'). Writers only
--     APPEND delta rows (memory_bm25_deltas); readers add base + pending deltas, so statistics
--     are exact at every snapshot and no writer ever updates a shared counter row. A refresh
--     folds the deltas into the base tables (automatically past settings.refresh_after rows).

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA280', 'keyword_ranking_setting_out_of_range', 'A BM25 setting (k1, b, postings budget, rescore depth, refresh threshold) is outside its documented range.',
     'Use k1 in (0, 10], b in [0, 1], postings_budget >= 1, rescore_extra and refresh_after >= 0 (docs/bm25.md).');

CREATE TABLE animus.memory_bm25_settings (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    k1             double precision NOT NULL DEFAULT 1.2,
    b              double precision NOT NULL DEFAULT 0.75,
    postings_budget     integer NOT NULL DEFAULT 16000,
    max_postings_budget integer NOT NULL DEFAULT 16000,
    rescore_extra  integer NOT NULL DEFAULT 190,
    refresh_after  integer NOT NULL DEFAULT 20000,
    refreshed_through bigint NOT NULL DEFAULT 0,
    CONSTRAINT memory_bm25_settings_k1 CHECK (k1 > 0 AND k1 <= 10),
    CONSTRAINT memory_bm25_settings_b CHECK (b >= 0 AND b <= 1),
    CONSTRAINT memory_bm25_settings_budget CHECK (postings_budget >= 1 AND max_postings_budget >= postings_budget AND rescore_extra >= 0),
    CONSTRAINT memory_bm25_settings_refresh CHECK (refresh_after >= 0)
);
INSERT INTO animus.memory_bm25_settings DEFAULT VALUES;
COMMENT ON TABLE animus.memory_bm25_settings IS
    'BM25 settings (one row; change with animus.memory_bm25_configure): k1, b; postings_budget = postings of whole lists a query may read (max_postings_budget: up to which it grows, x4 a round, while the result is not proven exact); rescore_extra = candidates beyond lim completed exactly; refresh_after = pending delta rows that make a write fold the statistics; refreshed_through = last delta id folded.';

-- One posting per (memory, lexeme of its fts). doc_len = number of lexeme occurrences of the memory
-- (stop words excluded), as BM25 wants. impact = BM25 tf-weight with the settings and the
-- namespace's average length at write time: only the order of postings depends on it, never a score.
CREATE TABLE animus.memory_terms (
    memory_id  bigint NOT NULL,
    namespace  text NOT NULL,
    term       text NOT NULL,
    tf         integer NOT NULL,
    doc_len    integer NOT NULL,
    impact     real NOT NULL
);
CREATE INDEX memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
CREATE INDEX memory_terms_impact_idx ON animus.memory_terms (namespace, term, impact DESC, memory_id) INCLUDE (tf, doc_len);
COMMENT ON TABLE animus.memory_terms IS
    'BM25 postings of animus.memories, maintained by triggers on it: (memory_id, namespace, term, tf, doc_len, impact). Read through animus.memory_text_candidates.';

-- Folded statistics, written only by animus.memory_bm25_refresh.
CREATE TABLE animus.memory_bm25_namespace_stats (
    namespace  text PRIMARY KEY,
    docs       bigint NOT NULL,
    total_len  bigint NOT NULL
);
CREATE TABLE animus.memory_bm25_term_stats (
    namespace  text NOT NULL,
    term       text NOT NULL,
    df         bigint NOT NULL,
    PRIMARY KEY (namespace, term)
);
-- Pending changes, appended by every write (one row per namespace and statement with term NULL:
-- documents and total length; one row per namespace, term and statement: document frequency).
CREATE TABLE animus.memory_bm25_deltas (
    id         bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME animus.memory_bm25_deltas_id_seq),
    namespace  text NOT NULL,
    term       text,
    df         bigint NOT NULL,
    total_len  bigint NOT NULL DEFAULT 0
);
CREATE INDEX memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (namespace, term);
COMMENT ON TABLE animus.memory_bm25_namespace_stats IS 'BM25 statistics per namespace as of the last refresh: documents and total length (add pending animus.memory_bm25_deltas rows with term NULL).';
COMMENT ON TABLE animus.memory_bm25_term_stats IS 'BM25 document frequency per namespace and term as of the last refresh (add pending animus.memory_bm25_deltas rows).';
COMMENT ON TABLE animus.memory_bm25_deltas IS 'Append-only BM25 statistic changes not yet folded by animus.memory_bm25_refresh: term NULL = (documents, total length) of a namespace, else document frequency of a term.';

-- The BM25 tf-weight. SQL and without SET so that the planner inlines it (a SET clause would stop
-- inlining); it calls nothing but float8 arithmetic, which always resolves in pg_catalog.
CREATE FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision,
                                      k1 double precision, b double precision)
RETURNS double precision
IMMUTABLE PARALLEL SAFE
LANGUAGE sql
AS $$ SELECT tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)) $$;
REVOKE ALL ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision)
    TO animus_memory_reader, animus_admin;
COMMENT ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision) IS
    'Okapi BM25 term-frequency weight tf*(k1+1) / (tf + k1*(1 - b + b*doc_len/avgdl)); a term''s score is idf times this. Raises nothing.';

-- Number of lexeme occurrences of a tsvector (a stripped vector counts one per lexeme).
CREATE FUNCTION animus.bm25_doc_len(fts tsvector)
RETURNS integer
IMMUTABLE PARALLEL SAFE
SET search_path = ''
LANGUAGE sql
AS $$ SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer FROM pg_catalog.unnest(fts) AS u $$;
REVOKE ALL ON FUNCTION animus.bm25_doc_len(tsvector) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.bm25_doc_len(tsvector) TO animus_memory_reader, animus_admin;
COMMENT ON FUNCTION animus.bm25_doc_len(tsvector) IS
    'BM25 document length of a tsvector: the number of lexeme occurrences (stop words are not in it). Raises nothing.';

CREATE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    folded   bigint;
    last_id  bigint;
    zero_ns  text[];
    zero_terms text[];
BEGIN
    -- One refresher at a time; writers never wait for it (they only append deltas).
    IF wait THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh'));
    ELSIF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh')) THEN
        RETURN NULL;
    END IF;

    WITH moved AS (
        DELETE FROM animus.memory_bm25_deltas RETURNING id, namespace, term, df, total_len
    ), terms AS (
        SELECT m.namespace, m.term, sum(m.df) AS df FROM moved m
        WHERE m.term IS NOT NULL GROUP BY m.namespace, m.term HAVING sum(m.df) <> 0
    ), up_terms AS (
        INSERT INTO animus.memory_bm25_term_stats AS s (namespace, term, df)
        SELECT t.namespace, t.term, t.df FROM terms t
        ON CONFLICT (namespace, term) DO UPDATE SET df = s.df + excluded.df
        RETURNING s.namespace, s.term, s.df
    ), spaces AS (
        SELECT m.namespace, sum(m.df) AS docs, sum(m.total_len) AS total_len FROM moved m
        WHERE m.term IS NULL GROUP BY m.namespace
    ), up_spaces AS (
        INSERT INTO animus.memory_bm25_namespace_stats AS s (namespace, docs, total_len)
        SELECT sp.namespace, sp.docs, sp.total_len FROM spaces sp
        ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len
        RETURNING s.namespace, s.docs
    ), zero AS (
        SELECT u.namespace, u.term FROM up_terms u WHERE u.df = 0
        UNION ALL
        SELECT u.namespace, NULL FROM up_spaces u WHERE u.docs = 0
    )
    SELECT (SELECT count(*) FROM moved), (SELECT max(id) FROM moved),
           (SELECT pg_catalog.array_agg(z.namespace) FROM zero z), (SELECT pg_catalog.array_agg(z.term) FROM zero z)
      INTO folded, last_id, zero_ns, zero_terms;

    IF zero_ns IS NOT NULL THEN
        DELETE FROM animus.memory_bm25_term_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NOT NULL AND s.namespace = z.namespace AND s.term = z.term AND s.df = 0;
        DELETE FROM animus.memory_bm25_namespace_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NULL AND s.namespace = z.namespace AND s.docs = 0;
    END IF;
    IF last_id IS NOT NULL THEN
        UPDATE animus.memory_bm25_settings SET refreshed_through = greatest(refreshed_through, last_id);
    END IF;
    RETURN folded;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_refresh(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_refresh(boolean) TO animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_refresh(boolean) IS
    'Folds the pending BM25 statistic deltas into the per-namespace statistics; returns the number of delta rows folded, or NULL when wait => false and another refresh holds the lock. Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';

-- Postings and statistic deltas of memories being added (called by the triggers on animus.memories).
CREATE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_bm25_settings;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        SELECT d.id, d.namespace, d.fts, animus.bm25_doc_len(d.fts) AS doc_len
        FROM unnest(ids, namespaces, vectors) AS d(id, namespace, fts)
    ), norm AS (
        -- The average length the impacts are computed with: the namespace's folded statistics,
        -- else (a new namespace) this statement's own memories.
        SELECT d.namespace,
               coalesce(max(ns.total_len::float8 / NULLIF(ns.docs, 0)), NULLIF(avg(d.doc_len), 0), 1)::float8 AS avgdl
        FROM docs d LEFT JOIN animus.memory_bm25_namespace_stats ns ON ns.namespace = d.namespace
        GROUP BY d.namespace
    ), postings AS (
        INSERT INTO animus.memory_terms (memory_id, namespace, term, tf, doc_len, impact)
        SELECT d.id, d.namespace, u.lexeme, coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len,
               animus.bm25_tf_weight(coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len, n.avgdl, s.k1, s.b)
        FROM docs d JOIN norm n ON n.namespace = d.namespace CROSS JOIN LATERAL pg_catalog.unnest(d.fts) AS u
        RETURNING namespace, term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT p.namespace, p.term, count(*), 0 FROM postings p GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len) FROM docs d GROUP BY d.namespace;

    IF s.refresh_after > 0
       AND (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through >= s.refresh_after THEN
        PERFORM animus.memory_bm25_refresh(wait => false);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas. Raises nothing.';

-- Removes the postings of memories and appends negative deltas (vectors = their old fts).
CREATE FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE sql
AS $$
    WITH gone AS (
        DELETE FROM animus.memory_terms t WHERE t.memory_id = ANY (ids) RETURNING t.namespace, t.term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT g.namespace, g.term, -count(*), 0 FROM gone g GROUP BY g.namespace, g.term
    UNION ALL
    SELECT d.namespace, NULL, -count(*), -sum(animus.bm25_doc_len(d.fts))
    FROM unnest(namespaces, vectors) AS d(namespace, fts) GROUP BY d.namespace
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): deletes the BM25 postings of the given memories and appends negative statistic deltas. Raises nothing.';

CREATE FUNCTION animus.memory_bm25_after_insert()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts))
    FROM new_rows n HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION animus.memory_bm25_after_update()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    ids bigint[]; old_ns text[]; old_fts tsvector[]; new_ns text[]; new_fts tsvector[];
BEGIN
    -- Only memories whose words or namespace changed (store_memory's dedup touches neither).
    SELECT pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts),
           pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts)
      INTO ids, old_ns, old_fts, new_ns, new_fts
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.fts IS DISTINCT FROM n.fts OR o.namespace IS DISTINCT FROM n.namespace;
    IF ids IS NOT NULL THEN
        PERFORM animus.memory_bm25_unindex(ids, old_ns, old_fts);
        PERFORM animus.memory_bm25_index(ids, new_ns, new_fts);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION animus.memory_bm25_after_delete()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM animus.memory_bm25_unindex(pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts))
    FROM old_rows o HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION animus.memory_bm25_after_truncate()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE animus.memory_terms, animus.memory_bm25_deltas, animus.memory_bm25_term_stats, animus.memory_bm25_namespace_stats;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION animus.memory_bm25_after_insert() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_update() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_delete() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_truncate() FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_after_insert() IS 'Trigger (statement level, AFTER INSERT ON animus.memories): BM25 postings and statistics of the new memories. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_update() IS 'Trigger (statement level, AFTER UPDATE ON animus.memories): re-indexes memories whose fts or namespace changed. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_delete() IS 'Trigger (statement level, AFTER DELETE ON animus.memories): removes the postings and statistics of deleted memories. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_truncate() IS 'Trigger (AFTER TRUNCATE ON animus.memories): empties the BM25 postings and statistics. Raises nothing.';

-- Existing memories (deploying on a populated database): index them in one statement, with writers
-- held off until the triggers exist.
LOCK TABLE animus.memories IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(m.id), pg_catalog.array_agg(m.namespace), pg_catalog.array_agg(m.fts))
       FROM animus.memories m HAVING count(*) > 0;
    PERFORM animus.memory_bm25_refresh();
END $$;

CREATE TRIGGER memory_bm25_after_insert AFTER INSERT ON animus.memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_insert();
CREATE TRIGGER memory_bm25_after_update AFTER UPDATE ON animus.memories
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_update();
CREATE TRIGGER memory_bm25_after_delete AFTER DELETE ON animus.memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_delete();
CREATE TRIGGER memory_bm25_after_truncate AFTER TRUNCATE ON animus.memories
    FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_truncate();

-- The BM25 top-k (see docs/bm25.md, "Top-k retrieval"). Query terms are taken rarest first
-- within a postings budget: a term whose whole list fits in what is left is read to its end (its
-- contribution is then exact for every memory); the remaining, common (low-idf) terms are cut:
-- only their lim best postings by impact are read, to seed candidates (split between namespaces).
-- Candidates are ranked by the score the postings read give them; the best lim + rescore_extra
-- are completed exactly (their postings of the cut terms, looked up by memory id) and re-ranked.
-- The result is proven exact when the k-th exact score reaches what any other memory could
-- still score (candidates not rescored, and memories in no list read); if not, and the budget
-- may grow (max_postings_budget), the round is repeated with four times the budget.
CREATE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 10,
                                        budget integer DEFAULT NULL)
RETURNS TABLE (id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
STABLE
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    s           animus.memory_bm25_settings;
    f           jsonb := coalesce(filters, '{}'::jsonb);
    q_terms     text[];
    q_df        double precision[];
    q_idf       double precision[];
    q_cap       integer[];
    spaces      text[];
    n_spaces    integer;
    n_docs      double precision;
    n_len       double precision;
    avgdl       double precision;
    must_filter boolean;
    b_now       bigint;
    b_max       bigint;
    left_budget double precision;
    cutting     boolean;
    cut_terms   text[];
    i           integer;
    n_terms     integer;
    rescore     integer;
    r_ids       bigint[];
    r_scores    double precision[];
    r_read      bigint;
    r_cands     bigint;
    r_bound     double precision;
    r_next_lb   double precision;
    r_prefix_lb double precision;
    proven      boolean;
BEGIN
    IF lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO s FROM animus.memory_bm25_settings;

    -- Namespaces searched: statistics are per namespace, summed over the ones the filter selects.
    IF f -> 'namespace' ? 'in' THEN
        spaces := animus.memory_filter_list(f -> 'namespace');
    ELSE
        spaces := ARRAY(SELECT x.namespace FROM (
                            SELECT ns.namespace FROM animus.memory_bm25_namespace_stats ns
                            UNION SELECT d.namespace FROM animus.memory_bm25_deltas d WHERE d.term IS NULL) x
                        WHERE f -> 'namespace' IS NULL OR pg_catalog.starts_with(x.namespace, f -> 'namespace' ->> 'prefix')
                        ORDER BY 1);
    END IF;
    must_filter := f - 'namespace' <> '{}'::jsonb;
    n_spaces := greatest(coalesce(pg_catalog.cardinality(spaces), 0), 1);

    SELECT sum(x.docs), sum(x.total_len) INTO n_docs, n_len FROM (
        SELECT ns.docs, ns.total_len FROM animus.memory_bm25_namespace_stats ns WHERE ns.namespace = ANY (spaces)
        UNION ALL
        SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term IS NULL
    ) x;
    IF coalesce(n_docs, 0) <= 0 THEN
        RETURN;
    END IF;
    avgdl := CASE WHEN n_len > 0 THEN n_len / n_docs ELSE 1 END;

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term)
      INTO q_terms, q_df
      FROM (SELECT u.lexeme AS term,
                   (SELECT coalesce(sum(x.df), 0) FROM (
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts WHERE ts.namespace = ANY (spaces) AND ts.term = u.lexeme
                        UNION ALL
                        SELECT d.df FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term = u.lexeme) x
                   )::double precision AS df
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);

    b_now := coalesce(budget, s.postings_budget);
    b_max := CASE WHEN budget IS NOT NULL THEN budget ELSE greatest(s.max_postings_budget, s.postings_budget) END;
    LOOP
        -- Per-term caps, rarest term first: a list that fits in what is left of the budget is read
        -- whole (cap NULL); from the first that does not on, lists are cut to their lim best
        -- postings (they seed candidates; their contributions are completed by the rescoring).
        q_cap := ARRAY[]::integer[];
        cut_terms := ARRAY[]::text[];
        left_budget := b_now;
        cutting := false;
        FOR i IN 1 .. n_terms LOOP
            cutting := cutting OR q_df[i] > left_budget;
            IF cutting THEN
                q_cap := q_cap || lim;
                cut_terms := cut_terms || q_terms[i];
            ELSE
                q_cap := q_cap || NULL::integer;
                left_budget := left_budget - q_df[i];
            END IF;
        END LOOP;

        -- Nothing cut: the whole-list scores are exact already, only lim need ranking.
        rescore := CASE WHEN cutting THEN lim + s.rescore_extra ELSE lim END;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.cap FROM unnest(q_terms, q_idf, q_cap) WITH ORDINALITY AS x(term, idf, cap, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            SELECT mt.memory_id, q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE mt.namespace = ANY (spaces) AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.idf * animus.bm25_tf_weight(p.tf, p.doc_len, avgdl, s.k1, s.b) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term
            SELECT l.o, max(q.idf * l.last_impact) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n, min(c.impact) AS last_impact
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            SELECT c.memory_id, c.lb, c.lb_full FROM cand c
             ORDER BY c.lb DESC, c.memory_id
             LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END
        ), top AS MATERIALIZED (
            SELECT c.memory_id, c.lb, c.lb_full FROM ranked c
             WHERE NOT must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             ORDER BY c.lb DESC, c.memory_id
             LIMIT rescore + 1
        ), completed AS (
            -- exact scores of the best `rescore` candidates: add their postings of the cut terms
            -- (index-only probes on (memory_id, term))
            SELECT t.memory_id, t.lb_full + coalesce(x.extra, 0) AS score
              FROM (SELECT * FROM top ORDER BY top.lb DESC, top.memory_id LIMIT rescore) t
              LEFT JOIN LATERAL (
                   SELECT sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b)) AS extra
                     FROM animus.memory_terms mt JOIN q ON q.term = mt.term
                    WHERE mt.memory_id = t.memory_id AND mt.term = ANY (cut_terms)) x ON cutting
        ), best AS (
            SELECT c.memory_id, c.score FROM completed c ORDER BY c.score DESC, c.memory_id LIMIT lim
        )
        SELECT (SELECT pg_catalog.array_agg(b.memory_id ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT pg_catalog.array_agg(b.score ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT count(*) FROM top),
               (SELECT coalesce(sum(bo.ub), 0) FROM bounds bo),
               (SELECT t.lb FROM top t ORDER BY t.lb DESC, t.memory_id LIMIT 1 OFFSET rescore),
               -- filtered: candidates past the checked prefix were not looked at
               (SELECT min(r.lb) FILTER (WHERE must_filter) FROM ranked r HAVING count(*) > 3 * (rescore + 1))
          INTO r_ids, r_scores, r_cands, r_bound, r_next_lb, r_prefix_lb;
        r_next_lb := CASE WHEN r_prefix_lb IS NULL THEN r_next_lb ELSE greatest(r_next_lb, r_prefix_lb) END;
        r_read := (SELECT sum(CASE WHEN c IS NULL THEN d ELSE least(c, d) END)::bigint FROM unnest(q_cap, q_df) AS x(c, d));

        -- Exact when nothing left out can reach the k-th score: a memory in no list scores at most
        -- r_bound; a candidate not rescored at most its partial score (<= r_next_lb) + r_bound.
        proven := r_bound = 0 AND r_next_lb IS NULL
               OR (coalesce(pg_catalog.cardinality(r_ids), 0) >= lim
                   AND r_scores[lim] >= coalesce(r_next_lb, 0) + r_bound);
        EXIT WHEN proven OR b_now >= b_max;
        b_now := least(b_now * 4, b_max);
    END LOOP;

    -- A selective filter can leave fewer than lim of the candidates: then score every memory
    -- that passes the filter and matches a query term (few, since the filter is selective).
    IF must_filter AND coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven THEN
        RETURN QUERY EXECUTE
            'SELECT x.memory_id, x.score, true, x.n, $9::integer FROM (
                 SELECT mt.memory_id, sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, $4, $5, $6)) AS score,
                        count(*) OVER () AS n
                   FROM animus.memories AS m
                   JOIN animus.memory_terms AS mt ON mt.memory_id = m.id AND mt.term = ANY ($1)
                   JOIN unnest($1, $2) AS q(term, idf) ON q.term = mt.term
                  WHERE m.fts @@ $7
                    AND animus.memory_filter_match($3, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  GROUP BY mt.memory_id) AS x
              ORDER BY x.score DESC, x.memory_id
              LIMIT $8'
            USING q_terms, q_idf, f, avgdl, s.k1, s.b, animus.memory_or_tsquery(query), lim, b_now;
        RETURN;
    END IF;

    RETURN QUERY SELECT r.id, r.score, proven, r_read, b_now::integer FROM unnest(r_ids, r_scores) AS r(id, score);
END
$$;

REVOKE ALL ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) IS
    'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): '
    '(id, score, exact, postings_read, budget_used), score descending, ties by id. exact = the result is proven equal to '
    'exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). Read-only (STABLE). Raises nothing.';

-- The keyword branch of search_memory_text and hybrid_search, now BM25 (revert restores ts_rank).
CREATE OR REPLACE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT t.id, t.score FROM animus.memory_bm25_topk(query, filters, lim) AS t;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; '
    'filters must be normalised by memory_validate_filters. Ranks with Okapi BM25 over the query''s English lexemes '
    '(animus.memory_bm25_topk, docs/bm25.md). Read-only (STABLE). Raises nothing.';

CREATE FUNCTION animus.memory_bm25_configure(
    k1                   double precision DEFAULT NULL,
    b                    double precision DEFAULT NULL,
    postings_budget      integer DEFAULT NULL,
    max_postings_budget  integer DEFAULT NULL,
    rescore_extra        integer DEFAULT NULL,
    refresh_after        integer DEFAULT NULL)
RETURNS animus.memory_bm25_settings
VOLATILE
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    cur animus.memory_bm25_settings;
    nxt animus.memory_bm25_settings;
BEGIN
    SELECT * INTO cur FROM animus.memory_bm25_settings FOR UPDATE;
    nxt := cur;
    nxt.k1 := coalesce(k1, cur.k1);
    nxt.b := coalesce(b, cur.b);
    nxt.postings_budget := coalesce(postings_budget, cur.postings_budget);
    nxt.max_postings_budget := greatest(coalesce(max_postings_budget, cur.max_postings_budget), nxt.postings_budget);
    nxt.rescore_extra := coalesce(rescore_extra, cur.rescore_extra);
    nxt.refresh_after := coalesce(refresh_after, cur.refresh_after);
    IF nxt.k1 = 'NaN' OR nxt.k1 <= 0 OR nxt.k1 > 10 OR nxt.b = 'NaN' OR nxt.b < 0 OR nxt.b > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280', MESSAGE = 'k1 must be in (0, 10] and b in [0, 1]',
            DETAIL = pg_catalog.format('k1 = %s, b = %s', nxt.k1, nxt.b),
            HINT = 'Usual values: k1 = 1.2, b = 0.75 (the default) or k1 = 0.9, b = 0.4.';
    END IF;
    IF nxt.postings_budget < 1 OR nxt.rescore_extra < 0 OR nxt.refresh_after < 0 OR nxt.max_postings_budget > 100000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280',
            MESSAGE = 'postings_budget must be >= 1 (max_postings_budget <= 100000000), rescore_extra and refresh_after >= 0',
            DETAIL = pg_catalog.format('postings_budget = %s, max_postings_budget = %s, rescore_extra = %s, refresh_after = %s',
                                       nxt.postings_budget, nxt.max_postings_budget, nxt.rescore_extra, nxt.refresh_after),
            HINT = 'See docs/bm25.md, "Settings", for what each one trades.';
    END IF;
    UPDATE animus.memory_bm25_settings AS t
       SET k1 = nxt.k1, b = nxt.b, postings_budget = nxt.postings_budget, max_postings_budget = nxt.max_postings_budget,
           rescore_extra = nxt.rescore_extra, refresh_after = nxt.refresh_after
     RETURNING t.* INTO nxt;
    RETURN nxt;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) TO animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) IS
    'Changes BM25 settings (NULL keeps a value) and returns them. Scores use the new k1/b at once; the impact order of '
    'existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';

CREATE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL)
RETURNS bigint
VOLATILE
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_bm25_settings;
    n bigint;
BEGIN
    PERFORM animus.memory_bm25_refresh();
    SELECT * INTO s FROM animus.memory_bm25_settings;
    UPDATE animus.memory_terms AS mt
       SET impact = animus.bm25_tf_weight(mt.tf, mt.doc_len, ns.total_len::float8 / ns.docs, s.k1, s.b)
      FROM animus.memory_bm25_namespace_stats AS ns
     WHERE ns.namespace = mt.namespace AND ns.docs > 0 AND ns.total_len > 0
       AND (memory_bm25_reindex.namespace IS NULL OR mt.namespace = memory_bm25_reindex.namespace);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_reindex(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_reindex(text) TO animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_reindex(text) IS
    'Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) '
    'with the current k1, b and average length; returns the postings rewritten. Run it after changing k1/b or after a '
    'namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

GRANT SELECT ON animus.memory_terms, animus.memory_bm25_settings, animus.memory_bm25_namespace_stats,
                animus.memory_bm25_term_stats, animus.memory_bm25_deltas TO animus_memory_reader;

COMMIT;
