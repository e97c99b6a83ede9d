-- Deploy animus:work_wait to pg
-- requires: work_status
-- requires: work_limits

BEGIN;

-- Awaiting a result (docs/work-queue.md, "Waiting for a result").
--
-- Producers and workers pay nothing unless someone waits: a waiter marks the canonical item
-- awaited (watch_work inserts it into animus.work_awaited), and the state-transition trigger
-- (reworked in work_items) removes the mark when the item ends (completed, dead, cancelled) and,
-- if there was one, sends pg_notify('animus_work_done', id). NOTIFY is transactional: listeners
-- get it when the settling transaction commits. The marks are a side table, not a work_items
-- column: marking writes no new version of the hot work_items row, and submit_work_batch builds
-- work_items rows column by column (a new column would change that type).
--
-- Why watch_work cannot miss an end (with the caller LISTENing on animus_work_done before it
-- calls watch_work): watch_work locks the active item's row (FOR NO KEY UPDATE) before it
-- inserts the mark and holds the lock to its commit, and every end is an UPDATE of that row, so
-- the two are ordered by the row lock.
--   * The end goes first: the item is ended (or its row is locked by the ending transaction).
--     watch_work does not wait for a locked row (SKIP LOCKED): it marks nothing for it and says
--     so (watching false); its state read (a fresh snapshot) returns the ended row if the end has
--     committed, else the caller looks again shortly.
--   * The mark goes first: the settling UPDATE waits for watch_work to commit; its trigger then
--     (a statement with a fresh snapshot) finds the committed mark and notifies at its commit,
--     when the caller already listens.
-- watching = true (a committed mark, or ours) therefore guarantees a notification at the end.
-- Never waiting for a row lock keeps watch_work out of deadlocks: the many-id settle functions
-- lock several item rows in their input order, a watcher waiting for one of them while holding
-- another could deadlock with them (and the settle could be the one aborted).
-- A retried item (running -> queued) stays marked; the mark goes with the end.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA155', 'invalid_wait_timeout',   'wait_work was given a NULL or negative timeout.',
     'Pass how long to wait at most, e.g. timeout => ''30 seconds'' (''0'' only looks once).'),
    ('ZA156', 'wait_needs_read_committed', 'wait_work was called in a REPEATABLE READ or SERIALIZABLE transaction: its snapshot would never show the item end.',
     'Call wait_work outside an explicit transaction or in a READ COMMITTED one; or read the state once with animus.watch_work / animus.get_work.');

