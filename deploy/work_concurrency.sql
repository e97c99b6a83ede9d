-- Deploy animus:work_concurrency to pg
-- requires: work_concurrency@v0.7.0
-- requires: work_hot_columns

BEGIN;

-- Running items of a key are counted from the index work_items_running_key (on the generated column
-- running_key, not on state): w.running_key = key instead of w.concurrency_key = key AND
-- w.state = 'running'.

CREATE OR REPLACE FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[],
                                      prios integer[], running boolean[],
                                      OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamptz)
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    k        record;
    lim      animus.concurrency_limits;
    st       animus.concurrency_keys;
    it       record;
    n_run    bigint;
    used     bigint;
    win      timestamptz;
    now_     timestamptz := pg_catalog.clock_timestamp();
    stop     text;
    back     bigint[] := '{}';
    h_ids    uuid[] := '{}';
    h_msgs   bigint[] := '{}';
    h_keys   text[] := '{}';
    h_prios  integer[] := '{}';
    l_msgs   bigint[] := '{}';
    l_vts    timestamptz[] := '{}';
BEGIN
    admit_ids := '{}';
    admit_msgs := '{}';
    admitted_at := now_;   -- the start time of the admitted items: the rate window they count in
    FOR k IN SELECT DISTINCT x.key FROM pg_catalog.unnest(keys) AS x(key) ORDER BY 1 LOOP
        lim := animus.work_key_limit(queue, k.key);
        IF lim.queue_name IS NULL THEN
            -- no limit for this key: admit its items
            SELECT admit_ids || pg_catalog.array_agg(x.id ORDER BY x.n), admit_msgs || pg_catalog.array_agg(x.msg ORDER BY x.n)
              INTO admit_ids, admit_msgs
              FROM ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(msgs), pg_catalog.unnest(keys)) WITH ORDINALITY AS x(id, msg, key, n)
             WHERE x.key = k.key;
            CONTINUE;
        END IF;
        SELECT * INTO st FROM animus.concurrency_keys s
         WHERE s.queue_name = queue AND s.concurrency_key = k.key
           FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            IF NOT EXISTS (SELECT 1 FROM animus.concurrency_keys s WHERE s.queue_name = queue AND s.concurrency_key = k.key) THEN
                -- First limited claim of the key: create its state row (a concurrent first claim of
                -- the same key waits for this one; keys are taken in sorted order, so no cycle).
                INSERT INTO animus.concurrency_keys (queue_name, concurrency_key) VALUES (queue, k.key) ON CONFLICT DO NOTHING;
                SELECT * INTO st FROM animus.concurrency_keys s
                 WHERE s.queue_name = queue AND s.concurrency_key = k.key
                   FOR NO KEY UPDATE SKIP LOCKED;
            END IF;
            IF NOT FOUND THEN
                -- Another session admits or wakes this key: its items go back, visible at once.
                back := back || ARRAY(SELECT x.msg FROM ROWS FROM (pg_catalog.unnest(msgs), pg_catalog.unnest(keys)) AS x(msg, key) WHERE x.key = k.key);
                CONTINUE;
            END IF;
        END IF;
        -- A statement after the lock: it sees every settle that committed before the lock was taken.
        SELECT count(*) INTO n_run FROM animus.work_items w
         WHERE w.queue_name = queue AND w.running_key = k.key;
        IF lim.rate IS NOT NULL THEN
            win := pg_catalog.date_bin(lim.period, now_, '2000-01-01 00:00:00+00');
            used := CASE WHEN st.window_start = win THEN st.window_used ELSE 0 END;
        END IF;
        stop := NULL;
        FOR it IN SELECT x.id, x.msg, x.cost, x.prio, x.running
                    FROM ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(msgs), pg_catalog.unnest(keys), pg_catalog.unnest(costs),
                                    pg_catalog.unnest(prios), pg_catalog.unnest(running)) WITH ORDINALITY AS x(id, msg, key, cost, prio, running, n)
                   WHERE x.key = k.key ORDER BY x.n LOOP
            IF it.running THEN
                -- a re-claim of a running item whose claim timed out: it holds its slot already
                admit_ids := admit_ids || it.id;
                admit_msgs := admit_msgs || it.msg;
                CONTINUE;
            END IF;
            IF stop IS NULL AND lim.max_running IS NOT NULL AND n_run >= lim.max_running THEN
                stop := 'hold';
            END IF;
            -- An item costing more than the whole rate may start only as the first of a window
            -- (it could never start otherwise).
            IF stop IS NULL AND lim.rate IS NOT NULL AND used + it.cost > lim.rate AND used > 0 THEN
                stop := 'later';
            END IF;
            IF stop = 'hold' THEN
                h_ids := h_ids || it.id; h_msgs := h_msgs || it.msg; h_keys := h_keys || k.key; h_prios := h_prios || it.prio;
            ELSIF stop = 'later' THEN
                l_msgs := l_msgs || it.msg; l_vts := l_vts || (win + lim.period);
            ELSE
                admit_ids := admit_ids || it.id;
                admit_msgs := admit_msgs || it.msg;
                n_run := n_run + 1;
                used := used + it.cost;
            END IF;
        END LOOP;
        IF lim.rate IS NOT NULL AND (st.window_start IS DISTINCT FROM win OR st.window_used IS DISTINCT FROM used) THEN
            UPDATE animus.concurrency_keys s SET window_start = win, window_used = used
             WHERE s.queue_name = queue AND s.concurrency_key = k.key;
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(back) > 0 THEN
        PERFORM animus.work_queue_set_vt(queue, back, pg_catalog.array_fill(now_, ARRAY[pg_catalog.cardinality(back)]));
    END IF;
    IF pg_catalog.cardinality(h_ids) > 0 THEN
        INSERT INTO animus.concurrency_held (work_id, queue_name, concurrency_key, priority, msg_id)
        SELECT x.id, queue, x.key, x.prio, x.msg
          FROM ROWS FROM (pg_catalog.unnest(h_ids), pg_catalog.unnest(h_keys), pg_catalog.unnest(h_prios), pg_catalog.unnest(h_msgs)) AS x(id, key, prio, msg)
        ON CONFLICT (work_id) DO NOTHING;
        PERFORM animus.work_queue_set_vt(queue, h_msgs, pg_catalog.array_fill('infinity'::timestamptz, ARRAY[pg_catalog.cardinality(h_msgs)]));
    END IF;
    IF pg_catalog.cardinality(l_msgs) > 0 THEN
        PERFORM animus.work_queue_set_vt(queue, l_msgs, l_vts);
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION animus.work_key_wake(queue text, keys text[])
    RETURNS integer
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    k      text;
    lim    animus.concurrency_limits;
    free   bigint;
    m      bigint[];
    woken  integer := 0;
