-- Deploy animus:memory_bm25 to pg
-- requires: memory_bm25@v0.4.0

BEGIN;

-- * memory_bm25_refresh took pg_advisory_xact_lock(hashtext('animus.memory_bm25_refresh')): any
--   login may hold that key, and did: manual refreshes hung and the write-time refresh (which only
--   tries) skipped for good, so memory_bm25_deltas grew without bound and every search summed it.
--   Refreshes now lock the row of animus.memory_bm25_settings (FOR UPDATE needs UPDATE on it,
--   which only the owner has), and a write waits for a running refresh once four times
--   refresh_after rows are pending.
-- * memory_bm25_configure and memory_bm25_reindex were SECURITY INVOKER and animus_admin may not
--   write the settings or the postings: they run as the owner now (EXECUTE: animus_admin only).
-- (CREATE OR REPLACE keeps each function's privileges: the refresh stays admin-only.)

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


CREATE OR REPLACE FUNCTION animus.memory_bm25_configure(
    k1                   double precision DEFAULT NULL,
    b                    double precision DEFAULT NULL,
    postings_budget      integer DEFAULT NULL,
    max_postings_budget  integer DEFAULT NULL,
    rescore_extra        integer DEFAULT NULL,
    refresh_after        integer DEFAULT NULL)
RETURNS animus.memory_bm25_settings
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
COMMENT ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) IS
    'Changes BM25 settings (NULL keeps a value) and returns them. Runs as the owner (SECURITY DEFINER; animus_admin only). Scores use the new k1/b at once; the impact order of '
    'existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';


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


COMMIT;
