-- Revert animus:work_lifecycle from pg

BEGIN;

-- Back to the v0.4.0 worker functions (with the search_path security_search_path gave them).
DROP FUNCTION animus.read_work(text, interval, integer, text[]);

-- Raises the right error for a work item that a worker operation could not act on. attempt: the
-- caller's claim token (read_work's attempts), NULL when the caller passed none.
CREATE OR REPLACE FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer DEFAULT NULL)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s text;
    n integer;
BEGIN
    SELECT w.state, w.attempts INTO s, n FROM animus.work_items w WHERE w.id = work_raise_not_running.work_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = pg_catalog.format('argument work_id: no such work item (%s)', operation),
            DETAIL = pg_catalog.format('work_id = %s', work_id),
            HINT = 'Pass the id returned by read_work or submit_work.';
    ELSIF s <> 'merged' AND attempt IS NOT NULL AND attempt IS DISTINCT FROM n THEN
        PERFORM animus.work_raise_stale_claim(work_id, operation, attempt, n, s);
    ELSIF s = 'queued' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA103', MESSAGE = pg_catalog.format('argument work_id: work item is queued, not running (%s)', operation),
            DETAIL = pg_catalog.format('work_id = %s', work_id),
            HINT = 'Only an item claimed with read_work (and not yet timed out and retried) can be completed, failed or heartbeated.';
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA104', MESSAGE = pg_catalog.format('argument work_id: work item has already ended as %s (%s)', s, operation),
            DETAIL = pg_catalog.format('work_id = %s, state = %s', work_id, s),
            HINT = 'A stale completion: the item was completed, failed, cancelled or is a merged duplicate. See animus.get_work(work_id).';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_not_running(uuid, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_not_running(uuid, text, integer) IS
'Internal: raises ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running) or ZA104 (already ended or merged) for a worker operation that found no running item.';

-- Claim fencing: the error for a caller whose claim (attempt n) is no longer the item's current one.
CREATE OR REPLACE FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text)
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA108',
        MESSAGE = pg_catalog.format('argument attempt: stale claim of work item %s (%s): the caller holds attempt %s, the item is at attempt %s (%s)',
                                    work_id, operation, attempt, current_attempt, state),
        DETAIL = pg_catalog.format('work_id = %s, attempt = %s, current attempts = %s, state = %s', work_id, attempt, current_attempt, state),
        HINT = 'Your visibility timeout expired and the item was claimed again: stop working on it and drop your result (nothing was written). Heartbeat within the visibility timeout to keep a claim.';
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_stale_claim(uuid, text, integer, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_stale_claim(uuid, text, integer, integer, text) IS
'Internal: raises ZA108 (stale claim) for work item work_id: the caller passed attempt, the item is at current_attempt.';

-- The many-id forms of complete_work / fail_work settle what they can in one UPDATE, then call this
-- for the ids they did not settle: an unknown id raises ZA102, a stale claim ZA108 (the raise undoes
-- the UPDATE, so nothing is written). Ids that are merely not running are left to the caller's result.
CREATE OR REPLACE FUNCTION animus.work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    bad record;
BEGIN
    SELECT i.id, w.id IS NULL AS missing, w.attempts, w.state, i.attempt INTO bad
      FROM ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(claim_attempts)) AS i(id, attempt)
      LEFT JOIN animus.work_items w ON w.id = i.id
     WHERE i.id <> ALL (settled)
       AND (w.id IS NULL OR (i.attempt IS NOT NULL AND w.state <> 'merged' AND w.attempts <> i.attempt))
     ORDER BY w.id IS NULL DESC
     LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_ids: no such work item',
            DETAIL = pg_catalog.format('work_id = %s', bad.id), HINT = 'Pass the ids returned by read_work.';
    ELSIF FOUND THEN
        PERFORM animus.work_raise_stale_claim(bad.id, operation, bad.attempt, bad.attempts, bad.state);
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_unsettled(uuid[], integer[], uuid[], text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_unsettled(uuid[], integer[], uuid[], text) IS
'Internal: for the ids of a many-id complete_work / fail_work that were not settled, raises ZA102 (unknown work item) or ZA108 (stale claim); returns when neither applies.';

-- When a running item ends, its replace-mode follow-up (if any) becomes the key holder and visible.
CREATE OR REPLACE FUNCTION animus.work_release_followups(ended uuid[])
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        WITH f AS (
            UPDATE animus.work_items w
               SET waits_for = NULL, run_at = greatest(w.run_at, pg_catalog.clock_timestamp()),
                   updated_at = pg_catalog.clock_timestamp()
             WHERE w.waits_for = ANY (ended) AND w.state = 'queued'
            RETURNING w.queue_name, w.msg_id, w.run_at
        )
        SELECT f.queue_name, pg_catalog.array_agg(f.msg_id) AS msg_ids, pg_catalog.array_agg(f.run_at) AS run_ats
          FROM f GROUP BY f.queue_name
    LOOP
        PERFORM animus.work_queue_set_vt(r.queue_name, r.msg_ids, r.run_ats);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_release_followups(uuid[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_release_followups(uuid[]) IS
'Internal: makes the waiting follow-ups of the given ended items (replace mode: one running plus one queued) key holders and visible at their run time. Raises nothing.';

CREATE OR REPLACE FUNCTION animus.read_work(
    queue  text DEFAULT 'work',
    vt     interval DEFAULT '30 seconds',
    qty    integer DEFAULT 1
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
        requesters     jsonb,
        created_at     timestamptz,
        visible_until  timestamptz
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
BEGIN
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
    v_until := pg_catalog.clock_timestamp() + read_work.vt;

    -- Claim visible messages in priority order, as pgmq.read does (FOR UPDATE SKIP LOCKED, vt and
    -- read_ct updated) but ordered by (animus_priority desc, vt) using the index create_queue made.
    SELECT pg_catalog.array_agg(c.msg_id),
           pg_catalog.array_agg(CASE WHEN c.work_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN c.work_id::uuid END)
      INTO m_ids, m_work
      FROM animus.work_queue_claim(read_work.queue, read_work.qty, v_until) AS c;
    IF m_ids IS NULL THEN
        RETURN;
    END IF;

    -- Lock the items without waiting (a reader never waits, so it is never part of a deadlock).
    -- queued/running with attempts left -> claimed (running, another attempt); out of attempts ->
    -- dead; any other state (cancelled, ended) -> the stale message is archived.
    WITH m AS (
        SELECT * FROM ROWS FROM (pg_catalog.unnest(m_ids), pg_catalog.unnest(m_work)) AS m(msg_id, work_id)
    ), l AS (
        SELECT w.id, w.state IN ('queued', 'running') AS active, w.attempts - w.released < w.max_attempts AS left, m.msg_id
          FROM m JOIN animus.work_items w ON w.id = m.work_id AND w.queue_name = read_work.queue
           FOR UPDATE OF w SKIP LOCKED
    )
    SELECT coalesce(pg_catalog.array_agg(l.id) FILTER (WHERE l.active AND l.left), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id) FILTER (WHERE l.active AND l.left), '{}'),
           coalesce(pg_catalog.array_agg(l.id) FILTER (WHERE l.active AND NOT l.left), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id) FILTER (WHERE NOT (l.active AND l.left)), '{}'),
           coalesce(pg_catalog.array_agg(l.msg_id), '{}')
      INTO c_ids, c_msgs, d_ids, to_archive, seen
      FROM l;

    IF pg_catalog.cardinality(d_ids) > 0 THEN
        UPDATE animus.work_items w
           SET state = 'dead', resolved_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp(),
               error = pg_catalog.format('attempt %s of %s timed out: the visibility timeout expired without complete_work or fail_work%s',
                                         w.attempts - w.released, w.max_attempts, ' (last error: ' || w.error || ')')
         WHERE w.id = ANY (d_ids);
        PERFORM animus.work_release_followups(d_ids);
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
    IF pg_catalog.cardinality(c_ids) = 0 THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH u AS (
        UPDATE animus.work_items w
           SET state = 'running', attempts = w.attempts + 1, msg_id = x.msg_id,
               started_at = pg_catalog.clock_timestamp(), heartbeat_at = pg_catalog.clock_timestamp(),
               updated_at = pg_catalog.clock_timestamp()
          FROM ROWS FROM (pg_catalog.unnest(c_ids), pg_catalog.unnest(c_msgs)) AS x(id, msg_id)
         WHERE w.id = x.id
        RETURNING w.*
    )
    SELECT u.id, u.queue_name, u.work_type, u.dedup_key, u.params, u.priority, u.attempts, u.max_attempts,
           u.msg_id, u.parent_id, u.source, u.trigger_info, u.trace_context,
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
               'work_id', u.id, 'source', u.source, 'trigger_info', u.trigger_info,
               'trace_context', u.trace_context, 'submitted_at', u.created_at))
           || coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info,
                                   'trace_context', r.trace_context, 'submitted_at', r.created_at)
                               ORDER BY r.created_at, r.id)
                          FROM animus.work_items r WHERE r.merged_into = u.id), '[]'),
           u.created_at, v_until
      FROM u
     ORDER BY u.priority DESC, u.run_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.read_work(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.read_work(text, interval, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.read_work(text, interval, integer) IS
'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout): higher priority first, then earliest due. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Returns the items with their trace_context and requesters (the canonical submission and every merged one: work_id, source, trigger_info, trace_context, submitted_at). May return fewer than qty. Raises ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000).';

-- complete ------------------------------------------------------------------------------------------
-- Claim fencing: `attempt` (single) / `attempts` (array, aligned with work_ids) is the claim token a
-- worker got from read_work (its attempts column). When given, the item is acted on only if it is
-- still at that attempt; otherwise it was claimed again since (the caller's visibility timeout
-- expired) and the call raises ZA108 with nothing written. The check is part of the UPDATE's WHERE
-- clause, so a concurrent read_work that re-claims the item cannot slip in between.
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
BEGIN
    IF work_ids IS NULL OR pg_catalog.array_position(work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by read_work.';
    END IF;
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
            RETURNING w.id, w.queue_name, w.msg_id
        )
        SELECT u.queue_name, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids FROM u GROUP BY u.queue_name
    LOOP
        PERFORM animus.work_queue_archive(r.queue_name, r.msg_ids);
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
'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and archives their messages in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item. Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. Raises ZA001 (work_ids NULL or with a NULL), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id), ZA108 (a stale claim); nothing is written when it raises.';

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
    RETURNING w.queue_name, w.msg_id INTO v_queue, v_msg;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(work_id, 'complete_work', complete_work.attempt);
    END IF;
    PERFORM animus.work_queue_archive(v_queue, ARRAY[v_msg]);
    PERFORM animus.work_release_followups(ARRAY[work_id]);
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.complete_work(uuid, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid, jsonb, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid, jsonb, integer) IS
'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message archived; its merged duplicates resolve with it (get_work shows their canonical state), and a replace-mode follow-up waiting for it becomes visible. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id NULL), ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';

-- fail ----------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean DEFAULT true, attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, failed boolean, state text, retry_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    r       record;
    res_ids uuid[] := '{}';
    res_st  text[] := '{}';
    res_at  timestamptz[] := '{}';
    dead    uuid[] := '{}';
BEGIN
    IF work_ids IS NULL OR pg_catalog.array_position(work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by read_work.';
    END IF;
    IF fail_work.error IS NULL OR fail_work.error = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument error must not be NULL or empty',
            HINT = 'Say why the work failed; it is kept on the item (and on a dead item).';
    END IF;
    IF retryable IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument retryable must not be NULL', HINT = 'Pass true or false.';
    END IF;
    IF fail_work.attempts IS NOT NULL AND pg_catalog.cardinality(fail_work.attempts) <> pg_catalog.cardinality(work_ids) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument attempts must have one element per work id',
            DETAIL = pg_catalog.format('%s work ids, %s attempts', pg_catalog.cardinality(work_ids), pg_catalog.cardinality(fail_work.attempts)),
            HINT = 'Pass attempts => NULL (no fencing), or the attempts read_work returned, aligned with work_ids.';
    END IF;
    -- Retry delay: min(cap, base * factor^(n-1)) scaled by a random factor in [1-jitter, 1+jitter], where
    -- n = attempts - released is the number of attempts that counted (released claims do not).
    FOR r IN
        WITH u AS (
            UPDATE animus.work_items w
               SET state = CASE WHEN retryable AND w.attempts - w.released < w.max_attempts THEN 'queued' ELSE 'dead' END,
                   error = fail_work.error,
                   run_at = CASE WHEN retryable AND w.attempts - w.released < w.max_attempts
                                 THEN pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs =>
                                      least(extract(epoch FROM q.backoff_cap),
                                            extract(epoch FROM q.backoff_base) * q.backoff_factor ^ least(w.attempts - w.released - 1, 60))
                                      * (1 + q.backoff_jitter * (2 * pg_catalog.random() - 1)))
                                 ELSE w.run_at END,
                   resolved_at = CASE WHEN retryable AND w.attempts - w.released < w.max_attempts THEN NULL ELSE pg_catalog.clock_timestamp() END,
                   duration_ms = extract(epoch FROM pg_catalog.clock_timestamp() - w.started_at) * 1000,
                   updated_at = pg_catalog.clock_timestamp()
              FROM animus.queues q, ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(fail_work.attempts)) AS i(id, attempt)
             WHERE q.queue_name = w.queue_name AND w.id = i.id AND w.state = 'running'
               AND (i.attempt IS NULL OR w.attempts = i.attempt)
            RETURNING w.id, w.state, w.queue_name, w.msg_id, w.run_at
        )
        SELECT u.queue_name, u.state, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids,
               pg_catalog.array_agg(u.run_at) AS run_ats
          FROM u GROUP BY u.queue_name, u.state
    LOOP
        IF r.state = 'queued' THEN
            PERFORM animus.work_queue_set_vt(r.queue_name, r.msg_ids, r.run_ats);
        ELSE
            PERFORM animus.work_queue_archive(r.queue_name, r.msg_ids);
            dead := dead || r.ids;
        END IF;
        res_ids := res_ids || r.ids;
        res_st := res_st || pg_catalog.array_fill(r.state::text, ARRAY[pg_catalog.cardinality(r.ids)]);
        res_at := res_at || CASE WHEN r.state = 'queued' THEN r.run_ats
                                 ELSE pg_catalog.array_fill(NULL::timestamptz, ARRAY[pg_catalog.cardinality(r.ids)]) END;
    END LOOP;
    IF pg_catalog.cardinality(res_ids) < pg_catalog.cardinality(work_ids) THEN
        PERFORM animus.work_raise_unsettled(work_ids, fail_work.attempts, res_ids, 'fail_work');
    END IF;
    IF pg_catalog.cardinality(dead) > 0 THEN
        PERFORM animus.work_release_followups(dead);
    END IF;
    RETURN QUERY
    SELECT i, x.id IS NOT NULL, coalesce(x.st, (SELECT w.state FROM animus.work_items w WHERE w.id = i)), x.at
      FROM pg_catalog.unnest(work_ids) AS i
      LEFT JOIN ROWS FROM (pg_catalog.unnest(res_ids), pg_catalog.unnest(res_st), pg_catalog.unnest(res_at)) AS x(id, st, at)
        ON x.id = i;
END;
$$;
REVOKE ALL ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) IS
'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message archived). Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA002 (attempts length differs), ZA102 (an unknown id), ZA108 (a stale claim); nothing is written when it raises.';

