-- Deploy animus:work_status to pg
-- requires: work_status@v0.8.0
-- requires: ops_dead_letters

BEGIN;

-- Retention in batches: each call deletes at most batch_size ended items per queue (with their
-- merged submissions, steps and dead-letter actions) and at most batch_size archived messages,
-- oldest first, skipping rows another session holds locked; run it again until it returns zeros,
-- paced (animus.retention.Retention, `animus retention --duty/--rate`): short transactions, no
-- long lock, and VACUUM reclaims what the last batches freed while the next run.
-- Changed since v0.8.0:
-- * a call resumes where the session's previous call on the queue stopped (the end time of the
--   last item and of the last archive row it deleted, kept in two placeholder settings of the
--   session): until VACUUM removes them, the index entries of the rows earlier batches deleted lie
--   at the front of work_items_resolved_at and archived_at_idx_<queue>, and every batch started
--   from the oldest stepped over all of them (measured on 10M archived messages: 7 of the 14 ms
--   of a 1,000-row archive batch). A call that finds nothing past its marks forgets them, so the
--   next call starts from the oldest again: rows skipped because they were locked, or that ended
--   before the mark in a transaction that committed later, go with the next pass;
-- * archive rows are deleted by ctid (the locked rows), not looked up again by msg_id;
-- * the dead-letter actions of the purged items (animus.dead_work_actions) go with them: they
--   grew without end.

-- The mark of purge_work in a placeholder setting of the session: microseconds since the epoch,
-- or NULL when unset, empty or not such a number (the setting is the caller's to change: a value
-- it cannot read is no mark, never an error).
CREATE FUNCTION animus.work_purge_mark(setting text)
    RETURNS timestamptz
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT CASE WHEN v ~ '^[0-9]{1,17}$' THEN 'epoch'::timestamptz + v::bigint * interval '1 microsecond' END
      FROM pg_catalog.current_setting(work_purge_mark.setting, true) AS v
$$;
REVOKE ALL ON FUNCTION animus.work_purge_mark(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_purge_mark(text) IS
'Internal to animus.purge_work: the timestamp stored in session setting `setting` as microseconds since the epoch, NULL when the setting is unset, empty or not such a number. Raises nothing.';

CREATE OR REPLACE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days', queue text DEFAULT NULL, batch_size integer DEFAULT 10000)
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
    mark     text;
    mark_i   timestamptz;
    mark_a   timestamptz;
    last_i   timestamptz;
    last_a   timestamptz;
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
        -- Where this session's previous call on the queue stopped (see the comment above): the end
        -- times of the last item and of the last archive row it deleted, in microseconds since
        -- the epoch, in two placeholder settings of the session named after the queue.
        mark := pg_catalog.md5(q);
        mark_i := animus.work_purge_mark('animus_purge.i' || mark);
        mark_a := animus.work_purge_mark('animus_purge.a' || mark);
        -- oldest ended first, from the index work_items_resolved_at (merged rows carry a resolved_at
        -- too: they go with their canonical item)
        SELECT pg_catalog.array_agg(e.id), pg_catalog.max(e.resolved_at) INTO ids, last_i
          FROM (SELECT w.id, w.resolved_at FROM animus.work_items w
                 WHERE w.resolved_at < cutoff AND w.resolved_at >= coalesce(mark_i, '-infinity')
                   AND w.queue_name = q AND w.state IN ('completed', 'dead', 'cancelled')
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
            DELETE FROM animus.dead_work_actions d WHERE d.work_id = ANY (ids);
        END IF;
        -- pgmq has no retention function for archives: delete the oldest archive rows directly
        -- (index archived_at_idx_<queue>), by their ctid (the rows are locked: no second look-up
        -- through the primary key). Queues that delete settled messages have none.
        EXECUTE pg_catalog.format('WITH s AS (SELECT o.ctid FROM pgmq.%1$I o
                 WHERE o.archived_at < $1 AND o.archived_at >= $3 ORDER BY o.archived_at LIMIT $2 FOR UPDATE SKIP LOCKED),
                d AS (DELETE FROM pgmq.%1$I a WHERE a.ctid = ANY (ARRAY(SELECT s.ctid FROM s)) RETURNING a.archived_at)
                SELECT count(*), max(d.archived_at) FROM d', 'a_' || q)
           INTO n_arch, last_a USING cutoff, purge_work.batch_size, coalesce(mark_a, '-infinity'::timestamptz);
        -- A call that finds nothing past its marks forgets them: the next one starts from the
        -- oldest again (and finds what was skipped as locked).
        IF pg_catalog.cardinality(ids) = 0 AND n_arch = 0 THEN
            last_i := NULL;
            last_a := NULL;
        ELSE
            last_i := coalesce(last_i, mark_i);
            last_a := coalesce(last_a, mark_a);
        END IF;
        PERFORM pg_catalog.set_config('animus_purge.i' || mark,
                    coalesce((EXTRACT(epoch FROM last_i) * 1000000)::bigint::text, ''), false),
                pg_catalog.set_config('animus_purge.a' || mark,
                    coalesce((EXTRACT(epoch FROM last_a) * 1000000)::bigint::text, ''), false);
        RETURN QUERY SELECT q, pg_catalog.cardinality(ids) + n_merged, n_arch;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.purge_work(interval, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_work(interval, text, integer) TO animus_admin;
COMMENT ON FUNCTION animus.purge_work(interval, text, integer) IS
'Retention, in batches: per queue (NULL = every queue the caller has a grant on) deletes at most batch_size work items that ended (completed, dead, cancelled) more than older_than ago, oldest first, with their merged submissions, steps and dead-letter actions (animus.dead_work_actions), and at most batch_size pgmq archive rows archived more than older_than ago; rows another session holds locked are skipped. Children of a purged parent keep parent_id NULL. Each call is one short transaction: call it again until it returns zeros (or on a timer) to purge a backlog without long locks; animus.retention.Retention (`animus retention`) is that loop, paced (share of time, rows per second, pause). A call resumes after the last item and archive row the session''s previous call on the queue deleted (session settings animus_purge.*); a call that finds nothing there forgets that place, so the next starts from the oldest (rows skipped as locked go with the next pass). Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative, batch_size not 1..1000000), ZA109 (no grant on the queue), ZA101 (unknown queue).';

COMMIT;