CREATE TABLE animus.work_awaited (
    work_id     uuid PRIMARY KEY,
    awaited_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
-- No FOREIGN KEY to work_items (its check would cost every mark a KEY SHARE lock and a probe):
-- only watch_work inserts (active items it has locked), the end of the item deletes the row.
COMMENT ON TABLE animus.work_awaited IS 'Active work items a waiter awaits (animus.watch_work, client.wait): when one ends (completed, dead, cancelled) the state trigger deletes its row and sends pg_notify(''animus_work_done'', id). Holds only items not yet ended.';
COMMENT ON COLUMN animus.work_awaited.work_id IS 'the canonical work item awaited (queued or running when marked; no FK: see deploy/work_wait.sql).';
COMMENT ON COLUMN animus.work_awaited.awaited_at IS 'when the first waiter marked it.';

-- The current state of each id, resolved to the item it ends with: a merged submission reads its
-- canonical item (merged_into, one hop: canonical items are never merged). Ids unknown to the
-- caller (absent, or in a queue without a grant) give a row with state NULL.
CREATE FUNCTION animus.work_wait_state(work_ids uuid[])
    RETURNS TABLE (work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamptz)
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT i.id, c.id, c.state, coalesce(c.state IN ('completed', 'dead', 'cancelled'), false),
           c.outcome, c.error, c.resolved_at
      FROM (SELECT animus.work_queue_scope() AS queues) sc
     CROSS JOIN pg_catalog.unnest(work_ids) WITH ORDINALITY AS i(id, n)
      LEFT JOIN animus.work_items s ON s.id = i.id AND (s.queue_name = ANY (sc.queues) OR '*' = ANY (sc.queues))
      LEFT JOIN animus.work_items c ON c.id = coalesce(s.merged_into, s.id)
     ORDER BY i.n
$$;
REVOKE ALL ON FUNCTION animus.work_wait_state(uuid[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_wait_state(uuid[]) IS
'Internal (called by watch_work and wait_work, which run as the owner): one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at) of the item the id ends with (a merged submission: its canonical item); state NULL for an id unknown to the caller or in a queue it has no grant on. Raises nothing.';

CREATE FUNCTION animus.watch_work(work_ids uuid[])
    RETURNS TABLE (work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamptz,
                   watching boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF watch_work.work_ids IS NULL OR pg_catalog.array_position(watch_work.work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by submit_work.';
    END IF;
    IF pg_catalog.cardinality(watch_work.work_ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_ids has more than 10000 elements',
            DETAIL = pg_catalog.format('work_ids has %s elements', pg_catalog.cardinality(watch_work.work_ids)),
            HINT = 'Watch at most 10000 items per call.';
    END IF;
    -- Mark the active canonical items not yet marked, after locking their rows; a row another
    -- transaction holds locked (being settled, claimed, heartbeated, or marked by another
    -- watcher) is skipped, never waited for: its result row says watching = false. The row lock
    -- orders the mark against a concurrent end of the item (see the top of deploy/work_wait.sql).
    INSERT INTO animus.work_awaited (work_id)
    SELECT l.id FROM (
        SELECT w.id FROM animus.work_items w
         WHERE w.id IN (SELECT s.canonical_id FROM animus.work_wait_state(watch_work.work_ids) s
                         WHERE s.state IN ('queued', 'running')
                           AND NOT EXISTS (SELECT 1 FROM animus.work_awaited a WHERE a.work_id = s.canonical_id))
           AND w.state IN ('queued', 'running')
         ORDER BY w.id
           FOR NO KEY UPDATE OF w SKIP LOCKED) l
    ON CONFLICT (work_id) DO NOTHING;
    -- A new statement, a new snapshot (READ COMMITTED): an end that committed while the UPDATE
    -- waited for the row is seen here.
    RETURN QUERY
    SELECT s.*, NOT s.ended AND s.state IS NOT NULL
                AND EXISTS (SELECT 1 FROM animus.work_awaited a WHERE a.work_id = s.canonical_id)
      FROM animus.work_wait_state(watch_work.work_ids) s;
END;
$$;
REVOKE ALL ON FUNCTION animus.watch_work(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.watch_work(uuid[]) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.watch_work(uuid[]) IS
'Starts watching work items and returns their current state: one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at, watching). A merged submission resolves to its canonical item (canonical_id, its state and outcome); a replace-mode submission merged into a queued item gets the outcome of the run with the latest params. Items not ended are marked awaited (animus.work_awaited): when they end (completed, dead, cancelled) a notification with the canonical id as payload is sent on channel animus_work_done at the commit (LISTEN before calling, then call again for the ids notified to read their outcome). watching = true guarantees that notification; false for an item not ended means its row was locked by another transaction at that instant (being settled or marked): call again shortly. Never waits for a row lock (no deadlock with the many-id settles). ended rows carry outcome (completed) or error (dead). An id unknown to the caller, or of a queue it has no grant on, gives state NULL (nothing marked). Race-free against a concurrent end: the mark holds the lock of the item row the end updates. At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids).';

CREATE FUNCTION animus.wait_work(work_id uuid, timeout interval DEFAULT '30 seconds')
    RETURNS TABLE (id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text,
                   resolved_at timestamptz, timed_out boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    deadline timestamptz;
    pause    double precision := 0.01;
    r        record;
BEGIN
    IF wait_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    IF wait_work.timeout IS NULL OR wait_work.timeout < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA155', MESSAGE = 'argument timeout must be a non-negative interval',
            DETAIL = pg_catalog.format('timeout = %s', coalesce(wait_work.timeout::text, 'NULL')),
            HINT = 'Pass how long to wait at most, e.g. timeout => ''30 seconds'' (''0'' only looks once).';
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA156',
            MESSAGE = pg_catalog.format('wait_work cannot wait in a %s transaction: its snapshot never shows the item end',
                                        pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            HINT = 'Call wait_work outside an explicit transaction or in a READ COMMITTED one; or read the state once with animus.watch_work / animus.get_work.';
    END IF;
    deadline := pg_catalog.clock_timestamp() + wait_work.timeout;
    -- Polls: every statement of a READ COMMITTED function reads with a new snapshot, so a commit of
    -- another session is seen at the next look. Notifications are not delivered inside a
    -- statement, hence polling: 10 ms doubling to 500 ms between looks. No row is locked.
    LOOP
        SELECT * INTO r FROM animus.work_wait_state(ARRAY[wait_work.work_id]);
        IF r.state IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_id: no such work item (wait_work)',
                DETAIL = pg_catalog.format('work_id = %s', wait_work.work_id),
                HINT = 'Pass the id returned by submit_work (of a queue your role has a grant on); ended items are removed by purge_work after their retention.';
        END IF;
        EXIT WHEN r.ended OR pg_catalog.clock_timestamp() >= deadline;
        PERFORM pg_catalog.pg_sleep(least(pause, extract(epoch FROM deadline - pg_catalog.clock_timestamp())::double precision));
        pause := least(pause * 2, 0.5);
    END LOOP;
    RETURN QUERY SELECT r.work_id, r.canonical_id, r.state, r.ended, r.outcome, r.error, r.resolved_at, NOT r.ended;
END;
$$;
REVOKE ALL ON FUNCTION animus.wait_work(uuid, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.wait_work(uuid, interval) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.wait_work(uuid, interval) IS
'Waits until the work item ends (completed, dead, cancelled) or timeout passes, for psql and SQL callers: returns one row (id: the work_id given, canonical_id, state, ended, outcome, error, resolved_at, timed_out); timed_out = true (ended false, the current state) when the timeout passed first. An item that already ended returns at once; a merged submission waits for its canonical item. Polls (10 ms doubling to 500 ms; a commit of another session is seen at the next look), locks no row, marks nothing; the calling statement keeps its snapshot (xmin) until it returns. Only in READ COMMITTED: a REPEATABLE READ or SERIALIZABLE snapshot would never see the end. Clients that can LISTEN use watch_work instead (client.wait). Raises ZA001 (work_id NULL), ZA155 (timeout NULL or negative), ZA156 (not READ COMMITTED), ZA102 (unknown work item, or one in a queue the caller may not use).';

COMMIT;
