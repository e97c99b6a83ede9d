-- Deploy animus:work_concurrency to pg
-- requires: work_release

BEGIN;

-- Per-key concurrency and rate limits (issue 14, part 5).
--
-- A work item may carry a concurrency key (a tenant, an API account, a model); an admin sets per
-- key limits on a queue: at most max_running items of the key running at once, and at most `rate`
-- cost units started per `period` (fixed windows: date_bin(period, now, 2000-01-01 UTC)). read_work
-- admits a claimed item of a limited key only when it fits; the rest are deferred:
--   over max_running -> held: message vt 'infinity' and a row in animus.concurrency_held; the held
--                       items of a key are woken (vt = now, priority then oldest first, as many as
--                       there are free slots) when an item of the key leaves running;
--   over rate        -> message vt = the start of the next window.
-- Deferral takes a big backlog of one key out of the claim order, so the other keys are served.
--
-- Serialisation: one state row per (queue, key) in animus.concurrency_keys. read_work locks it
-- FOR NO KEY UPDATE SKIP LOCKED (a reader never waits: items of a key another session is admitting
-- or waking go back visible at once) and counts the key's running items in a later statement (so
-- the count sees every settle that committed before the lock was taken); every function that
-- takes an item out of running wakes through animus.work_key_wake, which locks the same row
-- (blocking, keys in sorted order) after the item's update. So a claim that holds an item and a
-- settle that frees a slot are ordered: whichever comes second sees the other.
-- Plain items (no key) take none of this: read_work checks one aggregate and goes on.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA125', 'invalid_concurrency_key', 'A concurrency key (given, or derived from params by the queue''s concurrency_param) is empty, only white space or longer than 200 characters.',
     'Pass a short name of what the limit counts, e.g. concurrency_key => ''tenant-a'', or NULL for an item without a key.'),
    ('ZA126', 'invalid_cost', 'A work item''s cost is not an integer between 1 and 1000000.',
     'Pass cost => the units the item uses of its key''s rate budget (e.g. tokens / 1000); the default is 1.'),
    ('ZA127', 'invalid_concurrency_limit', 'A concurrency limit setting is out of range or incomplete: max_running and rate 1..1000000000, period > 0 and at most 366 days, rate and period given together, at least one of max_running and rate.',
     'Pass max_running => N, and/or rate => R with period => ''1 minute''; drop a limit with animus.drop_concurrency_limit.'),
    ('ZA128', 'unknown_concurrency_limit', 'drop_concurrency_limit named a (queue, key) that has no limit.',
     'List the limits with SELECT * FROM animus.concurrency_limits (or animus.concurrency_stats(queue)).'),
    ('ZA129', 'invalid_concurrency_param', 'A queue''s concurrency_param is empty, only white space or longer than 200 characters.',
     'Pass the params key whose value is the concurrency key, e.g. concurrency_param => ''tenant'', or '''' to clear it with configure_queue.');

-- The new columns. Both are set at creation and never change (a replace-mode debounce keeps them).
ALTER TABLE animus.work_items
    ADD COLUMN concurrency_key text,
    ADD COLUMN cost integer NOT NULL DEFAULT 1;
COMMENT ON COLUMN animus.work_items.concurrency_key IS 'the concurrency key whose limits (animus.concurrency_limits) apply to this item: submit_work''s concurrency_key, else params ->> the queue''s concurrency_param; NULL = no key, no limit.';
COMMENT ON COLUMN animus.work_items.cost IS 'units of its key''s rate budget the item uses when it starts (1..1000000, default 1).';
ALTER TABLE animus.queues ADD COLUMN concurrency_param text;
COMMENT ON COLUMN animus.queues.concurrency_param IS 'when set, an item submitted without a concurrency_key gets params ->> concurrency_param as its key (NULL: no derived key).';

-- Running items per key: read_work counts them under the key's lock. Partial: plain items and
-- items that are not running have no entry.
CREATE INDEX work_items_concurrency_running ON animus.work_items (queue_name, concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

CREATE TABLE animus.concurrency_limits (
    queue_name       text NOT NULL REFERENCES animus.queues (queue_name) ON DELETE CASCADE,
    concurrency_key  text NOT NULL,
    max_running      integer CHECK (max_running BETWEEN 1 AND 1000000000),
    rate             integer CHECK (rate BETWEEN 1 AND 1000000000),
    period           interval CHECK (period > '0' AND period <= '366 days'),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (queue_name, concurrency_key),
    CHECK ((rate IS NULL) = (period IS NULL)),
    CHECK (max_running IS NOT NULL OR rate IS NOT NULL)
);
COMMENT ON TABLE animus.concurrency_limits IS 'Per-key limits of a work queue, set with animus.set_concurrency_limit (animus_admin): the row of the item''s key, else the queue''s ''*'' row (each key then gets its own limits of that size), else no limit.';
COMMENT ON COLUMN animus.concurrency_limits.queue_name IS 'the work queue (the limits go with it when it is dropped).';
COMMENT ON COLUMN animus.concurrency_limits.concurrency_key IS 'the key the limit applies to; ''*'' = every key of the queue without a row of its own.';
COMMENT ON COLUMN animus.concurrency_limits.max_running IS 'at most this many items of the key running at once (NULL: no bound).';
COMMENT ON COLUMN animus.concurrency_limits.rate IS 'at most this many cost units of the key started per period (NULL: no rate limit).';
COMMENT ON COLUMN animus.concurrency_limits.period IS 'the rate window: fixed windows date_bin(period, now, 2000-01-01 00:00 UTC).';
COMMENT ON COLUMN animus.concurrency_limits.updated_at IS 'when the limit was last set.';
GRANT SELECT ON animus.concurrency_limits TO animus_admin;

CREATE TABLE animus.concurrency_keys (
    queue_name       text NOT NULL,
    concurrency_key  text NOT NULL,
    window_start     timestamptz NOT NULL DEFAULT '-infinity',
    window_used      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_name, concurrency_key)
);
COMMENT ON TABLE animus.concurrency_keys IS 'One state row per (queue, key) with a limit, created by read_work at the key''s first limited claim: the row claims and wakes of the key lock, and the key''s rate window. Internal (no role reads it; see animus.concurrency_stats).';
COMMENT ON COLUMN animus.concurrency_keys.queue_name IS 'the work queue.';
COMMENT ON COLUMN animus.concurrency_keys.concurrency_key IS 'the concurrency key.';
COMMENT ON COLUMN animus.concurrency_keys.window_start IS 'start of the rate window window_used counts (a claim in a later window starts from 0).';
COMMENT ON COLUMN animus.concurrency_keys.window_used IS 'cost units of the key started in the window beginning at window_start.';

CREATE TABLE animus.concurrency_held (
    work_id          uuid PRIMARY KEY,
    queue_name       text NOT NULL,
    concurrency_key  text NOT NULL,
    priority         integer NOT NULL,
    msg_id           bigint NOT NULL,
    held_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX concurrency_held_key ON animus.concurrency_held (queue_name, concurrency_key, priority DESC, msg_id);
COMMENT ON TABLE animus.concurrency_held IS 'Queued items read_work held back because their key was at max_running: their messages are invisible (vt infinity) until animus.work_key_wake makes them visible. Internal.';
COMMENT ON COLUMN animus.concurrency_held.work_id IS 'the held work item.';
COMMENT ON COLUMN animus.concurrency_held.queue_name IS 'its queue.';
COMMENT ON COLUMN animus.concurrency_held.concurrency_key IS 'its concurrency key.';
COMMENT ON COLUMN animus.concurrency_held.priority IS 'its priority: wakes take the highest first.';
COMMENT ON COLUMN animus.concurrency_held.msg_id IS 'its pgmq message (in pgmq.q_<queue_name>); wakes take the oldest first within a priority.';
COMMENT ON COLUMN animus.concurrency_held.held_at IS 'when read_work held it.';

-- The limit that applies to a key: its own row, else the queue's '*' row. A SQL function the
-- planner inlines.
CREATE FUNCTION animus.work_key_limit(queue text, key text)
    RETURNS animus.concurrency_limits
    STABLE
    LANGUAGE sql
AS $$
    SELECT l.* FROM animus.concurrency_limits l
     WHERE l.queue_name = queue AND l.concurrency_key IN (key, '*')
     ORDER BY l.concurrency_key = '*'
     LIMIT 1;
$$;
REVOKE ALL ON FUNCTION animus.work_key_limit(text, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_limit(text, text) IS
'Internal: the concurrency_limits row that applies to key in queue (its own, else ''*''); all NULL when none does. Raises nothing.';

-- The check of a key and a cost shared by submit_work and the queue functions. Called only when
-- one is bad (the callers test the condition inline).
CREATE FUNCTION animus.work_check_concurrency_args(concurrency_key text, cost integer, key_from text DEFAULT 'concurrency_key')
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF concurrency_key IS NOT NULL AND (pg_catalog.char_length(concurrency_key) > 200 OR animus.work_is_blank(concurrency_key)) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA125',
            MESSAGE = pg_catalog.format('argument %s must be 1 to 200 characters, not only white space', key_from),
            DETAIL = pg_catalog.format('%s = %L (%s characters)', key_from, pg_catalog.left(concurrency_key, 100), pg_catalog.char_length(concurrency_key)),
            HINT = 'Pass a short name of what the limit counts, e.g. concurrency_key => ''tenant-a'', or NULL for no key.';
    END IF;
    IF cost IS NULL OR cost NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA126', MESSAGE = 'argument cost must be between 1 and 1000000',
            DETAIL = pg_catalog.format('cost = %s', coalesce(cost::text, 'NULL')),
            HINT = 'Pass the units of its key''s rate budget the item uses (default 1).';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_check_concurrency_args(text, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_concurrency_args(text, integer, text) IS
'Internal: raises ZA125 (key empty, only white space or over 200 characters; key_from names where the key came from) or ZA126 (cost not 1..1000000); returns when both are good.';

-- Admission at claim (called by read_work for the claimed items that have a key). ids, msgs,
-- keys, costs, prios, running: the claimed items in claim order; running = the item was already
-- running (a re-claim after its claim timed out: it keeps its slot and is not charged again).
-- Returns the admitted items; the others are held, deferred to the next rate window, or (their
-- key being locked by another session) made visible again at once. The caller holds the items'
-- row locks.
CREATE FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[],
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
         WHERE w.queue_name = queue AND w.concurrency_key = k.key AND w.state = 'running';
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
REVOKE ALL ON FUNCTION animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]) IS
'Internal (read_work): admits the claimed keyed items that fit their key''s limits (in claim order: running count under max_running, started cost within the rate window; a re-claim of a running item keeps its slot) and returns them with the admission time (their started_at: the rate window they count in is the one of their start time); holds the items of a key at max_running (message vt infinity, row in animus.concurrency_held), defers those over the rate to the next window, and makes the items of a key another session has locked visible again at once. Never waits for a lock (SKIP LOCKED) except when two sessions create the state row of the same new key. Raises nothing of its own.';

-- Wakes held items of the given keys of a queue: for each key (sorted), locks its state row
-- (waiting), then makes as many held items visible now as the key has free slots (all of them
-- when no max_running applies any more), highest priority then oldest first. Every function that
-- takes an item of a key out of running calls it after its update, in the same transaction.
CREATE FUNCTION animus.work_key_wake(queue text, keys text[])
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
             WHERE w.queue_name = queue AND w.concurrency_key = k AND w.state = 'running';
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
REVOKE ALL ON FUNCTION animus.work_key_wake(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_wake(text, text[]) IS
'Internal, for the animus functions that take an item out of running or give one back (settles, cancel, release, durable waits): for each key of keys in queue (sorted; NULLs ignored) locks the key''s state row, waiting, and makes as many of its held items visible now as the key has free slots under max_running (all when no max_running applies), highest priority then oldest first. Returns how many it woke. Raises nothing of its own.';

-- The safety net: wakes held items of every key of a queue (or of every queue) that has free
-- slots. Workers call it now and then (the animus Worker on its periodic tick).
CREATE FUNCTION animus.sweep_concurrency_keys(queue text DEFAULT NULL)
    RETURNS integer
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    r      record;
    woken  integer := 0;
BEGIN
    IF queue IS NOT NULL AND NOT animus.work_queue_allowed(queue) THEN
        PERFORM animus.work_raise_not_granted(queue);
    END IF;
    IF queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = sweep_concurrency_keys.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue, or NULL for every queue you may use.';
    END IF;
    -- Held rows of items that are no longer queued (cancelled, purged) go.
    DELETE FROM animus.concurrency_held h
     WHERE (sweep_concurrency_keys.queue IS NULL OR h.queue_name = sweep_concurrency_keys.queue)
       AND NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = h.work_id AND w.state = 'queued');
    FOR r IN SELECT h.queue_name, pg_catalog.array_agg(DISTINCT h.concurrency_key) AS keys
               FROM animus.concurrency_held h
              WHERE (sweep_concurrency_keys.queue IS NULL OR h.queue_name = sweep_concurrency_keys.queue)
                AND animus.work_queue_allowed(h.queue_name)
              GROUP BY h.queue_name ORDER BY h.queue_name LOOP
        woken := woken + animus.work_key_wake(r.queue_name, r.keys);
    END LOOP;
    RETURN woken;
END;
$$;
REVOKE ALL ON FUNCTION animus.sweep_concurrency_keys(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.sweep_concurrency_keys(text) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.sweep_concurrency_keys(text) IS
'Liveness safety net for concurrency keys: wakes the held items of every key of `queue` (NULL: every queue the caller has a grant on) that has free slots, and forgets held rows of items that are no longer queued. Settles wake held items themselves; a worker calls this now and then (the animus Worker on its periodic tick) so that nothing stays held after a limit was raised or dropped. Returns how many items it woke. Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- Limits (animus_admin) -------------------------------------------------------------------------
CREATE FUNCTION animus.set_concurrency_limit(
    queue        text,
    key          text DEFAULT '*',
    max_running  integer DEFAULT NULL,
    rate         integer DEFAULT NULL,
    period       interval DEFAULT NULL
)
    RETURNS animus.concurrency_limits
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    result animus.concurrency_limits;
BEGIN
    IF queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass the queue the limit applies to.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = set_concurrency_limit.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    IF key IS NULL OR (key <> '*' AND (pg_catalog.char_length(key) > 200 OR animus.work_is_blank(key))) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA125', MESSAGE = 'argument key must be ''*'' or 1 to 200 characters, not only white space',
            DETAIL = pg_catalog.format('key = %L', pg_catalog.left(key, 100)),
            HINT = 'Pass the concurrency key the limit is for, or ''*'' (the default) for every key without a limit of its own.';
    END IF;
    IF max_running IS NULL AND rate IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'arguments max_running and rate must not both be NULL',
            HINT = 'Pass max_running => N and/or rate => R with period => ''1 minute''; remove a limit with animus.drop_concurrency_limit.';
    END IF;
    IF max_running NOT BETWEEN 1 AND 1000000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument max_running must be between 1 and 1000000000',
            DETAIL = pg_catalog.format('max_running = %s', max_running),
            HINT = 'Pass how many items of the key may run at once, or NULL for no bound.';
    END IF;
    IF rate NOT BETWEEN 1 AND 1000000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument rate must be between 1 and 1000000000',
            DETAIL = pg_catalog.format('rate = %s', rate),
            HINT = 'Pass how many cost units of the key may start per period, or NULL for no rate limit.';
    END IF;
    IF (rate IS NULL) <> (period IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'arguments rate and period must be given together',
            DETAIL = pg_catalog.format('rate = %s, period = %s', coalesce(rate::text, 'NULL'), coalesce(period::text, 'NULL')),
            HINT = 'Pass rate => R, period => ''1 minute'' (R cost units per minute), or neither.';
    END IF;
    IF period <= '0' OR period > '366 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument period must be positive and at most 366 days',
            DETAIL = pg_catalog.format('period = %s', period),
            HINT = 'Pass the rate window, e.g. period => ''1 second'' or ''1 minute''.';
    END IF;
    INSERT INTO animus.concurrency_limits AS l (queue_name, concurrency_key, max_running, rate, period)
    VALUES (queue, key, max_running, rate, period)
    ON CONFLICT (queue_name, concurrency_key) DO UPDATE
       SET max_running = excluded.max_running, rate = excluded.rate, period = excluded.period,
           updated_at = pg_catalog.clock_timestamp()
    RETURNING l.* INTO result;
    -- A raised limit frees slots: wake what it frees (for '*', every key of the queue with held items).
    PERFORM animus.work_key_wake(queue, ARRAY(SELECT DISTINCT h.concurrency_key FROM animus.concurrency_held h
                                               WHERE h.queue_name = set_concurrency_limit.queue
                                                 AND (set_concurrency_limit.key = '*' OR h.concurrency_key = set_concurrency_limit.key)));
    RETURN result;
END;
$$;
REVOKE ALL ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) TO animus_admin;
COMMENT ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) IS
'Sets (inserts or replaces) the limits of concurrency key `key` of `queue` (''*'', the default: each key without a row of its own gets these limits, counted per key): at most max_running items of the key running at once; at most `rate` cost units (work_items.cost) started per `period`, in fixed windows date_bin(period, now, 2000-01-01 UTC) (an item costing more than rate starts only as the first of a window). read_work applies them from the next claim; items already running count. Returns the row. Raises ZA001 (queue NULL), ZA101 (unknown queue), ZA125 (key NULL, empty, only white space or over 200 characters), ZA127 (max_running and rate both NULL; max_running or rate not 1..1000000000; rate without period or period without rate; period not positive or over 366 days).';

CREATE FUNCTION animus.drop_concurrency_limit(queue text, key text DEFAULT '*')
    RETURNS animus.concurrency_limits
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    result animus.concurrency_limits;
BEGIN
    IF queue IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'arguments queue and key must not be NULL',
            HINT = 'Pass the queue and the key (''*'' for the default) of the limit to drop.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = drop_concurrency_limit.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues.';
    END IF;
    DELETE FROM animus.concurrency_limits l
     WHERE l.queue_name = drop_concurrency_limit.queue AND l.concurrency_key = drop_concurrency_limit.key
    RETURNING l.* INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA128', MESSAGE = pg_catalog.format('argument key: queue %L has no concurrency limit for key %L', queue, pg_catalog.left(key, 100)),
            HINT = 'List the limits with SELECT * FROM animus.concurrency_limits WHERE queue_name = ...';
    END IF;
    PERFORM animus.work_key_wake(queue, ARRAY(SELECT DISTINCT h.concurrency_key FROM animus.concurrency_held h
                                               WHERE h.queue_name = drop_concurrency_limit.queue
                                                 AND (drop_concurrency_limit.key = '*' OR h.concurrency_key = drop_concurrency_limit.key)));
    RETURN result;
END;
$$;
REVOKE ALL ON FUNCTION animus.drop_concurrency_limit(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_concurrency_limit(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.drop_concurrency_limit(text, text) IS
'Removes the limit of key `key` (''*'': the default) of `queue`, returns the removed row, and wakes the held items it no longer holds back (a key without its own row falls back to ''*''). Raises ZA001 (queue or key NULL), ZA101 (unknown queue), ZA128 (no such limit).';

CREATE FUNCTION animus.concurrency_stats(queue text DEFAULT 'work')
    RETURNS TABLE (concurrency_key text, max_running integer, rate integer, period interval,
                   running bigint, queued bigint, held bigint, window_start timestamptz, window_used bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF concurrency_stats.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass a queue (default ''work'').';
    END IF;
    IF NOT animus.work_queue_allowed(concurrency_stats.queue) THEN
        PERFORM animus.work_raise_not_granted(concurrency_stats.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = concurrency_stats.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', concurrency_stats.queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN QUERY
    WITH a AS (
        SELECT w.concurrency_key AS key, count(*) FILTER (WHERE w.state = 'running') AS running,
               count(*) FILTER (WHERE w.state = 'queued') AS queued
          FROM animus.work_items w
         WHERE w.queue_name = concurrency_stats.queue AND w.concurrency_key IS NOT NULL AND w.state IN ('queued', 'running')
         GROUP BY w.concurrency_key
    ), h AS (
        SELECT h.concurrency_key AS key, count(*) AS held FROM animus.concurrency_held h
         WHERE h.queue_name = concurrency_stats.queue GROUP BY h.concurrency_key
    ), keys AS (
        SELECT a.key FROM a UNION SELECT h.key FROM h
        UNION SELECT s.concurrency_key FROM animus.concurrency_keys s WHERE s.queue_name = concurrency_stats.queue
    )
    SELECT k.key, l.max_running, l.rate, l.period, coalesce(a.running, 0), coalesce(a.queued, 0), coalesce(h.held, 0),
           CASE WHEN l.rate IS NOT NULL THEN pg_catalog.date_bin(l.period, pg_catalog.clock_timestamp(), '2000-01-01 00:00:00+00') END,
           CASE WHEN l.rate IS NOT NULL THEN
                CASE WHEN s.window_start = pg_catalog.date_bin(l.period, pg_catalog.clock_timestamp(), '2000-01-01 00:00:00+00')
                     THEN s.window_used ELSE 0 END END
      FROM keys k
      LEFT JOIN a ON a.key = k.key
      LEFT JOIN h ON h.key = k.key
      LEFT JOIN animus.concurrency_keys s ON s.queue_name = concurrency_stats.queue AND s.concurrency_key = k.key
      LEFT JOIN LATERAL (SELECT * FROM animus.work_key_limit(concurrency_stats.queue, k.key)) l ON true
     ORDER BY k.key;
END;
$$;
REVOKE ALL ON FUNCTION animus.concurrency_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.concurrency_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.concurrency_stats(text) IS
'Per concurrency key of `queue` with active items, held items or a state row: the limits that apply (max_running, rate, period: its own row or ''*''; NULL = none), running and queued items (queued includes held), held (waiting for a free slot), and for a rate limit the current window''s start and the cost units started in it. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

COMMIT;
