-- Revert animus:work_lifecycle from pg

BEGIN;

-- Back to the v0.7.0 function.
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
    v_paused   boolean;
    stray      bigint[];
BEGIN
    IF read_work.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(read_work.queue) THEN
        PERFORM animus.work_raise_not_granted(read_work.queue);
    END IF;
    SELECT q.paused_at IS NOT NULL INTO v_paused FROM animus.queues q WHERE q.queue_name = read_work.queue;
    IF NOT FOUND THEN
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
    IF v_paused THEN
        -- animus.pause_queue: submissions are accepted, nothing is handed out until resume_queue
        RETURN;
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
        -- (a stray message, from a stock pgmq client, goes to pgmq's archive whatever the queue's
        -- archive_messages: it is not animus's to delete)
        stray := ARRAY(SELECT x FROM pg_catalog.unnest(m_ids) WITH ORDINALITY AS u(x, n)
                        WHERE x <> ALL (seen)
                          AND NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = m_work[n]));
        IF pg_catalog.cardinality(stray) > 0 THEN
            PERFORM pgmq.archive(read_work.queue, stray);
        END IF;
        rest := ARRAY(SELECT x FROM pg_catalog.unnest(m_ids) AS x WHERE x <> ALL (seen) AND x <> ALL (stray));
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
           -- only an item with a dedup_key can have merged submissions: the others skip both probes
           || CASE WHEN u.dedup_key IS NULL THEN '[]'::jsonb ELSE
              coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'work_id', r.id, 'source', r.source, 'trigger_info', r.trigger_info,
                                   'trace_context', r.trace_context, 'submitted_at', r.created_at)
                               ORDER BY r.created_at, r.id)
                          FROM (SELECT r.id, r.source, r.trigger_info, r.trace_context, r.created_at
                                  FROM animus.work_items r WHERE r.merged_into = u.id
                                 ORDER BY r.created_at, r.id LIMIT 99) r), '[]') END,
           1 + CASE WHEN u.dedup_key IS NULL THEN 0 ELSE (SELECT count(*) FROM animus.work_items r WHERE r.merged_into = u.id) END,
           u.created_at, v_until
      FROM u
     ORDER BY u.priority DESC, u.run_at;
END;
$$;


COMMIT;
