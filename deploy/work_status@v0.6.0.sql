-- Deploy animus:work_status to pg
-- requires: work_status@v0.5.0
-- requires: work_steps

BEGIN;

-- get_work lists the item's durable steps (animus.work_steps): the first 100 in the order they last
-- started, with their timing and outcome, and steps_total; get_work_steps returns every step with
-- its result. New result columns: get_work is dropped and created again. The other status
-- functions are unchanged since v0.5.0.
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
        steps              jsonb,
        steps_total        bigint,
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
           coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'name', s.step_name, 'occurrence', s.occurrence, 'kind', s.kind, 'state', s.state,
                       'attempt', s.attempt, 'started_at', s.started_at, 'finished_at', s.finished_at,
                       'duration_ms', extract(epoch FROM s.finished_at - s.started_at) * 1000,
                       'error', s.error, 'wake_at', s.wake_at, 'event_key', s.event_key)
                   ORDER BY s.started_at, s.step_name, s.occurrence)
              FROM (SELECT s.* FROM animus.work_steps s WHERE s.work_id = c.id
                     ORDER BY s.started_at, s.step_name, s.occurrence LIMIT 100) s), '[]'),
           (SELECT count(*) FROM animus.work_steps s WHERE s.work_id = c.id),
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
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and the first 99 merged ones, with trace_context, oldest first) and requesters_total (all of them), merged_submissions (the first 100 merged duplicates, each with its own source, trigger_info, params, priority, trace_context) and merged_total (all of them: animus.get_work_submissions pages through every one), the number of children, steps (the first 100 durable steps of the item, or of its canonical item for a merged submission, in the order they last started: name, occurrence, kind step|sleep|event, state running|completed|failed|waiting, attempt, started_at, finished_at, duration_ms, error, wake_at, event_key; animus.get_work_steps returns them all, with results) and steps_total. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

CREATE FUNCTION animus.get_work_steps(work_id uuid)
    RETURNS TABLE (
        step_name    text,
        occurrence   integer,
        kind         text,
        state        text,
        attempt      integer,
        result       jsonb,
        error        text,
        fingerprint  text,
        wake_at      timestamptz,
        event_key    text,
        started_at   timestamptz,
        finished_at  timestamptz,
        duration_ms  double precision
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    canon uuid;
BEGIN
    IF get_work_steps.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    SELECT coalesce(w.merged_into, w.id) INTO canon FROM animus.work_items w
     WHERE w.id = get_work_steps.work_id AND animus.work_queue_allowed(w.queue_name);
    IF NOT FOUND THEN
        PERFORM animus.work_raise_unknown(get_work_steps.work_id, 'work_id', 'get_work_steps');
    END IF;
    RETURN QUERY
    SELECT s.step_name, s.occurrence, s.kind, s.state, s.attempt, s.result, s.error, s.fingerprint, s.wake_at, s.event_key,
           s.started_at, s.finished_at, extract(epoch FROM s.finished_at - s.started_at)::double precision * 1000
      FROM animus.work_steps s
     WHERE s.work_id = canon
     ORDER BY s.started_at, s.step_name, s.occurrence;
END;
$$;
REVOKE ALL ON FUNCTION animus.get_work_steps(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work_steps(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work_steps(uuid) IS
'Every durable step of work item work_id (of its canonical item, for a merged submission), in the order they last started: step_name, occurrence, kind (step, sleep, event), state (running, completed, failed, waiting), the attempt that last ran it, result (event waits: {"status", "payload"}), error, fingerprint, wake_at (a sleep''s end, an event wait''s deadline), event_key, started_at, finished_at, duration_ms. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

COMMIT;
