-- Deploy animus:work_submit to pg
-- requires: work_submit@v0.5.0
-- requires: work_concurrency
-- requires: work_queues

BEGIN;

-- Concurrency keys: submit_work takes concurrency_key and cost (a new signature: the v0.5.0
-- function is dropped); submit_work_batch takes them as item keys. A NULL key is derived from
-- params by the queue's concurrency_param (in the generated create_item on the common path).

-- The key of an item created outside the generated create_item (replace-mode follow-ups): the
-- given key, else params ->> the queue's concurrency_param.
CREATE FUNCTION animus.work_derive_key(queue text, concurrency_key text, params jsonb)
    RETURNS text
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    p text;
    k text;
BEGIN
    IF concurrency_key IS NOT NULL THEN
        RETURN concurrency_key;
    END IF;
    SELECT q.concurrency_param INTO p FROM animus.queues q WHERE q.queue_name = queue;
    IF p IS NULL THEN
        RETURN NULL;
    END IF;
    k := params ->> p;
    IF pg_catalog.char_length(k) > 200 OR animus.work_is_blank(k) THEN
        PERFORM animus.work_check_concurrency_args(k, 1, pg_catalog.format('params ->> %L', p));
    END IF;
    RETURN k;
END;
$$;
REVOKE ALL ON FUNCTION animus.work_derive_key(text, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_derive_key(text, text, jsonb) IS
'Internal: the concurrency key of a new item of queue: concurrency_key when given, else params ->> the queue''s concurrency_param (NULL when it has none). Raises ZA125 for a derived key that is empty, only white space or over 200 characters.';

-- What submit_work_batch builds per element before inserting: its own type, so that columns
-- added to animus.work_items later do not change it.
CREATE TYPE animus.work_batch_item AS (
    id               uuid,
    queue_name       text,
    work_type        text,
    dedup_key        text,
    source           text,
    trigger_info     text,
    params           jsonb,
    priority         integer,
    parent_id        uuid,
    max_attempts     integer,
    run_at           timestamptz,
    trace_context    jsonb,
    created_at       timestamptz,
    updated_at       timestamptz,
    concurrency_key  text,
    cost             integer
);
COMMENT ON TYPE animus.work_batch_item IS 'Internal: an element of submit_work_batch before it is inserted (the fields of animus.work_items it sets).';

DROP FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb);

-- PL/pgSQL prepares each expression once per transaction, so the common path of this function
-- evaluates as few expressions and statements as it can (one combined argument check, one dedup
-- probe, one statement writing the row and its message).
CREATE FUNCTION animus.submit_work(
    work_type      text,
    source         text,
    params         jsonb DEFAULT '{}',
    dedup_key      text DEFAULT NULL,
    trigger_info   text DEFAULT NULL,
    priority       integer DEFAULT 0,
    parent_id      uuid DEFAULT NULL,
    max_attempts   integer DEFAULT 5,
    queue          text DEFAULT 'work',
    delay          interval DEFAULT '0',
    run_at         timestamptz DEFAULT NULL,
    on_duplicate   text DEFAULT 'merge',
    trace_context  jsonb DEFAULT NULL,
    concurrency_key text DEFAULT NULL,
    cost           integer DEFAULT 1
)
    RETURNS animus.work_submission
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    -- Always the generic plan: every statement here is a key look-up or a one-row write, so a plan
    -- made for the call's values is never better. With the default (auto) mode the planner compared
    -- the generic plan of the dedup probe against custom ones, and once merged rows of hot keys made
    -- dedup_key look unselective it re-planned the probe in every call (measured: a unique-key
    -- submit took twice the CPU).
    SET plan_cache_mode = force_generic_plan
    -- ... and never a sequential scan: a plan is cached for the session, and one made while
    -- work_items was (nearly) empty scanned the whole table in every later call (measured: a fresh
    -- database ran its first minute of submits at 0.6x the speed of the next).
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_params  jsonb;
    v_run_at  timestamptz;
    v_id      uuid;
    v_item    animus.work_items;
    c         animus.work_items;
    f         animus.work_items;
    t_id      uuid;
    t_msg     bigint;
    v_msg     bigint;
    t_state   text;
    tries     integer;
