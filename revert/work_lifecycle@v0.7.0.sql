-- Revert animus:work_lifecycle from pg

BEGIN;

-- Back to the v0.6.0 read_work (no queue pause) and complete_work.
CREATE OR REPLACE FUNCTION animus.read_work(
    queue       text DEFAULT 'work',
    vt          interval DEFAULT '30 seconds',
    qty         integer DEFAULT 1,
    work_types  text[] DEFAULT NULL
)
    RETURNS TABLE (
        work_id        uuid,
        queue_name     text,
        work_type      text,
        dedup_key      text,
        params         jsonb,
        priority       integer,
        attempts       integer,
        max_attempts   integer,
        msg_id         bigint,
        parent_id      uuid,
        source         text,
        trigger_info   text,
        trace_context  jsonb,
        requesters        jsonb,
        requesters_total  bigint,
        created_at        timestamptz,
        visible_until     timestamptz
    )
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    -- Every statement here looks rows up by key (message ids, work ids, merged_into of the claimed
    -- items). With hot keys the planner expects thousands of merged rows per item and picks a bitmap
    -- scan for the requesters sub-query, whose per-item set-up (~150 us on PostgreSQL 18) dominated a
    -- qty => 100 read; plain index scans cost a few us per item.
    SET enable_bitmapscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_until    timestamptz;
    m_ids      bigint[];
    m_work     uuid[];
    c_ids      uuid[];
    c_msgs     bigint[];
    d_ids      uuid[];
    to_archive bigint[];
    seen       bigint[];
    rest       bigint[];
    k_ids      uuid[];
    k_msgs     bigint[];
    k_keys     text[];
    k_costs    integer[];
    k_prios    integer[];
    k_running  boolean[];
    d_keys     text[];
    c_at       timestamptz[] := '{}';
    adm        record;
