-- Revert animus:work_status from pg

BEGIN;

-- Back to the v0.4.0 status functions (with the search_path security_search_path gave them).
DROP FUNCTION animus.get_work_submissions(uuid, uuid, integer);
DROP FUNCTION animus.get_work(uuid);

CREATE OR REPLACE FUNCTION animus.get_work(work_id uuid)
    RETURNS TABLE (
        id                 uuid,
        queue_name         text,
        work_type          text,
        dedup_key          text,
        source             text,
        trigger_info       text,
        params             jsonb,
        priority           integer,
        state              text,
        canonical_id       uuid,
        resolution         text,
        merged_into        uuid,
        waits_for          uuid,
        parent_id          uuid,
        attempts           integer,
        max_attempts       integer,
        msg_id             bigint,
        run_at             timestamptz,
        outcome            jsonb,
        error              text,
        duration_ms        double precision,
        trace_context      jsonb,
        requesters         jsonb,
        merged_submissions jsonb,
        children           bigint,
        created_at         timestamptz,
        updated_at         timestamptz,
        started_at         timestamptz,
        heartbeat_at       timestamptz,
        resolved_at        timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF get_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    RETURN QUERY
    SELECT w.id, w.queue_name, w.work_type, w.dedup_key, w.source, w.trigger_info, w.params, w.priority, w.state,
           c.id, c.state, w.merged_into, w.waits_for, w.parent_id, w.attempts, w.max_attempts, w.msg_id, w.run_at,
           coalesce(w.outcome, CASE WHEN w.state = 'merged' THEN c.outcome END),
           coalesce(w.error, CASE WHEN w.state = 'merged' THEN c.error END),
           w.duration_ms, w.trace_context,
           (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info,
                       'trace_context', r.trace_context, 'submitted_at', r.created_at)
                   ORDER BY r.merged_into IS NOT NULL, r.created_at, r.id)
              FROM animus.work_items r WHERE r.id = c.id OR r.merged_into = c.id),
           coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info, 'params', r.params,
                       'priority', r.priority, 'trace_context', r.trace_context, 'submitted_at', r.created_at)
                   ORDER BY r.created_at, r.id)
              FROM animus.work_items r WHERE r.merged_into = c.id), '[]'),
           (SELECT count(*) FROM animus.work_items k WHERE k.parent_id = w.id),
           w.created_at, w.updated_at, w.started_at, w.heartbeat_at, w.resolved_at
      FROM animus.work_items w
      JOIN animus.work_items c ON c.id = coalesce(w.merged_into, w.id)
     WHERE w.id = get_work.work_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_id: no such work item',
            DETAIL = pg_catalog.format('work_id = %s', get_work.work_id),
            HINT = 'Pass the id returned by submit_work; ended items are removed by purge_work after their retention.';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.get_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work(uuid) IS
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and every merged one, with trace_context, oldest first), merged_submissions (each merged duplicate with its own source, trigger_info, params, priority, trace_context), and the number of children. Raises ZA001 (work_id NULL), ZA102 (unknown work item).';

CREATE OR REPLACE FUNCTION animus.work_children(parent_id uuid)
    RETURNS TABLE (work_id uuid, work_type text, dedup_key text, state text, source text, created_at timestamptz, resolved_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF work_children.parent_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument parent_id must not be NULL', HINT = 'Pass the id of the parent work item.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = work_children.parent_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument parent_id: no such work item',
            DETAIL = pg_catalog.format('parent_id = %s', work_children.parent_id), HINT = 'Pass the id of an existing work item.';
    END IF;
    RETURN QUERY
    SELECT w.id, w.work_type, w.dedup_key, w.state, w.source, w.created_at, w.resolved_at
      FROM animus.work_items w WHERE w.parent_id = work_children.parent_id
     ORDER BY w.created_at, w.id;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_children(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.work_children(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.work_children(uuid) IS
'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged). Raises ZA001 (parent_id NULL), ZA102 (unknown parent).';

CREATE OR REPLACE FUNCTION animus.queue_stats(queue text DEFAULT NULL)
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
BEGIN
    IF queue_stats.queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = queue_stats.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue_stats.queue),
            HINT = 'Pass an existing queue, or NULL for every queue.';
    END IF;
    FOR q IN SELECT qq.queue_name FROM animus.queues qq
              WHERE queue_stats.queue IS NULL OR qq.queue_name = queue_stats.queue ORDER BY qq.queue_name
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
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent. Counting items scans the queue''s work items. Raises ZA101 (unknown queue).';

COMMIT;
