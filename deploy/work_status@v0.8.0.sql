-- Deploy animus:work_status to pg
-- requires: work_status@v0.6.0
-- requires: work_pause


BEGIN;

-- queue_stats shows whether each queue is paused (animus.pause_queue) and since when: two result
-- columns more, so the function is dropped and created again.
DROP FUNCTION animus.queue_stats(text);
CREATE FUNCTION animus.queue_stats(queue text DEFAULT NULL)
    RETURNS TABLE (
        queue_name               text,
        state                    text,
        items                    bigint,
        queue_length             bigint,
        queue_visible_length     bigint,
        oldest_visible_age_sec   double precision,
        oldest_msg_age_sec       integer,
        total_messages           bigint,
        paused                   boolean,
        paused_at                timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q       text;
    p_at    timestamptz;
    m       record;
    visible bigint;
    oldest  double precision;
    scope   text[] := animus.work_queue_scope();
BEGIN
    IF queue_stats.queue IS NOT NULL AND NOT (queue_stats.queue = ANY (scope) OR '*' = ANY (scope)) THEN
        PERFORM animus.work_raise_not_granted(queue_stats.queue);
    END IF;
    IF queue_stats.queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = queue_stats.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue_stats.queue),
            HINT = 'Pass an existing queue, or NULL for every queue.';
    END IF;
    FOR q, p_at IN SELECT qq.queue_name, qq.paused_at FROM animus.queues qq
              WHERE (queue_stats.queue IS NULL OR qq.queue_name = queue_stats.queue)
                AND (qq.queue_name = ANY (scope) OR '*' = ANY (scope))
              ORDER BY qq.queue_name
    LOOP
        SELECT * INTO m FROM pgmq.metrics(q);
        -- Visible now (as read_work sees it: clock time, not the transaction's start).
        EXECUTE pg_catalog.format('SELECT count(*), extract(epoch FROM pg_catalog.clock_timestamp() - min(vt)) FROM pgmq.%I WHERE vt <= pg_catalog.clock_timestamp()', 'q_' || q)
           INTO visible, oldest;
        RETURN QUERY
        SELECT q, s.state, (SELECT count(*) FROM animus.work_items w WHERE w.queue_name = q AND w.state = s.state),
               m.queue_length, visible, coalesce(oldest, 0), m.oldest_msg_age_sec, m.total_messages,
               p_at IS NOT NULL, p_at
          FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'completed'), (4, 'dead'), (5, 'cancelled'), (6, 'merged')) AS s(n, state)
         ORDER BY s.n;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.queue_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_stats(text) IS
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent; paused and paused_at (animus.pause_queue: a paused queue accepts submissions, read_work hands out nothing). Counting items scans the queue''s work items. Only queues the caller has a grant on (NULL: every such queue). Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- Retention in batches: each call deletes at most batch_size ended items per queue (with their
-- merged submissions and steps) and at most batch_size archived messages, oldest first, skipping
-- rows another session holds locked; run it again until it returns zeros (or on a timer). Short
-- transactions: no long lock, and VACUUM reclaims what the last batch freed while the next runs.
-- The children of a purged parent are found through work_items_parent_id (the v0.4.0 form scanned
-- every item with a parent).
DROP FUNCTION animus.purge_work(interval, text);
CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days', queue text DEFAULT NULL, batch_size integer DEFAULT 10000)
    RETURNS TABLE (queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q        text;
    cutoff   timestamptz;
    ids      uuid[];
    n_merged bigint;
    n_arch   bigint;
    scope    text[] := animus.work_queue_scope();
BEGIN
    IF purge_work.older_than IS NULL OR purge_work.older_than < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument older_than must be a non-negative interval',
            DETAIL = pg_catalog.format('older_than = %s', coalesce(purge_work.older_than::text, 'NULL')),
            HINT = 'Pass the retention, e.g. older_than => ''7 days''.';
    END IF;
    IF purge_work.batch_size IS NULL OR purge_work.batch_size NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument batch_size must be between 1 and 1000000',
            DETAIL = pg_catalog.format('batch_size = %s', coalesce(purge_work.batch_size::text, 'NULL')),
            HINT = 'Pass how many items (and archived messages) one call deletes per queue at most, e.g. batch_size => 10000; call again until it returns zeros.';
    END IF;
    IF purge_work.queue IS NOT NULL AND NOT (purge_work.queue = ANY (scope) OR '*' = ANY (scope)) THEN
        PERFORM animus.work_raise_not_granted(purge_work.queue);
    END IF;
    IF purge_work.queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = purge_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', purge_work.queue),
            HINT = 'Pass an existing queue, or NULL for every queue.';
    END IF;
    cutoff := pg_catalog.clock_timestamp() - purge_work.older_than;
    FOR q IN SELECT qq.queue_name FROM animus.queues qq
              WHERE (purge_work.queue IS NULL OR qq.queue_name = purge_work.queue)
                AND (qq.queue_name = ANY (scope) OR '*' = ANY (scope))
              ORDER BY qq.queue_name
    LOOP
        -- oldest ended first, from the index work_items_resolved_at (merged rows carry a resolved_at
        -- too: they go with their canonical item)
        SELECT pg_catalog.array_agg(e.id) INTO ids
          FROM (SELECT w.id FROM animus.work_items w
                 WHERE w.resolved_at < cutoff AND w.queue_name = q AND w.state IN ('completed', 'dead', 'cancelled')
                 ORDER BY w.resolved_at
                 LIMIT purge_work.batch_size
                   FOR UPDATE SKIP LOCKED) e;
        ids := coalesce(ids, '{}');
        n_merged := 0;
        IF pg_catalog.cardinality(ids) > 0 THEN
            DELETE FROM animus.work_items w WHERE w.merged_into = ANY (ids);
            GET DIAGNOSTICS n_merged = ROW_COUNT;
            UPDATE animus.work_items w SET parent_id = NULL WHERE w.parent_id = ANY (ids);
            DELETE FROM animus.work_items w WHERE w.id = ANY (ids);
        END IF;
        -- pgmq has no retention function for archives: delete the oldest archive rows directly
        -- (index archived_at_idx_<queue>). Queues that delete settled messages have none.
        EXECUTE pg_catalog.format('WITH d AS (DELETE FROM pgmq.%1$I a WHERE a.msg_id IN
                (SELECT o.msg_id FROM pgmq.%1$I o WHERE o.archived_at < $1 ORDER BY o.archived_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING 1) SELECT count(*) FROM d', 'a_' || q)
           INTO n_arch USING cutoff, purge_work.batch_size;
        RETURN QUERY SELECT q, pg_catalog.cardinality(ids) + n_merged, n_arch;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.purge_work(interval, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_work(interval, text, integer) TO animus_admin;
COMMENT ON FUNCTION animus.purge_work(interval, text, integer) IS
'Retention, in batches: per queue (NULL = every queue the caller has a grant on) deletes at most batch_size work items that ended (completed, dead, cancelled) more than older_than ago, oldest first, with their merged submissions and steps, and at most batch_size pgmq archive rows archived more than older_than ago; rows another session holds locked are skipped. Children of a purged parent keep parent_id NULL. Each call is one short transaction: call it again until it returns zeros (or on a timer) to purge a backlog without long locks. Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative, batch_size not 1..1000000), ZA109 (no grant on the queue), ZA101 (unknown queue).';

COMMIT;
