-- Revert animus:memory_bm25 from pg (back to memory_bm25@v0.8.0)

BEGIN;

-- memory_bm25_topk as v0.8.0 had it (deploy/memory_bm25@v0.8.0.sql), verbatim.
CREATE OR REPLACE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 10,
                                                   budget integer DEFAULT NULL)
RETURNS TABLE (id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
LANGUAGE plpgsql
AS $function$
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
    all_spaces  boolean;
    r_passed    integer;
    seeded      boolean;
    w_base      double precision;
    w_len       double precision;
    fast        boolean;
    rk_ids      bigint[];
    rk_lb       double precision[];
    q_w1        double precision[];
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
    -- No namespace condition: every namespace is searched, and the statements below read each
    -- term's postings and statistics as one index range (term first) instead of one probe per
    -- namespace (200 namespaces x 4 terms were 800 probes per statistic; docs/bm25.md).
    all_spaces := f -> 'namespace' IS NULL;
    must_filter := f - 'namespace' <> '{}'::jsonb;
    n_spaces := greatest(coalesce(pg_catalog.cardinality(spaces), 0), 1);
    -- Cut (common) terms seed candidates with their best postings, read per namespace. Over more
    -- namespaces than lim that is one index probe per namespace and cut term for ~1 posting each
    -- (200 namespaces: 200 probes per cut term, most of the time of such a search); then the cut
    -- terms seed nothing, their contributions are still completed exactly for the rescored
    -- candidates, and the proof bounds them by idf * (k1 + 1) (docs/bm25.md: the trade-off).
    seeded := n_spaces <= lim;

    SELECT sum(x.docs), sum(x.total_len) INTO n_docs, n_len FROM (
        SELECT ns.docs, ns.total_len FROM animus.memory_bm25_namespace_stats ns WHERE all_spaces OR ns.namespace = ANY (spaces)
        UNION ALL
        SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.term IS NULL AND (all_spaces OR d.namespace = ANY (spaces))
    ) x;
    IF coalesce(n_docs, 0) <= 0 THEN
        RETURN;
    END IF;
    avgdl := CASE WHEN n_len > 0 THEN n_len / n_docs ELSE 1 END;
    -- The tf-weight tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)), per posting, as
    -- w1 * tf / (tf + w_base + w_len * doc_len) with w1 = idf * (k1 + 1) per query term: the
    -- constants computed once (per posting the expression read k1, b and avgdl as fields of a
    -- record five times: most of the time of a whole-list read, docs/bm25.md).
    w_base := s.k1 * (1 - s.b);
    w_len := s.k1 * s.b / avgdl;

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term)
      INTO q_terms, q_df
      FROM (SELECT u.lexeme AS term, st.df::double precision AS df
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u
             CROSS JOIN LATERAL (   -- once per term (a scalar subquery here ran three times per term)
                   SELECT coalesce(sum(x.df), 0) AS df FROM (
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts WHERE all_spaces AND ts.term = u.lexeme
                        UNION ALL
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts
                         WHERE NOT all_spaces AND ts.term = u.lexeme AND ts.namespace = ANY (spaces)
                        UNION ALL
                        SELECT d.df FROM animus.memory_bm25_deltas d
                         WHERE d.term = u.lexeme AND (all_spaces OR d.namespace = ANY (spaces))) x) st) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);
    q_w1 := ARRAY(SELECT x.idf * (s.k1 + 1) FROM unnest(q_idf) WITH ORDINALITY AS x(idf, o) ORDER BY x.o);

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
        -- Without cut-list seeds (nothing cut, or not seeded) the candidates come from the whole
        -- lists alone: rank them in one flat aggregate (index range per term -> hash aggregate ->
        -- top-N), not through the CTEs below, which cost ~3x as much per posting read (docs/bm25.md,
        -- "Where the time goes"); lb = lb_full there.
        fast := NOT (seeded AND cutting);
        IF fast THEN
            SELECT pg_catalog.array_agg(x.memory_id ORDER BY x.lb DESC, x.memory_id),
                   pg_catalog.array_agg(x.lb ORDER BY x.lb DESC, x.memory_id)
              INTO rk_ids, rk_lb
              FROM (SELECT w.memory_id, sum(w.part) AS lb
                      FROM (SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
                              FROM unnest(q_terms, q_w1, q_cap) AS q(term, w1, cap)
                              JOIN animus.memory_terms mt ON mt.term = q.term
                             WHERE all_spaces AND q.cap IS NULL
                            UNION ALL
                            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len)
                              FROM unnest(q_terms, q_w1, q_cap) AS q(term, w1, cap)
                              JOIN animus.memory_terms mt ON mt.term = q.term AND mt.namespace = ANY (spaces)
                             WHERE NOT all_spaces AND q.cap IS NULL) w
                     GROUP BY w.memory_id
                     ORDER BY lb DESC, w.memory_id
                     LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END) x;
        END IF;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.idf * (s.k1 + 1) AS w1, x.cap
              FROM unnest(q_terms, q_idf, q_cap) WITH ORDINALITY AS x(term, idf, cap, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            -- (two branches, one skipped at run time: each keeps its own index condition in the
            -- cached generic plan)
            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
            UNION ALL
            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE NOT all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL)) AND mt.namespace = ANY (spaces)
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.w1 * p.tf / (p.tf + w_base + w_len * p.doc_len) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL AND seeded
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term
            SELECT l.o, max(q.idf * l.last_impact) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n, min(c.impact) AS last_impact
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
            UNION ALL
            -- not seeded: any tf-weight is below k1 + 1
            SELECT q.o, q.idf * (s.k1 + 1) FROM q WHERE q.cap IS NOT NULL AND NOT seeded
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            (SELECT c.memory_id, c.lb, c.lb_full FROM cand c
              WHERE NOT fast
              ORDER BY c.lb DESC, c.memory_id
              LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END)
            UNION ALL
            -- (ranked by the flat aggregate above)
            SELECT r.memory_id, r.lb, r.lb FROM unnest(rk_ids, rk_lb) AS r(memory_id, lb) WHERE fast
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
                   SELECT sum(q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len)) AS extra
                     FROM animus.memory_terms mt JOIN q ON q.term = mt.term
                    WHERE mt.memory_id = t.memory_id AND mt.term = ANY (cut_terms)) x ON cutting
        ), best AS MATERIALIZED (
            -- best first; without a filter beyond namespace the filter predicate was not applied
            -- yet: check it here, lazily (the scan stops once lim rows pass: ~lim primary-key
            -- probes), so that conditions memory_filter_match adds (e.g. expiry) apply everywhere
            SELECT c.memory_id, c.score
              FROM (SELECT * FROM completed ORDER BY completed.score DESC, completed.memory_id) c
             WHERE must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             LIMIT lim
        )
        SELECT (SELECT pg_catalog.array_agg(b.memory_id ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT pg_catalog.array_agg(b.score ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT count(*) FROM top),
               (SELECT coalesce(sum(bo.ub), 0) FROM bounds bo),
               (SELECT t.lb FROM top t ORDER BY t.lb DESC, t.memory_id LIMIT 1 OFFSET rescore),
               -- filtered: candidates past the checked prefix were not looked at
               (SELECT min(r.lb) FILTER (WHERE must_filter) FROM ranked r HAVING count(*) > 3 * (rescore + 1))
          INTO r_ids, r_scores, r_cands, r_bound, r_next_lb, r_prefix_lb;
        r_passed := coalesce(pg_catalog.cardinality(r_ids), 0);
        r_next_lb := CASE WHEN r_prefix_lb IS NULL THEN r_next_lb ELSE greatest(r_next_lb, r_prefix_lb) END;
        r_read := (SELECT sum(CASE WHEN c IS NULL THEN d ELSE least(c, d) END)::bigint FROM unnest(q_cap, q_df) AS x(c, d));

        -- Exact when nothing left out can reach the k-th score: a memory in no list scores at most
        -- r_bound; a candidate not rescored at most its partial score (<= r_next_lb) + r_bound.
        proven := r_bound = 0 AND r_next_lb IS NULL
               OR (coalesce(pg_catalog.cardinality(r_ids), 0) >= lim
                   AND r_scores[lim] >= coalesce(r_next_lb, 0) + r_bound);
        -- Unseeded, the whole lists may leave fewer than lim candidates: redo the round seeded.
        IF NOT seeded AND coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven THEN
            seeded := true;
            CONTINUE;
        END IF;
        EXIT WHEN proven OR b_now >= b_max;
        b_now := least(b_now * 4, b_max);
    END LOOP;

    -- A selective filter can leave fewer than lim of the candidates: then score every memory
    -- that passes the filter and matches a query term (few, since the filter is selective).
    -- (Without such a filter: when the filter predicate dropped some of the rescored candidates.)
    IF coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven
       AND (must_filter OR r_passed < least(r_cands, rescore)) THEN
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
$function$;

COMMENT ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) IS
    'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): '
    '(id, score, exact, postings_read, budget_used), score descending, ties by id; every row passes animus.memory_filter_match. '
    'exact = the result is proven equal to exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). '
    'Read-only (STABLE). Raises nothing.';

-- memory_bm25_refresh and memory_bm25_reindex as v0.8.0 had them (deploy/memory_bm25@v0.6.0.sql), verbatim.
CREATE OR REPLACE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
AS $$
DECLARE
    folded   bigint;
    last_id  bigint;
    zero_ns  text[];
    zero_terms text[];
BEGIN
    -- One refresher at a time, serialised by the lock on the settings row: locking it takes UPDATE
    -- on animus.memory_bm25_settings, which only the owner holds (an advisory lock key can be held
    -- by any login). Writers never wait for it below four times refresh_after pending rows.
    IF wait THEN
        PERFORM 1 FROM animus.memory_bm25_settings FOR UPDATE;
    ELSE
        PERFORM 1 FROM animus.memory_bm25_settings FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
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
COMMENT ON FUNCTION animus.memory_bm25_refresh(boolean) IS
    'Folds the pending BM25 statistic deltas into the per-namespace statistics; returns the number of delta rows folded, or NULL when wait => false and another refresh is running (it locks the row of animus.memory_bm25_settings). Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';

CREATE OR REPLACE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
COMMENT ON FUNCTION animus.memory_bm25_reindex(text) IS
    'Runs as the owner (SECURITY DEFINER; animus_admin only). Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) '
    'with the current k1, b and average length; returns the postings rewritten. Run it after changing k1/b or after a '
    'namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

-- memory_bm25_index as v0.8.0 had it (deploy/memory_bm25@v0.7.0.sql), verbatim.
CREATE OR REPLACE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_bm25_settings;
    backlog bigint;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        -- the length inline: animus.bm25_doc_len has a SET clause, so it ran as its own statement
        -- per memory (0.2 s of a 2,000-memory batch)
        SELECT d.id, d.namespace, d.fts,
               (SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer
                  FROM pg_catalog.unnest(d.fts) AS u) AS doc_len
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

    -- Past refresh_after pending rows a write folds them, unless a refresh is running; past four
    -- times that it waits for the running one and folds, so the backlog (which every search adds
    -- up) stays bounded even while refreshes keep colliding.
    IF s.refresh_after > 0 THEN
        backlog := (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through;
        IF backlog >= 4 * s.refresh_after::bigint THEN
            PERFORM animus.memory_bm25_refresh(wait => true);
        ELSIF backlog >= s.refresh_after THEN
            PERFORM animus.memory_bm25_refresh(wait => false);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas; folds them (memory_bm25_refresh) past refresh_after pending rows, waiting for a running refresh past four times that. Raises nothing.';


-- memory_bm25_unindex as v0.8.0 had it (pg_get_functiondef of a v0.8.0 deploy), verbatim.
CREATE OR REPLACE FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[])
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    WITH gone AS (
        DELETE FROM animus.memory_terms t WHERE t.memory_id = ANY (ids) RETURNING t.namespace, t.term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT g.namespace, g.term, -count(*), 0 FROM gone g GROUP BY g.namespace, g.term
    UNION ALL
    SELECT d.namespace, NULL, -count(*), -sum(animus.bm25_doc_len(d.fts))
    FROM unnest(namespaces, vectors) AS d(namespace, fts) GROUP BY d.namespace
$function$;
COMMENT ON FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): deletes the BM25 postings of the given memories and appends negative statistic deltas. Raises nothing.';
COMMIT;