CREATE OR REPLACE FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean DEFAULT true, attempt integer DEFAULT NULL)
    RETURNS TABLE (state text, retry_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    r record;
BEGIN
    IF work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    SELECT * INTO r FROM animus.fail_work(work_ids => ARRAY[fail_work.work_id], error => fail_work.error, retryable => fail_work.retryable,
                                          attempts => ARRAY[fail_work.attempt]);
    IF NOT r.failed THEN
        PERFORM animus.work_raise_not_running(fail_work.work_id, 'fail_work', fail_work.attempt);
    END IF;
    RETURN QUERY SELECT r.state, r.retry_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.fail_work(uuid, text, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.fail_work(uuid, text, boolean, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.fail_work(uuid, text, boolean, integer) IS
'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message archived). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

-- heartbeat, cancel ---------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION animus.heartbeat_work(work_id uuid, extend interval DEFAULT '30 seconds', attempt integer DEFAULT NULL)
    RETURNS TABLE (state text, cancelled boolean, visible_until timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_queue text;
    v_msg   bigint;
    v_until timestamptz;
BEGIN
    IF heartbeat_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    IF extend IS NULL OR extend <= '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument extend must be positive',
            DETAIL = pg_catalog.format('extend = %s', coalesce(extend::text, 'NULL')),
            HINT = 'Pass how long from now the item stays invisible to other readers, e.g. ''30 seconds''.';
    END IF;
    v_until := pg_catalog.clock_timestamp() + extend;
    UPDATE animus.work_items w SET heartbeat_at = pg_catalog.clock_timestamp()
     WHERE w.id = heartbeat_work.work_id AND w.state = 'running'
       AND (heartbeat_work.attempt IS NULL OR w.attempts = heartbeat_work.attempt)
    RETURNING w.queue_name, w.msg_id INTO v_queue, v_msg;
    IF FOUND THEN
        PERFORM animus.work_queue_set_vt(v_queue, ARRAY[v_msg], ARRAY[v_until]);
        RETURN QUERY SELECT 'running'::text, false, v_until;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = heartbeat_work.work_id AND w.state = 'cancelled'
                  AND (heartbeat_work.attempt IS NULL OR w.attempts = heartbeat_work.attempt)) THEN
        RETURN QUERY SELECT 'cancelled'::text, true, NULL::timestamptz;
        RETURN;
    END IF;
    PERFORM animus.work_raise_not_running(heartbeat_work.work_id, 'heartbeat_work', heartbeat_work.attempt);
END;
$$;
REVOKE ALL ON FUNCTION animus.heartbeat_work(uuid, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.heartbeat_work(uuid, interval, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.heartbeat_work(uuid, interval, integer) IS
'Extends the visibility timeout of a running item to now + extend and records heartbeat_at. Returns (state, cancelled, visible_until): cancelled = true (and nothing extended) when the item was cancelled meanwhile, so the worker can stop. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id NULL), ZA002 (extend not positive), ZA102 (unknown item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued: the claim timed out), ZA104 (already ended or merged).';

CREATE OR REPLACE FUNCTION animus.cancel_work(work_id uuid)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
DECLARE
    w animus.work_items;
BEGIN
    IF cancel_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    SELECT * INTO w FROM animus.work_items wi WHERE wi.id = cancel_work.work_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_id: no such work item',
            DETAIL = pg_catalog.format('work_id = %s', cancel_work.work_id), HINT = 'Pass the id returned by submit_work.';
    END IF;
    IF w.state = 'cancelled' THEN
        RETURN false;
    END IF;
    IF w.state NOT IN ('queued', 'running') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA104', MESSAGE = pg_catalog.format('argument work_id: work item is %s and cannot be cancelled', w.state),
            DETAIL = pg_catalog.format('work_id = %s, merged_into = %s', w.id, coalesce(w.merged_into::text, 'NULL')),
            HINT = 'Only queued or running items can be cancelled; for a merged submission cancel its canonical item.';
    END IF;
    UPDATE animus.work_items wi
       SET state = 'cancelled', waits_for = NULL, resolved_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()
     WHERE wi.id = w.id;
    IF w.msg_id IS NOT NULL THEN
        PERFORM animus.work_queue_archive(w.queue_name, ARRAY[w.msg_id]);
    END IF;
    PERFORM animus.work_release_followups(ARRAY[w.id]);
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.cancel_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.cancel_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.cancel_work(uuid) IS
'Cancels a queued or running work item: state cancelled, message archived (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. Returns true, or false if it was already cancelled. Raises ZA001 (work_id NULL), ZA102 (unknown item), ZA104 (completed, dead or a merged submission).';

-- thin pgmq wrappers --------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION animus.archive_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = archive_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN pgmq.archive(queue, msg_id);
END;
$$;
REVOKE ALL ON FUNCTION animus.archive_work(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.archive_work(text, bigint) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.archive_work(text, bigint) IS
'Thin wrapper of pgmq.archive(queue, msg_id): moves a raw message to the archive; true if it existed. Does not change any work item (use complete_work / cancel_work for that). Raises ZA101 (unknown queue).';

CREATE OR REPLACE FUNCTION animus.delete_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = delete_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN pgmq.delete(queue, msg_id);
END;
$$;
REVOKE ALL ON FUNCTION animus.delete_work(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_work(text, bigint) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.delete_work(text, bigint) IS
'Thin wrapper of pgmq.delete(queue, msg_id): deletes a raw message; true if it existed. Does not change any work item. Raises ZA101 (unknown queue).';

DROP FUNCTION animus.work_raise_unknown(uuid, text, text);

COMMIT;