BEGIN
    IF submit_work.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(submit_work.queue) THEN
        PERFORM animus.work_raise_not_granted(submit_work.queue);
    END IF;
    IF submit_work.work_type IS NULL OR animus.work_is_blank(submit_work.work_type) OR submit_work.source IS NULL
       OR animus.work_is_blank(submit_work.source)
       OR submit_work.dedup_key = '' OR pg_catalog.octet_length(submit_work.work_type) > 255
       OR pg_catalog.octet_length(submit_work.dedup_key) > 2000 OR pg_catalog.jsonb_typeof(coalesce(submit_work.params, '{}')) <> 'object'
       OR pg_catalog.jsonb_typeof(coalesce(submit_work.trace_context, '{}')) <> 'object'
       OR submit_work.delay < '0' OR submit_work.max_attempts IS NULL OR submit_work.max_attempts NOT BETWEEN 1 AND 1000
       OR submit_work.priority IS NULL OR submit_work.priority NOT BETWEEN -1000 AND 1000
       OR submit_work.on_duplicate IS NULL OR submit_work.on_duplicate NOT IN ('merge', 'replace')
       OR submit_work.cost IS NULL OR submit_work.cost NOT BETWEEN 1 AND 1000000
       OR pg_catalog.char_length(submit_work.concurrency_key) > 200 OR animus.work_is_blank(submit_work.concurrency_key) THEN
        PERFORM animus.work_check_submit_args(submit_work.work_type, submit_work.source, coalesce(submit_work.params, '{}'), submit_work.dedup_key,
            submit_work.priority, submit_work.max_attempts, submit_work.delay, submit_work.on_duplicate, submit_work.trace_context);
        PERFORM animus.work_check_concurrency_args(submit_work.concurrency_key, submit_work.cost);
    END IF;
    IF submit_work.parent_id IS NOT NULL THEN
        -- A parent in a queue the caller may not use does not exist for it.
        IF NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = submit_work.parent_id
                          AND (p.queue_name = submit_work.queue OR animus.work_queue_allowed(p.queue_name))) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument parent_id: no such work item',
                DETAIL = pg_catalog.format('parent_id = %s', submit_work.parent_id),
                HINT = 'Pass the id of an existing work item, or NULL.';
        END IF;
    END IF;

    LOOP
        IF submit_work.dedup_key IS NOT NULL AND submit_work.on_duplicate = 'merge' THEN
            -- Merge into the active key holder, or into its waiting follow-up if there is one (that
            -- runs after the running item): a probe, then one row, no message. The common case on hot
            -- keys. A probe that finds nothing (a new key) costs no INSERT set-up (index opens).
            SELECT cw.id, cw.msg_id, cw.state INTO t_id, t_msg, t_state
              FROM animus.work_items cw
             WHERE cw.queue_name = submit_work.queue AND cw.work_type = submit_work.work_type
               AND cw.dedup_key = submit_work.dedup_key AND cw.state IN ('queued', 'running') AND cw.waits_for IS NULL;
            IF FOUND THEN
                IF t_state = 'running' THEN
                    -- at most one follow-up per item (unique index work_items_waits_for)
                    SELECT * INTO f FROM animus.work_items fw WHERE fw.waits_for = t_id;
                    IF FOUND THEN
                        t_id := f.id;
                        t_msg := f.msg_id;
                    END IF;
                END IF;
                INSERT INTO animus.work_items AS m (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                                    state, merged_into, parent_id, max_attempts, run_at, trace_context)
                VALUES (animus.work_new_id(), submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                        submit_work.trigger_info, coalesce(submit_work.params, '{}'), submit_work.priority, 'merged', t_id,
                        submit_work.parent_id, submit_work.max_attempts,
                        greatest(coalesce(submit_work.run_at, pg_catalog.clock_timestamp() + coalesce(submit_work.delay, '0')), pg_catalog.clock_timestamp()),
                        submit_work.trace_context)
                RETURNING m.id INTO v_id;
                RETURN ROW(v_id, 'merged', t_id, t_msg)::animus.work_submission;
            END IF;
        END IF;
        -- Every path below needs these (computed here, not on the merge path: PL/pgSQL prepares each
        -- expression once per transaction, and the merge path is kept to a minimum of them).
        v_id := animus.work_new_id();
        v_params := coalesce(submit_work.params, '{}');
        v_run_at := greatest(coalesce(submit_work.run_at, pg_catalog.clock_timestamp() + coalesce(submit_work.delay, '0')),
                             pg_catalog.clock_timestamp());
        IF submit_work.dedup_key IS NOT NULL AND submit_work.on_duplicate = 'replace' THEN
            -- replace: lock the key holder (replaces of one key are serialised).
            SELECT * INTO c FROM animus.work_items cw
             WHERE cw.queue_name = submit_work.queue AND cw.work_type = submit_work.work_type
               AND cw.dedup_key = submit_work.dedup_key AND cw.state IN ('queued', 'running') AND cw.waits_for IS NULL
               FOR UPDATE;
            IF FOUND THEN
                IF c.state = 'running' THEN
                    SELECT * INTO f FROM animus.work_items fw WHERE fw.waits_for = c.id FOR UPDATE;
                    IF NOT FOUND THEN
                        -- One running plus one queued: a follow-up that becomes visible when c ends.
                        INSERT INTO animus.work_items AS w (id, queue_name, work_type, dedup_key, source, trigger_info, params,
                                                            priority, state, waits_for, parent_id, max_attempts, msg_id, run_at, trace_context,
                                                            concurrency_key, cost)
                        VALUES (v_id, submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                                submit_work.trigger_info, v_params, submit_work.priority, 'queued', c.id, submit_work.parent_id,
                                submit_work.max_attempts, pg_catalog.nextval(('pgmq.q_' || submit_work.queue || '_msg_id_seq')::regclass),
                                v_run_at, submit_work.trace_context,
                                animus.work_derive_key(submit_work.queue, submit_work.concurrency_key, v_params), submit_work.cost)
                        RETURNING w.* INTO v_item;
                        PERFORM animus.work_send_messages(submit_work.queue, ARRAY[v_item], 'infinity');
                        RETURN ROW(v_id, 'created', v_id, v_item.msg_id)::animus.work_submission;
                    END IF;
                    c := f;
                END IF;
                -- c is queued (the key holder, or the follow-up of a running item): debounce it.
                UPDATE animus.work_items w
                   SET params = v_params, priority = submit_work.priority, run_at = v_run_at,
                       updated_at = pg_catalog.clock_timestamp()
                 WHERE w.id = c.id;
                EXECUTE pg_catalog.format(
                    'UPDATE pgmq.%I SET vt = $2, headers = NULLIF(CASE WHEN $3 = 0 THEN coalesce(headers, ''{}'') - ''animus_priority''
                       ELSE coalesce(headers, ''{}'') || pg_catalog.jsonb_build_object(''animus_priority'', $3) END, ''{}'')
                      WHERE msg_id = $1', 'q_' || submit_work.queue)
                -- a waiting follow-up, or an item held for its concurrency key, stays invisible
                USING c.msg_id, CASE WHEN c.waits_for IS NULL
                                      AND NOT (c.concurrency_key IS NOT NULL
                                               AND EXISTS (SELECT 1 FROM animus.concurrency_held h WHERE h.work_id = c.id))
                                     THEN v_run_at ELSE 'infinity' END, submit_work.priority;
                INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                               state, merged_into, parent_id, max_attempts, run_at, trace_context)
                VALUES (v_id, submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                        submit_work.trigger_info, v_params, submit_work.priority, 'merged', c.id, submit_work.parent_id,
                        submit_work.max_attempts, v_run_at, submit_work.trace_context);
                RETURN ROW(v_id, 'replaced', c.id, c.msg_id)::animus.work_submission;
            END IF;
        END IF;

        -- No active key holder: create the item. The item and its message in one statement
        -- (generated per queue, which also raises ZA101 for an unknown queue and sends the throttled
        -- wake-up): the item is inserted with ON CONFLICT on the dedup index and its message id from
        -- the queue's sequence; the message is written only if the item was. Of concurrent inserts
        -- of one key exactly one succeeds; the others wait for it to commit, see the conflict, write
        -- nothing and merge on the next turn of the loop.
        v_msg := animus.work_queue_create_item(submit_work.queue, v_id, submit_work.work_type, submit_work.dedup_key,
            submit_work.source, submit_work.trigger_info, v_params, submit_work.priority, submit_work.parent_id,
            submit_work.max_attempts, v_run_at, submit_work.trace_context,
            CASE WHEN submit_work.trace_context IS NOT NULL
                 THEN animus.work_message_headers(submit_work.priority, submit_work.trace_context)
                 WHEN submit_work.priority <> 0 THEN pg_catalog.jsonb_build_object('animus_priority', submit_work.priority) END,
            submit_work.concurrency_key, submit_work.cost);
        IF v_msg IS NOT NULL THEN
            RETURN ROW(v_id, 'created', v_id, v_msg)::animus.work_submission;
        END IF;
        -- The key holder changed between the look-up and the insert or lock: try again.
        tries := coalesce(tries, 0) + 1;
        IF tries >= 100 THEN
            RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'submit_work could not settle a dedup race after 100 tries',
                HINT = 'Retry the transaction.';
        END IF;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb, text, integer) IS