BEGIN
    IF read_work.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(read_work.queue) THEN
        PERFORM animus.work_raise_not_granted(read_work.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = read_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', read_work.queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    IF read_work.vt IS NULL OR read_work.vt <= '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument vt (visibility timeout) must be positive',
            DETAIL = pg_catalog.format('vt = %s', coalesce(read_work.vt::text, 'NULL')),
            HINT = 'Pass a visibility timeout longer than the work takes, e.g. vt => ''30 seconds'', and heartbeat to extend it.';
    END IF;
    IF read_work.qty IS NULL OR read_work.qty NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument qty must be between 1 and 10000',
            DETAIL = pg_catalog.format('qty = %s', coalesce(read_work.qty::text, 'NULL')),
            HINT = 'Pass how many items to claim at most.';
    END IF;
    IF read_work.work_types IS NOT NULL THEN
        IF pg_catalog.cardinality(read_work.work_types) > 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_types has more than 100 elements',
                DETAIL = pg_catalog.format('work_types has %s elements', pg_catalog.cardinality(read_work.work_types)),
                HINT = 'Pass at most 100 work types, or NULL for every type.';
        END IF;
        IF pg_catalog.cardinality(read_work.work_types) = 0 OR pg_catalog.array_position(read_work.work_types, NULL) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_types must be NULL or a non-empty array without NULL',
                DETAIL = pg_catalog.format('work_types = %s', pg_catalog.left(read_work.work_types::text, 200)),
                HINT = 'Pass the work types this worker handles, e.g. work_types => ARRAY[''engage''], or NULL for every type.';
        END IF;
    END IF;
    v_until := pg_catalog.clock_timestamp() + read_work.vt;

    -- Claim visible messages in priority order, as pgmq.read does (FOR UPDATE SKIP LOCKED, vt and
    -- read_ct updated) but ordered by (animus_priority desc, vt) using the index create_queue made.
    SELECT pg_catalog.array_agg(c.msg_id),
           pg_catalog.array_agg(CASE WHEN c.work_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN c.work_id::uuid END)
      INTO m_ids, m_work
      FROM animus.work_queue_claim(read_work.queue, read_work.qty, v_until, read_work.work_types) AS c;
    IF m_ids IS NULL THEN
        RETURN;
    END IF;

    -- Lock the items without waiting (a reader never waits, so it is never part of a deadlock).
    -- queued/running with attempts left -> claimed (running, another attempt); out of attempts ->
    -- dead; any other state (cancelled, ended) -> the stale message is archived.
    WITH m AS (
        SELECT * FROM ROWS FROM (pg_catalog.unnest(m_ids), pg_catalog.unnest(m_work)) AS m(msg_id, work_id)
    ), l AS (
        SELECT w.id, w.state IN ('queued', 'running') AS active, w.attempts - w.released < w.max_attempts AS left, m.msg_id,
               w.concurrency_key AS key, w.cost, w.priority, w.state = 'running' AS running
          FROM m JOIN animus.work_items w ON w.id = m.work_id AND w.queue_name = read_work.queue
           FOR UPDATE OF w SKIP LOCKED
    )
    SELECT coalesce(pg_catalog.array_agg(l.id) FILTER (WHERE l.active AND l.left AND l.key IS NULL), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NULL), '{}'),
           coalesce(pg_catalog.array_agg(l.id) FILTER (WHERE l.active AND NOT l.left), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id) FILTER (WHERE NOT (l.active AND l.left)), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id), '{}'),
           -- items with a concurrency key: admitted below (in priority, then message order)
           pg_catalog.array_agg(l.id ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(l.msg_id ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(l.key ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(l.cost ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(l.priority ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(l.running ORDER BY l.priority DESC, l.msg_id) FILTER (WHERE l.active AND l.left AND l.key IS NOT NULL),
           pg_catalog.array_agg(DISTINCT l.key) FILTER (WHERE l.active AND NOT l.left AND l.running AND l.key IS NOT NULL)
      INTO c_ids, c_msgs, d_ids, to_archive, seen, k_ids, k_msgs, k_keys, k_costs, k_prios, k_running, d_keys
      FROM l;

    IF pg_catalog.cardinality(d_ids) > 0 THEN
        UPDATE animus.work_items w
           SET state = 'dead', resolved_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp(),
               error = pg_catalog.format('attempt %s of %s timed out: the visibility timeout expired without complete_work or fail_work%s',
                                         w.attempts - w.released, w.max_attempts, ' (last error: ' || w.error || ')')
         WHERE w.id = ANY (d_ids);
        PERFORM animus.work_release_followups(d_ids);
        IF d_keys IS NOT NULL THEN
            -- a running item of a key died: its slot is free
            PERFORM animus.work_key_wake(read_work.queue, d_keys);
        END IF;
    END IF;
    IF pg_catalog.cardinality(seen) < pg_catalog.cardinality(m_ids) THEN
        -- Messages without a work item are archived; those whose item another session holds locked
        -- (being cancelled, replaced, completed) are made visible again at once.
        to_archive := to_archive || ARRAY(SELECT x FROM pg_catalog.unnest(m_ids) WITH ORDINALITY AS u(x, n)
                                           WHERE x <> ALL (seen)
                                             AND NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = m_work[n]));
        rest := ARRAY(SELECT x FROM pg_catalog.unnest(m_ids) AS x WHERE x <> ALL (seen) AND x <> ALL (to_archive));
        IF pg_catalog.cardinality(rest) > 0 THEN
            EXECUTE pg_catalog.format('UPDATE pgmq.%I SET vt = pg_catalog.clock_timestamp() WHERE msg_id = ANY ($1)', 'q_' || read_work.queue)
            USING rest;
        END IF;
    END IF;
    IF pg_catalog.cardinality(to_archive) > 0 THEN
        PERFORM animus.work_queue_archive(read_work.queue, to_archive);
    END IF;
    IF k_ids IS NOT NULL THEN
        -- Concurrency keys: admit what fits the keys' limits; the rest is held or deferred.
        SELECT * INTO adm FROM animus.work_key_admit(read_work.queue, k_ids, k_msgs, k_keys, k_costs, k_prios, k_running);
        -- admitted first: c_at (their start times, the ones the rate counted) lines up with them,
        -- ROWS FROM pads it with NULL (now) for the items without a key
        c_ids := adm.admit_ids || c_ids;
        c_msgs := adm.admit_msgs || c_msgs;
        c_at := pg_catalog.array_fill(adm.admitted_at, ARRAY[pg_catalog.cardinality(adm.admit_ids)]);
    END IF;
    IF pg_catalog.cardinality(c_ids) = 0 THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH u AS (
        UPDATE animus.work_items w
           SET state = 'running', attempts = w.attempts + 1, msg_id = x.msg_id,
               started_at = coalesce(x.at, pg_catalog.clock_timestamp()), heartbeat_at = pg_catalog.clock_timestamp(),
               updated_at = pg_catalog.clock_timestamp()
          FROM ROWS FROM (pg_catalog.unnest(c_ids), pg_catalog.unnest(c_msgs), pg_catalog.unnest(c_at)) AS x(id, msg_id, at)
         WHERE w.id = x.id
        RETURNING w.*
    )
    -- requesters: the canonical submission and the first 99 merged ones (read in order from the
    -- index work_items_merged_into_order); requesters_total counts them all. get_work and
    -- get_work_submissions page through the rest.
    SELECT u.id, u.queue_name, u.work_type, u.dedup_key, u.params, u.priority, u.attempts, u.max_attempts,
           u.msg_id, u.parent_id, u.source, u.trigger_info, u.trace_context,
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
               'work_id', u.id, 'source', u.source, 'trigger_info', u.trigger_info,
               'trace_context', u.trace_context, 'submitted_at', u.created_at))
           || coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info,
                                   'trace_context', r.trace_context, 'submitted_at', r.created_at)
                               ORDER BY r.created_at, r.id)
                          FROM (SELECT r.id, r.source, r.trigger_info, r.trace_context, r.created_at
                                  FROM animus.work_items r WHERE r.merged_into = u.id
                                 ORDER BY r.created_at, r.id LIMIT 99) r), '[]'),
           1 + (SELECT count(*) FROM animus.work_items r WHERE r.merged_into = u.id),
           u.created_at, v_until
      FROM u
     ORDER BY u.priority DESC, u.run_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.read_work(text, interval, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.read_work(text, interval, integer, text[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.read_work(text, interval, integer, text[]) IS
'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout, an interval: vt => ''30 seconds'' or vt => 30 * interval ''1 second''; an integer vt matches no function, 42883): higher priority first, then earliest due. work_types (at most 100; NULL = every type) claims only items of those types: the others stay queued for a worker that handles them and count in queue_stats. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Items with a concurrency key are returned only within their key''s limits (animus.set_concurrency_limit): over max_running they are held until an item of the key leaves running, over the rate they become visible at the next window; a re-claim of a timed-out running item keeps its slot. Returns the items with their trace_context, requesters (the canonical submission and the first 99 merged ones, oldest first: work_id, source, trigger_info, trace_context, submitted_at) and requesters_total (all of them; animus.get_work_submissions pages through every one). May return fewer than qty. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL, work_types empty or with a NULL), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000), ZA110 (more than 100 work_types).';

-- complete ------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[] DEFAULT NULL, attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, completed boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    done    uuid[];
    r       record;
    scope   text[];
BEGIN
    IF work_ids IS NULL OR pg_catalog.array_position(work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by read_work.';
    END IF;
    IF pg_catalog.cardinality(work_ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_ids has more than 10000 elements',
            DETAIL = pg_catalog.format('work_ids has %s elements', pg_catalog.cardinality(work_ids)),
            HINT = 'Complete at most 10000 items per call.';
    END IF;
    scope := animus.work_queue_scope();
    IF outcomes IS NOT NULL AND pg_catalog.cardinality(outcomes) <> pg_catalog.cardinality(work_ids) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument outcomes must have one element per work id',
            DETAIL = pg_catalog.format('%s work ids, %s outcomes', pg_catalog.cardinality(work_ids), pg_catalog.cardinality(outcomes)),
            HINT = 'Pass outcomes => NULL, or an array as long as work_ids.';
    END IF;
    IF complete_work.attempts IS NOT NULL AND pg_catalog.cardinality(complete_work.attempts) <> pg_catalog.cardinality(work_ids) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument attempts must have one element per work id',
            DETAIL = pg_catalog.format('%s work ids, %s attempts', pg_catalog.cardinality(work_ids), pg_catalog.cardinality(complete_work.attempts)),
            HINT = 'Pass attempts => NULL (no fencing), or the attempts read_work returned, aligned with work_ids.';
    END IF;
    done := '{}';
    FOR r IN
        WITH u AS (
            UPDATE animus.work_items w
               SET state = 'completed', outcome = i.outcome, resolved_at = pg_catalog.clock_timestamp(),
                   updated_at = pg_catalog.clock_timestamp(),
                   duration_ms = extract(epoch FROM pg_catalog.clock_timestamp() - w.started_at) * 1000
              FROM ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(outcomes), pg_catalog.unnest(complete_work.attempts)) AS i(id, outcome, attempt)
             WHERE w.id = i.id AND w.state = 'running' AND (i.attempt IS NULL OR w.attempts = i.attempt)
            RETURNING w.id, w.queue_name, w.msg_id, w.concurrency_key
        )
        SELECT u.queue_name, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids,
               pg_catalog.array_agg(u.concurrency_key) FILTER (WHERE u.concurrency_key IS NOT NULL) AS keys
          FROM u GROUP BY u.queue_name
    LOOP
        -- Items of a queue the caller may not use are unknown to it (the raise undoes the UPDATE).
        IF NOT (r.queue_name = ANY (scope) OR '*' = ANY (scope)) THEN
            PERFORM animus.work_raise_unknown(r.ids[1], 'work_ids', 'complete_work');
        END IF;
        PERFORM animus.work_queue_archive(r.queue_name, r.msg_ids);
        IF r.keys IS NOT NULL THEN
            PERFORM animus.work_key_wake(r.queue_name, r.keys);   -- slots freed: wake held items of the keys
        END IF;
        done := done || r.ids;
    END LOOP;
    IF pg_catalog.cardinality(done) < pg_catalog.cardinality(work_ids) THEN
        PERFORM animus.work_raise_unsettled(work_ids, complete_work.attempts, done, 'complete_work');
    END IF;
    IF pg_catalog.cardinality(done) > 0 THEN
        PERFORM animus.work_release_followups(done);
    END IF;
    RETURN QUERY SELECT i, i = ANY (done) FROM pg_catalog.unnest(work_ids) AS i;
END;
$$;
REVOKE ALL ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) IS
'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and archives their messages in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item; held items of the completed items'' concurrency keys are woken (animus.work_key_wake). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on (others are unknown to it). Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

CREATE OR REPLACE FUNCTION animus.complete_work(work_id uuid, outcome jsonb DEFAULT NULL, attempt integer DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
DECLARE
    v_queue text;
    v_msg   bigint;
    v_key   text;
BEGIN
    IF work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    UPDATE animus.work_items w
       SET state = 'completed', outcome = complete_work.outcome, resolved_at = pg_catalog.clock_timestamp(),
           updated_at = pg_catalog.clock_timestamp(),
           duration_ms = extract(epoch FROM pg_catalog.clock_timestamp() - w.started_at) * 1000
     WHERE w.id = complete_work.work_id AND w.state = 'running'
       AND (complete_work.attempt IS NULL OR w.attempts = complete_work.attempt)
    RETURNING w.queue_name, w.msg_id, w.concurrency_key INTO v_queue, v_msg, v_key;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(work_id, 'complete_work', complete_work.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(work_id, 'work_id', 'complete_work');   -- undoes the UPDATE
    END IF;
    PERFORM animus.work_queue_archive(v_queue, ARRAY[v_msg]);
    PERFORM animus.work_release_followups(ARRAY[work_id]);
    IF v_key IS NOT NULL THEN
        PERFORM animus.work_key_wake(v_queue, ARRAY[v_key]);
    END IF;
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.complete_work(uuid, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid, jsonb, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid, jsonb, integer) IS
'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message archived; its merged duplicates resolve with it (get_work shows their canonical state), a replace-mode follow-up waiting for it becomes visible, and held items of its concurrency key are woken. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';



COMMENT ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) IS
'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message archived). Held items of the failed items'' concurrency keys are woken. Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA110 (more than 10000 ids), ZA002 (attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';
COMMENT ON FUNCTION animus.cancel_work(uuid) IS
'Cancels a queued or running work item: state cancelled, message archived (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. A cancelled running item frees its concurrency key''s slot (held items are woken). Returns true, or false if it was already cancelled. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA104 (completed, dead or a merged submission).';
COMMENT ON FUNCTION animus.fail_work(uuid, text, boolean, integer) IS
'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message archived). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

COMMIT;
