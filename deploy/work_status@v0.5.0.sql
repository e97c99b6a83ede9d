-- Deploy animus:work_status to pg
-- requires: work_status@v0.4.0
-- requires: work_lifecycle

BEGIN;

-- Status reads are scoped to the queues the caller has a grant on: an item of another queue is
-- unknown to it (ZA102), queue_stats lists only granted queues. What one item returns is capped:
-- the first 100 requesters and merged submissions, with totals; get_work_submissions pages through
-- all. purge_work (animus_admin) is unchanged since v0.4.0.

-- get_work returns two more columns (the totals of the capped lists): dropped and created again.
DROP FUNCTION animus.get_work(uuid);
CREATE FUNCTION animus.get_work(work_id uuid)
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
        requesters_total   bigint,
        merged_submissions jsonb,
        merged_total       bigint,
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
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
               'work_id', c.id, 'source', c.source, 'trigger_info', c.trigger_info,
               'trace_context', c.trace_context, 'submitted_at', c.created_at))
           || coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info,
                       'trace_context', r.trace_context, 'submitted_at', r.created_at)
                   ORDER BY r.created_at, r.id)
              FROM (SELECT r.id, r.source, r.trigger_info, r.trace_context, r.created_at
                      FROM animus.work_items r WHERE r.merged_into = c.id ORDER BY r.created_at, r.id LIMIT 99) r), '[]'),
           1 + n.merged,
           coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info, 'params', r.params,
                       'priority', r.priority, 'trace_context', r.trace_context, 'submitted_at', r.created_at)
                   ORDER BY r.created_at, r.id)
              FROM (SELECT r.* FROM animus.work_items r WHERE r.merged_into = c.id ORDER BY r.created_at, r.id LIMIT 100) r), '[]'),
           n.merged,
           (SELECT count(*) FROM animus.work_items k WHERE k.parent_id = w.id),
           w.created_at, w.updated_at, w.started_at, w.heartbeat_at, w.resolved_at
      FROM animus.work_items w
      JOIN animus.work_items c ON c.id = coalesce(w.merged_into, w.id)
     CROSS JOIN LATERAL (SELECT count(*) AS merged FROM animus.work_items r WHERE r.merged_into = c.id) n
     WHERE w.id = get_work.work_id AND animus.work_queue_allowed(w.queue_name);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_id: no such work item',
            DETAIL = pg_catalog.format('work_id = %s', get_work.work_id),
            HINT = 'Pass the id returned by submit_work (of a queue your role has a grant on); ended items are removed by purge_work after their retention.';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.get_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work(uuid) IS
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and the first 99 merged ones, with trace_context, oldest first) and requesters_total (all of them), merged_submissions (the first 100 merged duplicates, each with its own source, trigger_info, params, priority, trace_context) and merged_total (all of them: animus.get_work_submissions pages through every one), and the number of children. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

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
    IF NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = work_children.parent_id AND animus.work_queue_allowed(w.queue_name)) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument parent_id: no such work item',
            DETAIL = pg_catalog.format('parent_id = %s', work_children.parent_id), HINT = 'Pass the id of an existing work item.';
    END IF;
    RETURN QUERY
    SELECT w.id, w.work_type, w.dedup_key, w.state, w.source, w.created_at, w.resolved_at
      FROM animus.work_items w, (SELECT animus.work_queue_scope() AS queues) s
     WHERE w.parent_id = work_children.parent_id AND (w.queue_name = ANY (s.queues) OR '*' = ANY (s.queues))
     ORDER BY w.created_at, w.id;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_children(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.work_children(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.work_children(uuid) IS
'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged); only the parent and children in queues the caller has a grant on. Raises ZA001 (parent_id NULL), ZA102 (unknown parent, or one in a queue the caller may not use).';

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

-- Every submission merged into an item, a page at a time (read_work and get_work carry the first
-- ones only). Keyset paging in submission order (created_at, id) on the index
-- work_items_merged_into_order: pass the last work_id of a page as after to get the next.
CREATE FUNCTION animus.get_work_submissions(work_id uuid, after uuid DEFAULT NULL, page_size integer DEFAULT 100)
    RETURNS TABLE (id uuid, source text, trigger_info text, params jsonb, priority integer, trace_context jsonb, submitted_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    canon   uuid;
    a_at    timestamptz;
BEGIN
    IF get_work_submissions.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    IF get_work_submissions.page_size IS NULL OR get_work_submissions.page_size NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument page_size must be between 1 and 1000',
            DETAIL = pg_catalog.format('page_size = %s', coalesce(get_work_submissions.page_size::text, 'NULL')),
            HINT = 'Pass how many submissions one page holds, e.g. 100.';
    END IF;
    SELECT coalesce(w.merged_into, w.id) INTO canon FROM animus.work_items w
     WHERE w.id = get_work_submissions.work_id AND animus.work_queue_allowed(w.queue_name);
    IF NOT FOUND THEN
        PERFORM animus.work_raise_unknown(get_work_submissions.work_id, 'work_id', 'get_work_submissions');
    END IF;
    IF get_work_submissions.after IS NOT NULL THEN
        SELECT r.created_at INTO a_at FROM animus.work_items r WHERE r.id = get_work_submissions.after AND r.merged_into = canon;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument after: not a submission merged into this item',
                DETAIL = pg_catalog.format('after = %s, canonical item = %s', get_work_submissions.after, canon),
                HINT = 'Pass the last id of the previous page, or NULL for the first page.';
        END IF;
    END IF;
    RETURN QUERY
    SELECT r.id, r.source, r.trigger_info, r.params, r.priority, r.trace_context, r.created_at
      FROM animus.work_items r
     WHERE r.merged_into = canon
       AND (get_work_submissions.after IS NULL OR (r.created_at, r.id) > (a_at, get_work_submissions.after))
     ORDER BY r.created_at, r.id
     LIMIT get_work_submissions.page_size;
END;
$$;
REVOKE ALL ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) IS
'The submissions merged into work item work_id (or into its canonical item, for a merged submission), oldest first, page_size (1..1000) at a time: pass the last id of a page as after for the next page; an empty page is the end. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (page_size not 1..1000), ZA102 (unknown work item or one in a queue the caller may not use; after not merged into it).';

COMMIT;
