-- Revert animus:work_status from pg

BEGIN;

-- Back to the v0.5.0 queue_stats (no paused, paused_at) and the v0.4.0 purge_work; get_work is unchanged since v0.6.0.
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
        total_messages           bigint
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q      text;
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
    FOR q IN SELECT qq.queue_name FROM animus.queues qq
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
               m.queue_length, visible, coalesce(oldest, 0), m.oldest_msg_age_sec, m.total_messages
          FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'completed'), (4, 'dead'), (5, 'cancelled'), (6, 'merged')) AS s(n, state)
         ORDER BY s.n;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.queue_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_stats(text) IS
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent. Counting items scans the queue''s work items. Only queues the caller has a grant on (NULL: every such queue). Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- and the v0.4.0 purge_work (one statement per queue, no batch size).
DROP FUNCTION animus.purge_work(interval, text, integer);
CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days', queue text DEFAULT NULL)
    RETURNS TABLE (queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q       text;
    cutoff  timestamptz;
    n_items bigint;
    n_merged bigint;
    n_arch  bigint;
BEGIN
    IF purge_work.older_than IS NULL OR purge_work.older_than < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument older_than must be a non-negative interval',
            DETAIL = pg_catalog.format('older_than = %s', coalesce(purge_work.older_than::text, 'NULL')),
            HINT = 'Pass the retention, e.g. older_than => ''7 days''.';
    END IF;
    IF purge_work.queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = purge_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', purge_work.queue),
            HINT = 'Pass an existing queue, or NULL for every queue.';
    END IF;
    cutoff := pg_catalog.clock_timestamp() - purge_work.older_than;
    FOR q IN SELECT qq.queue_name FROM animus.queues qq
              WHERE purge_work.queue IS NULL OR qq.queue_name = purge_work.queue ORDER BY qq.queue_name
    LOOP
        WITH ended AS (
            SELECT w.id FROM animus.work_items w
             WHERE w.queue_name = q AND w.state IN ('completed', 'dead', 'cancelled') AND w.resolved_at < cutoff
        ), merged AS (
            DELETE FROM animus.work_items w USING ended e WHERE w.merged_into = e.id RETURNING 1
        ), canon AS (
            DELETE FROM animus.work_items w USING ended e WHERE w.id = e.id RETURNING 1
        )
        SELECT (SELECT count(*) FROM merged), (SELECT count(*) FROM canon) INTO n_merged, n_items;
        IF n_items > 0 THEN
            UPDATE animus.work_items w SET parent_id = NULL
             WHERE w.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = w.parent_id);
        END IF;
        -- pgmq has no retention function for archives: delete old archive rows directly.
        EXECUTE pg_catalog.format('WITH d AS (DELETE FROM pgmq.%I WHERE archived_at < $1 RETURNING 1) SELECT count(*) FROM d', 'a_' || q)
           INTO n_arch USING cutoff;
        RETURN QUERY SELECT q, n_items + n_merged, n_arch;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.purge_work(interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_work(interval, text) TO animus_admin;
COMMENT ON FUNCTION animus.purge_work(interval, text) IS
'Retention: deletes work items that ended (completed, dead, cancelled) more than older_than ago, with their merged submissions, and archived pgmq messages archived more than older_than ago, per queue (NULL = every queue). Children of a purged parent keep parent_id NULL. Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative), ZA101 (unknown queue).';

COMMIT;