BEGIN
    IF queue IS NULL OR keys IS NULL THEN
        RETURN 0;
    END IF;
    FOR k IN SELECT DISTINCT x FROM pg_catalog.unnest(keys) AS x WHERE x IS NOT NULL ORDER BY 1 LOOP
        PERFORM 1 FROM animus.concurrency_keys s WHERE s.queue_name = queue AND s.concurrency_key = k FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            CONTINUE;   -- no state row: no claim of the key was ever limited, so none is held
        END IF;
        lim := animus.work_key_limit(queue, k);
        IF lim.max_running IS NULL THEN
            free := NULL;   -- LIMIT NULL: every held item
        ELSE
            SELECT lim.max_running - count(*) INTO free FROM animus.work_items w
             WHERE w.queue_name = queue AND w.running_key = k;
            IF free <= 0 THEN
                CONTINUE;
            END IF;
        END IF;
        WITH d AS (
            -- only items still queued (a held row of an item cancelled meanwhile is the sweep's)
            DELETE FROM animus.concurrency_held h
             WHERE h.work_id IN (SELECT hh.work_id FROM animus.concurrency_held hh
                                   JOIN animus.work_items w ON w.id = hh.work_id AND w.state = 'queued'
                                  WHERE hh.queue_name = queue AND hh.concurrency_key = k
                                  ORDER BY hh.priority DESC, hh.msg_id
                                  LIMIT free
                                    FOR UPDATE OF hh SKIP LOCKED)
            RETURNING h.msg_id
        )
        SELECT pg_catalog.array_agg(d.msg_id) INTO m FROM d;
        IF m IS NOT NULL THEN
            PERFORM animus.work_queue_set_vt(queue, m, pg_catalog.array_fill(pg_catalog.clock_timestamp(), ARRAY[pg_catalog.cardinality(m)]));
            woken := woken + pg_catalog.cardinality(m);
        END IF;
    END LOOP;
    RETURN woken;
END;
$$;


COMMIT;
