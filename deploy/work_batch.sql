-- Deploy animus:work_batch to pg
-- requires: work_lifecycle

BEGIN;

-- Heartbeats for many claims in one round trip (the asyncio worker holds hundreds). Unlike the
-- single form, it never raises for one item's state: each id gets a status, so one cancelled or
-- stale claim does not stop the others from being extended. A name of its own (as
-- submit_work_batch), not a uuid[] overload of heartbeat_work: with an overload, the existing
-- call heartbeat_work('<uuid literal>') would no longer resolve (42725, not unique).
CREATE FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval DEFAULT '30 seconds', attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, status text, visible_until timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_until timestamptz;
    scope   text[];
    r       record;
    done    uuid[] := '{}';
BEGIN
    IF heartbeat_work_batch.work_ids IS NULL OR pg_catalog.array_position(heartbeat_work_batch.work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by read_work.';
    END IF;
    IF pg_catalog.cardinality(heartbeat_work_batch.work_ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_ids has more than 10000 elements',
            DETAIL = pg_catalog.format('work_ids has %s elements', pg_catalog.cardinality(heartbeat_work_batch.work_ids)),
            HINT = 'Heartbeat at most 10000 items per call.';
    END IF;
    IF heartbeat_work_batch.extend IS NULL OR heartbeat_work_batch.extend <= '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument extend must be positive',
            DETAIL = pg_catalog.format('extend = %s', coalesce(heartbeat_work_batch.extend::text, 'NULL')),
            HINT = 'Pass how long from now the items stay invisible to other readers, e.g. ''30 seconds''.';
    END IF;
    IF heartbeat_work_batch.attempts IS NOT NULL AND pg_catalog.cardinality(heartbeat_work_batch.attempts) <> pg_catalog.cardinality(heartbeat_work_batch.work_ids) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument attempts must have one element per work id',
            DETAIL = pg_catalog.format('%s work ids, %s attempts', pg_catalog.cardinality(heartbeat_work_batch.work_ids), pg_catalog.cardinality(heartbeat_work_batch.attempts)),
            HINT = 'Pass attempts => NULL (no fencing), or the attempts read_work returned, aligned with work_ids.';
    END IF;
    scope := animus.work_queue_scope();
    v_until := pg_catalog.clock_timestamp() + heartbeat_work_batch.extend;
    -- Only items of granted queues are touched (the others are reported unknown below).
    FOR r IN
        WITH u AS (
            UPDATE animus.work_items w SET heartbeat_at = pg_catalog.clock_timestamp()
              FROM ROWS FROM (pg_catalog.unnest(heartbeat_work_batch.work_ids), pg_catalog.unnest(heartbeat_work_batch.attempts)) AS i(id, attempt)
             WHERE w.id = i.id AND w.state = 'running' AND (i.attempt IS NULL OR w.attempts = i.attempt)
               AND (w.queue_name = ANY (scope) OR '*' = ANY (scope))
            RETURNING w.id, w.queue_name, w.msg_id
        )
        SELECT u.queue_name, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids FROM u GROUP BY u.queue_name
    LOOP
        PERFORM animus.work_queue_set_vt(r.queue_name, r.msg_ids,
                                         pg_catalog.array_fill(v_until, ARRAY[pg_catalog.cardinality(r.msg_ids)]));
        done := done || r.ids;
    END LOOP;
    RETURN QUERY
    SELECT i.id,
           CASE WHEN i.id = ANY (done) THEN 'running'
                WHEN w.id IS NULL OR NOT (w.queue_name = ANY (scope) OR '*' = ANY (scope)) THEN 'unknown'
                WHEN i.attempt IS NOT NULL AND w.state <> 'merged' AND w.attempts <> i.attempt THEN 'stale'
                WHEN w.state = 'cancelled' THEN 'cancelled'
                ELSE 'ended' END,
           CASE WHEN i.id = ANY (done) THEN v_until END
      FROM ROWS FROM (pg_catalog.unnest(heartbeat_work_batch.work_ids), pg_catalog.unnest(heartbeat_work_batch.attempts)) AS i(id, attempt)
      LEFT JOIN animus.work_items w ON w.id = i.id;
END;
$$;
REVOKE ALL ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) IS
'Batch form of heartbeat_work: extends the claims of every running item of work_ids to now + extend (heartbeat_at recorded) in one call, and returns (work_id, status, visible_until) per input id, in input order, instead of raising for one item: status running (extended until visible_until), cancelled (cancel_work meanwhile: stop the handler), stale (attempts[i] given and the item was claimed again since), ended (no longer running: completed, dead, queued again after its claim expired, merged) or unknown (no such item, or one in a queue the caller may not use). Claim fencing: attempts[i] is the attempts read_work returned (NULL element = no check). At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (extend not positive, attempts length differs); nothing is written when it raises.';

COMMIT;
