--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: animus; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA animus;

--
-- Name: SCHEMA animus; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA animus IS 'animus: work queue with structural dedup, semantic memory, telemetry context. Functions are executable only by the animus_* roles.';

--
-- Name: work_submission; Type: TYPE; Schema: animus; Owner: -
--

CREATE TYPE animus.work_submission AS (
	work_id uuid,
	status text,
	canonical_id uuid,
	msg_id bigint
);

--
-- Name: TYPE work_submission; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TYPE animus.work_submission IS 'Result of animus.submit_work: the submission''s id, created | merged | replaced, the canonical item, its pgmq message.';

--
-- Name: archive_work(text, bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.archive_work(queue text, msg_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = archive_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN pgmq.archive(queue, msg_id);
END;
$$;

--
-- Name: FUNCTION archive_work(queue text, msg_id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.archive_work(queue text, msg_id bigint) IS 'Thin wrapper of pgmq.archive(queue, msg_id): moves a raw message to the archive; true if it existed. Does not change any work item (use complete_work / cancel_work for that). Raises ZA101 (unknown queue).';

--
-- Name: cancel_work(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cancel_work(work_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION cancel_work(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cancel_work(work_id uuid) IS 'Cancels a queued or running work item: state cancelled, message archived (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. Returns true, or false if it was already cancelled. Raises ZA001 (work_id NULL), ZA102 (unknown item), ZA104 (completed, dead or a merged submission).';

--
-- Name: complete_work(uuid[], jsonb[], integer[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[] DEFAULT NULL::jsonb[], attempts integer[] DEFAULT NULL::integer[]) RETURNS TABLE(work_id uuid, completed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
#variable_conflict use_column
DECLARE
    done    uuid[];
    bad     record;
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
        -- Checked after the update (only for the ids it did not complete): the raise undoes it.
        SELECT i.id, w.id IS NULL AS missing, w.attempts, w.state, i.attempt INTO bad
          FROM ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(complete_work.attempts)) AS i(id, attempt)
          LEFT JOIN animus.work_items w ON w.id = i.id
         WHERE i.id <> ALL (done)
           AND (w.id IS NULL OR (i.attempt IS NOT NULL AND w.state <> 'merged' AND w.attempts <> i.attempt))
         ORDER BY w.id IS NULL DESC
         LIMIT 1;
        IF FOUND AND bad.missing THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_ids: no such work item',
                DETAIL = pg_catalog.format('work_id = %s', bad.id), HINT = 'Pass the ids returned by read_work.';
        ELSIF FOUND THEN
            PERFORM animus.work_raise_stale_claim(bad.id, 'complete_work', bad.attempt, bad.attempts, bad.state);
        END IF;
    END IF;
    IF pg_catalog.cardinality(done) > 0 THEN
        PERFORM animus.work_release_followups(done);
    END IF;
    RETURN QUERY SELECT i, i = ANY (done) FROM pg_catalog.unnest(work_ids) AS i;
END;
$$;

--
-- Name: FUNCTION complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]) IS 'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and archives their messages in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item. Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. Raises ZA001 (work_ids NULL or with a NULL), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id), ZA108 (a stale claim); nothing is written when it raises.';

--
-- Name: complete_work(uuid, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.complete_work(work_id uuid, outcome jsonb DEFAULT NULL::jsonb, attempt integer DEFAULT NULL::integer) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION complete_work(work_id uuid, outcome jsonb, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.complete_work(work_id uuid, outcome jsonb, attempt integer) IS 'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message archived; its merged duplicates resolve with it (get_work shows their canonical state), and a replace-mode follow-up waiting for it becomes visible. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id NULL), ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: queues; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.queues (
    queue_name text NOT NULL,
    backoff_base interval DEFAULT '00:00:02'::interval NOT NULL,
    backoff_factor double precision DEFAULT 2 NOT NULL,
    backoff_cap interval DEFAULT '00:05:00'::interval NOT NULL,
    backoff_jitter double precision DEFAULT 0.25 NOT NULL,
    notify boolean DEFAULT true NOT NULL,
    notify_throttle interval DEFAULT '00:00:00.25'::interval NOT NULL,
    last_notified_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT queues_backoff_base_check CHECK ((backoff_base >= '00:00:00'::interval)),
    CONSTRAINT queues_backoff_cap_check CHECK ((backoff_cap >= '00:00:00'::interval)),
    CONSTRAINT queues_backoff_factor_check CHECK ((backoff_factor >= (1)::double precision)),
    CONSTRAINT queues_backoff_jitter_check CHECK (((backoff_jitter >= (0)::double precision) AND (backoff_jitter < (1)::double precision))),
    CONSTRAINT queues_notify_throttle_check CHECK ((notify_throttle >= '00:00:00'::interval)),
    CONSTRAINT queues_queue_name_check CHECK ((queue_name ~ '^[a-z][a-z0-9_]{0,39}$'::text))
);

--
-- Name: TABLE queues; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.queues IS 'animus work queues, each backed by the pgmq queue of the same name; retry backoff (base * factor^(attempt-1), capped, +/- jitter) and the wake-up NOTIFY on channel animus_work (notify, notify_throttle: at most one NOTIFY per queue per interval).';

--
-- Name: configure_queue(text, interval, double precision, interval, double precision, boolean, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.configure_queue(queue text, backoff_base interval DEFAULT NULL::interval, backoff_factor double precision DEFAULT NULL::double precision, backoff_cap interval DEFAULT NULL::interval, backoff_jitter double precision DEFAULT NULL::double precision, notify boolean DEFAULT NULL::boolean, notify_throttle interval DEFAULT NULL::interval) RETURNS animus.queues
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    result animus.queues;
BEGIN
    IF backoff_base < '0' OR backoff_cap < '0' OR backoff_factor < 1 OR backoff_jitter < 0
       OR backoff_jitter >= 1 OR notify_throttle < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = 'a backoff or notify argument of configure_queue is out of range',
            HINT = 'backoff_base and backoff_cap >= 0, backoff_factor >= 1, 0 <= backoff_jitter < 1, notify_throttle >= 0.';
    END IF;
    UPDATE animus.queues q SET
        backoff_base    = coalesce(configure_queue.backoff_base, q.backoff_base),
        backoff_factor  = coalesce(configure_queue.backoff_factor, q.backoff_factor),
        backoff_cap     = coalesce(configure_queue.backoff_cap, q.backoff_cap),
        backoff_jitter  = coalesce(configure_queue.backoff_jitter, q.backoff_jitter),
        notify          = coalesce(configure_queue.notify, q.notify),
        notify_throttle = coalesce(configure_queue.notify_throttle, q.notify_throttle)
    WHERE q.queue_name = configure_queue.queue
    RETURNING q.* INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    RETURN result;
END;
$$;

--
-- Name: FUNCTION configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval) IS 'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting) and returns its row. Raises ZA101 (unknown queue), ZA002 (setting out of range).';

--
-- Name: create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.create_queue(queue text, backoff_base interval DEFAULT '00:00:02'::interval, backoff_factor double precision DEFAULT 2, backoff_cap interval DEFAULT '00:05:00'::interval, backoff_jitter double precision DEFAULT 0.25, notify boolean DEFAULT true, notify_throttle interval DEFAULT '00:00:00.25'::interval, if_not_exists boolean DEFAULT false) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
BEGIN
    IF queue IS NULL OR queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass a queue name such as ''work''.';
    END IF;
    IF queue !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA107', MESSAGE = 'argument queue is not a valid queue name',
            DETAIL = format('queue = %L', left(queue, 100)),
            HINT = 'Use 1-40 characters of [a-z0-9_], starting with a letter.';
    END IF;
    IF backoff_base IS NULL OR backoff_base < '0' OR backoff_cap IS NULL OR backoff_cap < '0'
       OR backoff_factor IS NULL OR backoff_factor < 1
       OR backoff_jitter IS NULL OR backoff_jitter < 0 OR backoff_jitter >= 1
       OR notify IS NULL OR notify_throttle IS NULL OR notify_throttle < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = 'a backoff or notify argument of create_queue is NULL or out of range',
            DETAIL = format('backoff_base = %s, backoff_factor = %s, backoff_cap = %s, backoff_jitter = %s, notify = %s, notify_throttle = %s',
                            backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle),
            HINT = 'backoff_base and backoff_cap >= 0, backoff_factor >= 1, 0 <= backoff_jitter < 1, notify_throttle >= 0.';
    END IF;
    -- Serialise queue creation and removal: they regenerate the queue functions.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.work_generate_queue_functions'));
    IF EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = create_queue.queue) THEN
        IF if_not_exists THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'ZA106', MESSAGE = format('queue %L already exists', queue),
            HINT = 'Pass if_not_exists => true, or change settings with animus.configure_queue.';
    END IF;
    PERFORM pgmq.create(queue);
    -- Priority order for read_work: pgmq reads by msg_id only, so animus adds this index on the
    -- pgmq queue table and reads in (priority desc, visible-at) order. See docs/work-queue.md.
    EXECUTE format('CREATE INDEX %I ON pgmq.%I ((headers -> %L) DESC NULLS LAST, vt)',
                   'q_' || queue || '_animus_priority', 'q_' || queue, 'animus_priority');
    INSERT INTO animus.queues (queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle)
    VALUES (queue, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle);
    PERFORM animus.work_generate_queue_functions();
    RETURN true;
END;
$_$;

--
-- Name: FUNCTION create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean) IS 'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). Returns true when created, false when it existed and if_not_exists. Raises ZA001 (queue NULL/empty), ZA107 (invalid name), ZA002 (setting out of range), ZA106 (exists).';

--
-- Name: delete_work(text, bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_work(queue text, msg_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = delete_work.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN pgmq.delete(queue, msg_id);
END;
$$;

--
-- Name: FUNCTION delete_work(queue text, msg_id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.delete_work(queue text, msg_id bigint) IS 'Thin wrapper of pgmq.delete(queue, msg_id): deletes a raw message; true if it existed. Does not change any work item. Raises ZA101 (unknown queue).';

--
-- Name: drop_queue(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.drop_queue(queue text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.work_generate_queue_functions'));
    DELETE FROM animus.queues q WHERE q.queue_name = drop_queue.queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues.';
    END IF;
    DELETE FROM animus.work_items w WHERE w.queue_name = drop_queue.queue;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE animus.work_items w SET parent_id = NULL
     WHERE w.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = w.parent_id);
    PERFORM pgmq.drop_queue(queue);
    PERFORM animus.work_generate_queue_functions();
    RETURN n;
END;
$$;

--
-- Name: FUNCTION drop_queue(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.drop_queue(queue text) IS 'Drops a work queue: its work items (all states), its pgmq queue and archive. Returns the number of work items deleted. Raises ZA101 (unknown queue).';

--
-- Name: fail_work(uuid[], text, boolean, integer[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean DEFAULT true, attempts integer[] DEFAULT NULL::integer[]) RETURNS TABLE(work_id uuid, failed boolean, state text, retry_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
#variable_conflict use_column
DECLARE
    bad     record;
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
    -- Retry delay: min(cap, base * factor^(attempts-1)) scaled by a random factor in [1-jitter, 1+jitter].
    FOR r IN
        WITH u AS (
            UPDATE animus.work_items w
               SET state = CASE WHEN retryable AND w.attempts < w.max_attempts THEN 'queued' ELSE 'dead' END,
                   error = fail_work.error,
                   run_at = CASE WHEN retryable AND w.attempts < w.max_attempts
                                 THEN pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs =>
                                      least(extract(epoch FROM q.backoff_cap),
                                            extract(epoch FROM q.backoff_base) * q.backoff_factor ^ least(w.attempts - 1, 60))
                                      * (1 + q.backoff_jitter * (2 * pg_catalog.random() - 1)))
                                 ELSE w.run_at END,
                   resolved_at = CASE WHEN retryable AND w.attempts < w.max_attempts THEN NULL ELSE pg_catalog.clock_timestamp() END,
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
        -- Checked after the update, only for the ids it did not fail: unknown ids (ZA102) and stale
        -- claims (ZA108) raise, which undoes the update (nothing is written).
        SELECT i.id, w.id IS NULL AS missing, w.attempts, w.state, i.attempt INTO bad
          FROM ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(fail_work.attempts)) AS i(id, attempt)
          LEFT JOIN animus.work_items w ON w.id = i.id
         WHERE i.id <> ALL (res_ids)
           AND (w.id IS NULL OR (i.attempt IS NOT NULL AND w.state <> 'merged' AND w.attempts <> i.attempt))
         ORDER BY w.id IS NULL DESC
         LIMIT 1;
        IF FOUND AND bad.missing THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_ids: no such work item',
                DETAIL = pg_catalog.format('work_id = %s', bad.id), HINT = 'Pass the ids returned by read_work.';
        ELSIF FOUND THEN
            PERFORM animus.work_raise_stale_claim(bad.id, 'fail_work', bad.attempt, bad.attempts, bad.state);
        END IF;
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

--
-- Name: FUNCTION fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]) IS 'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message archived). Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA002 (attempts length differs), ZA102 (an unknown id), ZA108 (a stale claim); nothing is written when it raises.';

--
-- Name: fail_work(uuid, text, boolean, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean DEFAULT true, attempt integer DEFAULT NULL::integer) RETURNS TABLE(state text, retry_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION fail_work(work_id uuid, error text, retryable boolean, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean, attempt integer) IS 'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message archived). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

--
-- Name: get_work(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_work(work_id uuid) RETURNS TABLE(id uuid, queue_name text, work_type text, dedup_key text, source text, trigger_info text, params jsonb, priority integer, state text, canonical_id uuid, resolution text, merged_into uuid, waits_for uuid, parent_id uuid, attempts integer, max_attempts integer, msg_id bigint, run_at timestamp with time zone, outcome jsonb, error text, duration_ms double precision, trace_context jsonb, requesters jsonb, merged_submissions jsonb, children bigint, created_at timestamp with time zone, updated_at timestamp with time zone, started_at timestamp with time zone, heartbeat_at timestamp with time zone, resolved_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION get_work(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_work(work_id uuid) IS 'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and every merged one, with trace_context, oldest first), merged_submissions (each merged duplicate with its own source, trigger_info, params, priority, trace_context), and the number of children. Raises ZA001 (work_id NULL), ZA102 (unknown work item).';

--
-- Name: heartbeat_work(uuid, interval, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.heartbeat_work(work_id uuid, extend interval DEFAULT '00:00:30'::interval, attempt integer DEFAULT NULL::integer) RETURNS TABLE(state text, cancelled boolean, visible_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION heartbeat_work(work_id uuid, extend interval, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) IS 'Extends the visibility timeout of a running item to now + extend and records heartbeat_at. Returns (state, cancelled, visible_until): cancelled = true (and nothing extended) when the item was cancelled meanwhile, so the worker can stop. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Raises ZA001 (work_id NULL), ZA002 (extend not positive), ZA102 (unknown item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued: the claim timed out), ZA104 (already ended or merged).';

--
-- Name: purge_work(interval, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days'::interval, queue text DEFAULT NULL::text) RETURNS TABLE(queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

--
-- Name: FUNCTION purge_work(older_than interval, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.purge_work(older_than interval, queue text) IS 'Retention: deletes work items that ended (completed, dead, cancelled) more than older_than ago, with their merged submissions, and archived pgmq messages archived more than older_than ago, per queue (NULL = every queue). Children of a purged parent keep parent_id NULL. Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative), ZA101 (unknown queue).';

--
-- Name: queue_stats(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.queue_stats(queue text DEFAULT NULL::text) RETURNS TABLE(queue_name text, state text, items bigint, queue_length bigint, queue_visible_length bigint, oldest_visible_age_sec double precision, oldest_msg_age_sec integer, total_messages bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION queue_stats(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.queue_stats(queue text) IS 'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent. Counting items scans the queue''s work items. Raises ZA101 (unknown queue).';

--
-- Name: read_work(text, interval, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.read_work(queue text DEFAULT 'work'::text, vt interval DEFAULT '00:00:30'::interval, qty integer DEFAULT 1) RETURNS TABLE(work_id uuid, queue_name text, work_type text, dedup_key text, params jsonb, priority integer, attempts integer, max_attempts integer, msg_id bigint, parent_id uuid, source text, trigger_info text, trace_context jsonb, requesters jsonb, created_at timestamp with time zone, visible_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    SET enable_bitmapscan TO 'off'
    AS $_$
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
        SELECT w.id, w.state IN ('queued', 'running') AS active, w.attempts < w.max_attempts AS left, m.msg_id
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
                                         w.attempts, w.max_attempts, ' (last error: ' || w.error || ')')
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
$_$;

--
-- Name: FUNCTION read_work(queue text, vt interval, qty integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.read_work(queue text, vt interval, qty integer) IS 'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout): higher priority first, then earliest due. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Returns the items with their trace_context and requesters (the canonical submission and every merged one: work_id, source, trigger_info, trace_context, submitted_at). May return fewer than qty. Raises ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000).';

--
-- Name: submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamp with time zone, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.submit_work(work_type text, source text, params jsonb DEFAULT '{}'::jsonb, dedup_key text DEFAULT NULL::text, trigger_info text DEFAULT NULL::text, priority integer DEFAULT 0, parent_id uuid DEFAULT NULL::uuid, max_attempts integer DEFAULT 5, queue text DEFAULT 'work'::text, delay interval DEFAULT '00:00:00'::interval, run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, on_duplicate text DEFAULT 'merge'::text, trace_context jsonb DEFAULT NULL::jsonb) RETURNS animus.work_submission
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
#variable_conflict use_column
DECLARE
    q         animus.queues;
    v_params  jsonb;
    v_run_at  timestamptz;
    v_id      uuid;
    v_item    animus.work_items;
    c         animus.work_items;
    f         animus.work_items;
    t_id      uuid;
    t_msg     bigint;
    v_msg     bigint;
    tries     integer;
BEGIN
    IF submit_work.work_type IS NULL OR submit_work.work_type = '' OR submit_work.source IS NULL OR submit_work.source = ''
       OR submit_work.dedup_key = '' OR pg_catalog.jsonb_typeof(coalesce(submit_work.params, '{}')) <> 'object'
       OR pg_catalog.jsonb_typeof(coalesce(submit_work.trace_context, '{}')) <> 'object'
       OR submit_work.delay < '0' OR submit_work.max_attempts IS NULL OR submit_work.max_attempts NOT BETWEEN 1 AND 1000
       OR submit_work.priority IS NULL OR submit_work.priority NOT BETWEEN -1000 AND 1000
       OR submit_work.on_duplicate IS NULL OR submit_work.on_duplicate NOT IN ('merge', 'replace') THEN
        PERFORM animus.work_check_submit_args(submit_work.work_type, submit_work.source, coalesce(submit_work.params, '{}'), submit_work.dedup_key,
            submit_work.priority, submit_work.max_attempts, submit_work.delay, submit_work.on_duplicate, submit_work.trace_context);
    END IF;
    IF submit_work.parent_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = submit_work.parent_id) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument parent_id: no such work item',
                DETAIL = pg_catalog.format('parent_id = %s', submit_work.parent_id),
                HINT = 'Pass the id of an existing work item, or NULL.';
        END IF;
    END IF;

    LOOP
        IF submit_work.dedup_key IS NOT NULL AND submit_work.on_duplicate = 'merge' THEN
            -- Merge into the active key holder, or into its waiting follow-up if there is one (that
            -- runs after the running item): a probe, then one row, no message. The common case on hot
            -- keys. A probe that finds nothing (a new key) costs no INSERT set-up (index opens, CHECK).
            SELECT coalesce(fw.id, cw.id), coalesce(fw.msg_id, cw.msg_id) INTO t_id, t_msg
              FROM animus.work_items cw
              -- at most one follow-up per item (unique index): an index probe, no join to build
              LEFT JOIN LATERAL (SELECT f.id, f.msg_id FROM animus.work_items f WHERE f.waits_for = cw.id) fw ON true
             WHERE cw.queue_name = submit_work.queue AND cw.work_type = submit_work.work_type
               AND cw.dedup_key = submit_work.dedup_key AND cw.state IN ('queued', 'running') AND cw.waits_for IS NULL;
            IF FOUND THEN
                INSERT INTO animus.work_items AS m (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                                    state, merged_into, parent_id, max_attempts, run_at, trace_context)
                VALUES (pg_catalog.gen_random_uuid(), submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
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
        v_id := pg_catalog.gen_random_uuid();
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
                                                            priority, state, waits_for, parent_id, max_attempts, msg_id, run_at, trace_context)
                        VALUES (v_id, submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                                submit_work.trigger_info, v_params, submit_work.priority, 'queued', c.id, submit_work.parent_id,
                                submit_work.max_attempts, pg_catalog.nextval(('pgmq.q_' || submit_work.queue || '_msg_id_seq')::regclass),
                                v_run_at, submit_work.trace_context)
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
                    'UPDATE pgmq.%I SET vt = $2, headers = coalesce(headers, ''{}'') || pg_catalog.jsonb_build_object(''animus_priority'', $3)
                      WHERE msg_id = $1', 'q_' || submit_work.queue)
                USING c.msg_id, CASE WHEN c.waits_for IS NULL THEN v_run_at ELSE 'infinity' END, submit_work.priority;
                INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                               state, merged_into, parent_id, max_attempts, run_at, trace_context)
                VALUES (v_id, submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                        submit_work.trigger_info, v_params, submit_work.priority, 'merged', c.id, submit_work.parent_id,
                        submit_work.max_attempts, v_run_at, submit_work.trace_context);
                RETURN ROW(v_id, 'replaced', c.id, c.msg_id)::animus.work_submission;
            END IF;
        END IF;

        -- No active key holder: create the item. The queue is looked up only here (a merge found
        -- an item of the queue, so the queue exists).
        IF q.queue_name IS NULL THEN
            SELECT * INTO q FROM animus.queues qq WHERE qq.queue_name = submit_work.queue;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', submit_work.queue),
                    HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
            END IF;
        END IF;
        -- The message first: its id goes into the work item row, written once. The unique index
        -- work_items_dedup_active is the arbiter: of concurrent inserts of one key, exactly one
        -- succeeds; the others wait for it to commit, see the conflict and take their message back.
        v_msg := animus.work_queue_send_one(submit_work.queue, v_run_at,
            pg_catalog.jsonb_build_object('work_id', v_id, 'work_type', submit_work.work_type),
            CASE WHEN submit_work.trace_context IS NULL
                 THEN pg_catalog.jsonb_build_object('animus_priority', submit_work.priority)
                 ELSE animus.work_message_headers(submit_work.priority, submit_work.trace_context) END);
        INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params,
                                       priority, state, parent_id, max_attempts, msg_id, run_at, trace_context)
        VALUES (v_id, submit_work.queue, submit_work.work_type, submit_work.dedup_key, submit_work.source,
                submit_work.trigger_info, v_params, submit_work.priority, 'queued', submit_work.parent_id,
                submit_work.max_attempts, v_msg, v_run_at, submit_work.trace_context)
        ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
        DO NOTHING;
        IF FOUND THEN
            IF q.notify AND pg_catalog.clock_timestamp() >= q.last_notified_at + q.notify_throttle
               AND v_run_at <= pg_catalog.clock_timestamp() THEN
                PERFORM animus.work_wake(q);
            END IF;
            RETURN ROW(v_id, 'created', v_id, v_msg)::animus.work_submission;
        END IF;
        PERFORM pgmq.delete(submit_work.queue, v_msg);
        -- The key holder changed between the look-up and the insert or lock: try again.
        tries := coalesce(tries, 0) + 1;
        IF tries >= 100 THEN
            RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'submit_work could not settle a dedup race after 100 tries',
                HINT = 'Retry the transaction.';
        END IF;
    END LOOP;
END;
$_$;

--
-- Name: FUNCTION submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb) IS 'Submits one work item to queue `queue` and returns (work_id, status, canonical_id, msg_id). status: created (a new item and pgmq message), merged (an active item with the same queue + work_type + dedup_key exists: this submission is recorded as a merged row pointing at it, with its own source/trigger_info/params/trace_context), replaced (on_duplicate => ''replace'': the queued item got this submission''s params, priority and run time; if the item is running, a follow-up item is created that runs after it ends: one running plus one queued). Race-free under concurrency. delay or run_at makes the item invisible until due. trace_context {"traceparent","tracestate"} is stored and carried in the message headers. Raises ZA001 (work_type/source NULL or empty, dedup_key empty), ZA003 (params or trace_context not an object), ZA002 (negative delay, max_attempts not 1..1000, priority not -1000..1000), ZA004 (unknown on_duplicate), ZA101 (unknown queue), ZA102 (unknown parent_id).';

--
-- Name: submit_work_batch(jsonb, text, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.submit_work_batch(items jsonb, queue text DEFAULT 'work'::text, on_duplicate text DEFAULT 'merge'::text, trace_context jsonb DEFAULT NULL::jsonb) RETURNS TABLE(ord integer, work_id uuid, status text, canonical_id uuid, msg_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
#variable_conflict use_column
DECLARE
    q          animus.queues;
    bad        record;
    v_ids      uuid[];
    v_pending  animus.work_items[];
    v_new      animus.work_items[];
    r_ids      uuid[] := '{}';
    r_status   text[] := '{}';
    r_canon    uuid[] := '{}';
    r_msg      bigint[] := '{}';
    m_ids      uuid[];
    m_canon    uuid[];
    m_msg      bigint[];
    tries      integer := 0;
BEGIN
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
    SELECT * INTO q FROM animus.queues qq WHERE qq.queue_name = submit_work_batch.queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', submit_work_batch.queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;

    -- Validate every element first: the first bad one raises and nothing is written.
    SELECT e.n, pg_catalog.split_part(p.problem, ':', 1) AS code, pg_catalog.split_part(p.problem, ':', 2) AS problem INTO bad
      FROM pg_catalog.jsonb_array_elements(items) WITH ORDINALITY AS e(item, n)
      CROSS JOIN LATERAL (SELECT CASE
          WHEN pg_catalog.jsonb_typeof(e.item) <> 'object' THEN 'ZA003:is not a JSON object'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'work_type') IS DISTINCT FROM 'string' OR e.item ->> 'work_type' = '' THEN 'ZA001:work_type is missing, not a string or empty'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'source') IS DISTINCT FROM 'string' OR e.item ->> 'source' = '' THEN 'ZA001:source is missing, not a string or empty'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'dedup_key') NOT IN ('string', 'null') OR e.item ->> 'dedup_key' = '' THEN 'ZA001:dedup_key is not a non-empty string'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'params') NOT IN ('object', 'null') THEN 'ZA003:params is not a JSON object'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'trace_context') NOT IN ('object', 'null') THEN 'ZA003:trace_context is not a JSON object'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'trigger_info') NOT IN ('string', 'null') THEN 'ZA003:trigger_info is not a string'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'delay') NOT IN ('number', 'null') OR (e.item ->> 'delay')::numeric < 0 THEN 'ZA002:delay (seconds) is not a number >= 0'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'max_attempts') NOT IN ('number', 'null') OR (e.item ->> 'max_attempts')::numeric NOT BETWEEN 1 AND 1000 THEN 'ZA002:max_attempts is not a number between 1 and 1000'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'priority') NOT IN ('number', 'null') OR (e.item ->> 'priority')::numeric NOT BETWEEN -1000 AND 1000 THEN 'ZA002:priority is not a number between -1000 and 1000'
          WHEN pg_catalog.jsonb_typeof(e.item -> 'parent_id') NOT IN ('string', 'null') THEN 'ZA102:parent_id is not a uuid string'
          WHEN e.item ->> 'parent_id' IS NOT NULL
               AND (e.item ->> 'parent_id' !~* '^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$'
                    OR NOT EXISTS (SELECT 1 FROM animus.work_items pw WHERE pw.id = (e.item ->> 'parent_id')::uuid))
               THEN 'ZA102:parent_id is not an existing work item'
          END AS problem) AS p
     WHERE p.problem IS NOT NULL
     ORDER BY e.n
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = bad.code,
            MESSAGE = pg_catalog.format('argument items: item %s: %s', bad.n, bad.problem),
            DETAIL = 'Items are numbered from 1, as ord in the result. Nothing was submitted.',
            HINT = 'Each element: {"work_type": text, "source": text, "params": object, "dedup_key": text, "trigger_info": text, "priority": int, "parent_id": uuid, "max_attempts": int, "delay": seconds, "trace_context": object}.';
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
              trace_context => coalesce(e.item -> 'trace_context', submit_work_batch.trace_context)) AS s
         ORDER BY e.n;
        RETURN;
    END IF;

    -- ROW(...) in the column order of animus.work_items (faster than jsonb_populate_record).
    SELECT pg_catalog.array_agg((w.r).id ORDER BY w.n), pg_catalog.array_agg(w.r ORDER BY w.n)
      INTO v_ids, v_pending
      FROM (SELECT e.n, ROW(
                pg_catalog.gen_random_uuid(),                                       -- id
                submit_work_batch.queue,                                            -- queue_name
                e.item ->> 'work_type', e.item ->> 'dedup_key', e.item ->> 'source', e.item ->> 'trigger_info',
                coalesce(e.item -> 'params', '{}'),                                 -- params
                coalesce((e.item ->> 'priority')::numeric::integer, 0),            -- priority
                'queued', NULL, NULL,                                               -- state, merged_into, waits_for
                (e.item ->> 'parent_id')::uuid,                                     -- parent_id
                0, coalesce((e.item ->> 'max_attempts')::numeric::integer, 5),     -- attempts, max_attempts
                NULL,                                                               -- msg_id
                pg_catalog.clock_timestamp() + coalesce((e.item ->> 'delay')::numeric, 0) * interval '1 second', -- run_at
                NULL, NULL, NULL,                                                   -- outcome, error, duration_ms
                coalesce(e.item -> 'trace_context', submit_work_batch.trace_context),
                pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), NULL, NULL, NULL -- created/updated/started/heartbeat/resolved
              )::animus.work_items AS r
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
                                                created_at, updated_at)
            SELECT p.id, p.queue_name, p.work_type, p.dedup_key, p.source, p.trigger_info, p.params, p.priority,
                   p.state, p.parent_id, p.attempts, p.max_attempts,
                   pg_catalog.nextval(('pgmq.q_' || submit_work_batch.queue || '_msg_id_seq')::regclass),
                   p.run_at, p.trace_context, p.created_at, p.updated_at
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
                   'merged', g.tid, g.parent_id, g.attempts, g.max_attempts, g.run_at, g.trace_context,
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

    PERFORM animus.work_wake(q);
    RETURN QUERY
    SELECT a.n::integer, a.id, r.status, r.canon, r.msg
      FROM pg_catalog.unnest(v_ids) WITH ORDINALITY AS a(id, n)
      JOIN ROWS FROM (pg_catalog.unnest(r_ids), pg_catalog.unnest(r_status), pg_catalog.unnest(r_canon), pg_catalog.unnest(r_msg)) AS r(id, status, canon, msg) ON r.id = a.id
     ORDER BY a.n;
END;
$_$;

--
-- Name: FUNCTION submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) IS 'Submits many work items in one call: items is a JSON array of {"work_type","source","params","dedup_key","trigger_info","priority","parent_id","max_attempts","delay" (seconds),"trace_context"}. Returns one row per element, in input order (ord from 1): work_id, status (created | merged | replaced), canonical_id, msg_id. Deduplicates against active items and within the batch (the first element with a key is the canonical one). trace_context is the default for elements without one. Raises ZA003 (items not an array, an element or its params/trace_context not an object), ZA001 (work_type/source missing or empty), ZA002 (delay, max_attempts or priority out of range), ZA004 (unknown on_duplicate), ZA101 (unknown queue), ZA102 (unknown parent_id); nothing is written when it raises.';

--
-- Name: work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
BEGIN
    IF work_type IS NULL OR work_type = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be NULL or empty',
            HINT = 'Pass the kind of work, e.g. work_type => ''engage''.';
    END IF;
    IF source IS NULL OR source = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument source must not be NULL or empty',
            HINT = 'Pass who or what submits the work, e.g. source => ''scheduler''.';
    END IF;
    IF dedup_key = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument dedup_key must be NULL or non-empty',
            HINT = 'Pass NULL for work that is never deduplicated, or a key such as ''person=kelly''.';
    END IF;
    IF pg_catalog.jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument params must be a JSON object',
            DETAIL = pg_catalog.format('params is a JSON %s', pg_catalog.jsonb_typeof(params)),
            HINT = 'Wrap the value in an object, e.g. {"value": ...}.';
    END IF;
    IF trace_context IS NOT NULL AND pg_catalog.jsonb_typeof(trace_context) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument trace_context must be a JSON object or NULL',
            DETAIL = pg_catalog.format('trace_context is a JSON %s', pg_catalog.jsonb_typeof(trace_context)),
            HINT = 'Pass {"traceparent": "00-...", "tracestate": "..."} (W3C trace context).';
    END IF;
    IF delay < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument delay must not be negative',
            DETAIL = pg_catalog.format('delay = %s', delay),
            HINT = 'Pass a delay >= 0, or run_at => a time.';
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument max_attempts must be between 1 and 1000',
            DETAIL = pg_catalog.format('max_attempts = %s', coalesce(max_attempts::text, 'NULL')),
            HINT = 'Pass max_attempts >= 1 (1 = no retry).';
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN -1000 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument priority must be between -1000 and 1000',
            DETAIL = pg_catalog.format('priority = %s', coalesce(priority::text, 'NULL')),
            HINT = 'Higher priority is read first; 0 is the default.';
    END IF;
    IF on_duplicate IS NULL OR on_duplicate NOT IN ('merge', 'replace') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA004', MESSAGE = 'argument on_duplicate must be ''merge'' or ''replace''',
            DETAIL = pg_catalog.format('on_duplicate = %L', on_duplicate),
            HINT = 'merge keeps the earlier item; replace (debounce) gives it the new params, priority and run time.';
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb) IS 'Internal: raises ZA001 / ZA002 / ZA003 / ZA004 for the first bad argument of submit_work; returns when all are good.';

--
-- Name: work_children(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_children(parent_id uuid) RETURNS TABLE(work_id uuid, work_type text, dedup_key text, state text, source text, created_at timestamp with time zone, resolved_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
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

--
-- Name: FUNCTION work_children(parent_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_children(parent_id uuid) IS 'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged). Raises ZA001 (parent_id NULL), ZA102 (unknown parent).';

--
-- Name: work_generate_queue_functions(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_generate_queue_functions() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
DECLARE
    q        text;
    b_send   text := '';
    b_one    text := '';
    b_claim  text := '';
    b_arch   text := '';
    b_vt     text := '';
BEGIN
    FOR q IN SELECT qq.queue_name FROM animus.queues qq ORDER BY qq.queue_name LOOP
        b_send := b_send || pg_catalog.format($f$
    IF queue = %1$L THEN
        INSERT INTO pgmq.%2$I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest(p_msg_ids), pg_catalog.unnest(p_vts), pg_catalog.unnest(p_messages), pg_catalog.unnest(p_headers));
        RETURN;
    END IF;$f$, q, 'q_' || q);
        b_one := b_one || pg_catalog.format($f$
    IF queue = %1$L THEN
        INSERT INTO pgmq.%2$I (vt, message, headers) VALUES (p_vt, p_message, p_headers) RETURNING msg_id INTO id;
        RETURN id;
    END IF;$f$, q, 'q_' || q);
        b_claim := b_claim || pg_catalog.format($f$
    IF queue = %1$L THEN
        RETURN QUERY
        WITH c AS (
            SELECT m.msg_id FROM pgmq.%2$I m
             WHERE m.vt <= pg_catalog.clock_timestamp()
             ORDER BY (m.headers -> 'animus_priority') DESC NULLS LAST, m.vt
             LIMIT p_qty
               FOR UPDATE SKIP LOCKED
        )
        UPDATE pgmq.%2$I m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id
        RETURNING m.msg_id, m.message ->> 'work_id';
        RETURN;
    END IF;$f$, q, 'q_' || q);
        b_arch := b_arch || pg_catalog.format($f$
    IF queue = %1$L THEN
        WITH archived AS (
            DELETE FROM pgmq.%2$I m WHERE m.msg_id = ANY (p_msg_ids)
            RETURNING m.msg_id, m.vt, m.read_ct, m.enqueued_at, m.last_read_at, m.message, m.headers
        )
        INSERT INTO pgmq.%3$I (msg_id, vt, read_ct, enqueued_at, last_read_at, message, headers)
        SELECT a.msg_id, a.vt, a.read_ct, a.enqueued_at, a.last_read_at, a.message, a.headers FROM archived a;
        RETURN;
    END IF;$f$, q, 'q_' || q, 'a_' || q);
        b_vt := b_vt || pg_catalog.format($f$
    IF queue = %1$L THEN
        UPDATE pgmq.%2$I m SET vt = x.vt
          FROM ROWS FROM (pg_catalog.unnest(p_msg_ids), pg_catalog.unnest(p_vts)) AS x(msg_id, vt)
         WHERE m.msg_id = x.msg_id;
        RETURN;
    END IF;$f$, q, 'q_' || q);
    END LOOP;

    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamptz[], p_messages jsonb[], p_headers jsonb[])
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $body$
BEGIN%s
    EXECUTE pg_catalog.format('INSERT INTO pgmq.%%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))', 'q_' || queue)
    USING p_msg_ids, p_vts, p_messages, p_headers;
END;
$body$$f$, b_send);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_send_one(queue text, p_vt timestamptz, p_message jsonb, p_headers jsonb)
    RETURNS bigint
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $body$
DECLARE
    id bigint;
BEGIN%s
    EXECUTE pg_catalog.format('INSERT INTO pgmq.%%I (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id', 'q_' || queue)
       INTO id USING p_vt, p_message, p_headers;
    RETURN id;
END;
$body$$f$, b_one);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamptz)
    RETURNS TABLE (msg_id bigint, work_id text)
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $body$
#variable_conflict use_column
BEGIN%s
    RETURN QUERY EXECUTE pg_catalog.format('WITH c AS (SELECT m.msg_id FROM pgmq.%%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()
          ORDER BY (m.headers -> ''animus_priority'') DESC NULLS LAST, m.vt LIMIT $1 FOR UPDATE SKIP LOCKED)
        UPDATE pgmq.%%1$I m SET vt = $2, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id RETURNING m.msg_id, m.message ->> ''work_id''', 'q_' || queue)
    USING p_qty, p_until;
END;
$body$$f$, b_claim);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[])
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $body$
BEGIN%s
    PERFORM pgmq.archive(queue, p_msg_ids);
END;
$body$$f$, b_arch);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamptz[])
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $body$
BEGIN%s
    EXECUTE pg_catalog.format('UPDATE pgmq.%%I m SET vt = x.vt FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS x(msg_id, vt)
         WHERE m.msg_id = x.msg_id', 'q_' || queue)
    USING p_msg_ids, p_vts;
END;
$body$$f$, b_vt);
    REVOKE ALL ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_send_one(text, timestamptz, jsonb, jsonb) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_claim(text, integer, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_archive(text, bigint[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) FROM PUBLIC;
    COMMENT ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): inserts messages (ids preallocated) into pgmq.q_<queue>, like pgmq.send_batch. Internal.';
    COMMENT ON FUNCTION animus.work_queue_send_one(text, timestamptz, jsonb, jsonb) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sends one message to pgmq.q_<queue> and returns its id, like pgmq.send. Internal.';
    COMMENT ON FUNCTION animus.work_queue_claim(text, integer, timestamptz) IS
        'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read. Internal.';
    COMMENT ON FUNCTION animus.work_queue_archive(text, bigint[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): moves messages of pgmq.q_<queue> to pgmq.a_<queue>, like pgmq.archive. Internal.';
    COMMENT ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';
END;
$_$;

--
-- Name: FUNCTION work_generate_queue_functions(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_generate_queue_functions() IS 'Internal: regenerates animus.work_queue_send / _send_one / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue and drop_queue). Raises nothing of its own.';

--
-- Name: work_items_check_transition(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_items_check_transition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    -- The same seven pairs as animus.work_state_transitions (a pgTAP test proves they agree): a
    -- constant list costs no query per updated row.
    IF OLD.state = NEW.state
       OR (OLD.state, NEW.state) IN (('queued', 'running'), ('queued', 'cancelled'), ('queued', 'dead'),
                                     ('running', 'completed'), ('running', 'queued'), ('running', 'dead'),
                                     ('running', 'cancelled')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'ZA105',
        MESSAGE = format('illegal work item state transition %s -> %s', OLD.state, NEW.state),
        DETAIL  = format('work item %s', OLD.id),
        HINT    = 'Legal transitions are listed in animus.work_state_transitions; use the animus work functions.';
END;
$$;

--
-- Name: FUNCTION work_items_check_transition(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_items_check_transition() IS 'Trigger: refuses state changes not listed in animus.work_state_transitions. Raises ZA105.';

--
-- Name: work_message_headers(integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'animus_priority', priority,
        'traceparent', trace_context -> 'traceparent',
        'tracestate', trace_context -> 'tracestate'));
$$;

--
-- Name: FUNCTION work_message_headers(priority integer, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) IS 'The pgmq headers of a work item message: {"animus_priority": n, "traceparent": ..., "tracestate": ...}. Raises nothing.';

--
-- Name: work_queue_archive(text, bigint[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    IF queue = 'work' THEN
        WITH archived AS (
            DELETE FROM pgmq.q_work m WHERE m.msg_id = ANY (p_msg_ids)
            RETURNING m.msg_id, m.vt, m.read_ct, m.enqueued_at, m.last_read_at, m.message, m.headers
        )
        INSERT INTO pgmq.a_work (msg_id, vt, read_ct, enqueued_at, last_read_at, message, headers)
        SELECT a.msg_id, a.vt, a.read_ct, a.enqueued_at, a.last_read_at, a.message, a.headers FROM archived a;
        RETURN;
    END IF;
    PERFORM pgmq.archive(queue, p_msg_ids);
END;
$$;

--
-- Name: FUNCTION work_queue_archive(queue text, p_msg_ids bigint[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) IS 'Generated by animus.work_generate_queue_functions (do not edit): moves messages of pgmq.q_<queue> to pgmq.a_<queue>, like pgmq.archive. Internal.';

--
-- Name: work_queue_claim(text, integer, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone) RETURNS TABLE(msg_id bigint, work_id text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
#variable_conflict use_column
BEGIN
    IF queue = 'work' THEN
        RETURN QUERY
        WITH c AS (
            SELECT m.msg_id FROM pgmq.q_work m
             WHERE m.vt <= pg_catalog.clock_timestamp()
             ORDER BY (m.headers -> 'animus_priority') DESC NULLS LAST, m.vt
             LIMIT p_qty
               FOR UPDATE SKIP LOCKED
        )
        UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id
        RETURNING m.msg_id, m.message ->> 'work_id';
        RETURN;
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format('WITH c AS (SELECT m.msg_id FROM pgmq.%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()
          ORDER BY (m.headers -> ''animus_priority'') DESC NULLS LAST, m.vt LIMIT $1 FOR UPDATE SKIP LOCKED)
        UPDATE pgmq.%1$I m SET vt = $2, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id RETURNING m.msg_id, m.message ->> ''work_id''', 'q_' || queue)
    USING p_qty, p_until;
END;
$_$;

--
-- Name: FUNCTION work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone) IS 'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read. Internal.';

--
-- Name: work_queue_send(text, bigint[], timestamp with time zone[], jsonb[], jsonb[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
BEGIN
    IF queue = 'work' THEN
        INSERT INTO pgmq.q_work (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest(p_msg_ids), pg_catalog.unnest(p_vts), pg_catalog.unnest(p_messages), pg_catalog.unnest(p_headers));
        RETURN;
    END IF;
    EXECUTE pg_catalog.format('INSERT INTO pgmq.%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))', 'q_' || queue)
    USING p_msg_ids, p_vts, p_messages, p_headers;
END;
$_$;

--
-- Name: FUNCTION work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]) IS 'Generated by animus.work_generate_queue_functions (do not edit): inserts messages (ids preallocated) into pgmq.q_<queue>, like pgmq.send_batch. Internal.';

--
-- Name: work_queue_send_one(text, timestamp with time zone, jsonb, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_send_one(queue text, p_vt timestamp with time zone, p_message jsonb, p_headers jsonb) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
DECLARE
    id bigint;
BEGIN
    IF queue = 'work' THEN
        INSERT INTO pgmq.q_work (vt, message, headers) VALUES (p_vt, p_message, p_headers) RETURNING msg_id INTO id;
        RETURN id;
    END IF;
    EXECUTE pg_catalog.format('INSERT INTO pgmq.%I (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id', 'q_' || queue)
       INTO id USING p_vt, p_message, p_headers;
    RETURN id;
END;
$_$;

--
-- Name: FUNCTION work_queue_send_one(queue text, p_vt timestamp with time zone, p_message jsonb, p_headers jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_send_one(queue text, p_vt timestamp with time zone, p_message jsonb, p_headers jsonb) IS 'Generated by animus.work_generate_queue_functions (do not edit): sends one message to pgmq.q_<queue> and returns its id, like pgmq.send. Internal.';

--
-- Name: work_queue_set_vt(text, bigint[], timestamp with time zone[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
BEGIN
    IF queue = 'work' THEN
        UPDATE pgmq.q_work m SET vt = x.vt
          FROM ROWS FROM (pg_catalog.unnest(p_msg_ids), pg_catalog.unnest(p_vts)) AS x(msg_id, vt)
         WHERE m.msg_id = x.msg_id;
        RETURN;
    END IF;
    EXECUTE pg_catalog.format('UPDATE pgmq.%I m SET vt = x.vt FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS x(msg_id, vt)
         WHERE m.msg_id = x.msg_id', 'q_' || queue)
    USING p_msg_ids, p_vts;
END;
$_$;

--
-- Name: FUNCTION work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]) IS 'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';

--
-- Name: work_raise_not_running(uuid, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer DEFAULT NULL::integer) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
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

--
-- Name: FUNCTION work_raise_not_running(work_id uuid, operation text, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer) IS 'Internal: raises ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running) or ZA104 (already ended or merged) for a worker operation that found no running item.';

--
-- Name: work_raise_stale_claim(uuid, text, integer, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA108',
        MESSAGE = pg_catalog.format('argument attempt: stale claim of work item %s (%s): the caller holds attempt %s, the item is at attempt %s (%s)',
                                    work_id, operation, attempt, current_attempt, state),
        DETAIL = pg_catalog.format('work_id = %s, attempt = %s, current attempts = %s, state = %s', work_id, attempt, current_attempt, state),
        HINT = 'Your visibility timeout expired and the item was claimed again: stop working on it and drop your result (nothing was written). Heartbeat within the visibility timeout to keep a claim.';
END;
$$;

--
-- Name: FUNCTION work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text) IS 'Internal: raises ZA108 (stale claim) for work item work_id: the caller passed attempt, the item is at current_attempt.';

--
-- Name: work_release_followups(uuid[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_release_followups(ended uuid[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
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

--
-- Name: FUNCTION work_release_followups(ended uuid[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_release_followups(ended uuid[]) IS 'Internal: makes the waiting follow-ups of the given ended items (replace mode: one running plus one queued) key holders and visible at their run time. Raises nothing.';

--
-- Name: work_items; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.work_items (
    id uuid NOT NULL,
    queue_name text NOT NULL,
    work_type text NOT NULL,
    dedup_key text,
    source text NOT NULL,
    trigger_info text,
    params jsonb DEFAULT '{}'::jsonb NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    state text NOT NULL,
    merged_into uuid,
    waits_for uuid,
    parent_id uuid,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 5 NOT NULL,
    msg_id bigint,
    run_at timestamp with time zone NOT NULL,
    outcome jsonb,
    error text,
    duration_ms double precision,
    trace_context jsonb,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    started_at timestamp with time zone,
    heartbeat_at timestamp with time zone,
    resolved_at timestamp with time zone,
    CONSTRAINT work_items_valid CHECK (((state = ANY ('{queued,running,completed,dead,cancelled,merged}'::text[])) AND ((state = 'merged'::text) = (merged_into IS NOT NULL)) AND ((waits_for IS NULL) OR (state = 'queued'::text))))
);

--
-- Name: TABLE work_items; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_items IS 'One row per submission. Canonical items move queued -> running -> completed|dead|cancelled; a duplicate submission is a row in state merged pointing at its canonical item (merged_into) and keeps its own provenance.';

--
-- Name: COLUMN work_items.merged_into; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.merged_into IS 'state merged: the canonical work item this duplicate submission was merged into (no FK: see deploy/work_items.sql).';

--
-- Name: COLUMN work_items.waits_for; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.waits_for IS 'replace mode while the canonical item runs: this queued follow-up waits for that running item to end, then becomes the key holder and visible.';

--
-- Name: COLUMN work_items.parent_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.parent_id IS 'the parent work item (checked at submit; set to NULL when the parent is purged).';

--
-- Name: COLUMN work_items.msg_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.msg_id IS 'id of the pgmq message in pgmq.q_<queue_name> that carries this item (NULL for merged rows).';

--
-- Name: work_send_messages(text, animus.work_items[], timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    PERFORM animus.work_queue_send(queue,
                                   pg_catalog.array_agg(i.msg_id),
                                   pg_catalog.array_agg(coalesce(visible_at, i.run_at)),
                                   pg_catalog.array_agg(pg_catalog.jsonb_build_object('work_id', i.id, 'work_type', i.work_type)),
                                   pg_catalog.array_agg(animus.work_message_headers(i.priority, i.trace_context)))
       FROM pg_catalog.unnest(items) AS i;
END;
$$;

--
-- Name: FUNCTION work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone) IS 'Internal (no role may call it): writes the pgmq messages of new work items (msg_id preallocated from the queue sequence), visible at visible_at or each item''s run_at. Raises nothing of its own.';

--
-- Name: work_wake(animus.queues); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_wake(queue animus.queues) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    IF queue.notify AND pg_catalog.clock_timestamp() >= queue.last_notified_at + queue.notify_throttle THEN
        UPDATE animus.queues q SET last_notified_at = pg_catalog.clock_timestamp()
         WHERE q.queue_name = queue.queue_name
           AND q.last_notified_at + q.notify_throttle <= pg_catalog.clock_timestamp();
        IF FOUND THEN
            PERFORM pg_catalog.pg_notify('animus_work', queue.queue_name);
        END IF;
    END IF;
END;
$$;

--
-- Name: FUNCTION work_wake(queue animus.queues); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_wake(queue animus.queues) IS 'Internal (no role may call it): NOTIFY animus_work with the queue name as payload, at most once per queue per notify_throttle. Raises nothing.';

--
-- Name: error_codes; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.error_codes (
    sqlstate character(5) NOT NULL,
    name text NOT NULL,
    meaning text NOT NULL,
    hint text NOT NULL,
    CONSTRAINT error_codes_name_check CHECK ((name ~ '^[a-z_]+$'::text)),
    CONSTRAINT error_codes_sqlstate_check CHECK ((sqlstate ~ '^ZA[0-9A-Z]{3}$'::text))
);

--
-- Name: TABLE error_codes; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.error_codes IS 'SQLSTATEs raised by animus (class ZA): code, condition name, meaning, what to do.';

--
-- Name: installed_extensions; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.installed_extensions (
    extname name NOT NULL,
    created boolean NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: TABLE installed_extensions; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.installed_extensions IS 'Extensions animus needs, and whether its deploy created them (revert drops only those).';

--
-- Name: work_state_transitions; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.work_state_transitions (
    from_state text NOT NULL,
    to_state text NOT NULL,
    why text NOT NULL
);

--
-- Name: TABLE work_state_transitions; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_state_transitions IS 'Legal work item state changes (enforced by trigger work_items_state_transition; any other raises ZA105). New rows start queued or merged (only the SECURITY DEFINER submit functions insert).';

--
-- Name: error_codes error_codes_name_key; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.error_codes
    ADD CONSTRAINT error_codes_name_key UNIQUE (name);

--
-- Name: error_codes error_codes_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.error_codes
    ADD CONSTRAINT error_codes_pkey PRIMARY KEY (sqlstate);

--
-- Name: installed_extensions installed_extensions_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.installed_extensions
    ADD CONSTRAINT installed_extensions_pkey PRIMARY KEY (extname);

--
-- Name: queues queues_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.queues
    ADD CONSTRAINT queues_pkey PRIMARY KEY (queue_name);

--
-- Name: work_items work_items_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_items
    ADD CONSTRAINT work_items_pkey PRIMARY KEY (id);

--
-- Name: work_state_transitions work_state_transitions_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_state_transitions
    ADD CONSTRAINT work_state_transitions_pkey PRIMARY KEY (from_state, to_state);

--
-- Name: work_items_dedup_active; Type: INDEX; Schema: animus; Owner: -
--

CREATE UNIQUE INDEX work_items_dedup_active ON animus.work_items USING btree (queue_name, work_type, dedup_key) WHERE ((state = ANY (ARRAY['queued'::text, 'running'::text])) AND (waits_for IS NULL) AND (dedup_key IS NOT NULL));

--
-- Name: work_items_merged_into; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_merged_into ON animus.work_items USING btree (merged_into) WHERE (merged_into IS NOT NULL);

--
-- Name: work_items_parent_id; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_parent_id ON animus.work_items USING btree (parent_id) WHERE (parent_id IS NOT NULL);

--
-- Name: work_items_resolved_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_resolved_at ON animus.work_items USING btree (resolved_at) WHERE (resolved_at IS NOT NULL);

--
-- Name: work_items_waits_for; Type: INDEX; Schema: animus; Owner: -
--

CREATE UNIQUE INDEX work_items_waits_for ON animus.work_items USING btree (waits_for) WHERE (waits_for IS NOT NULL);

--
-- Name: work_items work_items_state_transition; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER work_items_state_transition BEFORE UPDATE OF state ON animus.work_items FOR EACH ROW EXECUTE FUNCTION animus.work_items_check_transition();

--
-- Name: SCHEMA animus; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA animus TO animus_producer;
GRANT USAGE ON SCHEMA animus TO animus_worker;
GRANT USAGE ON SCHEMA animus TO animus_memory_reader;
GRANT USAGE ON SCHEMA animus TO animus_memory_writer;
GRANT USAGE ON SCHEMA animus TO animus_admin;

--
-- Name: FUNCTION archive_work(queue text, msg_id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) TO animus_worker;
GRANT ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) TO animus_admin;

--
-- Name: FUNCTION cancel_work(work_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cancel_work(work_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.cancel_work(work_id uuid) TO animus_producer;
GRANT ALL ON FUNCTION animus.cancel_work(work_id uuid) TO animus_worker;
GRANT ALL ON FUNCTION animus.cancel_work(work_id uuid) TO animus_admin;

--
-- Name: FUNCTION complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]) TO animus_worker;
GRANT ALL ON FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]) TO animus_admin;

--
-- Name: FUNCTION complete_work(work_id uuid, outcome jsonb, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.complete_work(work_id uuid, outcome jsonb, attempt integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.complete_work(work_id uuid, outcome jsonb, attempt integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.complete_work(work_id uuid, outcome jsonb, attempt integer) TO animus_admin;

--
-- Name: FUNCTION configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval) TO animus_admin;

--
-- Name: FUNCTION create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean) TO animus_admin;

--
-- Name: FUNCTION delete_work(queue text, msg_id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) TO animus_worker;
GRANT ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) TO animus_admin;

--
-- Name: FUNCTION drop_queue(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.drop_queue(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.drop_queue(queue text) TO animus_admin;

--
-- Name: FUNCTION fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]) TO animus_worker;
GRANT ALL ON FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]) TO animus_admin;

--
-- Name: FUNCTION fail_work(work_id uuid, error text, retryable boolean, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean, attempt integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean, attempt integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean, attempt integer) TO animus_admin;

--
-- Name: FUNCTION get_work(work_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_work(work_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_producer;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_worker;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_admin;

--
-- Name: FUNCTION heartbeat_work(work_id uuid, extend interval, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) TO animus_admin;

--
-- Name: FUNCTION purge_work(older_than interval, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.purge_work(older_than interval, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.purge_work(older_than interval, queue text) TO animus_admin;

--
-- Name: FUNCTION queue_stats(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.queue_stats(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_admin;

--
-- Name: FUNCTION read_work(queue text, vt interval, qty integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer) TO animus_admin;

--
-- Name: FUNCTION submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb) TO animus_producer;
GRANT ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb) TO animus_admin;

--
-- Name: FUNCTION submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) TO animus_producer;
GRANT ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) TO animus_admin;

--
-- Name: FUNCTION work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb) FROM PUBLIC;

--
-- Name: FUNCTION work_children(parent_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_children(parent_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.work_children(parent_id uuid) TO animus_producer;
GRANT ALL ON FUNCTION animus.work_children(parent_id uuid) TO animus_worker;
GRANT ALL ON FUNCTION animus.work_children(parent_id uuid) TO animus_admin;

--
-- Name: FUNCTION work_generate_queue_functions(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;

--
-- Name: FUNCTION work_items_check_transition(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_items_check_transition() FROM PUBLIC;

--
-- Name: FUNCTION work_message_headers(priority integer, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_producer;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_worker;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_admin;

--
-- Name: FUNCTION work_queue_archive(queue text, p_msg_ids bigint[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_send_one(queue text, p_vt timestamp with time zone, p_message jsonb, p_headers jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_send_one(queue text, p_vt timestamp with time zone, p_message jsonb, p_headers jsonb) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_not_running(work_id uuid, operation text, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text) FROM PUBLIC;

--
-- Name: FUNCTION work_release_followups(ended uuid[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_release_followups(ended uuid[]) FROM PUBLIC;

--
-- Name: FUNCTION work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION work_wake(queue animus.queues); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_wake(queue animus.queues) FROM PUBLIC;

--
-- Name: TABLE error_codes; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.error_codes TO animus_producer;
GRANT SELECT ON TABLE animus.error_codes TO animus_worker;
GRANT SELECT ON TABLE animus.error_codes TO animus_memory_reader;
GRANT SELECT ON TABLE animus.error_codes TO animus_admin;

--
-- Name: TABLE work_state_transitions; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.work_state_transitions TO animus_producer;
GRANT SELECT ON TABLE animus.work_state_transitions TO animus_worker;
GRANT SELECT ON TABLE animus.work_state_transitions TO animus_admin;

--
-- PostgreSQL database dump complete
--