'Submits one work item to queue `queue` and returns (work_id, status, canonical_id, msg_id). status: created (a new item and pgmq message), merged (an active item with the same queue + work_type + dedup_key exists: this submission is recorded as a merged row pointing at it, with its own source/trigger_info/params/trace_context), replaced (on_duplicate => ''replace'': the queued item got this submission''s params, priority and run time; if the item is running, a follow-up item is created that runs after it ends: one running plus one queued). Race-free under concurrency. delay or run_at makes the item invisible until due. trace_context {"traceparent","tracestate"} is stored and carried in the message headers. concurrency_key (1..200 characters; NULL: params ->> the queue''s concurrency_param, if set) puts the item under its key''s limits (animus.set_concurrency_limit: at most max_running running, at most rate cost units started per period); cost (1..1000000, default 1) is what it uses of the rate budget. Key and cost are fixed when the item is created (a merge or replace keeps the item''s). Only to a queue the caller has a grant on (animus.grant_queue). Raises ZA001 (queue NULL; work_type/source NULL, empty or only white space; dedup_key empty), ZA003 (params or trace_context not an object), ZA002 (negative delay, max_attempts not 1..1000, priority not -1000..1000, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use), ZA125 (concurrency_key, or the key derived from params, empty, only white space or over 200 characters), ZA126 (cost not 1..1000000).';

CREATE OR REPLACE FUNCTION animus.submit_work_batch(
    items          jsonb,
    queue          text DEFAULT 'work',
    on_duplicate   text DEFAULT 'merge',
    trace_context  jsonb DEFAULT NULL
)
    RETURNS TABLE (ord integer, work_id uuid, status text, canonical_id uuid, msg_id bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q          animus.queues;
    bad        record;
    v_ids      uuid[];
    v_pending  animus.work_batch_item[];
    v_new      animus.work_items[];
    r_ids      uuid[] := '{}';
    r_status   text[] := '{}';
    r_canon    uuid[] := '{}';
    r_msg      bigint[] := '{}';
    m_ids      uuid[];
    m_canon    uuid[];
    m_msg      bigint[];
    tries      integer := 0;
    n_items    integer;
BEGIN
    IF submit_work_batch.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF items IS NULL OR pg_catalog.jsonb_typeof(items) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument items must be a JSON array of objects',
            DETAIL = pg_catalog.format('items is %s', coalesce('a JSON ' || pg_catalog.jsonb_typeof(items), 'NULL')),
            HINT = 'Pass [{"work_type": ..., "source": ..., "params": {...}, "dedup_key": ...}, ...].';
    END IF;
    IF submit_work_batch.trace_context IS NOT NULL AND pg_catalog.jsonb_typeof(submit_work_batch.trace_context) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument trace_context must be a JSON object or NULL',
            HINT = 'Pass {"traceparent": "00-...", "tracestate": "..."} (W3C trace context).';
    END IF;
    IF on_duplicate IS NULL OR on_duplicate NOT IN ('merge', 'replace') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA004', MESSAGE = 'argument on_duplicate must be ''merge'' or ''replace''',
            DETAIL = pg_catalog.format('on_duplicate = %L', on_duplicate),
            HINT = 'merge keeps the earlier item; replace (debounce) gives it the new params, priority and run time.';
    END IF;
    n_items := pg_catalog.jsonb_array_length(items);
    IF n_items > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument items has more than 10000 elements',
            DETAIL = pg_catalog.format('items has %s elements', n_items),
            HINT = 'Submit at most 10000 items per call: split the batch.';
    END IF;
    IF NOT animus.work_queue_allowed(submit_work_batch.queue) THEN
        PERFORM animus.work_raise_not_granted(submit_work_batch.queue);
    END IF;
    SELECT * INTO q FROM animus.queues qq WHERE qq.queue_name = submit_work_batch.queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', submit_work_batch.queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;

    -- Validate every element first: the first bad one raises and nothing is written.
    SELECT e.n, pg_catalog.left(p.problem, 5) AS code, pg_catalog.substr(p.problem, 7) AS problem INTO bad
      FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
      CROSS JOIN (SELECT ARRAY['work_type', 'source', 'params', 'dedup_key', 'trigger_info', 'priority', 'parent_id',
                               'max_attempts', 'delay', 'trace_context', 'concurrency_key', 'cost'] AS keys) AS known
      CROSS JOIN LATERAL (SELECT CASE
          WHEN pg_catalog.jsonb_typeof(e.item) <> 'object' THEN 'ZA003:is not a JSON object'
          WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(e.item) AS k(key) WHERE k.key <> ALL (known.keys))
               THEN 'ZA111:unknown key ' || (SELECT pg_catalog.format('%L', pg_catalog.left(k.key, 60))
                                               FROM pg_catalog.jsonb_object_keys(e.item) AS k(key)
                                              WHERE k.key <> ALL (known.keys) ORDER BY k.key LIMIT 1)
          WHEN pg_catalog.jsonb_typeof(e.item -> 'work_type') IS DISTINCT FROM 'string' OR animus.work_is_blank(e.item ->> 'work_type') THEN 'ZA001:work_type is missing, not a string, empty or only white space'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'source') IS DISTINCT FROM 'string' OR animus.work_is_blank(e.item ->> 'source') THEN 'ZA001:source is missing, not a string, empty or only white space'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'dedup_key') NOT IN ('string', 'null') OR e.item ->> 'dedup_key' = '' THEN 'ZA001:dedup_key is not a non-empty string'
          WHEN pg_catalog.octet_length(e.item ->> 'work_type') > 255 THEN 'ZA002:work_type is longer than 255 bytes'
          WHEN pg_catalog.octet_length(e.item ->> 'dedup_key') > 2000 THEN 'ZA002:dedup_key is longer than 2000 bytes'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'params') NOT IN ('object', 'null') THEN 'ZA003:params is not a JSON object'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'trace_context') NOT IN ('object', 'null') THEN 'ZA003:trace_context is not a JSON object'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'trigger_info') NOT IN ('string', 'null') THEN 'ZA003:trigger_info is not a string'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'delay') NOT IN ('number', 'null') OR (e.item ->> 'delay')::numeric < 0 THEN 'ZA002:delay (seconds) is not a number >= 0'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'max_attempts') = 'number'
               AND (e.item ->> 'max_attempts')::numeric <> pg_catalog.trunc((e.item ->> 'max_attempts')::numeric) THEN 'ZA112:max_attempts is not an integer'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'priority') = 'number'
               AND (e.item ->> 'priority')::numeric <> pg_catalog.trunc((e.item ->> 'priority')::numeric) THEN 'ZA112:priority is not an integer'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'max_attempts') NOT IN ('number', 'null') OR (e.item ->> 'max_attempts')::numeric NOT BETWEEN 1 AND 1000 THEN 'ZA002:max_attempts is not a number between 1 and 1000'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'priority') NOT IN ('number', 'null') OR (e.item ->> 'priority')::numeric NOT BETWEEN -1000 AND 1000 THEN 'ZA002:priority is not a number between -1000 and 1000'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'concurrency_key') NOT IN ('string', 'null')
               OR pg_catalog.char_length(e.item ->> 'concurrency_key') > 200 OR animus.work_is_blank(e.item ->> 'concurrency_key')
               THEN 'ZA125:concurrency_key is not a string of 1 to 200 characters (not only white space)'
          WHEN q.concurrency_param IS NOT NULL AND e.item ->> 'concurrency_key' IS NULL
               AND (pg_catalog.char_length(e.item -> 'params' ->> q.concurrency_param) > 200 OR animus.work_is_blank(e.item -> 'params' ->> q.concurrency_param))
               THEN 'ZA125:' || pg_catalog.format('params ->> %L', q.concurrency_param) || ' (the concurrency key) is not 1 to 200 characters (not only white space)'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'cost') = 'number'
               AND (e.item ->> 'cost')::numeric <> pg_catalog.trunc((e.item ->> 'cost')::numeric) THEN 'ZA112:cost is not an integer'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'cost') NOT IN ('number', 'null') OR (e.item ->> 'cost')::numeric NOT BETWEEN 1 AND 1000000 THEN 'ZA126:cost is not a number between 1 and 1000000'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'parent_id') NOT IN ('string', 'null') THEN 'ZA102:parent_id is not a uuid string'
          WHEN e.item ->> 'parent_id' IS NOT NULL
               AND (e.item ->> 'parent_id' !~* '^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$'
                    OR NOT EXISTS (SELECT 1 FROM animus.work_items pw WHERE pw.id = (e.item ->> 'parent_id')::uuid
                                      AND (pw.queue_name = submit_work_batch.queue OR animus.work_queue_allowed(pw.queue_name))))
               THEN 'ZA102:parent_id is not an existing work item'
          END AS problem) AS p
     WHERE p.problem IS NOT NULL
     ORDER BY e.n
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = bad.code,
            MESSAGE = pg_catalog.format('argument items: item %s: %s', bad.n, bad.problem),
            DETAIL = 'Items are numbered from 1, as ord in the result. Nothing was submitted.',
            HINT = pg_catalog.format('Fix item %s (%s). ', bad.n, bad.problem) || 'Each element: {"work_type": text, "source": text, "params": object, "dedup_key": text, "trigger_info": text, "priority": int, "parent_id": uuid, "max_attempts": int, "delay": seconds, "trace_context": object, "concurrency_key": text, "cost": int}.';
    END IF;

    IF on_duplicate = 'replace' THEN
        -- Debounce needs row locks per key: the batch runs submit_work item by item (slower path).
        RETURN QUERY
        SELECT e.n::integer, s.work_id, s.status, s.canonical_id, s.msg_id
          FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
          CROSS JOIN LATERAL animus.submit_work(
              work_type => e.item ->> 'work_type', source => e.item ->> 'source',
              params => coalesce(e.item -> 'params', '{}'), dedup_key => e.item ->> 'dedup_key',
              trigger_info => e.item ->> 'trigger_info', priority => coalesce((e.item ->> 'priority')::numeric::integer, 0),
              parent_id => (e.item ->> 'parent_id')::uuid, max_attempts => coalesce((e.item ->> 'max_attempts')::numeric::integer, 5),
              queue => submit_work_batch.queue, delay => coalesce((e.item ->> 'delay')::numeric, 0) * interval '1 second',
              on_duplicate => 'replace',
              concurrency_key => e.item ->> 'concurrency_key', cost => coalesce((e.item ->> 'cost')::numeric::integer, 1),
              trace_context => coalesce(e.item -> 'trace_context', submit_work_batch.trace_context)) AS s
         ORDER BY e.n;
        RETURN;
    END IF;

    -- ROW(...) in the field order of animus.work_batch_item (faster than jsonb_populate_record).
    SELECT pg_catalog.array_agg((w.r).id ORDER BY w.n), pg_catalog.array_agg(w.r ORDER BY w.n)
      INTO v_ids, v_pending
      FROM (SELECT e.n, ROW(
                animus.work_new_id(),                                               -- id
                submit_work_batch.queue,                                            -- queue_name
                e.item ->> 'work_type', e.item ->> 'dedup_key', e.item ->> 'source', e.item ->> 'trigger_info',
                coalesce(e.item -> 'params', '{}'),                                 -- params
                coalesce((e.item ->> 'priority')::numeric::integer, 0),            -- priority
                (e.item ->> 'parent_id')::uuid,                                     -- parent_id
                coalesce((e.item ->> 'max_attempts')::numeric::integer, 5),        -- max_attempts
                pg_catalog.clock_timestamp() + coalesce((e.item ->> 'delay')::numeric, 0) * interval '1 second', -- run_at
                coalesce(e.item -> 'trace_context', submit_work_batch.trace_context),
                pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(),         -- created_at, updated_at
                coalesce(e.item ->> 'concurrency_key', e.item -> 'params' ->> q.concurrency_param), -- concurrency_key
                coalesce((e.item ->> 'cost')::numeric::integer, 1)                 -- cost
              )::animus.work_batch_item AS r
              FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)) AS w;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;

    WHILE pg_catalog.cardinality(v_pending) > 0 LOOP
        tries := tries + 1;
        -- Input order decides which of two equal keys in the batch becomes the canonical item.
        WITH ins AS (
            INSERT INTO animus.work_items AS w (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                                state, parent_id, attempts, max_attempts, msg_id, run_at, trace_context,
                                                created_at, updated_at, concurrency_key, cost)
            SELECT p.id, p.queue_name, p.work_type, p.dedup_key, p.source, p.trigger_info, p.params, p.priority,
                   'queued', p.parent_id, 0, p.max_attempts,
                   pg_catalog.nextval(('pgmq.q_' || submit_work_batch.queue || '_msg_id_seq')::regclass),
                   p.run_at, p.trace_context, p.created_at, p.updated_at, p.concurrency_key, p.cost
              FROM pg_catalog.unnest(v_pending) WITH ORDINALITY AS p
             ORDER BY p.ordinality
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
            DO NOTHING
            RETURNING w.*
        )
        SELECT pg_catalog.array_agg(ins::animus.work_items) INTO v_new FROM ins;
        IF v_new IS NOT NULL THEN
            PERFORM animus.work_send_messages(submit_work_batch.queue, v_new);
            r_ids := r_ids || (SELECT pg_catalog.array_agg(x.id) FROM pg_catalog.unnest(v_new) x);
            r_status := r_status || pg_catalog.array_fill('created'::text, ARRAY[pg_catalog.cardinality(v_new)]);
            r_canon := r_canon || (SELECT pg_catalog.array_agg(x.id) FROM pg_catalog.unnest(v_new) x);
            r_msg := r_msg || (SELECT pg_catalog.array_agg(x.msg_id) FROM pg_catalog.unnest(v_new) x);
            v_pending := ARRAY(SELECT p FROM pg_catalog.unnest(v_pending) AS p
                                WHERE p.id <> ALL (SELECT x.id FROM pg_catalog.unnest(v_new) x));
        END IF;
        EXIT WHEN pg_catalog.cardinality(v_pending) = 0;

        -- The rest are duplicates of a key holder (from before, or earlier in this batch).
        WITH tgt AS (
            SELECT p.*, t.tid, t.tmsg
              FROM pg_catalog.unnest(v_pending) AS p
              JOIN LATERAL (SELECT coalesce(fw.id, cw.id) AS tid, coalesce(fw.msg_id, cw.msg_id) AS tmsg
                              FROM animus.work_items cw
                              LEFT JOIN animus.work_items fw ON fw.waits_for = cw.id
                             WHERE cw.queue_name = p.queue_name AND cw.work_type = p.work_type
                               AND cw.dedup_key = p.dedup_key AND cw.state IN ('queued', 'running')
                               AND cw.waits_for IS NULL) AS t ON true
        ), mins AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, merged_into, parent_id, attempts, max_attempts, run_at, trace_context,
                                           created_at, updated_at)
            SELECT g.id, g.queue_name, g.work_type, g.dedup_key, g.source, g.trigger_info, g.params, g.priority,
                   'merged', g.tid, g.parent_id, 0, g.max_attempts, g.run_at, g.trace_context,
                   g.created_at, g.updated_at
              FROM tgt g
            RETURNING id
        )
        SELECT pg_catalog.array_agg(g.id), pg_catalog.array_agg(g.tid), pg_catalog.array_agg(g.tmsg)
          INTO m_ids, m_canon, m_msg
          FROM tgt g;
        IF m_ids IS NOT NULL THEN
            r_ids := r_ids || m_ids;
            r_status := r_status || pg_catalog.array_fill('merged'::text, ARRAY[pg_catalog.cardinality(m_ids)]);
            r_canon := r_canon || m_canon;
            r_msg := r_msg || m_msg;
            v_pending := ARRAY(SELECT p FROM pg_catalog.unnest(v_pending) AS p WHERE p.id <> ALL (m_ids));
        END IF;
        IF tries >= 100 THEN
            RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'submit_work_batch could not settle a dedup race after 100 tries',
                HINT = 'Retry the transaction.';
        END IF;
    END LOOP;

    PERFORM animus.work_wake(submit_work_batch.queue);   -- one UPDATE per batch: it checks notify and the throttle
    RETURN QUERY
    SELECT a.n::integer, a.id, r.status, r.canon, r.msg
      FROM pg_catalog.unnest(v_ids) WITH ORDINALITY AS a(id, n)
      JOIN ROWS FROM (pg_catalog.unnest(r_ids), pg_catalog.unnest(r_status), pg_catalog.unnest(r_canon), pg_catalog.unnest(r_msg)) AS r(id, status, canon, msg) ON r.id = a.id
     ORDER BY a.n;
END;
$$;
REVOKE ALL ON FUNCTION animus.submit_work_batch(jsonb, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.submit_work_batch(jsonb, text, text, jsonb) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.submit_work_batch(jsonb, text, text, jsonb) IS
'Submits many work items in one call: items is a JSON array of {"work_type","source","params","dedup_key","trigger_info","priority","parent_id","max_attempts","delay" (seconds),"trace_context","concurrency_key","cost"} (concurrency_key and cost as in submit_work: NULL key = params ->> the queue''s concurrency_param, if set). Returns one row per element, in input order (ord from 1): work_id, status (created | merged | replaced), canonical_id, msg_id. Deduplicates against active items and within the batch (the first element with a key is the canonical one). trace_context is the default for elements without one. At most 10000 elements; only to a queue the caller has a grant on. Raises ZA001 (queue NULL; work_type/source missing, empty or only white space), ZA003 (items not an array, an element or its params/trace_context not an object), ZA110 (more than 10000 elements), ZA111 (an element has an unknown key, e.g. dedupe_key), ZA112 (max_attempts, priority or cost not an integer), ZA125 (a concurrency key, given or derived, empty, only white space or over 200 characters), ZA126 (cost not 1..1000000), ZA002 (delay, max_attempts or priority out of range, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use); the message and HINT name the element (from 1) and the key; nothing is written when it raises.';

COMMIT;
