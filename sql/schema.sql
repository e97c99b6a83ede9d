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
-- Name: cron_spec; Type: TYPE; Schema: animus; Owner: -
--

CREATE TYPE animus.cron_spec AS (
	minutes integer[],
	hours integer[],
	doms integer[],
	months integer[],
	dows integer[],
	day_and boolean,
	real_clock boolean
);

--
-- Name: TYPE cron_spec; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TYPE animus.cron_spec IS 'A parsed cron expression (animus.cron_parse): the matching values of each field, sorted, and two flags.';

--
-- Name: COLUMN cron_spec.minutes; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.minutes IS 'minutes 0-59 that match, ascending';

--
-- Name: COLUMN cron_spec.hours; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.hours IS 'hours 0-23 that match, ascending';

--
-- Name: COLUMN cron_spec.doms; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.doms IS 'days of the month 1-31 that match, ascending';

--
-- Name: COLUMN cron_spec.months; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.months IS 'months 1-12 that match, ascending';

--
-- Name: COLUMN cron_spec.dows; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.dows IS 'days of the week 0-6 (0 = Sunday; 7 in the expression is stored as 0) that match, ascending';

--
-- Name: COLUMN cron_spec.day_and; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.day_and IS 'true when the day-of-month or the day-of-week field starts with * (both must match); false: either matches (Vixie rule)';

--
-- Name: COLUMN cron_spec.real_clock; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.cron_spec.real_clock IS 'true when the minute or hour field starts with *: runs follow the real clock across DST changes; false: once per local date-time';

--
-- Name: work_batch_item; Type: TYPE; Schema: animus; Owner: -
--

CREATE TYPE animus.work_batch_item AS (
	id uuid,
	queue_name text,
	work_type text,
	dedup_key text,
	source text,
	trigger_info text,
	params jsonb,
	priority integer,
	parent_id uuid,
	max_attempts integer,
	run_at timestamp with time zone,
	trace_context jsonb,
	created_at timestamp with time zone,
	updated_at timestamp with time zone,
	concurrency_key text,
	cost integer
);

--
-- Name: TYPE work_batch_item; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TYPE animus.work_batch_item IS 'Internal: an element of submit_work_batch before it is inserted (the fields of animus.work_items it sets).';

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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: schedules; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.schedules (
    name text NOT NULL,
    cron text,
    cron_spec animus.cron_spec,
    every interval,
    start_at timestamp with time zone,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    work_type text NOT NULL,
    params jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue_name text NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 5 NOT NULL,
    period_key text,
    catchup text DEFAULT 'latest'::text NOT NULL,
    max_catchup integer DEFAULT 100 NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    next_run_at timestamp with time zone,
    last_period_at timestamp with time zone,
    last_work_id uuid,
    submitted_count bigint DEFAULT 0 NOT NULL,
    skipped_count bigint DEFAULT 0 NOT NULL,
    last_error text,
    last_error_at timestamp with time zone,
    created_by oid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schedules_catchup_check CHECK ((catchup = ANY (ARRAY['latest'::text, 'all'::text]))),
    CONSTRAINT schedules_check CHECK (((cron IS NULL) <> (every IS NULL))),
    CONSTRAINT schedules_check1 CHECK (((cron IS NULL) = (cron_spec IS NULL))),
    CONSTRAINT schedules_check2 CHECK (((every IS NULL) = (start_at IS NULL))),
    CONSTRAINT schedules_every_check CHECK ((every >= '00:00:01'::interval)),
    CONSTRAINT schedules_max_attempts_check CHECK (((max_attempts >= 1) AND (max_attempts <= 1000))),
    CONSTRAINT schedules_max_catchup_check CHECK (((max_catchup >= 1) AND (max_catchup <= 10000))),
    CONSTRAINT schedules_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'::text)),
    CONSTRAINT schedules_params_check CHECK ((jsonb_typeof(params) = 'object'::text)),
    CONSTRAINT schedules_period_key_check CHECK ((period_key <> ''::text)),
    CONSTRAINT schedules_priority_check CHECK (((priority >= '-1000'::integer) AND (priority <= 1000)))
);

--
-- Name: TABLE schedules; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.schedules IS 'Recurring work: each period of a cron expression or fixed interval is submitted once by animus.tick_schedules. Managed with animus.create_schedule / alter_schedule / pause_schedule / resume_schedule / drop_schedule; readable by animus_admin.';

--
-- Name: COLUMN schedules.name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.name IS 'the schedule''s name (1-100 of [A-Za-z0-9_.:-]); its items have source ''schedule:<name>''';

--
-- Name: COLUMN schedules.cron; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.cron IS '5-field cron expression or @macro as given (NULL for an interval schedule)';

--
-- Name: COLUMN schedules.cron_spec; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.cron_spec IS 'cron parsed once at create time (animus.cron_parse); NULL for an interval schedule';

--
-- Name: COLUMN schedules.every; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.every IS 'fixed period of an interval schedule (>= 1 second, days are 24 hours, no months); NULL for a cron schedule';

--
-- Name: COLUMN schedules.start_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.start_at IS 'first period of an interval schedule (periods are start_at + k * every); NULL for a cron schedule';

--
-- Name: COLUMN schedules.timezone; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.timezone IS 'IANA time zone the cron expression is evaluated in (canonical name of pg_timezone_names)';

--
-- Name: COLUMN schedules.work_type; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.work_type IS 'work_type of the submitted items';

--
-- Name: COLUMN schedules.params; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.params IS 'params of the submitted items (a JSON object)';

--
-- Name: COLUMN schedules.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.queue_name IS 'queue the items are submitted to (dropping the queue drops its schedules)';

--
-- Name: COLUMN schedules.priority; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.priority IS 'priority of the submitted items (-1000..1000)';

--
-- Name: COLUMN schedules.max_attempts; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.max_attempts IS 'max_attempts of the submitted items (1..1000)';

--
-- Name: COLUMN schedules.period_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.period_key IS 'when set, the period instant (ISO 8601, UTC) is added to the params of each item under this key';

--
-- Name: COLUMN schedules.catchup; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.catchup IS 'missed periods after downtime: ''latest'' submits only the most recent (the others are counted in skipped_count), ''all'' every one, oldest first';

--
-- Name: COLUMN schedules.max_catchup; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.max_catchup IS 'with catchup ''all'': at most this many of the most recent due periods are submitted; older ones are skipped and counted';

--
-- Name: COLUMN schedules.paused; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.paused IS 'true: not ticked; resume_schedule continues with the first period after the resume';

--
-- Name: COLUMN schedules.next_run_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.next_run_at IS 'the earliest period not yet submitted or skipped: due when <= now';

--
-- Name: COLUMN schedules.last_period_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.last_period_at IS 'the last period submitted (NULL before the first)';

--
-- Name: COLUMN schedules.last_work_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.last_work_id IS 'work_id of the item submitted for last_period_at';

--
-- Name: COLUMN schedules.submitted_count; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.submitted_count IS 'periods submitted since creation';

--
-- Name: COLUMN schedules.skipped_count; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.skipped_count IS 'periods not submitted: passed over by catchup ''latest'' or max_catchup, or while the creator lacked a grant on the queue';

--
-- Name: COLUMN schedules.last_error; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.last_error IS 'why the last tick did not submit this schedule''s due periods (NULL after a successful submit)';

--
-- Name: COLUMN schedules.last_error_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.last_error_at IS 'when last_error was recorded';

--
-- Name: COLUMN schedules.created_by; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.created_by IS 'pg_roles.oid of the creating role (animus.work_caller()): ticks submit only while it may use the queue';

--
-- Name: COLUMN schedules.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.created_at IS 'when the schedule was created';

--
-- Name: COLUMN schedules.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.schedules.updated_at IS 'when the schedule was last changed by a call (create, alter, pause, resume) or a tick';

--
-- Name: alter_schedule(text, text, interval, timestamp with time zone, text, text, jsonb, text, text, integer, integer, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.alter_schedule(name text DEFAULT NULL::text, cron text DEFAULT NULL::text, every interval DEFAULT NULL::interval, start_at timestamp with time zone DEFAULT NULL::timestamp with time zone, timezone text DEFAULT NULL::text, work_type text DEFAULT NULL::text, params jsonb DEFAULT NULL::jsonb, queue text DEFAULT NULL::text, catchup text DEFAULT NULL::text, max_catchup integer DEFAULT NULL::integer, priority integer DEFAULT NULL::integer, max_attempts integer DEFAULT NULL::integer, period_key text DEFAULT NULL::text) RETURNS animus.schedules
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s       animus.schedules;
    retime  boolean := false;
BEGIN
    s := animus.schedule_lock(alter_schedule.name);
    IF alter_schedule.cron IS NOT NULL AND alter_schedule.every IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'arguments cron and every: pass at most one of them',
            HINT = 'cron turns the schedule into a cron schedule, every into an interval schedule.';
    END IF;
    PERFORM animus.schedule_check_args(alter_schedule.work_type, alter_schedule.params, alter_schedule.priority, alter_schedule.max_attempts,
        alter_schedule.catchup, alter_schedule.max_catchup, alter_schedule.every, nullif(alter_schedule.period_key, ''));
    IF alter_schedule.timezone IS NOT NULL THEN
        s.timezone := animus.schedule_check_timezone(alter_schedule.timezone);
        retime := true;
    END IF;
    IF alter_schedule.queue IS NOT NULL AND alter_schedule.queue <> s.queue_name THEN
        IF NOT animus.work_queue_allowed(alter_schedule.queue) THEN
            PERFORM animus.work_raise_not_granted(alter_schedule.queue);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = alter_schedule.queue) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', alter_schedule.queue),
                HINT = 'Pass an existing queue, or create it with animus.create_queue.';
        END IF;
        s.queue_name := alter_schedule.queue;
    END IF;
    IF alter_schedule.cron IS NOT NULL THEN
        s.cron_spec := animus.cron_parse(alter_schedule.cron);
        s.cron := alter_schedule.cron;
        s.every := NULL;
        s.start_at := NULL;
        retime := true;
    END IF;
    IF alter_schedule.every IS NOT NULL THEN
        s.every := alter_schedule.every;
        s.start_at := coalesce(alter_schedule.start_at, s.start_at, pg_catalog.now());
        s.cron := NULL;
        s.cron_spec := NULL;
        retime := true;
    ELSIF alter_schedule.start_at IS NOT NULL THEN
        IF s.every IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'argument start_at applies only to interval schedules (every)',
                HINT = 'Leave start_at out for a cron schedule.';
        END IF;
        s.start_at := alter_schedule.start_at;
        retime := true;
    END IF;
    IF retime THEN
        -- A new timing starts afresh: its first period after now.
        s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
        IF s.next_run_at IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA139', MESSAGE = pg_catalog.format('argument cron: %L has no run within 50 years', pg_catalog.left(s.cron, 100)),
                HINT = 'Check the day-of-month and weekday against the months.';
        END IF;
    END IF;
    UPDATE animus.schedules x
       SET cron = s.cron, cron_spec = s.cron_spec, every = s.every, start_at = s.start_at, timezone = s.timezone,
           queue_name = s.queue_name, next_run_at = s.next_run_at,
           work_type = coalesce(alter_schedule.work_type, x.work_type), params = coalesce(alter_schedule.params, x.params),
           catchup = coalesce(alter_schedule.catchup, x.catchup), max_catchup = coalesce(alter_schedule.max_catchup, x.max_catchup),
           priority = coalesce(alter_schedule.priority, x.priority), max_attempts = coalesce(alter_schedule.max_attempts, x.max_attempts),
           period_key = CASE WHEN alter_schedule.period_key IS NULL THEN x.period_key ELSE nullif(alter_schedule.period_key, '') END,
           updated_at = pg_catalog.now()
     WHERE x.name = s.name
    RETURNING x.* INTO s;
    RETURN s;
END;
$$;

--
-- Name: FUNCTION alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text) IS 'Changes the given settings of schedule `name` (NULL = unchanged; period_key '''' removes it). A new cron, every, start_at or timezone restarts the timing: next_run_at becomes the first period after now (due periods not yet submitted are dropped). The creator (whose authority ticks use) stays. Only on schedules of queues granted to the caller (and a new queue must be granted too). Returns the row. Raises ZA001 (name NULL/empty), ZA136 (no such schedule), ZA133 (cron and every both, start_at on a cron schedule), ZA130 / ZA131 / ZA139, ZA132, ZA134, ZA137, ZA138, ZA002, ZA003, ZA109, ZA101 as create_schedule.';

--
-- Name: archive_work(text, bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.archive_work(queue text, msg_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF archive_work.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass the queue of the message.';
    END IF;
    IF NOT animus.work_queue_allowed(archive_work.queue) THEN
        PERFORM animus.work_raise_not_granted(archive_work.queue);
    END IF;
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

COMMENT ON FUNCTION animus.archive_work(queue text, msg_id bigint) IS 'Thin wrapper of pgmq.archive(queue, msg_id): moves a raw message to the archive; true if it existed. Does not change any work item (use complete_work / cancel_work for that). Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: await_event(uuid, integer, text, interval, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval DEFAULT NULL::interval, step_name text DEFAULT NULL::text, occurrence integer DEFAULT 1) RETURNS TABLE(status text, payload jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    v_name     text := coalesce(await_event.step_name, 'event:' || await_event.event_key);
    v_queue    text;
    v_msg      bigint;
    v_deadline timestamptz;
    e_payload  jsonb;
    e_at       timestamptz;
    s          animus.work_steps;
BEGIN
    PERFORM animus.work_check_event(await_event.event_key);
    PERFORM animus.work_check_step(await_event.work_id, await_event.attempt, v_name, await_event.occurrence);
    IF await_event.timeout < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA117', MESSAGE = 'argument timeout must not be negative',
            DETAIL = pg_catalog.format('timeout = %s', await_event.timeout),
            HINT = 'Pass how long to wait at most, e.g. timeout => ''1 day'', or NULL to wait without a limit.';
    END IF;
    SELECT w.queue_name INTO v_queue FROM animus.work_items w WHERE w.id = await_event.work_id;
    IF NOT FOUND OR NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(await_event.work_id, 'work_id', 'await_event');
    END IF;
    -- The key's row first (emit_event locks it first too), shared: waits do not block each other,
    -- an emit waits for them to commit their waiting step, and a wait started after an emit sees it.
    LOOP
        SELECT e.payload, e.emitted_at INTO e_payload, e_at FROM animus.work_events e
         WHERE e.queue_name = v_queue AND e.event_key = await_event.event_key
           FOR SHARE;
        EXIT WHEN FOUND;
        INSERT INTO animus.work_events (queue_name, event_key) VALUES (v_queue, await_event.event_key)
        ON CONFLICT (queue_name, event_key) DO NOTHING;
    END LOOP;
    SELECT w.msg_id INTO v_msg FROM animus.work_items w
     WHERE w.id = await_event.work_id AND w.state = 'running' AND w.attempts = await_event.attempt
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(await_event.work_id, 'await_event', await_event.attempt);
    END IF;
    SELECT * INTO s FROM animus.work_steps ws
     WHERE ws.work_id = await_event.work_id AND ws.step_name = v_name AND ws.occurrence = await_event.occurrence
       FOR UPDATE;
    IF FOUND THEN
        IF s.kind <> 'event' OR s.event_key <> await_event.event_key THEN
            PERFORM animus.work_raise_step_reused(s, 'event', NULL, await_event.event_key);
        END IF;
        IF s.state = 'completed' THEN
            RETURN QUERY SELECT s.result ->> 'status', NULLIF(s.result -> 'payload', 'null'::jsonb);
            RETURN;
        END IF;
        v_deadline := s.wake_at;   -- durable: the deadline the first call recorded
    ELSE
        v_deadline := CASE WHEN await_event.timeout IS NULL THEN 'infinity'::timestamptz
                           ELSE pg_catalog.clock_timestamp() + await_event.timeout END;
        INSERT INTO animus.work_steps (work_id, step_name, occurrence, kind, state, attempt, wake_at, event_key, started_at)
        VALUES (await_event.work_id, v_name, await_event.occurrence, 'event', 'waiting', await_event.attempt, v_deadline,
                await_event.event_key, pg_catalog.clock_timestamp());
    END IF;
    IF e_at IS NOT NULL OR v_deadline <= pg_catalog.clock_timestamp() THEN
        UPDATE animus.work_steps ws
           SET state = 'completed', attempt = await_event.attempt, finished_at = pg_catalog.clock_timestamp(),
               result = pg_catalog.jsonb_build_object('status', CASE WHEN e_at IS NOT NULL THEN 'received' ELSE 'timeout' END,
                                                      'payload', CASE WHEN e_at IS NOT NULL THEN e_payload END)
         WHERE ws.work_id = await_event.work_id AND ws.step_name = v_name AND ws.occurrence = await_event.occurrence;
        RETURN QUERY SELECT CASE WHEN e_at IS NOT NULL THEN 'received' ELSE 'timeout' END,
                            CASE WHEN e_at IS NOT NULL THEN NULLIF(e_payload, 'null'::jsonb) END;
        RETURN;
    END IF;
    UPDATE animus.work_steps ws SET state = 'waiting', attempt = await_event.attempt
     WHERE ws.work_id = await_event.work_id AND ws.step_name = v_name AND ws.occurrence = await_event.occurrence;
    PERFORM animus.work_suspend(await_event.work_id, v_queue, v_msg, v_deadline);
    RETURN QUERY SELECT 'suspended'::text, NULL::jsonb;
END;
$$;

--
-- Name: FUNCTION await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer) IS 'A durable wait of a running work item (the claim at `attempt`) for event event_key of its queue, recorded as step (step_name, default ''event:'' || event_key; occurrence). The first call records the deadline (now + timeout; no timeout: ''infinity''). Returns (status, payload): ''received'' with the payload when the event was emitted (before the wait started too: events are latched), ''timeout'' once the deadline has passed, both recorded and replayed by later runs; otherwise ''suspended'': the item was given back (queued, the claim recorded as released: not a failed attempt, no worker slot held), visible again at the deadline or as soon as emit_event delivers the event; the handler must stop without settling the item. Only items of queues the caller has a grant on. Raises ZA001 (work_id, attempt or event_key NULL), ZA118 (event_key blank or over 255 characters), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA117 (timeout negative), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued, not running), ZA104 (ended), ZA113 (the step was recorded as another kind or for another event key).';

--
-- Name: bm25_doc_len(tsvector); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.bm25_doc_len(fts tsvector) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer FROM pg_catalog.unnest(fts) AS u $$;

--
-- Name: FUNCTION bm25_doc_len(fts tsvector); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.bm25_doc_len(fts tsvector) IS 'BM25 document length of a tsvector: the number of lexeme occurrences (stop words are not in it). Raises nothing.';

--
-- Name: bm25_tf_weight(double precision, double precision, double precision, double precision, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)) $$;

--
-- Name: FUNCTION bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) IS 'Okapi BM25 term-frequency weight tf*(k1+1) / (tf + k1*(1 - b + b*doc_len/avgdl)); a term''s score is idf times this. Raises nothing.';

--
-- Name: cancel_work(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cancel_work(work_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
DECLARE
    w animus.work_items;
BEGIN
    IF cancel_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    SELECT * INTO w FROM animus.work_items wi WHERE wi.id = cancel_work.work_id FOR UPDATE;
    IF NOT FOUND OR NOT animus.work_queue_allowed(w.queue_name) THEN
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
    IF w.concurrency_key IS NOT NULL THEN
        DELETE FROM animus.concurrency_held h WHERE h.work_id = w.id;
        IF w.state = 'running' THEN
            PERFORM animus.work_key_wake(w.queue_name, ARRAY[w.concurrency_key]);
        END IF;
    END IF;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION cancel_work(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cancel_work(work_id uuid) IS 'Cancels a queued or running work item: state cancelled, message settled: deleted, or archived on a queue with archive_messages (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. A cancelled running item frees its concurrency key''s slot (held items are woken). Returns true, or false if it was already cancelled. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA104 (completed, dead or a merged submission).';

--
-- Name: complete_work(uuid[], jsonb[], integer[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[] DEFAULT NULL::jsonb[], attempts integer[] DEFAULT NULL::integer[]) RETURNS TABLE(work_id uuid, completed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
#variable_conflict use_column
DECLARE
    done      uuid[];
    followups uuid[] := '{}';
    r         record;
    scope     text[];
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
            RETURNING w.id, w.queue_name, w.msg_id, w.concurrency_key, w.dedup_key
        )
        SELECT u.queue_name, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids,
               pg_catalog.array_agg(u.concurrency_key) FILTER (WHERE u.concurrency_key IS NOT NULL) AS keys,
               pg_catalog.array_agg(u.id) FILTER (WHERE u.dedup_key IS NOT NULL) AS keyed
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
        IF r.keyed IS NOT NULL THEN
            followups := followups || r.keyed;
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(done) < pg_catalog.cardinality(work_ids) THEN
        PERFORM animus.work_raise_unsettled(work_ids, complete_work.attempts, done, 'complete_work');
    END IF;
    -- only an item with a dedup_key can have a replace-mode follow-up waiting for it
    IF pg_catalog.cardinality(followups) > 0 THEN
        PERFORM animus.work_release_followups(followups);
    END IF;
    RETURN QUERY SELECT i, i = ANY (done) FROM pg_catalog.unnest(work_ids) AS i;
END;
$$;

--
-- Name: FUNCTION complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[], attempts integer[]) IS 'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and settles their messages (deleted; archived on a queue with archive_messages) in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item; held items of the completed items'' concurrency keys are woken (animus.work_key_wake). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on (others are unknown to it). Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

--
-- Name: complete_work(uuid, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.complete_work(work_id uuid, outcome jsonb DEFAULT NULL::jsonb, attempt integer DEFAULT NULL::integer) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
DECLARE
    v_queue text;
    v_msg   bigint;
    v_key   text;
    v_dedup text;
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
    RETURNING w.queue_name, w.msg_id, w.concurrency_key, w.dedup_key INTO v_queue, v_msg, v_key, v_dedup;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(work_id, 'complete_work', complete_work.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(work_id, 'work_id', 'complete_work');   -- undoes the UPDATE
    END IF;
    PERFORM animus.work_queue_archive(v_queue, ARRAY[v_msg]);
    IF v_dedup IS NOT NULL THEN
        PERFORM animus.work_release_followups(ARRAY[work_id]);
    END IF;
    IF v_key IS NOT NULL THEN
        PERFORM animus.work_key_wake(v_queue, ARRAY[v_key]);
    END IF;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION complete_work(work_id uuid, outcome jsonb, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.complete_work(work_id uuid, outcome jsonb, attempt integer) IS 'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message settled (deleted; archived on a queue with archive_messages); its merged duplicates resolve with it (get_work shows their canonical state), a replace-mode follow-up waiting for it becomes visible, and held items of its concurrency key are woken. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';

--
-- Name: concurrency_stats(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.concurrency_stats(queue text DEFAULT 'work'::text) RETURNS TABLE(concurrency_key text, max_running integer, rate integer, period interval, running bigint, queued bigint, held bigint, window_start timestamp with time zone, window_used bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
BEGIN
    IF concurrency_stats.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass a queue (default ''work'').';
    END IF;
    IF NOT animus.work_queue_allowed(concurrency_stats.queue) THEN
        PERFORM animus.work_raise_not_granted(concurrency_stats.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = concurrency_stats.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', concurrency_stats.queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    RETURN QUERY
    WITH a AS (
        SELECT w.concurrency_key AS key, count(*) FILTER (WHERE w.state = 'running') AS running,
               count(*) FILTER (WHERE w.state = 'queued') AS queued
          FROM animus.work_items w
         WHERE w.queue_name = concurrency_stats.queue AND w.concurrency_key IS NOT NULL AND w.state IN ('queued', 'running')
         GROUP BY w.concurrency_key
    ), h AS (
        SELECT h.concurrency_key AS key, count(*) AS held FROM animus.concurrency_held h
         WHERE h.queue_name = concurrency_stats.queue GROUP BY h.concurrency_key
    ), keys AS (
        SELECT a.key FROM a UNION SELECT h.key FROM h
        UNION SELECT s.concurrency_key FROM animus.concurrency_keys s WHERE s.queue_name = concurrency_stats.queue
    )
    SELECT k.key, l.max_running, l.rate, l.period, coalesce(a.running, 0), coalesce(a.queued, 0), coalesce(h.held, 0),
           CASE WHEN l.rate IS NOT NULL THEN pg_catalog.date_bin(l.period, pg_catalog.clock_timestamp(), '2000-01-01 00:00:00+00') END,
           CASE WHEN l.rate IS NOT NULL THEN
                CASE WHEN s.window_start = pg_catalog.date_bin(l.period, pg_catalog.clock_timestamp(), '2000-01-01 00:00:00+00')
                     THEN s.window_used ELSE 0 END END
      FROM keys k
      LEFT JOIN a ON a.key = k.key
      LEFT JOIN h ON h.key = k.key
      LEFT JOIN animus.concurrency_keys s ON s.queue_name = concurrency_stats.queue AND s.concurrency_key = k.key
      LEFT JOIN LATERAL (SELECT * FROM animus.work_key_limit(concurrency_stats.queue, k.key)) l ON true
     ORDER BY k.key;
END;
$$;

--
-- Name: FUNCTION concurrency_stats(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.concurrency_stats(queue text) IS 'Per concurrency key of `queue` with active items, held items or a state row: the limits that apply (max_running, rate, period: its own row or ''*''; NULL = none), running and queued items (queued includes held), held (waiting for a free slot), and for a rate limit the current window''s start and the cost units started in it. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

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
    concurrency_param text,
    paused_at timestamp with time zone,
    archive_messages boolean DEFAULT false NOT NULL,
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
-- Name: COLUMN queues.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.queue_name IS 'The queue''s name, also the name of its pgmq queue (pgmq.q_<name>, pgmq.a_<name>): 1-40 characters of [a-z0-9_], starting with a letter.';

--
-- Name: COLUMN queues.backoff_base; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.backoff_base IS 'Retry delay after the first failed attempt; attempt n waits backoff_base * backoff_factor^(n-1).';

--
-- Name: COLUMN queues.backoff_factor; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.backoff_factor IS 'Growth of the retry delay per attempt (>= 1).';

--
-- Name: COLUMN queues.backoff_cap; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.backoff_cap IS 'Longest retry delay, before jitter.';

--
-- Name: COLUMN queues.backoff_jitter; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.backoff_jitter IS 'Random spread of each retry delay, as a fraction (0.25 = +/- 25 %), so that failures of many items do not retry in step.';

--
-- Name: COLUMN queues.notify; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.notify IS 'Whether submits wake workers with NOTIFY animus_work (payload: the queue name).';

--
-- Name: COLUMN queues.notify_throttle; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.notify_throttle IS 'At most one wake-up NOTIFY per queue per this interval.';

--
-- Name: COLUMN queues.last_notified_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.last_notified_at IS 'When the last wake-up NOTIFY was sent for the queue (the throttle''s clock).';

--
-- Name: COLUMN queues.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.created_at IS 'When the queue was created.';

--
-- Name: COLUMN queues.concurrency_param; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.concurrency_param IS 'when set, an item submitted without a concurrency_key gets params ->> concurrency_param as its key (NULL: no derived key).';

--
-- Name: COLUMN queues.paused_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.paused_at IS 'When the queue was paused (animus.pause_queue): read_work hands out nothing from it while set; NULL: the queue runs.';

--
-- Name: COLUMN queues.archive_messages; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queues.archive_messages IS 'Whether settled messages (completed, dead, cancelled items) move to pgmq''s archive pgmq.a_<queue> (true) or are deleted (false, the default: animus.work_items keeps the outcome).';

--
-- Name: configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.configure_queue(queue text, backoff_base interval DEFAULT NULL::interval, backoff_factor double precision DEFAULT NULL::double precision, backoff_cap interval DEFAULT NULL::interval, backoff_jitter double precision DEFAULT NULL::double precision, notify boolean DEFAULT NULL::boolean, notify_throttle interval DEFAULT NULL::interval, concurrency_param text DEFAULT NULL::text, archive_messages boolean DEFAULT NULL::boolean) RETURNS animus.queues
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    result animus.queues;
BEGIN
    IF queue IS NULL OR queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass the queue to change, e.g. queue => ''work''.';
    END IF;
    PERFORM animus.work_check_queue_settings(backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify_throttle);
    PERFORM animus.work_check_concurrency_param(concurrency_param, true);
    IF concurrency_param IS NOT NULL OR archive_messages IS NOT NULL THEN
        -- the generated functions derive the key and settle messages: regenerate them (serialised as create_queue)
        PERFORM 1 FROM animus.queue_admin_lock FOR UPDATE;
    END IF;
    UPDATE animus.queues q SET
        backoff_base    = coalesce(configure_queue.backoff_base, q.backoff_base),
        backoff_factor  = coalesce(configure_queue.backoff_factor, q.backoff_factor),
        backoff_cap     = coalesce(configure_queue.backoff_cap, q.backoff_cap),
        backoff_jitter  = coalesce(configure_queue.backoff_jitter, q.backoff_jitter),
        notify          = coalesce(configure_queue.notify, q.notify),
        notify_throttle = coalesce(configure_queue.notify_throttle, q.notify_throttle),
        concurrency_param = CASE WHEN configure_queue.concurrency_param IS NULL THEN q.concurrency_param
                                 ELSE NULLIF(configure_queue.concurrency_param, '') END,
        archive_messages = coalesce(configure_queue.archive_messages, q.archive_messages)
    WHERE q.queue_name = configure_queue.queue
    RETURNING q.* INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    IF concurrency_param IS NOT NULL OR archive_messages IS NOT NULL THEN
        PERFORM animus.work_generate_queue_functions();
    END IF;
    RETURN result;
END;
$$;

--
-- Name: FUNCTION configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, concurrency_param text, archive_messages boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, concurrency_param text, archive_messages boolean) IS 'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting; concurrency_param => '''' clears the derived key; archive_messages => true moves settled messages to pgmq''s archive instead of deleting them) and returns its row. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue), ZA002 (a setting out of range, named), ZA129 (concurrency_param only white space or over 200 characters).';

--
-- Name: create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.create_queue(queue text, backoff_base interval DEFAULT '00:00:02'::interval, backoff_factor double precision DEFAULT 2, backoff_cap interval DEFAULT '00:05:00'::interval, backoff_jitter double precision DEFAULT 0.25, notify boolean DEFAULT true, notify_throttle interval DEFAULT '00:00:00.25'::interval, if_not_exists boolean DEFAULT false, concurrency_param text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    nulls text;
BEGIN
    IF queue IS NULL OR queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass a queue name such as ''work''.';
    END IF;
    IF queue !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA107', MESSAGE = 'argument queue is not a valid queue name',
            DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(queue, 100)),
            HINT = 'Use 1-40 characters of [a-z0-9_], starting with a letter.';
    END IF;
    nulls := pg_catalog.concat_ws(', ',
        CASE WHEN backoff_base IS NULL THEN 'backoff_base' END, CASE WHEN backoff_factor IS NULL THEN 'backoff_factor' END,
        CASE WHEN backoff_cap IS NULL THEN 'backoff_cap' END, CASE WHEN backoff_jitter IS NULL THEN 'backoff_jitter' END,
        CASE WHEN notify IS NULL THEN 'notify' END, CASE WHEN notify_throttle IS NULL THEN 'notify_throttle' END,
        CASE WHEN if_not_exists IS NULL THEN 'if_not_exists' END);
    IF nulls <> '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = pg_catalog.format('argument %s must not be NULL', nulls),
            HINT = 'Leave an argument out to get its default.';
    END IF;
    PERFORM animus.work_check_queue_settings(backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify_throttle);
    PERFORM animus.work_check_concurrency_param(concurrency_param, false);
    PERFORM 1 FROM animus.queue_admin_lock FOR UPDATE;
    IF EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = create_queue.queue) THEN
        IF if_not_exists THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'ZA106', MESSAGE = pg_catalog.format('queue %L already exists', queue),
            HINT = 'Pass if_not_exists => true, or change settings with animus.configure_queue.';
    END IF;
    PERFORM pgmq.create(queue);
    -- Priority order for read_work: pgmq reads by msg_id only, so animus adds this index on the
    -- pgmq queue table and reads in (priority desc, visible-at) order. Partial: messages of
    -- priority 0 (no animus_priority header, the common case) are read through pgmq's own vt index
    -- and cost no entry here, neither when written nor when a claim, retry or heartbeat moves their
    -- vt. See docs/work-queue.md.
    EXECUTE pg_catalog.format('CREATE INDEX %I ON pgmq.%I ((headers -> %L) DESC, vt) WHERE (headers -> %L) IS NOT NULL',
                   'q_' || queue || '_animus_priority', 'q_' || queue, 'animus_priority', 'animus_priority');
    -- Its tables churn (every message is inserted, updated at each claim, deleted at the end):
    -- autovacuum keeps them small when it runs on a few thousand dead rows, not 20 % of the table.
    PERFORM animus.work_tune_queue_table(queue);
    INSERT INTO animus.queues (queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle, concurrency_param)
    VALUES (queue, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle, concurrency_param);
    PERFORM animus.work_generate_queue_functions();
    RETURN true;
END;
$_$;

--
-- Name: FUNCTION create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean, concurrency_param text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean, concurrency_param text) IS 'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)); its pgmq table gets per-table autovacuum settings (animus.work_tune_queue_table); settled messages are deleted (animus.configure_queue(archive_messages => true) keeps them in pgmq''s archive) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). concurrency_param: the params key whose value is the concurrency key of an item submitted without one (animus.set_concurrency_limit). Returns true when created, false when it existed and if_not_exists. Who may use the queue: animus.grant_queue (the group roles hold ''*'' until an admin revokes it). Raises ZA001 (queue or a setting NULL/empty, each named), ZA107 (invalid name), ZA002 (a setting out of range, named: backoff_base, backoff_cap, notify_throttle >= 0; backoff_factor >= 1; 0 <= backoff_jitter < 1), ZA106 (exists), ZA129 (concurrency_param empty, only white space or over 200 characters).';

--
-- Name: create_schedule(text, text, text, jsonb, text, text, interval, timestamp with time zone, text, integer, integer, integer, text, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.create_schedule(name text DEFAULT NULL::text, cron text DEFAULT NULL::text, work_type text DEFAULT NULL::text, params jsonb DEFAULT '{}'::jsonb, queue text DEFAULT 'work'::text, timezone text DEFAULT 'UTC'::text, every interval DEFAULT NULL::interval, start_at timestamp with time zone DEFAULT NULL::timestamp with time zone, catchup text DEFAULT 'latest'::text, max_catchup integer DEFAULT 100, priority integer DEFAULT 0, max_attempts integer DEFAULT 5, period_key text DEFAULT NULL::text, paused boolean DEFAULT false) RETURNS animus.schedules
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    s  animus.schedules;
    tz text;
BEGIN
    IF create_schedule.name IS NULL OR create_schedule.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Name the schedule, e.g. name => ''daily_digest''.';
    END IF;
    IF create_schedule.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA140', MESSAGE = 'argument name must be 1-100 characters of letters, digits and _ . : - starting with a letter or digit',
            DETAIL = pg_catalog.format('name = %L', pg_catalog.left(create_schedule.name, 100)),
            HINT = 'Use a name such as ''daily_digest'' or ''tenant-a:report''.';
    END IF;
    IF create_schedule.work_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be NULL',
            HINT = 'Pass the kind of work the schedule submits, e.g. work_type => ''digest''.';
    END IF;
    IF create_schedule.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF (create_schedule.cron IS NULL) = (create_schedule.every IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'arguments cron and every: pass exactly one of them',
            DETAIL = CASE WHEN create_schedule.cron IS NULL THEN 'neither was given' ELSE 'both were given' END,
            HINT = 'Pass cron => ''*/15 * * * *'' or every => ''15 minutes''.';
    END IF;
    IF create_schedule.every IS NULL AND create_schedule.start_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'argument start_at applies only to interval schedules (every)',
            HINT = 'Leave start_at out for a cron schedule; its runs follow the expression.';
    END IF;
    PERFORM animus.schedule_check_args(create_schedule.work_type, coalesce(create_schedule.params, '{}'),
        coalesce(create_schedule.priority, 0), coalesce(create_schedule.max_attempts, 5),
        coalesce(create_schedule.catchup, 'latest'), coalesce(create_schedule.max_catchup, 100),
        create_schedule.every, create_schedule.period_key);
    IF create_schedule.priority IS NULL OR create_schedule.max_attempts IS NULL OR create_schedule.catchup IS NULL
       OR create_schedule.max_catchup IS NULL OR create_schedule.paused IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'arguments priority, max_attempts, catchup, max_catchup and paused must not be NULL',
            HINT = 'Leave an argument out for its default.';
    END IF;
    tz := animus.schedule_check_timezone(create_schedule.timezone);
    IF NOT animus.work_queue_allowed(create_schedule.queue) THEN
        PERFORM animus.work_raise_not_granted(create_schedule.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = create_schedule.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', create_schedule.queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;
    s.name := create_schedule.name;
    s.timezone := tz;
    IF create_schedule.cron IS NOT NULL THEN
        s.cron := create_schedule.cron;
        s.cron_spec := animus.cron_parse(create_schedule.cron);
    ELSE
        s.every := create_schedule.every;
        s.start_at := coalesce(create_schedule.start_at, pg_catalog.now());
        IF NOT pg_catalog.isfinite(s.start_at) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument start_at must be finite', HINT = 'Pass a time, or leave it out for now().';
        END IF;
    END IF;
    -- The first period: a cron schedule's first run after now; an interval schedule's first
    -- period at or after now (start_at itself when it is now or later).
    s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
    IF s.next_run_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA139', MESSAGE = pg_catalog.format('argument cron: %L has no run within 50 years', pg_catalog.left(create_schedule.cron, 100)),
            HINT = 'Check the day-of-month and weekday against the months.';
    END IF;
    INSERT INTO animus.schedules AS x (name, cron, cron_spec, every, start_at, timezone, work_type, params, queue_name, priority,
                                       max_attempts, period_key, catchup, max_catchup, paused, next_run_at, created_by)
    VALUES (s.name, s.cron, s.cron_spec, s.every, s.start_at, s.timezone, create_schedule.work_type, coalesce(create_schedule.params, '{}'),
            create_schedule.queue, create_schedule.priority, create_schedule.max_attempts, create_schedule.period_key,
            create_schedule.catchup, create_schedule.max_catchup, create_schedule.paused, s.next_run_at,
            (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = animus.work_caller()))
    ON CONFLICT ON CONSTRAINT schedules_pkey DO NOTHING
    RETURNING x.* INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA135', MESSAGE = pg_catalog.format('argument name: a schedule named %L exists', create_schedule.name),
            HINT = 'Choose another name, change it with animus.alter_schedule, or drop it first.';
    END IF;
    RETURN s;
END;
$_$;

--
-- Name: FUNCTION create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean) IS 'Creates schedule `name` submitting work_type with params to queue once per period: of cron (5 fields or @macro, evaluated in IANA zone timezone, DST as Debian cron) or of every (a fixed duration; periods start_at + k * every, start_at default now()). catchup: after downtime ''latest'' submits only the most recent missed period, ''all'' every one oldest first (at most the max_catchup most recent). period_key adds the period instant to params. The ticks (animus.tick_schedules) submit with the authority of the creating role: only while it may submit to the queue. Producers and admins, on queues granted to them. Returns the new row. Raises ZA001 (name, work_type, queue NULL; blank work_type; bad period_key), ZA140 (bad name), ZA133 (both or neither of cron and every, start_at with cron), ZA130 / ZA131 / ZA139 (bad cron), ZA132 (unknown time zone), ZA134 (bad every), ZA137 (catchup), ZA138 (max_catchup not 1-10000), ZA002 (priority, max_attempts), ZA003 (params not an object), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA135 (name taken).';

--
-- Name: cron_next(animus.cron_spec, text, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cron_next(spec animus.cron_spec, tz text, after timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    la     timestamp := after AT TIME ZONE tz;
    c      timestamp := pg_catalog.date_trunc('minute', after AT TIME ZONE tz) + interval '1 minute';
    l      timestamp;
    inst   timestamptz[];
    t      timestamptz;
    best   timestamptz;
    tr     timestamptz;
    u      timestamptz;
    guard  integer := 0;
BEGIN
    LOOP
        guard := guard + 1;
        IF guard > 10000 THEN
            RETURN NULL;
        END IF;
        l := animus.cron_next_local(spec, c);
        IF l IS NULL THEN
            best := NULL;
            EXIT;
        END IF;
        inst := animus.tz_instants(tz, l);
        IF pg_catalog.cardinality(inst) = 0 THEN
            IF spec.real_clock THEN
                c := l + interval '1 minute';          -- real clock: a local time that does not exist never comes
                CONTINUE;
            END IF;
            -- wall clock: a local time in a gap runs when the gap ends
            u := l AT TIME ZONE 'UTC';
            t := animus.tz_transition(tz, u - greatest(animus.tz_offset(tz, u - interval '1 day'), animus.tz_offset(tz, u + interval '1 day')),
                                      u - least(animus.tz_offset(tz, u - interval '1 day'), animus.tz_offset(tz, u + interval '1 day')));
        ELSIF spec.real_clock THEN
            SELECT min(x) INTO t FROM pg_catalog.unnest(inst) AS x WHERE x > after;
            IF t IS NULL THEN
                c := l + interval '1 minute';
                CONTINUE;
            END IF;
        ELSE
            t := inst[1];                               -- wall clock: a repeated local time runs at its first occurrence
        END IF;
        IF t > after THEN
            best := t;
            EXIT;
        END IF;
        c := l + interval '1 minute';
    END LOOP;
    IF spec.real_clock THEN
        -- after lies in the first pass of a repeated hour: the second pass may come first.
        inst := animus.tz_instants(tz, la);
        IF pg_catalog.cardinality(inst) = 2 AND after < inst[2] THEN
            tr := animus.tz_transition(tz, after, inst[2]);
            l := animus.cron_next_local(spec, tr AT TIME ZONE tz);
            IF l IS NOT NULL THEN
                SELECT min(x) INTO t FROM pg_catalog.unnest(animus.tz_instants(tz, l)) AS x WHERE x >= tr;
                IF t IS NOT NULL AND t > after AND (best IS NULL OR t < best) THEN
                    best := t;
                END IF;
            END IF;
        END IF;
    END IF;
    RETURN best;
END;
$$;

--
-- Name: FUNCTION cron_next(spec animus.cron_spec, tz text, after timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cron_next(spec animus.cron_spec, tz text, after timestamp with time zone) IS 'Internal: the first run of spec in IANA zone tz strictly after `after` (NULL when none within 50 years). Real-clock specs (minute or hour field starting with *) run at every instant whose local time matches; wall-clock specs once per matching local date-time (a repeated one at its first occurrence, one in a spring-forward gap when the gap ends), as Debian cron and cronsim. Raises nothing.';

--
-- Name: cron_next_local(animus.cron_spec, timestamp without time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cron_next_local(spec animus.cron_spec, c timestamp without time zone) RETURNS timestamp without time zone
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    y      integer := pg_catalog.date_part('year', c)::integer;
    mo     integer := pg_catalog.date_part('month', c)::integer;
    d      integer := pg_catalog.date_part('day', c)::integer;
    h      integer := pg_catalog.date_part('hour', c)::integer;
    mi     integer := pg_catalog.date_part('minute', c)::integer + CASE WHEN pg_catalog.date_part('second', c) > 0 THEN 1 ELSE 0 END;
    y0     integer := y;
    dim    integer;
    dow1   integer;
    nd     integer;
    nh     integer;
    nm     integer;
    dom_ok boolean;
    dow_ok boolean;
    all_doms constant boolean := pg_catalog.cardinality(spec.doms) = 31;
    all_dows constant boolean := pg_catalog.cardinality(spec.dows) = 7;
BEGIN
    IF mi = 60 THEN mi := 0; h := h + 1; END IF;
    IF h = 24 THEN h := 0; d := d + 1; END IF;
    LOOP
        IF y > y0 + 50 THEN
            RETURN NULL;
        END IF;
        -- month
        IF NOT mo = ANY (spec.months) THEN
            SELECT min(m) INTO nm FROM pg_catalog.unnest(spec.months) AS m WHERE m > mo;
            IF nm IS NULL THEN
                y := y + 1; mo := spec.months[1];
            ELSE
                mo := nm;
            END IF;
            d := 1; h := 0; mi := 0;
        END IF;
        dim := pg_catalog.date_part('day', pg_catalog.make_date(y, mo, 1) + interval '1 month' - interval '1 day')::integer;
        -- day: the first matching day >= d in this month
        nd := NULL;
        dow1 := pg_catalog.date_part('dow', pg_catalog.make_date(y, mo, 1))::integer;
        WHILE d <= dim LOOP
            dom_ok := all_doms OR d = ANY (spec.doms);
            dow_ok := all_dows OR ((dow1 + d - 1) % 7) = ANY (spec.dows);
            IF (spec.day_and AND dom_ok AND dow_ok) OR (NOT spec.day_and AND (dom_ok OR dow_ok)) THEN
                nd := d;
                EXIT;
            END IF;
            d := d + 1; h := 0; mi := 0;
        END LOOP;
        IF nd IS NULL THEN
            mo := mo + 1; d := 1; h := 0; mi := 0;
            IF mo > 12 THEN mo := 1; y := y + 1; END IF;
            CONTINUE;
        END IF;
        -- hour
        SELECT min(x) INTO nh FROM pg_catalog.unnest(spec.hours) AS x WHERE x >= h;
        IF nh IS NULL THEN
            d := d + 1; h := 0; mi := 0;
            IF d > dim THEN
                d := 1; mo := mo + 1;
                IF mo > 12 THEN mo := 1; y := y + 1; END IF;
            END IF;
            CONTINUE;
        END IF;
        IF nh > h THEN h := nh; mi := 0; END IF;
        -- minute
        SELECT min(x) INTO nm FROM pg_catalog.unnest(spec.minutes) AS x WHERE x >= mi;
        IF nm IS NULL THEN
            h := h + 1; mi := 0;
            IF h = 24 THEN
                h := 0; d := d + 1;
                IF d > dim THEN
                    d := 1; mo := mo + 1;
                    IF mo > 12 THEN mo := 1; y := y + 1; END IF;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        RETURN pg_catalog.make_timestamp(y, mo, d, h, nm, 0);
    END LOOP;
END;
$$;

--
-- Name: FUNCTION cron_next_local(spec animus.cron_spec, c timestamp without time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cron_next_local(spec animus.cron_spec, c timestamp without time zone) IS 'Internal: the first wall-clock date-time >= c (rounded up to the minute) that spec matches; NULL when none within 50 years. Walks months, days, hours and minutes of the spec''s arrays. Raises nothing.';

--
-- Name: cron_next_runs(text, integer, timestamp with time zone, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cron_next_runs(cron text DEFAULT NULL::text, count integer DEFAULT 5, after timestamp with time zone DEFAULT now(), timezone text DEFAULT 'UTC'::text) RETURNS TABLE(run_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    spec animus.cron_spec := animus.cron_parse(cron_next_runs.cron);
    tz   text := animus.schedule_check_timezone(cron_next_runs.timezone);
    t    timestamptz := cron_next_runs.after;
    i    integer := 0;
BEGIN
    IF cron_next_runs.count IS NULL OR cron_next_runs.count NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument count must be between 1 and 1000',
            DETAIL = pg_catalog.format('count = %s', coalesce(cron_next_runs.count::text, 'NULL')),
            HINT = 'Ask for at most 1000 runs; call again with after => the last one for more.';
    END IF;
    IF t IS NULL OR NOT pg_catalog.isfinite(t) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument after must be a finite timestamp',
            HINT = 'Pass after => now() or another instant.';
    END IF;
    WHILE i < cron_next_runs.count LOOP
        t := animus.cron_next(spec, tz, t);
        EXIT WHEN t IS NULL;
        run_at := t;
        RETURN NEXT;
        i := i + 1;
    END LOOP;
END;
$$;

--
-- Name: FUNCTION cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text) IS 'Tries a cron expression: its next `count` runs (1-1000) strictly after `after`, evaluated in IANA zone `timezone` (DST as Debian cron: see animus.cron_next). Fewer rows when the expression has no run within 50 years. Raises ZA001 (cron or timezone NULL/empty, after not finite), ZA130, ZA131, ZA139 (bad cron), ZA132 (unknown time zone), ZA138 (count out of range).';

--
-- Name: cron_parse(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cron_parse(cron text DEFAULT NULL::text) RETURNS animus.cron_spec
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    expr    text;
    f       text[];
    s       animus.cron_spec;
    dim     constant integer[] := ARRAY[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
BEGIN
    IF cron IS NULL OR animus.work_is_blank(cron) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument cron must not be NULL, empty or only white space',
            HINT = 'Pass 5 fields, e.g. cron => ''*/15 * * * *'', or a macro such as ''@daily''.';
    END IF;
    IF pg_catalog.octet_length(cron) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA130', MESSAGE = 'argument cron is longer than 1000 bytes',
            HINT = 'Use ranges and steps instead of long lists.';
    END IF;
    expr := pg_catalog.btrim(cron, E' \t\n\r\f\x0b');
    IF pg_catalog.left(expr, 1) = '@' THEN
        expr := CASE pg_catalog.lower(expr)
                    WHEN '@yearly' THEN '0 0 1 1 *' WHEN '@annually' THEN '0 0 1 1 *'
                    WHEN '@monthly' THEN '0 0 1 * *' WHEN '@weekly' THEN '0 0 * * 0'
                    WHEN '@daily' THEN '0 0 * * *' WHEN '@midnight' THEN '0 0 * * *'
                    WHEN '@hourly' THEN '0 * * * *' END;
        IF expr IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA130',
                MESSAGE = pg_catalog.format('argument cron: unknown macro %L', pg_catalog.left(cron, 30)),
                HINT = 'Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly (@reboot has no meaning here).';
        END IF;
    END IF;
    f := pg_catalog.regexp_split_to_array(expr, E'[ \t\n\r\f\x0b]+');
    IF pg_catalog.cardinality(f) <> 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA130',
            MESSAGE = pg_catalog.format('argument cron: %s fields, expected 5 (minute hour day-of-month month day-of-week)', pg_catalog.cardinality(f)),
            DETAIL = pg_catalog.format('cron = %L', pg_catalog.left(cron, 100)),
            HINT = 'Use 5 fields, e.g. ''30 9 * * MON-FRI''; seconds and years are not supported.';
    END IF;
    s.minutes := animus.cron_parse_field(1, f[1]);
    s.hours := animus.cron_parse_field(2, f[2]);
    s.doms := animus.cron_parse_field(3, f[3]);
    s.months := animus.cron_parse_field(4, f[4]);
    s.dows := ARRAY(SELECT DISTINCT x % 7 FROM pg_catalog.unnest(animus.cron_parse_field(5, f[5])) AS x ORDER BY 1);
    s.day_and := pg_catalog.left(f[3], 1) = '*' OR pg_catalog.left(f[5], 1) = '*';
    s.real_clock := pg_catalog.left(f[1], 1) = '*' OR pg_catalog.left(f[2], 1) = '*';
    IF s.day_and AND s.doms[1] > (SELECT max(dim[m]) FROM pg_catalog.unnest(s.months) AS m) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA139',
            MESSAGE = pg_catalog.format('argument cron: day-of-month %s does not occur in the months of %L', s.doms[1], pg_catalog.left(cron, 60)),
            HINT = 'Check the day-of-month against the months (e.g. 30 February never comes).';
    END IF;
    RETURN s;
END;
$$;

--
-- Name: FUNCTION cron_parse(cron text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cron_parse(cron text) IS 'Internal: parses a standard 5-field cron expression (minute hour day-of-month month day-of-week; *, lists, ranges, steps, JAN-DEC, SUN-SAT, 0 and 7 = Sunday) or a macro (@yearly @annually @monthly @weekly @daily @midnight @hourly) into animus.cron_spec. Raises ZA001 (NULL or blank), ZA130 (malformed: message names the field and the token), ZA131 (value out of range, reversed range, step 0), ZA139 (a day-of-month no chosen month has).';

--
-- Name: cron_parse_field(integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.cron_parse_field(field_no integer, token text) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    names   constant text[] := ARRAY['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
    lo      integer := (ARRAY[0, 0, 1, 1, 0])[field_no];
    hi      integer := (ARRAY[59, 23, 31, 12, 7])[field_no];
    fname   text := names[field_no];
    term    text;
    base    text;
    step_t  text;
    step    integer;
    a       integer;
    b       integer;
    vals    integer[];
    result  integer[] := '{}';
    parts   text[];
    tok     text;
    v       integer;
    i       integer;
BEGIN
    FOREACH term IN ARRAY pg_catalog.string_to_array(token, ',') LOOP
        IF term = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA130',
                MESSAGE = pg_catalog.format('argument cron: field %s: empty element in list %L', fname, pg_catalog.left(token, 60)),
                HINT = 'Separate values with single commas, e.g. 1,15,30.';
        END IF;
        step := NULL;
        base := term;
        IF pg_catalog.strpos(term, '/') > 0 THEN
            base := pg_catalog.split_part(term, '/', 1);
            step_t := pg_catalog.substr(term, pg_catalog.strpos(term, '/') + 1);
            IF step_t !~ '^[0-9]+$' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA130',
                    MESSAGE = pg_catalog.format('argument cron: field %s: step %L in %L is not a number', fname, pg_catalog.left(step_t, 30), pg_catalog.left(term, 60)),
                    HINT = 'Write a step as */15, 1-30/2 or 5/10.';
            END IF;
            -- Steps past the field's width select only the first value: cap to keep integers small.
            step := CASE WHEN pg_catalog.length(pg_catalog.ltrim(step_t, '0')) > 3 THEN 1000 ELSE step_t::integer END;
            IF step = 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA131',
                    MESSAGE = pg_catalog.format('argument cron: field %s: step 0 in %L', fname, pg_catalog.left(term, 60)),
                    HINT = 'A step is at least 1.';
            END IF;
        END IF;
        IF base = '*' THEN
            a := lo; b := hi;
        ELSE
            IF pg_catalog.strpos(base, '-') > 0 THEN
                parts := ARRAY[pg_catalog.split_part(base, '-', 1), pg_catalog.substr(base, pg_catalog.strpos(base, '-') + 1)];
            ELSE
                parts := ARRAY[base];
            END IF;
            vals := '{}';
            FOREACH tok IN ARRAY parts LOOP
                IF tok ~ '^[0-9]+$' THEN
                    IF pg_catalog.length(pg_catalog.ltrim(tok, '0')) > 2 OR tok::integer NOT BETWEEN lo AND hi THEN
                        RAISE EXCEPTION USING ERRCODE = 'ZA131',
                            MESSAGE = pg_catalog.format('argument cron: field %s: value %s is outside %s-%s', fname, pg_catalog.left(tok, 30), lo, hi),
                            HINT = 'Minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7 (0 and 7 = Sunday).';
                    END IF;
                    v := tok::integer;
                ELSIF field_no = 4 AND pg_catalog.upper(tok) = ANY (ARRAY['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC']) THEN
                    v := pg_catalog.array_position(ARRAY['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC'], pg_catalog.upper(tok));
                ELSIF field_no = 5 AND pg_catalog.upper(tok) = ANY (ARRAY['SUN','MON','TUE','WED','THU','FRI','SAT']) THEN
                    v := pg_catalog.array_position(ARRAY['SUN','MON','TUE','WED','THU','FRI','SAT'], pg_catalog.upper(tok)) - 1;
                ELSE
                    RAISE EXCEPTION USING ERRCODE = 'ZA130',
                        MESSAGE = pg_catalog.format('argument cron: field %s: token %L is not a number%s, *, range, list or step',
                                                    fname, pg_catalog.left(tok, 30),
                                                    CASE field_no WHEN 4 THEN ', month name (JAN-DEC)' WHEN 5 THEN ', weekday name (SUN-SAT)' ELSE '' END),
                        HINT = 'Use 5 fields (minute hour day-of-month month day-of-week) of numbers, names, *, a-b, lists and /steps.';
                END IF;
                vals := vals || v;
            END LOOP;
            a := vals[1];
            IF pg_catalog.cardinality(vals) = 2 THEN
                b := vals[2];
                IF b < a THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA131',
                        MESSAGE = pg_catalog.format('argument cron: field %s: range %L ends before it starts', fname, pg_catalog.left(base, 30)),
                        HINT = 'Write ranges low-high, e.g. 22-23,0-2 instead of 22-2.';
                END IF;
            ELSIF step IS NOT NULL THEN
                b := hi;          -- 5/10: from 5 to the end of the field, every 10
            ELSE
                b := a;
            END IF;
        END IF;
        i := a;
        WHILE i <= b LOOP
            result := result || i;
            i := i + coalesce(step, 1);
        END LOOP;
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(result) AS x ORDER BY x);
END;
$_$;

--
-- Name: FUNCTION cron_parse_field(field_no integer, token text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.cron_parse_field(field_no integer, token text) IS 'Internal: the sorted values of one cron field (1 minute, 2 hour, 3 day-of-month, 4 month, 5 day-of-week 0-7). Raises ZA130 (malformed token), ZA131 (value out of range, range end below start, step 0).';

--
-- Name: delete_memories(bigint[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL::bigint[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    n bigint;
    scope text[] := animus.memory_write_scope();
BEGIN
    IF ids IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'ids must not be NULL', HINT = 'Pass an array of memory ids.';
    END IF;
    IF pg_catalog.cardinality(ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA215', MESSAGE = 'ids must hold at most 10000 ids',
            DETAIL = pg_catalog.format('ids holds %s ids; nothing was deleted', pg_catalog.cardinality(ids)),
            HINT = 'Delete in batches of at most 10000 ids.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = ANY (delete_memories.ids) AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

--
-- Name: FUNCTION delete_memories(ids bigint[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.delete_memories(ids bigint[]) IS 'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. At most 10,000 ids a call. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA215 (more than 10,000 ids).';

--
-- Name: delete_memory(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_memory(id bigint DEFAULT NULL::bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
BEGIN
    IF delete_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = delete_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
    RETURN FOUND;
END
$$;

--
-- Name: FUNCTION delete_memory(id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.delete_memory(id bigint) IS 'Deletes memory id; true if it existed in the caller''s write scope and was not private to another role, false otherwise. Runs as the owner (SECURITY DEFINER). Raises ZA001.';

--
-- Name: delete_work(text, bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_work(queue text, msg_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF delete_work.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass the queue of the message.';
    END IF;
    IF NOT animus.work_queue_allowed(delete_work.queue) THEN
        PERFORM animus.work_raise_not_granted(delete_work.queue);
    END IF;
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

COMMENT ON FUNCTION animus.delete_work(queue text, msg_id bigint) IS 'Thin wrapper of pgmq.delete(queue, msg_id): deletes a raw message; true if it existed. Does not change any work item. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: deployed_version(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.deployed_version() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_tag     text;
    v_tag_at  timestamptz;
    v_after   bigint;
    v_last    text;
BEGIN
    IF pg_catalog.to_regclass('sqitch.changes') IS NOT NULL AND pg_catalog.to_regclass('sqitch.tags') IS NOT NULL
       AND pg_catalog.has_table_privilege('sqitch.changes', 'SELECT') AND pg_catalog.has_table_privilege('sqitch.tags', 'SELECT') THEN
        EXECUTE 'SELECT t.tag, t.committed_at FROM sqitch.tags t WHERE t.project = ''animus'' ORDER BY t.committed_at DESC LIMIT 1'
           INTO v_tag, v_tag_at;
        EXECUTE 'SELECT count(*), (SELECT c2.change FROM sqitch.changes c2 WHERE c2.project = ''animus'' ORDER BY c2.committed_at DESC LIMIT 1)
                   FROM sqitch.changes c WHERE c.project = ''animus'' AND c.committed_at > coalesce($1, ''-infinity'')'
           INTO v_after, v_last USING v_tag_at;
        IF v_last IS NOT NULL THEN
            RETURN coalesce(v_tag, '(untagged)') || CASE WHEN v_after > 0 THEN pg_catalog.format('+%s (%s)', v_after, v_last) ELSE '' END;
        END IF;
    END IF;
    SELECT i.version INTO v_tag FROM animus.installed_version i ORDER BY i.installed_at DESC LIMIT 1;
    RETURN coalesce(v_tag, 'unknown');
END;
$_$;

--
-- Name: FUNCTION deployed_version(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.deployed_version() IS 'The animus version deployed in this database: from the Sqitch registry (schema sqitch) when present, the last tag and the number of changes deployed after it with the last one, e.g. ''@v0.6.0+2 (ops_health)''; else the version a single-file install recorded in animus.installed_version; else ''unknown''. Raises nothing.';

--
-- Name: discard_dead_work(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.discard_dead_work(work_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    w animus.work_items;
BEGIN
    w := animus.ops_lock_dead(discard_dead_work.work_id, 'discard_dead_work');
    INSERT INTO animus.dead_work_actions (work_id, queue_name, action, acted_by)
    VALUES (w.id, w.queue_name, 'discarded', animus.work_caller());
    RETURN true;
END;
$$;

--
-- Name: FUNCTION discard_dead_work(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.discard_dead_work(work_id uuid) IS 'Discards dead work item work_id: records it as handled in animus.dead_work_actions, so it leaves list_dead_work and the health check''s dead count; the row stays readable (get_work) until purge_work removes it. Returns true. animus_admin only. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already).';

--
-- Name: concurrency_limits; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.concurrency_limits (
    queue_name text NOT NULL,
    concurrency_key text NOT NULL,
    max_running integer,
    rate integer,
    period interval,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT concurrency_limits_check CHECK (((rate IS NULL) = (period IS NULL))),
    CONSTRAINT concurrency_limits_check1 CHECK (((max_running IS NOT NULL) OR (rate IS NOT NULL))),
    CONSTRAINT concurrency_limits_max_running_check CHECK (((max_running >= 1) AND (max_running <= 1000000000))),
    CONSTRAINT concurrency_limits_period_check CHECK (((period > '00:00:00'::interval) AND (period <= '366 days'::interval))),
    CONSTRAINT concurrency_limits_rate_check CHECK (((rate >= 1) AND (rate <= 1000000000)))
);

--
-- Name: TABLE concurrency_limits; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.concurrency_limits IS 'Per-key limits of a work queue, set with animus.set_concurrency_limit (animus_admin): the row of the item''s key, else the queue''s ''*'' row (each key then gets its own limits of that size), else no limit.';

--
-- Name: COLUMN concurrency_limits.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.queue_name IS 'the work queue (the limits go with it when it is dropped).';

--
-- Name: COLUMN concurrency_limits.concurrency_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.concurrency_key IS 'the key the limit applies to; ''*'' = every key of the queue without a row of its own.';

--
-- Name: COLUMN concurrency_limits.max_running; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.max_running IS 'at most this many items of the key running at once (NULL: no bound).';

--
-- Name: COLUMN concurrency_limits.rate; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.rate IS 'at most this many cost units of the key started per period (NULL: no rate limit).';

--
-- Name: COLUMN concurrency_limits.period; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.period IS 'the rate window: fixed windows date_bin(period, now, 2000-01-01 00:00 UTC).';

--
-- Name: COLUMN concurrency_limits.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_limits.updated_at IS 'when the limit was last set.';

--
-- Name: drop_concurrency_limit(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.drop_concurrency_limit(queue text, key text DEFAULT '*'::text) RETURNS animus.concurrency_limits
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    result animus.concurrency_limits;
BEGIN
    IF queue IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'arguments queue and key must not be NULL',
            HINT = 'Pass the queue and the key (''*'' for the default) of the limit to drop.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = drop_concurrency_limit.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues.';
    END IF;
    DELETE FROM animus.concurrency_limits l
     WHERE l.queue_name = drop_concurrency_limit.queue AND l.concurrency_key = drop_concurrency_limit.key
    RETURNING l.* INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA128', MESSAGE = pg_catalog.format('argument key: queue %L has no concurrency limit for key %L', queue, pg_catalog.left(key, 100)),
            HINT = 'List the limits with SELECT * FROM animus.concurrency_limits WHERE queue_name = ...';
    END IF;
    PERFORM animus.work_key_wake(queue, ARRAY(SELECT DISTINCT h.concurrency_key FROM animus.concurrency_held h
                                               WHERE h.queue_name = drop_concurrency_limit.queue
                                                 AND (drop_concurrency_limit.key = '*' OR h.concurrency_key = drop_concurrency_limit.key)));
    RETURN result;
END;
$$;

--
-- Name: FUNCTION drop_concurrency_limit(queue text, key text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.drop_concurrency_limit(queue text, key text) IS 'Removes the limit of key `key` (''*'': the default) of `queue`, returns the removed row, and wakes the held items it no longer holds back (a key without its own row falls back to ''*''). Raises ZA001 (queue or key NULL), ZA101 (unknown queue), ZA128 (no such limit).';

--
-- Name: drop_queue(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.drop_queue(queue text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    n bigint;
BEGIN
    IF queue IS NULL OR queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass the queue to drop.';
    END IF;
    PERFORM 1 FROM animus.queue_admin_lock FOR UPDATE;
    DELETE FROM animus.queues q WHERE q.queue_name = drop_queue.queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues.';
    END IF;
    DELETE FROM animus.work_items w WHERE w.queue_name = drop_queue.queue;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE animus.work_items w SET parent_id = NULL
     WHERE w.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = w.parent_id);
    -- A queue created later under the same name starts with no grants.
    DELETE FROM animus.queue_grants g WHERE g.queue_name = drop_queue.queue;
    -- and with no concurrency state (its limits go with the animus.queues row).
    DELETE FROM animus.concurrency_held h WHERE h.queue_name = drop_queue.queue;
    DELETE FROM animus.concurrency_keys s WHERE s.queue_name = drop_queue.queue;
    PERFORM pgmq.drop_queue(queue);
    PERFORM animus.work_generate_queue_functions();
    RETURN n;
END;
$$;

--
-- Name: FUNCTION drop_queue(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.drop_queue(queue text) IS 'Drops a work queue: its work items (all states), its grants, its concurrency limits and state, its pgmq queue and archive. Returns the number of work items deleted. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue).';

--
-- Name: drop_schedule(text, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.drop_schedule(name text DEFAULT NULL::text, if_exists boolean DEFAULT false) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.schedules;
BEGIN
    BEGIN
        s := animus.schedule_lock(drop_schedule.name);
    EXCEPTION WHEN SQLSTATE 'ZA136' THEN
        IF coalesce(drop_schedule.if_exists, false) THEN
            RETURN false;
        END IF;
        RAISE;
    END;
    DELETE FROM animus.schedules x WHERE x.name = s.name;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION drop_schedule(name text, if_exists boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.drop_schedule(name text, if_exists boolean) IS 'Deletes schedule `name` (items it submitted stay); true when dropped, false for a missing one with if_exists. Raises ZA001 (name NULL/empty), ZA136 (no such schedule, without if_exists).';

--
-- Name: due_memories(text, timestamp with time zone, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.due_memories(namespace text DEFAULT NULL::text, at timestamp with time zone DEFAULT now(), lim integer DEFAULT 100) RETURNS TABLE(memory_id bigint, memory_namespace text, content text, due_at timestamp with time zone, stability double precision, difficulty double precision, retrievability double precision, reps integer, lapses integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    st jsonb := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('include_superseded', false, 'viewer', viewer));
BEGIN
    IF due_memories.at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'at must not be NULL', HINT = 'Omit it for now().';
    END IF;
    PERFORM animus.memory_check_limit(due_memories.lim, 'lim');
    RETURN QUERY
    SELECT r.memory_id, m.namespace, m.content, r.due_at, r.stability, r.difficulty,
           animus.memory_retrievability(r.stability, extract(epoch FROM due_memories.at - r.last_review)::double precision / 86400),
           r.reps, r.lapses
      FROM animus.memory_reviews AS r
      JOIN animus.memories AS m ON m.id = r.memory_id
     WHERE r.due_at <= due_memories.at
       AND (due_memories.namespace IS NULL OR m.namespace = due_memories.namespace)
       AND NOT m.pinned
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       AND animus.memory_state_match(st, m.metadata -> '_animus')
     ORDER BY r.due_at, r.memory_id
     LIMIT due_memories.lim;
END
$$;

--
-- Name: FUNCTION due_memories(namespace text, at timestamp with time zone, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.due_memories(namespace text, at timestamp with time zone, lim integer) IS 'The reviewed memories due at at (due_at <= at), earliest first, at most lim (1..1000): their FSRS state and retrievability at at. Only live memories the caller sees (not pinned, expired, superseded or private to another role), of namespace when given. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (lim outside 1..1000).';

--
-- Name: emit_event(text, jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.emit_event(event_key text, payload jsonb DEFAULT NULL::jsonb, queue text DEFAULT 'work'::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    v_now  timestamptz := pg_catalog.clock_timestamp();
    woken  uuid[];
    msgs   bigint[];
BEGIN
    PERFORM animus.work_check_event(emit_event.event_key, emit_event.payload);
    IF emit_event.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass the queue of the items waiting for the event, or leave queue out for the default ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(emit_event.queue) THEN
        PERFORM animus.work_raise_not_granted(emit_event.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = emit_event.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', emit_event.queue),
            HINT = 'Pass an existing queue (default ''work'').';
    END IF;
    -- Locks the key's row: waits for await_event calls holding it (they commit their waiting step
    -- first, found below), and a wait starting later sees this emit.
    INSERT INTO animus.work_events AS e (queue_name, event_key, payload, emitted_at)
    VALUES (emit_event.queue, emit_event.event_key, emit_event.payload, v_now)
    ON CONFLICT (queue_name, event_key) DO UPDATE SET payload = EXCLUDED.payload, emitted_at = EXCLUDED.emitted_at;
    -- Deliver: every waiting step of the key in this queue completes with the payload.
    WITH d AS (
        UPDATE animus.work_steps s
           SET state = 'completed', finished_at = v_now,
               result = pg_catalog.jsonb_build_object('status', 'received', 'payload', emit_event.payload)
          FROM animus.work_items w
         WHERE s.event_key = emit_event.event_key AND s.state = 'waiting' AND s.kind = 'event'
           AND w.id = s.work_id AND w.queue_name = emit_event.queue
        RETURNING s.work_id
    )
    SELECT coalesce(pg_catalog.array_agg(d.work_id), '{}') INTO woken FROM d;
    IF pg_catalog.cardinality(woken) = 0 THEN
        RETURN 0;
    END IF;
    -- The parked items run again now (an item running already replays the delivered step).
    WITH u AS (
        UPDATE animus.work_items w SET run_at = v_now, updated_at = v_now
         WHERE w.id = ANY (woken) AND w.state = 'queued'
        RETURNING w.msg_id
    )
    SELECT coalesce(pg_catalog.array_agg(u.msg_id), '{}') INTO msgs FROM u;
    IF pg_catalog.cardinality(msgs) > 0 THEN
        PERFORM animus.work_queue_set_vt(emit_event.queue, msgs, pg_catalog.array_fill(v_now, ARRAY[pg_catalog.cardinality(msgs)]));
        PERFORM animus.work_wake(emit_event.queue);   -- the workers' throttled wake-up, as for a submit
    END IF;
    RETURN pg_catalog.cardinality(woken);
END;
$$;

--
-- Name: FUNCTION emit_event(event_key text, payload jsonb, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.emit_event(event_key text, payload jsonb, queue text) IS 'Emits event event_key with payload in queue `queue` (default ''work''): stores it (a later emit of the key replaces the payload; a wait that starts later receives it at once), completes every await_event of that key by an item of the queue with status ''received'' and this payload, and makes the parked items visible now (with the queue''s throttled wake-up NOTIFY). Returns how many waits it delivered to. Race-free with a concurrent await_event (both serialise on the key''s row). Needs a grant on the queue: events of one queue never reach another''s items. Raises ZA001 (event_key or queue NULL), ZA118 (event_key blank or over 255 characters), ZA119 (payload over 1 MB), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: fail_work(uuid[], text, boolean, integer[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean DEFAULT true, attempts integer[] DEFAULT NULL::integer[]) RETURNS TABLE(work_id uuid, failed boolean, state text, retry_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
#variable_conflict use_column
DECLARE
    r       record;
    res_ids uuid[] := '{}';
    res_st  text[] := '{}';
    res_at  timestamptz[] := '{}';
    dead    uuid[] := '{}';
    scope   text[];
BEGIN
    IF work_ids IS NULL OR pg_catalog.array_position(work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by read_work.';
    END IF;
    IF pg_catalog.cardinality(work_ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_ids has more than 10000 elements',
            DETAIL = pg_catalog.format('work_ids has %s elements', pg_catalog.cardinality(work_ids)),
            HINT = 'Fail at most 10000 items per call.';
    END IF;
    scope := animus.work_queue_scope();
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
            RETURNING w.id, w.state, w.queue_name, w.msg_id, w.run_at, w.concurrency_key
        )
        SELECT u.queue_name, u.state, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids,
               pg_catalog.array_agg(u.run_at) AS run_ats,
               pg_catalog.array_agg(u.concurrency_key) FILTER (WHERE u.concurrency_key IS NOT NULL) AS keys
          FROM u GROUP BY u.queue_name, u.state
    LOOP
        IF NOT (r.queue_name = ANY (scope) OR '*' = ANY (scope)) THEN
            PERFORM animus.work_raise_unknown(r.ids[1], 'work_ids', 'fail_work');   -- undoes the UPDATE
        END IF;
        IF r.state = 'queued' THEN
            PERFORM animus.work_queue_set_vt(r.queue_name, r.msg_ids, r.run_ats);
        ELSE
            PERFORM animus.work_queue_archive(r.queue_name, r.msg_ids);
            dead := dead || r.ids;
        END IF;
        IF r.keys IS NOT NULL THEN
            PERFORM animus.work_key_wake(r.queue_name, r.keys);   -- slots freed: wake held items of the keys
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

--
-- Name: FUNCTION fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean, attempts integer[]) IS 'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message settled: deleted, or archived on a queue with archive_messages). Held items of the failed items'' concurrency keys are woken. Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA110 (more than 10000 ids), ZA002 (attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

--
-- Name: fail_work(uuid, text, boolean, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean DEFAULT true, attempt integer DEFAULT NULL::integer) RETURNS TABLE(state text, retry_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
#variable_conflict use_column
DECLARE
    r record;
BEGIN
    IF work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    -- The many-id form would name work_ids for an unknown id: check it here first.
    IF NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = fail_work.work_id AND animus.work_queue_allowed(w.queue_name)) THEN
        PERFORM animus.work_raise_unknown(fail_work.work_id, 'work_id', 'fail_work');
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

COMMENT ON FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean, attempt integer) IS 'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message settled: deleted, or archived on a queue with archive_messages). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

--
-- Name: finish_step(uuid, text, integer, jsonb, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb DEFAULT NULL::jsonb, occurrence integer DEFAULT 1, error text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    v_queue text;
    s       animus.work_steps;
BEGIN
    PERFORM animus.work_check_step(finish_step.work_id, finish_step.attempt, finish_step.step_name, finish_step.occurrence);
    IF finish_step.error = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument error must not be empty',
            HINT = 'Pass NULL for a step that completed, or say why it failed.';
    END IF;
    IF pg_catalog.length(finish_step.error) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA115', MESSAGE = 'argument error is longer than 10000 characters',
            DETAIL = pg_catalog.format('error has %s characters', pg_catalog.length(finish_step.error)),
            HINT = 'Shorten the error text (the first lines of a traceback are enough).';
    END IF;
    IF pg_catalog.pg_column_size(finish_step.result) > 1048576 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA115', MESSAGE = 'argument result is larger than 1 MB',
            DETAIL = pg_catalog.format('result has %s bytes (jsonb)', pg_catalog.pg_column_size(finish_step.result)),
            HINT = 'Record a reference (a key, a URL, a memory id) instead of the data itself.';
    END IF;
    SELECT w.queue_name INTO v_queue FROM animus.work_items w
     WHERE w.id = finish_step.work_id AND w.state = 'running' AND w.attempts = finish_step.attempt
       FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(finish_step.work_id, 'finish_step', finish_step.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(finish_step.work_id, 'work_id', 'finish_step');
    END IF;
    UPDATE animus.work_steps ws
       SET state = CASE WHEN finish_step.error IS NULL THEN 'completed' ELSE 'failed' END,
           result = CASE WHEN finish_step.error IS NULL THEN finish_step.result END,
           error = finish_step.error,
           finished_at = pg_catalog.clock_timestamp()
     WHERE ws.work_id = finish_step.work_id AND ws.step_name = finish_step.step_name AND ws.occurrence = finish_step.occurrence
       AND ws.kind = 'step' AND ws.state = 'running' AND ws.attempt = finish_step.attempt;
    IF NOT FOUND THEN
        SELECT * INTO s FROM animus.work_steps ws
         WHERE ws.work_id = finish_step.work_id AND ws.step_name = finish_step.step_name AND ws.occurrence = finish_step.occurrence;
        RAISE EXCEPTION USING ERRCODE = 'ZA114',
            MESSAGE = pg_catalog.format('argument step_name: step %L (occurrence %s) is not running for attempt %s',
                                        finish_step.step_name, finish_step.occurrence, finish_step.attempt),
            DETAIL = CASE WHEN s.work_id IS NULL THEN 'the step was never started'
                          ELSE pg_catalog.format('the step is a %s in state %s, recorded by attempt %s', s.kind, s.state, s.attempt) END,
            HINT = 'Call start_step first (same work_id, step_name, occurrence and attempt) and finish_step once per start.';
    END IF;
END;
$$;

--
-- Name: FUNCTION finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text) IS 'Records the outcome of a step started with start_step by the same claim (attempt): error NULL -> completed with result (replayed by every later run of the item, never run again); error given -> failed (it runs again on the next attempt; the error is kept for get_work). result is at most 1 MB (jsonb size), error at most 10000 characters. Only items of queues the caller has a grant on. Raises ZA001 (work_id, step_name or attempt NULL, error empty), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA115 (result over 1 MB, error over 10000 characters), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued), ZA104 (ended), ZA114 (the step is not running for this attempt: never started, or finished already).';

--
-- Name: get_event(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_event(event_key text, queue text DEFAULT 'work'::text) RETURNS TABLE(queue_name text, emitted boolean, payload jsonb, emitted_at timestamp with time zone, waiting bigint, created_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
BEGIN
    PERFORM animus.work_check_event(get_event.event_key);
    IF get_event.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass the queue of the event (default ''work'').';
    END IF;
    IF NOT animus.work_queue_allowed(get_event.queue) THEN
        PERFORM animus.work_raise_not_granted(get_event.queue);
    END IF;
    RETURN QUERY
    SELECT e.queue_name, e.emitted_at IS NOT NULL, e.payload, e.emitted_at,
           (SELECT count(*) FROM animus.work_steps s JOIN animus.work_items w ON w.id = s.work_id
             WHERE s.event_key = e.event_key AND s.state = 'waiting' AND s.kind = 'event' AND w.queue_name = e.queue_name),
           e.created_at
      FROM animus.work_events e
     WHERE e.queue_name = get_event.queue AND e.event_key = get_event.event_key;
END;
$$;

--
-- Name: FUNCTION get_event(event_key text, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_event(event_key text, queue text) IS 'Event event_key of queue `queue` (default ''work''): one row (emitted, payload, emitted_at, waiting: how many waits of items of the queue wait for it now, created_at) when it was emitted or is awaited, no row otherwise. Needs a grant on the queue. Raises ZA001 (event_key or queue NULL), ZA118 (event_key blank or over 255 characters), ZA109 (no grant on the queue).';

--
-- Name: memory_content_hash(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_content_hash(content text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sha256(convert_to(content, 'UTF8'::name));

--
-- Name: FUNCTION memory_content_hash(content text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_content_hash(content text) IS 'sha256 of the UTF-8 bytes of content: the key (with namespace) under which store_memory merges a repeated memory. Raises nothing.';

--
-- Name: memories; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memories (
    id bigint NOT NULL,
    namespace text DEFAULT 'default'::text NOT NULL,
    content text NOT NULL,
    memory_type text NOT NULL,
    source text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    embedding public.vector(1536) NOT NULL,
    fts tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED,
    content_hash bytea GENERATED ALWAYS AS (animus.memory_content_hash(content)) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    pinned boolean DEFAULT false NOT NULL,
    superseded_by bigint,
    superseded_at timestamp with time zone,
    owner_role oid,
    visibility text DEFAULT 'namespace'::text NOT NULL,
    share_groups oid[] DEFAULT '{}'::oid[] NOT NULL,
    embedding_model text,
    CONSTRAINT memories_content_check CHECK ((btrim(content) <> ''::text)),
    CONSTRAINT memories_memory_type_check CHECK ((memory_type <> ''::text)),
    CONSTRAINT memories_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT memories_namespace_check CHECK ((namespace <> ''::text)),
    CONSTRAINT memories_not_self_superseded CHECK ((superseded_by IS DISTINCT FROM id)),
    CONSTRAINT memories_pinned_never_expires CHECK ((NOT (pinned AND (expires_at IS NOT NULL)))),
    CONSTRAINT memories_private_has_owner CHECK (((visibility = 'namespace'::text) OR (owner_role IS NOT NULL))),
    CONSTRAINT memories_visibility_check CHECK ((visibility = ANY (ARRAY['namespace'::text, 'private'::text, 'groups'::text])))
)
WITH (toast_tuple_target='8160');
ALTER TABLE ONLY animus.memories ALTER COLUMN embedding SET STORAGE MAIN;

ALTER TABLE ONLY animus.memories FORCE ROW LEVEL SECURITY;

--
-- Name: TABLE memories; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memories IS 'Semantic memories: text, embedding (dimension in animus.memory_settings), metadata; one row per (namespace, content).';

--
-- Name: COLUMN memories.id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.id IS 'The memory id, returned by store_memory.';

--
-- Name: COLUMN memories.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.namespace IS 'Whose memory: an agent, a user, a tenant. Filters and (later) row-level security scope by it.';

--
-- Name: COLUMN memories.content; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.content IS 'The remembered text: what keyword search ranks and what the embedding was computed from.';

--
-- Name: COLUMN memories.memory_type; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.memory_type IS 'What kind of memory (''fact'', ''episode'', ''preference'', ...): a search filter.';

--
-- Name: COLUMN memories.source; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.source IS 'Where the memory came from (an agent, a conversation, an import): a search filter.';

--
-- Name: COLUMN memories.metadata; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.metadata IS 'Free JSON object; searches filter on it by containment.';

--
-- Name: COLUMN memories.embedding; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.embedding IS 'The embedding of content, of the dimension and model in animus.memory_settings; cosine HNSW index.';

--
-- Name: COLUMN memories.fts; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.fts IS 'English tsvector of content (stemmed, stop words removed), GIN-indexed: the keyword branch of search.';

--
-- Name: COLUMN memories.content_hash; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.content_hash IS 'animus.memory_content_hash(content): with namespace, the dedup key of store_memory.';

--
-- Name: COLUMN memories.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.created_at IS 'When the memory was first stored.';

--
-- Name: COLUMN memories.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.updated_at IS 'When it was last stored again or updated.';

--
-- Name: COLUMN memories.expires_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.expires_at IS 'When the memory expires (NULL: never): from then on no search returns it; animus.purge_expired_memories deletes it.';

--
-- Name: COLUMN memories.pinned; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.pinned IS 'A pinned memory never expires and is never due for review.';

--
-- Name: COLUMN memories.superseded_by; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.superseded_by IS 'The newer memory that replaced this one (store_memory(supersedes => ...)); NULL while current. Superseded memories leave searches unless a filter has "include_superseded": true.';

--
-- Name: COLUMN memories.superseded_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.superseded_at IS 'When the memory was superseded (NULL while current).';

--
-- Name: COLUMN memories.owner_role; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.owner_role IS 'The role (pg_roles.oid) that stored the memory; with visibility private or groups, only it (and share_groups) see the memory.';

--
-- Name: COLUMN memories.visibility; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.visibility IS 'Who of the readers of the namespace sees the memory: namespace (all, the default), private (owner_role only), groups (owner_role and members of share_groups).';

--
-- Name: COLUMN memories.share_groups; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.share_groups IS 'With visibility groups: the roles (pg_roles.oid) whose members see the memory.';

--
-- Name: COLUMN memories.embedding_model; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.embedding_model IS 'The registered model the embedding came from (memory_set_embedding); NULL: not known (stored by store_memory, or content changed since).';

--
-- Name: get_memory(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_memory(id bigint DEFAULT NULL::bigint) RETURNS SETOF animus.memories
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m
                  WHERE m.id = get_memory.id
                    AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer());
END
$$;

--
-- Name: FUNCTION get_memory(id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_memory(id bigint) IS 'The memory with this id, as the table row; no row if there is none, it is outside the caller''s read scope (animus.memory_scope(''read'')) or private to another role (visibility private, or groups the caller is not a member of). Expired and superseded memories are returned (see expires_at, superseded_by) until deleted. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001.';

--
-- Name: get_work(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_work(work_id uuid) RETURNS TABLE(id uuid, queue_name text, work_type text, dedup_key text, source text, trigger_info text, params jsonb, priority integer, state text, canonical_id uuid, resolution text, merged_into uuid, waits_for uuid, parent_id uuid, attempts integer, max_attempts integer, msg_id bigint, run_at timestamp with time zone, outcome jsonb, error text, duration_ms double precision, trace_context jsonb, requesters jsonb, requesters_total bigint, merged_submissions jsonb, merged_total bigint, children bigint, steps jsonb, steps_total bigint, created_at timestamp with time zone, updated_at timestamp with time zone, started_at timestamp with time zone, heartbeat_at timestamp with time zone, resolved_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

--
-- Name: FUNCTION get_work(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_work(work_id uuid) IS 'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and the first 99 merged ones, with trace_context, oldest first) and requesters_total (all of them), merged_submissions (the first 100 merged duplicates, each with its own source, trigger_info, params, priority, trace_context) and merged_total (all of them: animus.get_work_submissions pages through every one), the number of children, steps (the first 100 durable steps of the item, or of its canonical item for a merged submission, in the order they last started: name, occurrence, kind step|sleep|event, state running|completed|failed|waiting, attempt, started_at, finished_at, duration_ms, error, wake_at, event_key; animus.get_work_steps returns them all, with results) and steps_total. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

--
-- Name: get_work_steps(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_work_steps(work_id uuid) RETURNS TABLE(step_name text, occurrence integer, kind text, state text, attempt integer, result jsonb, error text, fingerprint text, wake_at timestamp with time zone, event_key text, started_at timestamp with time zone, finished_at timestamp with time zone, duration_ms double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

--
-- Name: FUNCTION get_work_steps(work_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_work_steps(work_id uuid) IS 'Every durable step of work item work_id (of its canonical item, for a merged submission), in the order they last started: step_name, occurrence, kind (step, sleep, event), state (running, completed, failed, waiting), the attempt that last ran it, result (event waits: {"status", "payload"}), error, fingerprint, wake_at (a sleep''s end, an event wait''s deadline), event_key, started_at, finished_at, duration_ms. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

--
-- Name: get_work_submissions(uuid, uuid, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_work_submissions(work_id uuid, after uuid DEFAULT NULL::uuid, page_size integer DEFAULT 100) RETURNS TABLE(id uuid, source text, trigger_info text, params jsonb, priority integer, trace_context jsonb, submitted_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
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

--
-- Name: FUNCTION get_work_submissions(work_id uuid, after uuid, page_size integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_work_submissions(work_id uuid, after uuid, page_size integer) IS 'The submissions merged into work item work_id (or into its canonical item, for a merged submission), oldest first, page_size (1..1000) at a time: pass the last id of a page as after for the next page; an empty page is the end. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (page_size not 1..1000), ZA102 (unknown work item or one in a queue the caller may not use; after not merged into it).';

--
-- Name: grant_memory_namespace(text, text, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL::text, namespace text DEFAULT NULL::text, can_write boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    role_id oid;
BEGIN
    IF role_name IS NULL OR role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name must be a role name',
            HINT = 'Pass the login or group role that may see the namespace.';
    END IF;
    SELECT r.oid INTO role_id FROM pg_catalog.pg_roles AS r WHERE r.rolname = grant_memory_namespace.role_name;
    IF role_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA320', MESSAGE = 'role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(role_name, 80)),
            HINT = 'Create the role first, then grant it namespaces.';
    END IF;
    IF namespace IS NULL OR namespace = '' OR pg_catalog.length(namespace) > 200 OR pg_catalog.strpos(namespace, ',') > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA321', MESSAGE = 'namespace must be non-empty, at most 200 characters, without commas',
            DETAIL = pg_catalog.format('namespace = %L', pg_catalog.left(namespace, 80)),
            HINT = 'Pass the namespace the role may see, or ''*'' for every namespace.';
    END IF;
    -- grants of roles dropped since: they match nobody, and go now
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid);
    INSERT INTO animus.memory_namespace_grants AS g (role_oid, role_name, namespace, can_write)
    VALUES (role_id, grant_memory_namespace.role_name, grant_memory_namespace.namespace, coalesce(grant_memory_namespace.can_write, false))
    ON CONFLICT ON CONSTRAINT memory_namespace_grants_pkey DO UPDATE
       SET can_write = EXCLUDED.can_write, role_name = EXCLUDED.role_name, granted_at = pg_catalog.now(), granted_by = session_user;
END
$$;

--
-- Name: FUNCTION grant_memory_namespace(role_name text, namespace text, can_write boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.grant_memory_namespace(role_name text, namespace text, can_write boolean) IS 'Lets role_name (and its members) read the memories of namespace (''*'' = every namespace), and change them if can_write. Granting again replaces can_write. The grant is kept by role OID: it ends with DROP ROLE and never passes to a later role of the same name (grants of dropped roles are deleted here). animus_admin only. Raises ZA001 (role_name), ZA320 (no such role), ZA321 (namespace).';

--
-- Name: grant_queue(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.grant_queue(role_name text DEFAULT NULL::text, queue text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    r_oid oid;
BEGIN
    IF grant_queue.role_name IS NULL OR grant_queue.role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument role_name must not be NULL or empty',
            HINT = 'Pass the login or group role that may use the queue.';
    END IF;
    IF grant_queue.queue IS NULL OR grant_queue.queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass an existing queue, or ''*'' for every queue.';
    END IF;
    SELECT r.oid INTO r_oid FROM pg_catalog.pg_roles r WHERE r.rolname = grant_queue.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA340', MESSAGE = 'argument role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(grant_queue.role_name, 80)),
            HINT = 'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_worker TO ...), then grant it queues.';
    END IF;
    IF grant_queue.queue <> '*' AND NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = grant_queue.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA341', MESSAGE = 'argument queue names neither a work queue nor ''*''',
            DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(grant_queue.queue, 80)),
            HINT = 'Create the queue first with animus.create_queue, or pass ''*'' for every queue.';
    END IF;
    -- Rows of dropped roles give nothing to anyone (the OID names no role); they are removed here
    -- so that an OID the server might hand out again after wrapping around finds none.
    DELETE FROM animus.queue_grants g WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role_oid);
    INSERT INTO animus.queue_grants AS g (role_oid, queue_name) VALUES (r_oid, grant_queue.queue)
    ON CONFLICT ON CONSTRAINT queue_grants_pkey DO NOTHING;
    RETURN FOUND;
END;
$$;

--
-- Name: FUNCTION grant_queue(role_name text, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.grant_queue(role_name text, queue text) IS 'Lets role_name (and the members that inherit its privileges) use work queue `queue` (''*'' = every queue) with the animus functions its roles may execute: a producer submits there and sees and cancels its items, a worker claims and settles them. The grant is recorded by role OID: a role dropped and created again under the same name has no grant (grants of dropped roles are deleted here). Returns true when the grant is new, false when it existed. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such role), ZA341 (no such queue).';

--
-- Name: health(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.health() RETURNS TABLE(component text, queue_name text, check_name text, value double precision, unit text, status text, warn_at double precision, fail_at double precision, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
#variable_conflict use_column
DECLARE
    q       record;
    oldest  double precision;
    stuck   bigint;
    backlog bigint;
    lag     double precision;
BEGIN
    RETURN QUERY SELECT 'database'::text, NULL::text, 'reachable'::text, 1::double precision, ''::text, 'ok'::text,
                        NULL::double precision, NULL::double precision,
                        pg_catalog.format('database %s on PostgreSQL %s (%s)', pg_catalog.current_database(),
                                          pg_catalog.current_setting('server_version'),
                                          CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'hot standby' ELSE 'primary' END);
    RETURN QUERY SELECT 'database'::text, NULL::text, 'version'::text, NULL::double precision, ''::text, 'ok'::text,
                        NULL::double precision, NULL::double precision, animus.deployed_version();
    IF pg_catalog.pg_is_in_recovery() THEN
        -- NULL until the standby has replayed a transaction; 0 when it has caught up with an idle primary
        lag := CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
                    ELSE extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.pg_last_xact_replay_timestamp()) END;
        RETURN QUERY SELECT 'database'::text, NULL::text, 'replication_lag_sec'::text, lag, h.unit,
                            animus.health_level(lag, h.warn_at, h.fail_at), h.warn_at, h.fail_at,
                            pg_catalog.format('replayed up to %s, received up to %s', pg_catalog.pg_last_wal_replay_lsn(),
                                              pg_catalog.pg_last_wal_receive_lsn())
                       FROM animus.health_thresholds h WHERE h.check_name = 'replication_lag_sec' AND h.queue_name = '*';
    END IF;
    -- One pass over the active and dead items of every queue (the running items' message ids
    -- kept for the stuck check), then per queue one statement on its pgmq table (index probes).
    FOR q IN
        SELECT qq.queue_name AS name, qq.paused_at IS NOT NULL AS paused,
               coalesce(c.queued, 0) AS queued, coalesce(c.running, 0) AS running, coalesce(c.dead, 0) AS dead,
               coalesce(c.running_msgs, '{}') AS running_msgs
          FROM animus.queues qq
          LEFT JOIN (SELECT w.queue_name,
                            count(*) FILTER (WHERE w.state = 'queued') AS queued,
                            count(*) FILTER (WHERE w.state = 'running') AS running,
                            count(*) FILTER (WHERE w.state = 'dead' AND a.work_id IS NULL) AS dead,
                            pg_catalog.array_agg(w.msg_id) FILTER (WHERE w.state = 'running' AND w.msg_id IS NOT NULL) AS running_msgs
                       FROM animus.work_items w
                       LEFT JOIN animus.dead_work_actions a ON a.work_id = w.id AND w.state = 'dead'
                      WHERE w.state IN ('queued', 'running', 'dead')
                      GROUP BY w.queue_name) c ON c.queue_name = qq.queue_name
         WHERE animus.work_queue_allowed(qq.queue_name)
         ORDER BY qq.queue_name
    LOOP
        EXECUTE pg_catalog.format(
            'SELECT (SELECT extract(epoch FROM pg_catalog.clock_timestamp() - min(m.vt)) FROM pgmq.%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()),
                    (SELECT count(*) FROM pgmq.%1$I m WHERE m.msg_id = ANY ($1) AND m.vt <= pg_catalog.clock_timestamp())',
            'q_' || q.name) INTO oldest, stuck USING q.running_msgs;
        RETURN QUERY
        SELECT 'queue'::text, q.name, v.check_name, v.value, h.unit, animus.health_level(v.value, h.warn_at, h.fail_at),
               h.warn_at, h.fail_at, h.meaning
          FROM (VALUES (1, 'backlog', q.queued::double precision), (2, 'oldest_age_sec', coalesce(oldest, 0)),
                       (3, 'running', q.running::double precision), (4, 'dead', q.dead::double precision),
                       (5, 'stuck', stuck::double precision), (6, 'paused', CASE WHEN q.paused THEN 1 ELSE 0 END::double precision))
               AS v(n, check_name, value)
         CROSS JOIN LATERAL (SELECT t.* FROM animus.health_thresholds t
                              WHERE t.check_name = v.check_name AND t.queue_name IN (q.name, '*')
                              ORDER BY t.queue_name = '*' LIMIT 1) h
         ORDER BY v.n;
    END LOOP;
    -- BM25 statistics not yet folded (the table belongs to memory_bm25; read dynamically so that a
    -- later layout of the statistics does not break the health check, it only drops this row).
    -- The sequence's position past the last fold: every namespace, not only the caller's (RLS
    -- narrows the deltas table itself to the caller's namespaces).
    IF pg_catalog.to_regclass('animus.memory_bm25_deltas_id_seq') IS NOT NULL AND pg_catalog.to_regclass('animus.memory_bm25_settings') IS NOT NULL THEN
        EXECUTE 'SELECT greatest(0, CASE WHEN q.is_called THEN q.last_value ELSE q.last_value - 1 END - s.refreshed_through)
                   FROM animus.memory_bm25_deltas_id_seq q, animus.memory_bm25_settings s' INTO backlog;
        RETURN QUERY SELECT 'memory'::text, NULL::text, 'bm25_backlog'::text, backlog::double precision, h.unit,
                            animus.health_level(backlog, h.warn_at, h.fail_at), h.warn_at, h.fail_at, h.meaning
                       FROM animus.health_thresholds h WHERE h.check_name = 'bm25_backlog' AND h.queue_name = '*';
    END IF;
END;
$_$;

--
-- Name: FUNCTION health(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.health() IS 'Health checks, one row each: component database (reachable: always ok when the call returns; version: animus.deployed_version(); replication_lag_sec: only on a hot standby), queue (per queue the caller has a grant on: backlog = queued items, oldest_age_sec = wait of the oldest claimable message, running, dead = dead items not yet retried or discarded, stuck = running items past their claim deadline, paused = 1 while paused), memory (bm25_backlog = BM25 statistics deltas not yet folded). status is ok, warn or fail against animus.health_thresholds (a queue''s own row, else the ''*'' default): fail when value >= fail_at, warn when >= warn_at. Read-only: runs on a hot standby. Cost: one scan of the queued, running and dead work items, and per queue one probe of its pgmq table. Raises nothing of its own.';

--
-- Name: health_level(double precision, double precision, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT CASE WHEN value IS NULL THEN 'ok'
                WHEN fail_at IS NOT NULL AND value >= fail_at THEN 'fail'
                WHEN warn_at IS NOT NULL AND value >= warn_at THEN 'warn'
                ELSE 'ok' END;
$$;

--
-- Name: FUNCTION health_level(value double precision, warn_at double precision, fail_at double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) IS 'fail when value >= fail_at, warn when value >= warn_at, else ok (a NULL value or threshold is never reached). Raises nothing.';

--
-- Name: heartbeat_work(uuid, interval, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.heartbeat_work(work_id uuid, extend interval DEFAULT '00:00:30'::interval, attempt integer DEFAULT NULL::integer) RETURNS TABLE(state text, cancelled boolean, visible_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
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
        IF NOT animus.work_queue_allowed(v_queue) THEN
            PERFORM animus.work_raise_unknown(heartbeat_work.work_id, 'work_id', 'heartbeat_work');   -- undoes the UPDATE
        END IF;
        PERFORM animus.work_queue_set_vt(v_queue, ARRAY[v_msg], ARRAY[v_until]);
        RETURN QUERY SELECT 'running'::text, false, v_until;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = heartbeat_work.work_id AND w.state = 'cancelled'
                  AND (heartbeat_work.attempt IS NULL OR w.attempts = heartbeat_work.attempt)
                  AND animus.work_queue_allowed(w.queue_name)) THEN
        RETURN QUERY SELECT 'cancelled'::text, true, NULL::timestamptz;
        RETURN;
    END IF;
    PERFORM animus.work_raise_not_running(heartbeat_work.work_id, 'heartbeat_work', heartbeat_work.attempt);
END;
$$;

--
-- Name: FUNCTION heartbeat_work(work_id uuid, extend interval, attempt integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) IS 'Extends the visibility timeout of a running item to now + extend and records heartbeat_at. Returns (state, cancelled, visible_until): cancelled = true (and nothing extended) when the item was cancelled meanwhile, so the worker can stop. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (extend not positive), ZA102 (unknown item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued: the claim timed out), ZA104 (already ended or merged).';

--
-- Name: heartbeat_work_batch(uuid[], interval, integer[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval DEFAULT '00:00:30'::interval, attempts integer[] DEFAULT NULL::integer[]) RETURNS TABLE(work_id uuid, status text, visible_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
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

--
-- Name: FUNCTION heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]) IS 'Batch form of heartbeat_work: extends the claims of every running item of work_ids to now + extend (heartbeat_at recorded) in one call, and returns (work_id, status, visible_until) per input id, in input order, instead of raising for one item: status running (extended until visible_until), cancelled (cancel_work meanwhile: stop the handler), stale (attempts[i] given and the item was claimed again since), ended (no longer running: completed, dead, queued again after its claim expired, merged) or unknown (no such item, or one in a queue the caller may not use). Claim fencing: attempts[i] is the attempts read_work returned (NULL element = no check). At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (extend not positive, attempts length differs); nothing is written when it raises.';

--
-- Name: hybrid_search(text, public.vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision, double precision, double precision, interval, double precision, integer, text[], double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.hybrid_search(query_text text DEFAULT NULL::text, query_embedding public.vector DEFAULT NULL::public.vector, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb, text_weight double precision DEFAULT 1, vector_weight double precision DEFAULT 1, rrf_k integer DEFAULT 60, candidates integer DEFAULT NULL::integer, fusion text DEFAULT 'convex'::text, alpha double precision DEFAULT NULL::double precision, retrievability_weight double precision DEFAULT 0, recency_weight double precision DEFAULT 0, recency_half_life interval DEFAULT '30 days'::interval, importance_weight double precision DEFAULT 0, graph_depth integer DEFAULT 0, graph_relations text[] DEFAULT NULL::text[], graph_decay double precision DEFAULT 0.5) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, score double precision, rank bigint, vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
    a double precision;
    weighted boolean;
BEGIN
    PERFORM animus.memory_check_limit(k, 'k');
    IF text_weight IS NULL OR vector_weight IS NULL OR text_weight < 0 OR vector_weight < 0
       OR text_weight = 'Infinity' OR vector_weight = 'Infinity' OR text_weight = 'NaN' OR vector_weight = 'NaN' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'text_weight and vector_weight must be finite numbers >= 0',
            DETAIL = format('text_weight = %s, vector_weight = %s', text_weight, vector_weight),
            HINT = 'Use weights such as 1 and 1; 0 switches a branch off.';
    END IF;
    IF rrf_k IS NULL OR rrf_k < 0 OR rrf_k > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'rrf_k must be between 0 and 10000',
            DETAIL = format('rrf_k = %s', rrf_k), HINT = 'The usual value is 60.';
    END IF;
    IF fusion IS NULL OR fusion NOT IN ('rrf', 'convex') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA228', MESSAGE = 'fusion must be ''rrf'' or ''convex''',
            DETAIL = format('fusion = %s', coalesce(quote_literal(fusion), 'NULL')),
            HINT = 'rrf fuses ranks (text_weight, vector_weight, rrf_k); convex mixes normalised scores (alpha).';
    END IF;
    IF alpha IS NOT NULL AND fusion <> 'convex' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA228', MESSAGE = 'alpha applies only to fusion => ''convex''',
            DETAIL = format('fusion = %L, alpha = %s', fusion, alpha),
            HINT = 'Pass fusion => ''convex'' with alpha, or omit alpha.';
    END IF;
    IF alpha IS NOT NULL AND NOT (alpha >= 0 AND alpha <= 1) THEN   -- NaN fails both
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'alpha must be between 0 and 1',
            DETAIL = format('alpha = %s', alpha),
            HINT = 'alpha is the weight of the vector branch (1 - alpha the keyword branch''s); omit it for the tuned default 0.3.';
    END IF;
    -- The weights and half-life are checked by memory_boost itself (ZA224), on a dummy score.
    PERFORM animus.memory_boost(1, NULL, NULL, NULL, retrievability_weight, recency_weight, recency_half_life, importance_weight);
    IF graph_depth IS NULL OR graph_depth < 0 OR graph_depth > 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'graph_depth must be between 0 and 5',
            DETAIL = format('graph_depth = %s', coalesce(graph_depth::text, 'NULL')),
            HINT = '0 (the default) switches the graph step off; 1 adds the direct neighbours of the top hits.';
    END IF;
    IF graph_decay IS NULL OR NOT (graph_decay > 0 AND graph_decay <= 1) THEN   -- NaN fails
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'graph_decay must be in (0, 1]',
            DETAIL = format('graph_decay = %s', coalesce(graph_decay::text, 'NULL')),
            HINT = 'The default 0.5 halves a neighbour''s score per link.';
    END IF;
    IF graph_relations IS NOT NULL THEN
        PERFORM animus.memory_check_graph_args(1, graph_relations);   -- ZA221: 1 to 100 relations
    END IF;
    weighted := retrievability_weight > 0 OR recency_weight > 0 OR importance_weight > 0 OR graph_depth > 0;
    a := coalesce(alpha, 0.3);   -- tuned on NFCorpus dev (docs/memory.md, "Fusion")
    -- 3k rows per branch (at least 30, at most 1000): on nfcorpus dev a top-10 fused from 30
    -- candidates per branch scores as 100 do, at a fraction of the work (docs/bm25.md).
    n := coalesce(candidates, least(greatest(3 * k, 30), 1000));
    IF n < k OR n > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'candidates must be between k and 1000',
            DETAIL = format('candidates = %s, k = %s', n, k),
            HINT = 'Omit it for max(3k, 30) (at most 1000), the number of rows each branch contributes to the fusion.';
    END IF;
    use_text := query_text IS NOT NULL AND btrim(query_text) <> '' AND text_weight > 0;
    use_vector := query_embedding IS NOT NULL AND vector_weight > 0;
    IF NOT use_text AND NOT use_vector THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = 'hybrid_search needs query_text or query_embedding (with a weight > 0)',
            HINT = 'Pass the query text, its embedding, or both.';
    END IF;
    IF use_vector THEN
        PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    END IF;
    f := animus.memory_read_filters(filters);   -- checked, then confined to the read scope

    IF NOT weighted THEN
        -- The defaults: exactly the ranking of before (the same statement).
        RETURN QUERY
        WITH fused AS (
            SELECT * FROM animus.memory_hybrid_fuse(query_text, query_embedding, f, n, use_text, use_vector,
                                                    fusion, a, text_weight, vector_weight, rrf_k)
        )
        -- The fused rows in their final order, joined to their memories in that order (a nested loop
        -- keeps it), so LIMIT k stops after about k primary-key probes instead of one per candidate.
        SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
               fu.score, row_number() OVER (ORDER BY fu.score DESC, fu.best, fu.id),
               fu.vr, fu.tr, fu.distance, fu.ts
          FROM (SELECT * FROM fused ORDER BY fused.score DESC, fused.best, fused.id) AS fu
          JOIN animus.memories AS m ON m.id = fu.id
         ORDER BY fu.score DESC, fu.best, fu.id
         LIMIT k;
        RETURN;
    END IF;

    -- Weighting and the graph step (docs/memory-lifecycle.md, "Weighting and the graph step"):
    -- every fused candidate's score becomes memory_boost(score, R, now() - updated_at, importance)
    -- (R: FSRS retrievability now, 1 when never reviewed; importance: metadata->>'importance' when
    -- it is a number, else 1), re-ranked; then the neighbours of the top k, graph_depth links away,
    -- join with score = hit score x link weight x graph_decay per link (memory_graph_expand), the
    -- better score kept when a neighbour is a candidate too; they pass the same filter.
    RETURN QUERY
    WITH fused AS (
        SELECT * FROM animus.memory_hybrid_fuse(query_text, query_embedding, f, n, use_text, use_vector,
                                                fusion, a, text_weight, vector_weight, rrf_k)
    ), boosted AS (
        SELECT fu.id, animus.memory_boost(fu.score,
                   animus.memory_retrievability(r.stability, extract(epoch FROM now() - r.last_review)::double precision / 86400),
                   now() - m.updated_at,
                   CASE WHEN jsonb_typeof(m.metadata -> 'importance') = 'number' THEN (m.metadata ->> 'importance')::double precision END,
                   retrievability_weight, recency_weight, recency_half_life, importance_weight) AS score,
               fu.vr, fu.tr, fu.best, fu.distance, fu.ts
          FROM fused AS fu
          JOIN animus.memories AS m ON m.id = fu.id
          LEFT JOIN animus.memory_reviews AS r ON r.memory_id = fu.id
    ), top AS (
        SELECT b.id, b.score FROM boosted AS b ORDER BY b.score DESC, b.best, b.id LIMIT k
    ), graph AS (
        SELECT g.memory_id AS id, g.score
          FROM (SELECT coalesce(array_agg(t.id ORDER BY t.score DESC, t.id), '{}') AS ids,
                       coalesce(array_agg(t.score ORDER BY t.score DESC, t.id), '{}') AS scores
                  FROM top AS t
                HAVING graph_depth > 0) AS h
         CROSS JOIN LATERAL animus.memory_graph_expand(h.ids, h.scores, greatest(graph_depth, 1), graph_relations, graph_decay) AS g
          JOIN animus.memories AS m ON m.id = g.memory_id
         WHERE animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
    ), ranked AS (
        SELECT coalesce(b.id, g.id) AS id, greatest(b.score, g.score) AS score,
               b.vr, b.tr, b.best, b.distance, b.ts
          FROM boosted AS b FULL JOIN graph AS g ON g.id = b.id
    )
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           ra.score, row_number() OVER (ORDER BY ra.score DESC, ra.best NULLS LAST, ra.id),
           ra.vr, ra.tr, ra.distance, ra.ts
      FROM (SELECT * FROM ranked ORDER BY ranked.score DESC, ranked.best NULLS LAST, ranked.id LIMIT k) AS ra
      JOIN animus.memories AS m ON m.id = ra.id
     ORDER BY ra.score DESC, ra.best NULLS LAST, ra.id;
END
$$;

--
-- Name: FUNCTION hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision) IS 'Vector and keyword search fused in one statement: each branch contributes its best candidates (default max(3k, 30), at most 1000). fusion => ''rrf'' (Reciprocal Rank Fusion): score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank); fusion => ''convex'': score = vector_weight * alpha * (2 - distance) / (2 - min distance) + text_weight * (1 - alpha) * text_score / max text_score (theoretical-min-max normalisation; 0 for a row a branch did not return; alpha default 0.3). The default is convex: it beat RRF on NFCorpus dev. Optional weighting (all 0 by default, each in [0, 1]): score x (1 - wr + wr R) x (1 - wc + wc 0.5^(age / recency_half_life)) x (1 - wi + wi I), R the FSRS retrievability now (1 if never reviewed), age now() - updated_at, I metadata->>''importance'' clamped to [0, 1] (1 if unset): animus.memory_boost. Optional graph step (graph_depth 1..5, 0 = off, the default): the neighbours of the top k (links in either direction, graph_relations NULL = all) that pass the filter join with score = hit score x link weight x graph_decay per link (memory_graph_expand), vector_rank and text_rank NULL unless the neighbour is a candidate too (the better score kept). With the defaults the ranking is that of v0.7.0. A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k, alpha, graph_decay out of range), ZA221 (graph_depth, graph_relations), ZA224 (retrievability_weight, recency_weight, importance_weight outside [0, 1], recency_half_life <= 0), ZA228 (unknown fusion, alpha without convex), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';

--
-- Name: memory_links; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_links (
    source_id bigint NOT NULL,
    target_id bigint NOT NULL,
    relation text NOT NULL,
    weight double precision DEFAULT 1 NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_links_check CHECK ((source_id <> target_id)),
    CONSTRAINT memory_links_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT memory_links_relation_check CHECK ((relation ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT memory_links_weight_check CHECK (((weight > (0)::double precision) AND (weight <= (1000)::double precision)))
);

--
-- Name: TABLE memory_links; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_links IS 'Directed, typed, weighted links between memories; removed with either memory. Read through memory_neighbors.';

--
-- Name: COLUMN memory_links.source_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.source_id IS 'The memory the link starts from.';

--
-- Name: COLUMN memory_links.target_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.target_id IS 'The memory the link points to.';

--
-- Name: COLUMN memory_links.relation; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.relation IS 'The kind of link: a lower-case identifier such as related, cites, contradicts, part_of.';

--
-- Name: COLUMN memory_links.weight; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.weight IS 'Strength of the link, in (0, 1000]; memory_graph_expand multiplies scores by it.';

--
-- Name: COLUMN memory_links.metadata; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.metadata IS 'Free JSON object about the link (who made it, why).';

--
-- Name: COLUMN memory_links.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_links.created_at IS 'When the link was made (kept when link_memories is called again).';

--
-- Name: link_memories(bigint, bigint, text, double precision, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.link_memories(source bigint DEFAULT NULL::bigint, target bigint DEFAULT NULL::bigint, relation text DEFAULT 'related'::text, weight double precision DEFAULT 1, metadata jsonb DEFAULT '{}'::jsonb) RETURNS SETOF animus.memory_links
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF link_memories.source IS NULL OR link_memories.target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'source and target must not be NULL',
            HINT = 'Pass the ids of the two memories to link.';
    END IF;
    IF link_memories.source = link_memories.target THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'source and target must be different memories',
            DETAIL = pg_catalog.format('source = target = %s', link_memories.source), HINT = 'Link two different memories.';
    END IF;
    IF link_memories.relation IS NULL OR link_memories.relation !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'relation must be a lower-case identifier (a-z, 0-9, _; at most 63 characters)',
            DETAIL = pg_catalog.format('relation = %L', pg_catalog.left(link_memories.relation, 80)),
            HINT = 'Use e.g. ''related'', ''cites'', ''contradicts'', ''part_of''.';
    END IF;
    IF link_memories.weight IS NULL OR NOT (link_memories.weight > 0 AND link_memories.weight <= 1000) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'weight must be a number in (0, 1000]',
            DETAIL = pg_catalog.format('weight = %s', link_memories.weight), HINT = 'The usual weight is 1.';
    END IF;
    IF link_memories.metadata IS NULL OR pg_catalog.jsonb_typeof(link_memories.metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'metadata must be a JSON object',
            DETAIL = pg_catalog.format('metadata = %s', pg_catalog.left(link_memories.metadata::text, 200)),
            HINT = 'Pass an object such as {"by": "agent-1"}, or omit it.';
    END IF;
    -- the source in the write scope, both visible to the caller; anything else is "not found"
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = link_memories.source AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s (source)', link_memories.source),
            HINT = 'Link from a memory of a namespace you may write.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = link_memories.target
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s (target)', link_memories.target),
            HINT = 'Link to a memory you can read.';
    END IF;
    RETURN QUERY
    INSERT INTO animus.memory_links AS l (source_id, target_id, relation, weight, metadata)
    VALUES (link_memories.source, link_memories.target, link_memories.relation, link_memories.weight, link_memories.metadata)
    ON CONFLICT ON CONSTRAINT memory_links_pkey DO UPDATE
       SET weight = EXCLUDED.weight, metadata = EXCLUDED.metadata
    RETURNING l.*;
END
$_$;

--
-- Name: FUNCTION link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb) IS 'Links memory source to memory target with a relation (lower-case identifier, default related), a weight in (0, 1000] and metadata, and returns the link; again for the same (source, target, relation) updates weight and metadata. The source must be in the caller''s write scope, both memories visible to the caller. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA207 (unknown or invisible memory), ZA220 (self link, relation, weight, metadata).';

--
-- Name: list_dead_work(text, integer, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.list_dead_work(queue text DEFAULT NULL::text, page_size integer DEFAULT 100, before timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(work_id uuid, queue_name text, work_type text, source text, trigger_info text, params jsonb, attempts integer, max_attempts integer, error text, dead_at timestamp with time zone, created_at timestamp with time zone, trace_context jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
BEGIN
    IF list_dead_work.page_size IS NULL OR list_dead_work.page_size NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA167', MESSAGE = 'argument page_size must be between 1 and 1000',
            DETAIL = pg_catalog.format('page_size = %s', coalesce(list_dead_work.page_size::text, 'NULL')),
            HINT = 'Pass page_size between 1 and 1000; page with before => the last dead_at of a page.';
    END IF;
    IF list_dead_work.queue IS NOT NULL THEN
        PERFORM animus.ops_check_queue(list_dead_work.queue);
    END IF;
    RETURN QUERY
    SELECT w.id, w.queue_name, w.work_type, w.source, w.trigger_info, w.params, w.attempts, w.max_attempts,
           w.error, w.resolved_at, w.created_at, w.trace_context
      FROM animus.work_items w
     WHERE w.state = 'dead'
       AND (list_dead_work.queue IS NULL OR w.queue_name = list_dead_work.queue)
       AND (list_dead_work.before IS NULL OR w.resolved_at < list_dead_work.before)
       AND animus.work_queue_allowed(w.queue_name)
       AND NOT EXISTS (SELECT 1 FROM animus.dead_work_actions a WHERE a.work_id = w.id)
     ORDER BY w.resolved_at DESC, w.id DESC
     LIMIT list_dead_work.page_size;
END;
$$;

--
-- Name: FUNCTION list_dead_work(queue text, page_size integer, before timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.list_dead_work(queue text, page_size integer, before timestamp with time zone) IS 'The dead work items not yet retried or discarded, newest death first (dead_at = resolved_at), of queue (NULL: every queue the caller has a grant on): id, provenance, params, attempts, the last error, trace_context. At most page_size (1-1000, default 100); the next page: before => the last dead_at. Scans the dead items (no index of its own: the work tables stay write-lean). Raises ZA167 (page_size), ZA109 (no grant on queue), ZA101 (no such queue).';

--
-- Name: list_schedules(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.list_schedules(queue text DEFAULT NULL::text) RETURNS TABLE(name text, queue_name text, work_type text, cron text, every interval, start_at timestamp with time zone, timezone text, params jsonb, priority integer, max_attempts integer, period_key text, catchup text, max_catchup integer, paused boolean, next_run_at timestamp with time zone, last_period_at timestamp with time zone, last_work_id uuid, submitted_count bigint, skipped_count bigint, last_error text, last_error_at timestamp with time zone, created_by text, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT s.name, s.queue_name, s.work_type, s.cron, s.every, s.start_at, s.timezone, s.params, s.priority, s.max_attempts,
           s.period_key, s.catchup, s.max_catchup, s.paused, s.next_run_at, s.last_period_at, s.last_work_id,
           s.submitted_count, s.skipped_count, s.last_error, s.last_error_at,
           coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = s.created_by), s.created_by::text),
           s.created_at, s.updated_at
      FROM animus.schedules s
     WHERE (list_schedules.queue IS NULL OR s.queue_name = list_schedules.queue)
       AND animus.work_queue_allowed(s.queue_name)
     ORDER BY s.name;
$$;

--
-- Name: FUNCTION list_schedules(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.list_schedules(queue text) IS 'The schedules of queue `queue` (NULL: every queue) that the caller may use, by name, with next_run_at, counters and last_error. Raises nothing.';

--
-- Name: memory_apply_lifecycle(bigint, timestamp with time zone, interval, boolean, bigint[], text, text[], text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_apply_lifecycle(memory_id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], scope text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    cur animus.memories%ROWTYPE;
    expiry timestamptz;
    group_oids oid[];
    bad bigint;
    bad_name text;
    viewer jsonb := animus.memory_viewer();
BEGIN
    SELECT m.* INTO STRICT cur FROM animus.memories AS m WHERE m.id = memory_id FOR UPDATE;
    IF expires_at IS NOT NULL AND ttl IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'expires_at and ttl must not both be given',
            DETAIL = format('expires_at = %s, ttl = %s', expires_at, ttl),
            HINT = 'Pass one of them: ttl => ''30 days'' or expires_at => a time in the future.';
    END IF;
    IF ttl IS NOT NULL AND ttl <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'ttl must be a positive interval',
            DETAIL = format('ttl = %s', ttl), HINT = 'Pass e.g. ttl => ''30 days''.';
    END IF;
    expiry := coalesce(expires_at, now() + ttl);
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'expires_at must be in the future',
            DETAIL = format('expires_at = %s, now = %s', expires_at, now()),
            HINT = 'Pass a time after now, or delete the memory instead.';
    END IF;
    IF expiry IS NOT NULL AND coalesce(pinned, cur.pinned) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA216', MESSAGE = 'a pinned memory cannot expire (expires_at / ttl with pinned)',
            DETAIL = format('memory %s, expires_at = %s', memory_id, expiry),
            HINT = 'Unpin it (pinned => false) to give it an expiry.';
    END IF;
    IF (visibility IS NOT NULL OR groups IS NOT NULL) AND viewer IS NOT NULL AND cur.owner_role IS NOT NULL
       AND cur.owner_role::text <> viewer ->> 'role' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = pg_catalog.format('only the owner of memory %s changes its visibility', memory_id),
            HINT = 'Ask its owner (or an animus_admin) to share it.';
    END IF;
    IF visibility IS NOT NULL AND visibility NOT IN ('namespace', 'private', 'groups') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'visibility must be namespace, private or groups',
            DETAIL = format('visibility = %L', left(visibility, 40)),
            HINT = 'namespace: every reader of the namespace; private: you only; groups: you and members of groups.';
    END IF;
    IF (coalesce(visibility, cur.visibility) = 'groups') <> (groups IS NOT NULL OR (visibility IS NULL AND cardinality(cur.share_groups) > 0)) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'groups go with visibility ''groups'', and only with it',
            DETAIL = format('visibility = %L, groups = %s', coalesce(visibility, cur.visibility), groups),
            HINT = 'Pass visibility => ''groups'' with groups => ARRAY[''role'', ...].';
    END IF;
    IF groups IS NOT NULL THEN
        IF cardinality(groups) = 0 OR cardinality(groups) > 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA218', MESSAGE = 'groups must name 1 to 100 roles',
                DETAIL = format('groups has %s names', cardinality(groups)),
                HINT = 'Share with a few group roles; make people members of them.';
        END IF;
        SELECT g INTO bad_name FROM unnest(groups) AS g
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.rolname = g) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA219', MESSAGE = format('groups names %L, which is not a role', left(bad_name, 80)),
                HINT = 'Name existing roles; their members see the memory.';
        END IF;
        group_oids := ARRAY(SELECT DISTINCT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY (groups) ORDER BY 1);
    END IF;
    IF supersedes IS NOT NULL THEN
        IF cardinality(supersedes) > 1000 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA215', MESSAGE = 'supersedes must hold at most 1000 ids',
                DETAIL = format('supersedes holds %s ids', cardinality(supersedes)), HINT = 'Supersede in several calls.';
        END IF;
        IF memory_id = ANY (supersedes) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217', MESSAGE = format('memory %s cannot supersede itself', memory_id),
                DETAIL = 'The stored content equals that of a memory in supersedes (the same memory).',
                HINT = 'Supersede older memories only.';
        END IF;
        -- unknown, invisible or not writable: reported as not found, like get_memory does
        SELECT s INTO bad FROM unnest(supersedes) AS s
         WHERE s IS NULL OR NOT EXISTS (
               SELECT 1 FROM animus.memories AS m
                WHERE m.id = s AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
                  AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer))
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = format('supersedes names memory %s, which does not exist', coalesce(bad::text, 'NULL')),
                HINT = 'Pass ids of memories you may write; nothing was stored.';
        END IF;
        SELECT m.id INTO bad FROM animus.memories AS m
         WHERE m.id = ANY (supersedes) AND m.namespace <> cur.namespace LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217',
                MESSAGE = format('memory %s is in another namespace than %L and cannot be superseded by it', bad, left(cur.namespace, 80)),
                HINT = 'A memory supersedes memories of its own namespace only.';
        END IF;
        -- a cycle: this memory is (transitively) superseded by one of them
        WITH RECURSIVE ahead (id) AS (
            SELECT m.superseded_by FROM animus.memories AS m WHERE m.id = memory_id AND m.superseded_by IS NOT NULL
            UNION
            SELECT m.superseded_by FROM animus.memories AS m JOIN ahead AS a ON m.id = a.id WHERE m.superseded_by IS NOT NULL
        )
        SELECT a.id INTO bad FROM ahead AS a WHERE a.id = ANY (supersedes) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA217',
                MESSAGE = format('memory %s already supersedes memory %s (a supersession cycle)', bad, memory_id),
                HINT = 'Supersede older memories only.';
        END IF;
        UPDATE animus.memories AS m SET superseded_by = memory_id, superseded_at = now()
         WHERE m.id = ANY (supersedes) AND m.superseded_by IS DISTINCT FROM memory_id;
    END IF;
    UPDATE animus.memories AS m
       SET expires_at   = CASE WHEN coalesce(memory_apply_lifecycle.pinned, false) THEN NULL ELSE coalesce(expiry, m.expires_at) END,
           pinned       = coalesce(memory_apply_lifecycle.pinned, m.pinned),
           owner_role   = coalesce(m.owner_role, (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = animus.memory_caller())),
           visibility   = coalesce(memory_apply_lifecycle.visibility, m.visibility),
           share_groups = CASE WHEN coalesce(memory_apply_lifecycle.visibility, m.visibility) = 'groups'
                               THEN coalesce(group_oids, m.share_groups) ELSE '{}' END
     WHERE m.id = memory_id;
END
$$;

--
-- Name: FUNCTION memory_apply_lifecycle(memory_id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], scope text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_apply_lifecycle(memory_id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], scope text[]) IS 'Internal to store_memory and update_memory_lifecycle: checks and sets expiry, pinning, supersession and sharing of memory memory_id (the caller''s write scope is scope). Granted to nobody. Raises ZA207, ZA215, ZA216, ZA217, ZA218, ZA219.';

--
-- Name: memory_begin_bulk_load(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_begin_bulk_load() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'a bulk load cannot start while re-embedding is in progress',
            HINT = 'Finish re-embedding with animus.memory_finish_reembedding() first (it has no vector index to drop).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL
       AND pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is already in progress (the vector index is dropped)',
            HINT = 'Load with animus.store_memories(), then call animus.memory_finish_bulk_load().';
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    DROP INDEX IF EXISTS animus.memories_fts_gin;
    DROP INDEX IF EXISTS animus.memories_metadata_gin;
    -- The BM25 postings (~44 per memory) keep being written by the triggers, so keyword search
    -- stays exact during the load; only their two btree indexes go, and the index of the pending
    -- statistic deltas, all rebuilt once at the finish. Its absence tells the writes not to fold
    -- the deltas (memory_bm25_index): the finish folds the whole load's at once.
    DROP INDEX IF EXISTS animus.memory_terms_memory_term_idx;
    DROP INDEX IF EXISTS animus.memory_terms_impact_idx;
    DROP INDEX IF EXISTS animus.memory_bm25_deltas_key_idx;
    -- The memories loaded from here on (ids above the largest so far: no writer is in flight under
    -- this lock) write no per-term statistic deltas (memory_bm25_index): the finish folds their
    -- postings once. A statistic row per (namespace, term) per batch was most of the deltas.
    UPDATE animus.memory_bm25_settings SET bulk_from = coalesce((SELECT pg_catalog.max(m.id) FROM animus.memories m), 0);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_begin_bulk_load(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_begin_bulk_load() IS 'Starts a bulk load: drops the vector index (HNSW or IVFFlat) and the fts / metadata GIN indexes of animus.memories and the two btree indexes of the BM25 postings animus.memory_terms and the index of animus.memory_bm25_deltas (rebuilt by animus.memory_finish_bulk_load()); marks the memories loaded from then on (memory_bm25_settings.bulk_from: no per-term BM25 deltas, folded at the finish); returns the number of memories. Load with store_memories in between. Raises ZA209 (re-embedding in progress), ZA212 (a bulk load is already in progress).';

--
-- Name: memory_begin_reembedding(text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_begin_reembedding(embedding_model text DEFAULT NULL::text, embedding_dim integer DEFAULT NULL::integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
    new_dim integer;
    n bigint;
BEGIN
    IF embedding_model IS NULL OR pg_catalog.btrim(embedding_model) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding_model must be a non-empty string',
            HINT = 'Pass the name of the new embedding model, e.g. ''text-embedding-3-small''.';
    END IF;
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    new_dim := coalesce(memory_begin_reembedding.embedding_dim, settings.embedding_dim);
    IF new_dim < 1 OR new_dim > 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'embedding_dim must be between 1 and 2000',
            DETAIL = pg_catalog.format('embedding_dim = %s', new_dim),
            HINT = 'HNSW and IVFFlat index vectors of at most 2,000 dimensions.';
    END IF;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 're-embedding is already in progress',
            DETAIL = pg_catalog.format('target model %s, %s dimensions', settings.embedding_model, settings.embedding_dim),
            HINT = 'Store the missing embeddings and call animus.memory_finish_reembedding().';
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL
       AND pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is in progress (the vector index is dropped)',
            HINT = 'Finish it with animus.memory_finish_bulk_load() first.';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';

    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    ALTER TABLE animus.memories ALTER COLUMN embedding DROP NOT NULL;
    EXECUTE pg_catalog.format('ALTER TABLE animus.memories ALTER COLUMN embedding TYPE %I.vector(%s) USING NULL',
                              vector_schema, new_dim);
    -- a new column type brings the type's default storage back (EXTERNAL): see memory_table
    ALTER TABLE animus.memories ALTER COLUMN embedding SET STORAGE MAIN;
    UPDATE animus.memory_settings
       SET embedding_model = memory_begin_reembedding.embedding_model, embedding_dim = new_dim,
           state = 'reembedding', updated_at = pg_catalog.now();
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_begin_reembedding(embedding_model text, embedding_dim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) IS 'Starts a change of embedding model: records the model and dimension (NULL keeps the dimension), clears every embedding (re-typing the column to vector(embedding_dim)) and drops the vector index (HNSW or IVFFlat); returns how many memories need a new embedding. Raises ZA001, ZA002 (dimension outside 1..2000), ZA209 (already re-embedding), ZA212 (a bulk load is in progress).';

--
-- Name: memory_bm25_after_delete(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM animus.memory_bm25_unindex(pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts))
    FROM old_rows o HAVING count(*) > 0;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_delete(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_delete() IS 'Trigger (statement level, AFTER DELETE ON animus.memories): removes the postings and statistics of deleted memories. Raises nothing.';

--
-- Name: memory_bm25_after_insert(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts))
    FROM new_rows n HAVING count(*) > 0;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_insert(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_insert() IS 'Trigger (statement level, AFTER INSERT ON animus.memories): BM25 postings and statistics of the new memories. Raises nothing.';

--
-- Name: memory_bm25_after_truncate(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    TRUNCATE animus.memory_terms, animus.memory_bm25_deltas, animus.memory_bm25_term_stats, animus.memory_bm25_namespace_stats;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_truncate(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_truncate() IS 'Trigger (AFTER TRUNCATE ON animus.memories): empties the BM25 postings and statistics. Raises nothing.';

--
-- Name: memory_bm25_after_update(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    ids bigint[]; old_ns text[]; old_fts tsvector[]; new_ns text[]; new_fts tsvector[];
BEGIN
    -- Only memories whose words or namespace changed (store_memory's dedup touches neither).
    SELECT pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts),
           pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts)
      INTO ids, old_ns, old_fts, new_ns, new_fts
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.fts IS DISTINCT FROM n.fts OR o.namespace IS DISTINCT FROM n.namespace;
    IF ids IS NOT NULL THEN
        PERFORM animus.memory_bm25_unindex(ids, old_ns, old_fts);
        PERFORM animus.memory_bm25_index(ids, new_ns, new_fts);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_update(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_update() IS 'Trigger (statement level, AFTER UPDATE ON animus.memories): re-indexes memories whose fts or namespace changed. Raises nothing.';

--
-- Name: memory_bm25_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_settings (
    singleton boolean DEFAULT true NOT NULL,
    k1 double precision DEFAULT 1.2 NOT NULL,
    b double precision DEFAULT 0.75 NOT NULL,
    postings_budget integer DEFAULT 16000 NOT NULL,
    max_postings_budget integer DEFAULT 16000 NOT NULL,
    rescore_extra integer DEFAULT 190 NOT NULL,
    refresh_after integer DEFAULT 20000 NOT NULL,
    refreshed_through bigint DEFAULT 0 NOT NULL,
    bulk_from bigint,
    CONSTRAINT memory_bm25_settings_b CHECK (((b >= (0)::double precision) AND (b <= (1)::double precision))),
    CONSTRAINT memory_bm25_settings_budget CHECK (((postings_budget >= 1) AND (max_postings_budget >= postings_budget) AND (rescore_extra >= 0))),
    CONSTRAINT memory_bm25_settings_k1 CHECK (((k1 > (0)::double precision) AND (k1 <= (10)::double precision))),
    CONSTRAINT memory_bm25_settings_refresh CHECK ((refresh_after >= 0)),
    CONSTRAINT memory_bm25_settings_singleton_check CHECK (singleton)
);

--
-- Name: TABLE memory_bm25_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_settings IS 'BM25 settings (one row; change with animus.memory_bm25_configure): k1, b; postings_budget = postings of whole lists a query may read (max_postings_budget: up to which it grows, x4 a round, while the result is not proven exact); rescore_extra = candidates beyond lim completed exactly; refresh_after = pending delta rows that make a write fold the statistics; refreshed_through = last delta id folded.';

--
-- Name: COLUMN memory_bm25_settings.singleton; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.singleton IS 'Always true: the table has one row.';

--
-- Name: COLUMN memory_bm25_settings.k1; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.k1 IS 'BM25 term-frequency saturation (default 1.2).';

--
-- Name: COLUMN memory_bm25_settings.b; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.b IS 'BM25 length normalisation (default 0.75).';

--
-- Name: COLUMN memory_bm25_settings.postings_budget; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.postings_budget IS 'Postings of whole lists a keyword query reads, rarest terms first (default 16000).';

--
-- Name: COLUMN memory_bm25_settings.max_postings_budget; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.max_postings_budget IS 'When above postings_budget: a query whose top-k is not proven exact retries with 4x the budget, up to this.';

--
-- Name: COLUMN memory_bm25_settings.rescore_extra; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.rescore_extra IS 'Candidates beyond the limit whose scores are completed exactly before the final ranking (default 190).';

--
-- Name: COLUMN memory_bm25_settings.refresh_after; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.refresh_after IS 'Pending statistic rows (animus.memory_bm25_deltas) after which a write folds them into the statistics (0: only explicit refreshes).';

--
-- Name: COLUMN memory_bm25_settings.refreshed_through; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.refreshed_through IS 'The last memory_bm25_deltas id folded into the statistics.';

--
-- Name: COLUMN memory_bm25_settings.bulk_from; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_settings.bulk_from IS 'During a bulk load: the largest memory id before it began (memories above it have no per-term deltas until memory_finish_bulk_load folds their postings); NULL otherwise.';

--
-- Name: memory_bm25_configure(double precision, double precision, integer, integer, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_configure(k1 double precision DEFAULT NULL::double precision, b double precision DEFAULT NULL::double precision, postings_budget integer DEFAULT NULL::integer, max_postings_budget integer DEFAULT NULL::integer, rescore_extra integer DEFAULT NULL::integer, refresh_after integer DEFAULT NULL::integer) RETURNS animus.memory_bm25_settings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    cur animus.memory_bm25_settings;
    nxt animus.memory_bm25_settings;
BEGIN
    SELECT * INTO cur FROM animus.memory_bm25_settings FOR UPDATE;
    nxt := cur;
    nxt.k1 := coalesce(k1, cur.k1);
    nxt.b := coalesce(b, cur.b);
    nxt.postings_budget := coalesce(postings_budget, cur.postings_budget);
    nxt.max_postings_budget := greatest(coalesce(max_postings_budget, cur.max_postings_budget), nxt.postings_budget);
    nxt.rescore_extra := coalesce(rescore_extra, cur.rescore_extra);
    nxt.refresh_after := coalesce(refresh_after, cur.refresh_after);
    IF nxt.k1 = 'NaN' OR nxt.k1 <= 0 OR nxt.k1 > 10 OR nxt.b = 'NaN' OR nxt.b < 0 OR nxt.b > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280', MESSAGE = 'k1 must be in (0, 10] and b in [0, 1]',
            DETAIL = pg_catalog.format('k1 = %s, b = %s', nxt.k1, nxt.b),
            HINT = 'Usual values: k1 = 1.2, b = 0.75 (the default) or k1 = 0.9, b = 0.4.';
    END IF;
    IF nxt.postings_budget < 1 OR nxt.rescore_extra < 0 OR nxt.refresh_after < 0 OR nxt.max_postings_budget > 100000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280',
            MESSAGE = 'postings_budget must be >= 1 (max_postings_budget <= 100000000), rescore_extra and refresh_after >= 0',
            DETAIL = pg_catalog.format('postings_budget = %s, max_postings_budget = %s, rescore_extra = %s, refresh_after = %s',
                                       nxt.postings_budget, nxt.max_postings_budget, nxt.rescore_extra, nxt.refresh_after),
            HINT = 'See docs/bm25.md, "Settings", for what each one trades.';
    END IF;
    UPDATE animus.memory_bm25_settings AS t
       SET k1 = nxt.k1, b = nxt.b, postings_budget = nxt.postings_budget, max_postings_budget = nxt.max_postings_budget,
           rescore_extra = nxt.rescore_extra, refresh_after = nxt.refresh_after
     RETURNING t.* INTO nxt;
    RETURN nxt;
END
$$;

--
-- Name: FUNCTION memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) IS 'Changes BM25 settings (NULL keeps a value) and returns them. Runs as the owner (SECURITY DEFINER; animus_admin only). Scores use the new k1/b at once; the impact order of existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';

--
-- Name: memory_bm25_index(bigint[], text[], tsvector[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.memory_bm25_settings;
    backlog bigint;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        -- the length inline: animus.bm25_doc_len has a SET clause, so it ran as its own statement
        -- per memory (0.2 s of a 2,000-memory batch)
        SELECT d.id, d.namespace, d.fts,
               (SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer
                  FROM pg_catalog.unnest(d.fts) AS u) AS doc_len
        FROM unnest(ids, namespaces, vectors) AS d(id, namespace, fts)
    ), norm AS (
        -- The average length the impacts are computed with: the namespace's folded statistics,
        -- else (a new namespace) this statement's own memories.
        SELECT d.namespace,
               coalesce(max(ns.total_len::float8 / NULLIF(ns.docs, 0)), NULLIF(avg(d.doc_len), 0), 1)::float8 AS avgdl
        FROM docs d LEFT JOIN animus.memory_bm25_namespace_stats ns ON ns.namespace = d.namespace
        GROUP BY d.namespace
    ), postings AS (
        INSERT INTO animus.memory_terms (memory_id, namespace, term, tf, doc_len, impact)
        SELECT d.id, d.namespace, u.lexeme, coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len,
               animus.bm25_tf_weight(coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len, n.avgdl, s.k1, s.b)
        FROM docs d JOIN norm n ON n.namespace = d.namespace CROSS JOIN LATERAL pg_catalog.unnest(d.fts) AS u
        RETURNING memory_id, namespace, term, tf, doc_len
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len, max_tf, min_len_ratio)
    SELECT p.namespace, p.term, count(*), 0, max(p.tf), min(p.doc_len::double precision / p.tf)
      FROM postings p
     -- a bulk load's memories: no per-term deltas (~16 per memory, more rows than the load's
     -- statistics); searches count their postings, memory_finish_bulk_load folds them once
     WHERE s.bulk_from IS NULL OR p.memory_id <= s.bulk_from
     GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len), NULL, NULL FROM docs d GROUP BY d.namespace;

    -- Past refresh_after pending rows a write folds them, unless a refresh is running; past four
    -- times that it waits for the running one and folds, so the backlog (which every search adds
    -- up) stays bounded even while refreshes keep colliding.
    -- Not during a bulk load (memory_finish_bulk_load folds once): a fold per batch upserts the
    -- statistics of every (namespace, term) the batch touched, again and again (measured: the load
    -- part twice as long as loading and folding once). Searches during the load stay exact (they
    -- add the pending deltas and count the loaded postings), only slower.
    IF s.refresh_after > 0 AND s.bulk_from IS NULL THEN
        backlog := (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through;
        IF backlog >= 4 * s.refresh_after::bigint THEN
            PERFORM animus.memory_bm25_refresh(wait => true);
        ELSIF backlog >= s.refresh_after THEN
            PERFORM animus.memory_bm25_refresh(wait => false);
        END IF;
    END IF;
END
$$;

--
-- Name: FUNCTION memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) IS 'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas (with the tf-weight bounds of the added postings); folds them (memory_bm25_refresh) past refresh_after pending rows, waiting for a running refresh past four times that; not during a bulk load (memory_finish_bulk_load folds once). Raises nothing.';

--
-- Name: memory_bm25_refresh(boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    folded   bigint;
    last_id  bigint;
    zero_ns  text[];
    zero_terms text[];
BEGIN
    -- One refresher at a time, serialised by the lock on the settings row: locking it takes UPDATE
    -- on animus.memory_bm25_settings, which only the owner holds (an advisory lock key can be held
    -- by any login). Writers never wait for it below four times refresh_after pending rows.
    IF wait THEN
        PERFORM 1 FROM animus.memory_bm25_settings FOR UPDATE;
    ELSE
        PERFORM 1 FROM animus.memory_bm25_settings FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;

    WITH moved AS (
        DELETE FROM animus.memory_bm25_deltas RETURNING id, namespace, term, df, total_len, max_tf, min_len_ratio
    ), terms AS (
        -- bounds of the added postings: 0 / infinity when none were added (neutral for greatest /
        -- least), NULL when one delta's are unknown
        SELECT m.namespace, m.term, sum(m.df) AS df,
               CASE WHEN bool_or(m.df > 0 AND (m.max_tf IS NULL OR m.min_len_ratio IS NULL)) THEN NULL
                    ELSE coalesce(max(m.max_tf) FILTER (WHERE m.df > 0), 0) END AS max_tf,
               CASE WHEN bool_or(m.df > 0 AND (m.max_tf IS NULL OR m.min_len_ratio IS NULL)) THEN NULL
                    ELSE coalesce(min(m.min_len_ratio) FILTER (WHERE m.df > 0), 'Infinity') END AS min_len_ratio
          FROM moved m
         WHERE m.term IS NOT NULL GROUP BY m.namespace, m.term HAVING sum(m.df) <> 0 OR bool_or(m.df > 0)
    ), up_terms AS (
        INSERT INTO animus.memory_bm25_term_stats AS s (namespace, term, df, max_tf, min_len_ratio)
        SELECT t.namespace, t.term, t.df, t.max_tf, t.min_len_ratio FROM terms t
        ON CONFLICT (term, namespace) DO UPDATE
           SET df = s.df + excluded.df,
               max_tf = CASE WHEN s.max_tf IS NULL OR excluded.max_tf IS NULL THEN NULL
                             ELSE greatest(s.max_tf, excluded.max_tf) END,
               min_len_ratio = CASE WHEN s.min_len_ratio IS NULL OR excluded.min_len_ratio IS NULL THEN NULL
                                    ELSE least(s.min_len_ratio, excluded.min_len_ratio) END
        RETURNING s.namespace, s.term, s.df
    ), spaces AS (
        SELECT m.namespace, sum(m.df) AS docs, sum(m.total_len) AS total_len FROM moved m
        WHERE m.term IS NULL GROUP BY m.namespace
    ), up_spaces AS (
        INSERT INTO animus.memory_bm25_namespace_stats AS s (namespace, docs, total_len)
        SELECT sp.namespace, sp.docs, sp.total_len FROM spaces sp
        ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len
        RETURNING s.namespace, s.docs
    ), zero AS (
        SELECT u.namespace, u.term FROM up_terms u WHERE u.df = 0
        UNION ALL
        SELECT u.namespace, NULL FROM up_spaces u WHERE u.docs = 0
    )
    SELECT (SELECT count(*) FROM moved), (SELECT max(id) FROM moved),
           (SELECT pg_catalog.array_agg(z.namespace) FROM zero z), (SELECT pg_catalog.array_agg(z.term) FROM zero z)
      INTO folded, last_id, zero_ns, zero_terms;

    IF zero_ns IS NOT NULL THEN
        DELETE FROM animus.memory_bm25_term_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NOT NULL AND s.namespace = z.namespace AND s.term = z.term AND s.df = 0;
        DELETE FROM animus.memory_bm25_namespace_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NULL AND s.namespace = z.namespace AND s.docs = 0;
    END IF;
    IF last_id IS NOT NULL THEN
        UPDATE animus.memory_bm25_settings SET refreshed_through = greatest(refreshed_through, last_id);
    END IF;
    RETURN folded;
END
$$;

--
-- Name: FUNCTION memory_bm25_refresh(wait boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_refresh(wait boolean) IS 'Folds the pending BM25 statistic deltas into the per-namespace statistics (document counts, lengths, document frequencies and the per-term tf-weight bounds); returns the number of delta rows folded, or NULL when wait => false and another refresh is running (it locks the row of animus.memory_bm25_settings). Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';

--
-- Name: memory_bm25_reindex(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.memory_bm25_settings;
    n bigint;
BEGIN
    PERFORM animus.memory_bm25_refresh();
    SELECT * INTO s FROM animus.memory_bm25_settings;
    UPDATE animus.memory_terms AS mt
       SET impact = animus.bm25_tf_weight(mt.tf, mt.doc_len, ns.total_len::float8 / ns.docs, s.k1, s.b)
      FROM animus.memory_bm25_namespace_stats AS ns
     WHERE ns.namespace = mt.namespace AND ns.docs > 0 AND ns.total_len > 0
       AND (memory_bm25_reindex.namespace IS NULL OR mt.namespace = memory_bm25_reindex.namespace);
    GET DIAGNOSTICS n = ROW_COUNT;
    -- The bounds of the postings now visible; postings added later come with their own deltas.
    UPDATE animus.memory_bm25_term_stats AS ts
       SET max_tf = x.max_tf, min_len_ratio = x.min_len_ratio
      FROM (SELECT mt.namespace, mt.term, max(mt.tf) AS max_tf, min(mt.doc_len::double precision / mt.tf) AS min_len_ratio
              FROM animus.memory_terms mt
             WHERE memory_bm25_reindex.namespace IS NULL OR mt.namespace = memory_bm25_reindex.namespace
             GROUP BY mt.namespace, mt.term) x
     WHERE ts.namespace = x.namespace AND ts.term = x.term
       AND (ts.max_tf IS DISTINCT FROM x.max_tf OR ts.min_len_ratio IS DISTINCT FROM x.min_len_ratio);
    -- (the totals over namespaces only widen on their own: recompute them for these terms)
    PERFORM animus.memory_bm25_term_totals_sync(ARRAY(
        SELECT DISTINCT ts.term FROM animus.memory_bm25_term_stats ts
         WHERE memory_bm25_reindex.namespace IS NULL OR ts.namespace = memory_bm25_reindex.namespace));
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_bm25_reindex(namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_reindex(namespace text) IS 'Runs as the owner (SECURITY DEFINER; animus_admin only). Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) with the current k1, b and average length, and the per-term tf-weight bounds from the postings; returns the postings rewritten. Run it after changing k1/b or after a namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

--
-- Name: memory_bm25_term_stats_after_write(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_term_stats_after_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    c_term   text[] := ARRAY[]::text[];
    c_df     bigint[] := ARRAY[]::bigint[];
    c_max_tf integer[] := ARRAY[]::integer[];
    c_ratio  double precision[] := ARRAY[]::double precision[];
    c_unk    boolean[] := ARRAY[]::boolean[];
    o_term   text[] := ARRAY[]::text[];
    o_df     bigint[] := ARRAY[]::bigint[];
    zero     text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE animus.memory_bm25_term_totals;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(pg_catalog.array_agg(n.term), c_term), coalesce(pg_catalog.array_agg(n.df), c_df),
               coalesce(pg_catalog.array_agg(n.max_tf), c_max_tf), coalesce(pg_catalog.array_agg(n.min_len_ratio), c_ratio),
               coalesce(pg_catalog.array_agg(n.max_tf IS NULL OR n.min_len_ratio IS NULL), c_unk)
          INTO c_term, c_df, c_max_tf, c_ratio, c_unk FROM new_rows n;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(pg_catalog.array_agg(o.term), o_term), coalesce(pg_catalog.array_agg(o.df), o_df)
          INTO o_term, o_df FROM old_rows o;
    END IF;
    WITH c AS (
        SELECT x.term, x.df, x.max_tf, x.min_len_ratio, x.unknown
          FROM unnest(c_term, c_df, c_max_tf, c_ratio, c_unk) AS x(term, df, max_tf, min_len_ratio, unknown)
        UNION ALL   -- rows replaced or deleted: their df leaves, their bounds stay (upper bounds)
        SELECT x.term, -x.df, 0, 'Infinity'::double precision, false FROM unnest(o_term, o_df) AS x(term, df)
    ), up AS (
        INSERT INTO animus.memory_bm25_term_totals AS tt (term, df, max_tf, min_len_ratio)
        SELECT c.term, sum(c.df),
               CASE WHEN bool_or(c.unknown) THEN NULL ELSE max(c.max_tf) END,
               CASE WHEN bool_or(c.unknown) THEN NULL ELSE min(c.min_len_ratio) END
          FROM c GROUP BY c.term
        ON CONFLICT (term) DO UPDATE
           SET df = tt.df + excluded.df,
               max_tf = CASE WHEN tt.max_tf IS NULL OR excluded.max_tf IS NULL THEN NULL ELSE greatest(tt.max_tf, excluded.max_tf) END,
               min_len_ratio = CASE WHEN tt.min_len_ratio IS NULL OR excluded.min_len_ratio IS NULL THEN NULL
                                    ELSE least(tt.min_len_ratio, excluded.min_len_ratio) END
        RETURNING tt.term, tt.df
    )
    SELECT pg_catalog.array_agg(up.term) INTO zero FROM up WHERE up.df = 0;
    IF zero IS NOT NULL THEN
        DELETE FROM animus.memory_bm25_term_totals tt WHERE tt.term = ANY (zero) AND tt.df = 0;
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_term_stats_after_write(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_term_stats_after_write() IS 'Trigger (statement level, AFTER INSERT / UPDATE / DELETE / TRUNCATE ON animus.memory_bm25_term_stats): keeps animus.memory_bm25_term_totals equal to the per-term sums. Raises nothing.';

--
-- Name: memory_bm25_term_totals_sync(text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_term_totals_sync(terms text[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    WITH agg AS (
        SELECT t.term, coalesce(sum(ts.df), 0) AS df,
               CASE WHEN bool_or(ts.max_tf IS NULL) THEN NULL ELSE max(ts.max_tf) END AS max_tf,
               CASE WHEN bool_or(ts.min_len_ratio IS NULL) THEN NULL ELSE min(ts.min_len_ratio) END AS min_len_ratio
          FROM (SELECT DISTINCT x.term FROM unnest(terms) AS x(term)) t
          LEFT JOIN animus.memory_bm25_term_stats ts ON ts.term = t.term
         GROUP BY t.term
    ), gone AS (
        DELETE FROM animus.memory_bm25_term_totals tt USING agg a WHERE tt.term = a.term AND a.df = 0
    )
    INSERT INTO animus.memory_bm25_term_totals AS tt (term, df, max_tf, min_len_ratio)
    SELECT a.term, a.df, a.max_tf, a.min_len_ratio FROM agg a WHERE a.df <> 0
    ON CONFLICT (term) DO UPDATE SET df = excluded.df, max_tf = excluded.max_tf, min_len_ratio = excluded.min_len_ratio
$$;

--
-- Name: FUNCTION memory_bm25_term_totals_sync(terms text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_term_totals_sync(terms text[]) IS 'Internal (triggers on animus.memory_bm25_term_stats): recomputes the animus.memory_bm25_term_totals rows of the given terms from memory_bm25_term_stats. Raises nothing.';

--
-- Name: memory_bm25_topk(text, jsonb, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 10, budget integer DEFAULT NULL::integer) RETURNS TABLE(id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    s           animus.memory_bm25_settings;
    f           jsonb := coalesce(filters, '{}'::jsonb);
    q_terms     text[];
    q_df        double precision[];
    q_idf       double precision[];
    q_cap       integer[];
    spaces      text[];
    n_spaces    integer;
    n_docs      double precision;
    n_len       double precision;
    avgdl       double precision;
    must_filter boolean;
    has_state   boolean;
    b_now       bigint;
    b_max       bigint;
    left_budget double precision;
    cutting     boolean;
    cut_terms   text[];
    i           integer;
    n_terms     integer;
    rescore     integer;
    r_ids       bigint[];
    r_scores    double precision[];
    r_read      bigint;
    r_cands     bigint;
    r_bound     double precision;
    r_next_lb   double precision;
    r_prefix_lb double precision;
    proven      boolean;
    all_spaces  boolean;
    r_passed    integer;
    seeded      boolean;
    w_base      double precision;
    w_len       double precision;
    fast        boolean;
    rk_ids      bigint[];
    rk_lb       double precision[];
    q_w1        double precision[];
    q_ub        double precision[];
    q_wmax      double precision[];
    use_totals  boolean;
BEGIN
    IF lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO s FROM animus.memory_bm25_settings;

    -- Namespaces searched: statistics are per namespace, summed over the ones the filter selects.
    IF f -> 'namespace' ? 'in' THEN
        spaces := animus.memory_filter_list(f -> 'namespace');
    ELSE
        spaces := ARRAY(SELECT x.namespace FROM (
                            SELECT ns.namespace FROM animus.memory_bm25_namespace_stats ns
                            UNION SELECT d.namespace FROM animus.memory_bm25_deltas d WHERE d.term IS NULL) x
                        WHERE f -> 'namespace' IS NULL OR pg_catalog.starts_with(x.namespace, f -> 'namespace' ->> 'prefix')
                        ORDER BY 1);
    END IF;
    -- No namespace condition: every namespace is searched, and the statements below read each
    -- term's postings and statistics as one index range (term first) instead of one probe per
    -- namespace (200 namespaces x 4 terms were 800 probes per statistic; docs/bm25.md).
    all_spaces := f -> 'namespace' IS NULL;
    -- The lifecycle "state" entry (expired, superseded, private to others) is not checked on
    -- every ranked candidate like the other conditions: live, visible memories are the common
    -- case, so it is checked lazily on the rescored candidates, best first (`best` below), and
    -- a state filter ranks a few more of them (has_state).
    has_state := f ? 'state';
    must_filter := f - 'namespace' - 'state' <> '{}'::jsonb;
    -- Over every namespace, a term's folded statistics are one row of memory_bm25_term_totals
    -- (instead of one per namespace) — for a caller who sees every namespace's statistics anyway
    -- (no row security on them: the owner, as in the searches, which confine the filter first).
    use_totals := all_spaces AND NOT pg_catalog.row_security_active('animus.memory_bm25_term_stats')
                  AND pg_catalog.has_table_privilege('animus.memory_bm25_term_totals', 'SELECT');
    n_spaces := greatest(coalesce(pg_catalog.cardinality(spaces), 0), 1);
    -- Cut (common) terms seed candidates with their best postings, read per namespace. Over more
    -- namespaces than lim that is one index probe per namespace and cut term for ~1 posting each
    -- (200 namespaces: 200 probes per cut term, most of the time of such a search); then the cut
    -- terms seed nothing, their contributions are still completed exactly for the rescored
    -- candidates, and the proof bounds them by idf * (k1 + 1) (docs/bm25.md: the trade-off).
    seeded := n_spaces <= lim;

    SELECT sum(x.docs), sum(x.total_len) INTO n_docs, n_len FROM (
        SELECT ns.docs, ns.total_len FROM animus.memory_bm25_namespace_stats ns WHERE all_spaces OR ns.namespace = ANY (spaces)
        UNION ALL
        SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.term IS NULL AND (all_spaces OR d.namespace = ANY (spaces))
    ) x;
    IF coalesce(n_docs, 0) <= 0 THEN
        RETURN;
    END IF;
    avgdl := CASE WHEN n_len > 0 THEN n_len / n_docs ELSE 1 END;
    -- The tf-weight tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)), per posting, as
    -- w1 * tf / (tf + w_base + w_len * doc_len) with w1 = idf * (k1 + 1) per query term: the
    -- constants computed once (per posting the expression read k1, b and avgdl as fields of a
    -- record five times: most of the time of a whole-list read, docs/bm25.md).
    w_base := s.k1 * (1 - s.b);
    w_len := s.k1 * s.b / avgdl;

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    -- With each term its largest possible tf-weight over the namespaces searched (wmax): from the
    -- largest tf and the smallest length / tf of its postings, folded (term_stats) and pending
    -- (deltas that add postings), as (k1 + 1) / (1 + k1 (1 - b) / max_tf + k1 b min_len_ratio / avgdl),
    -- which no posting's tf-weight exceeds (change memory_bm25_bounds); k1 + 1 where a bound is
    -- unknown (NULL). Widened by 1e-9 so that rounding cannot make it smaller than a weight.
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term),
           pg_catalog.array_agg(CASE WHEN t.unknown OR t.max_tf IS NULL OR t.min_len_ratio IS NULL THEN s.k1 + 1
                                     ELSE least(s.k1 + 1, (s.k1 + 1) * (1 + 1e-9)
                                                / (1 + w_base / t.max_tf + w_len * t.min_len_ratio)) END
                                ORDER BY t.df, t.term)
      INTO q_terms, q_df, q_wmax
      FROM (SELECT u.lexeme AS term, st.df::double precision AS df, st.max_tf, st.min_len_ratio, st.unknown
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u
             CROSS JOIN LATERAL (   -- once per term (a scalar subquery here ran three times per term)
                   SELECT coalesce(sum(x.df), 0) AS df, max(x.max_tf) AS max_tf, min(x.min_len_ratio) AS min_len_ratio,
                          coalesce(bool_or(x.unknown), false) AS unknown FROM (
                        SELECT tt.df, tt.max_tf, tt.min_len_ratio, tt.max_tf IS NULL OR tt.min_len_ratio IS NULL AS unknown
                          FROM animus.memory_bm25_term_totals tt WHERE use_totals AND tt.term = u.lexeme
                        UNION ALL
                        SELECT ts.df, ts.max_tf, ts.min_len_ratio, ts.max_tf IS NULL OR ts.min_len_ratio IS NULL
                          FROM animus.memory_bm25_term_stats ts WHERE all_spaces AND NOT use_totals AND ts.term = u.lexeme
                        UNION ALL
                        SELECT ts.df, ts.max_tf, ts.min_len_ratio, ts.max_tf IS NULL OR ts.min_len_ratio IS NULL
                          FROM animus.memory_bm25_term_stats ts
                         WHERE NOT all_spaces AND ts.term = u.lexeme AND ts.namespace = ANY (spaces)
                        UNION ALL
                        -- deltas: only the ones adding postings carry (and need) bounds
                        SELECT d.df, CASE WHEN d.df > 0 THEN d.max_tf END, CASE WHEN d.df > 0 THEN d.min_len_ratio END,
                               d.df > 0 AND (d.max_tf IS NULL OR d.min_len_ratio IS NULL)
                          FROM animus.memory_bm25_deltas d
                         WHERE d.term = u.lexeme AND (all_spaces OR d.namespace = ANY (spaces))
                        UNION ALL
                        -- during a bulk load, the loaded memories' postings (they leave no
                        -- per-term deltas: memory_bm25_index); no scan otherwise
                        SELECT count(*), max(mt.tf), min(mt.doc_len::double precision / mt.tf), false
                          FROM animus.memory_terms mt
                         WHERE s.bulk_from IS NOT NULL AND mt.memory_id > s.bulk_from AND mt.term = u.lexeme
                           AND (all_spaces OR mt.namespace = ANY (spaces))) x) st) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);
    q_w1 := ARRAY(SELECT x.idf * (s.k1 + 1) FROM unnest(q_idf) WITH ORDINALITY AS x(idf, o) ORDER BY x.o);
    q_ub := ARRAY(SELECT x.idf * x.wmax FROM unnest(q_idf, q_wmax) WITH ORDINALITY AS x(idf, wmax, o) ORDER BY x.o);

    b_now := coalesce(budget, s.postings_budget);
    b_max := CASE WHEN budget IS NOT NULL THEN budget ELSE greatest(s.max_postings_budget, s.postings_budget) END;
    LOOP
        -- Per-term caps, rarest term first: a list that fits in what is left of the budget is read
        -- whole (cap NULL); from the first that does not on, lists are cut to their lim best
        -- postings (they seed candidates; their contributions are completed by the rescoring).
        q_cap := ARRAY[]::integer[];
        cut_terms := ARRAY[]::text[];
        left_budget := b_now;
        cutting := false;
        FOR i IN 1 .. n_terms LOOP
            cutting := cutting OR q_df[i] > left_budget;
            IF cutting THEN
                q_cap := q_cap || lim;
                cut_terms := cut_terms || q_terms[i];
            ELSE
                q_cap := q_cap || NULL::integer;
                left_budget := left_budget - q_df[i];
            END IF;
        END LOOP;

        -- Nothing cut: the whole-list scores are exact already, only lim need ranking.
        -- (a state filter needs max(lim/2, 10) spare candidates; with cut lists the
        -- rescore_extra ones serve)
        rescore := lim + greatest(CASE WHEN cutting THEN s.rescore_extra ELSE 0 END,
                                  CASE WHEN has_state AND NOT must_filter THEN greatest(lim / 2, 10) ELSE 0 END);
        -- Without cut-list seeds (nothing cut, or not seeded) the candidates come from the whole
        -- lists alone: rank them in one flat aggregate (index range per term -> hash aggregate ->
        -- top-N), not through the CTEs below, which cost ~3x as much per posting read (docs/bm25.md,
        -- "Where the time goes"); lb = lb_full there.
        fast := NOT (seeded AND cutting);
        IF fast THEN
            SELECT pg_catalog.array_agg(x.memory_id ORDER BY x.lb DESC, x.memory_id),
                   pg_catalog.array_agg(x.lb ORDER BY x.lb DESC, x.memory_id)
              INTO rk_ids, rk_lb
              FROM (SELECT w.memory_id, sum(w.part) AS lb
                      FROM (SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
                              FROM unnest(q_terms, q_w1, q_cap) AS q(term, w1, cap)
                              JOIN animus.memory_terms mt ON mt.term = q.term
                             WHERE all_spaces AND q.cap IS NULL
                            UNION ALL
                            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len)
                              FROM unnest(q_terms, q_w1, q_cap) AS q(term, w1, cap)
                              JOIN animus.memory_terms mt ON mt.term = q.term AND mt.namespace = ANY (spaces)
                             WHERE NOT all_spaces AND q.cap IS NULL) w
                     GROUP BY w.memory_id
                     ORDER BY lb DESC, w.memory_id
                     LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END) x;
        END IF;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.idf * (s.k1 + 1) AS w1, x.cap, x.ub
              FROM unnest(q_terms, q_idf, q_cap, q_ub) WITH ORDINALITY AS x(term, idf, cap, ub, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            -- (two branches, one skipped at run time: each keeps its own index condition in the
            -- cached generic plan)
            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
            UNION ALL
            SELECT mt.memory_id, q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE NOT all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL)) AND mt.namespace = ANY (spaces)
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.w1 * p.tf / (p.tf + w_base + w_len * p.doc_len) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL AND seeded
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term: the term's cached
            -- bound. Not the impact of the last posting read: impacts are tf-weights computed with
            -- the average length of when each posting was written, so after the average moved a
            -- posting further down the impact order can weigh more now than the last one read
            -- (test_a_filtered_exact_answer_holds_when_the_impacts_are_stale)
            SELECT l.o, max(q.ub) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
            UNION ALL
            -- not seeded: the term's bound (idf x its largest possible tf-weight)
            SELECT q.o, q.ub FROM q WHERE q.cap IS NOT NULL AND NOT seeded
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            (SELECT c.memory_id, c.lb, c.lb_full FROM cand c
              WHERE NOT fast
              ORDER BY c.lb DESC, c.memory_id
              LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END)
            UNION ALL
            -- (ranked by the flat aggregate above)
            SELECT r.memory_id, r.lb, r.lb FROM unnest(rk_ids, rk_lb) AS r(memory_id, lb) WHERE fast
        ), top AS MATERIALIZED (
            -- (sorted first, then checked while read: the scan stops once rescore + 1 pass)
            SELECT c.memory_id, c.lb, c.lb_full
              FROM (SELECT * FROM ranked ORDER BY ranked.lb DESC, ranked.memory_id) c
             WHERE NOT must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             LIMIT rescore + 1
        ), completed AS (
            -- exact scores of the best `rescore` candidates: add their postings of the cut terms
            -- (index-only probes on (memory_id, term))
            SELECT t.memory_id, t.lb_full + coalesce(x.extra, 0) AS score
              FROM (SELECT * FROM top ORDER BY top.lb DESC, top.memory_id LIMIT rescore) t
              LEFT JOIN LATERAL (
                   SELECT sum(q.w1 * mt.tf / (mt.tf + w_base + w_len * mt.doc_len)) AS extra
                     FROM animus.memory_terms mt JOIN q ON q.term = mt.term
                    WHERE mt.memory_id = t.memory_id AND mt.term = ANY (cut_terms)) x ON cutting
        ), best AS MATERIALIZED (
            -- best first; without a filter beyond namespace the filter predicate was not applied
            -- yet: check it here, lazily (the scan stops once lim rows pass: ~lim primary-key
            -- probes), so that conditions memory_filter_match adds (e.g. expiry) apply everywhere
            SELECT c.memory_id, c.score
              FROM (SELECT * FROM completed ORDER BY completed.score DESC, completed.memory_id) c
             WHERE must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             LIMIT lim
        )
        SELECT (SELECT pg_catalog.array_agg(b.memory_id ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT pg_catalog.array_agg(b.score ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT count(*) FROM top),
               (SELECT coalesce(sum(bo.ub), 0) FROM bounds bo),
               (SELECT t.lb FROM top t ORDER BY t.lb DESC, t.memory_id LIMIT 1 OFFSET rescore),
               -- filtered: candidates past the checked prefix were not looked at
               (SELECT min(r.lb) FILTER (WHERE must_filter) FROM ranked r HAVING count(*) > 3 * (rescore + 1))
          INTO r_ids, r_scores, r_cands, r_bound, r_next_lb, r_prefix_lb;
        r_passed := coalesce(pg_catalog.cardinality(r_ids), 0);
        r_next_lb := CASE WHEN r_prefix_lb IS NULL THEN r_next_lb ELSE greatest(r_next_lb, r_prefix_lb) END;
        r_read := (SELECT sum(CASE WHEN c IS NULL THEN d ELSE least(c, d) END)::bigint FROM unnest(q_cap, q_df) AS x(c, d));

        -- Exact when nothing left out can reach the k-th score: a memory in no list scores at most
        -- r_bound; a candidate not rescored at most its partial score (<= r_next_lb) + r_bound.
        proven := r_bound = 0 AND r_next_lb IS NULL
               OR (coalesce(pg_catalog.cardinality(r_ids), 0) >= lim
                   AND r_scores[lim] >= coalesce(r_next_lb, 0) + r_bound);
        -- Unseeded, the whole lists may leave fewer than lim candidates: redo the round seeded.
        IF NOT seeded AND coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven THEN
            seeded := true;
            CONTINUE;
        END IF;
        EXIT WHEN proven OR b_now >= b_max;
        b_now := least(b_now * 4, b_max);
    END LOOP;

    -- A selective filter can leave fewer than lim of the candidates: then score every memory
    -- that passes the filter and matches a query term (few, since the filter is selective).
    -- (Without such a filter: when the filter predicate dropped some of the rescored candidates.)
    IF coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven
       AND (must_filter OR r_passed < least(r_cands, rescore)) AND NOT all_spaces THEN
        -- the postings of the namespaces searched (an index range per term and namespace), summed
        -- per memory, then the filter once per memory
        RETURN QUERY
            SELECT x.memory_id, x.score, true, pg_catalog.count(*) OVER (), b_now::integer FROM (
                SELECT mt.memory_id, sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b)) AS score
                  FROM unnest(q_terms, q_idf) AS q(term, idf)
                  JOIN animus.memory_terms AS mt ON mt.term = q.term AND mt.namespace = ANY (spaces)
                 GROUP BY mt.memory_id) AS x
              JOIN animus.memories AS m ON m.id = x.memory_id
             WHERE animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
             ORDER BY x.score DESC, x.memory_id
             LIMIT lim;
        RETURN;
    END IF;
    IF coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven
       AND (must_filter OR r_passed < least(r_cands, rescore)) THEN
        RETURN QUERY EXECUTE
            'SELECT x.memory_id, x.score, true, x.n, $9::integer FROM (
                 SELECT mt.memory_id, sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, $4, $5, $6)) AS score,
                        count(*) OVER () AS n
                   FROM animus.memories AS m
                   JOIN animus.memory_terms AS mt ON mt.memory_id = m.id AND mt.term = ANY ($1)
                   JOIN unnest($1, $2) AS q(term, idf) ON q.term = mt.term
                  WHERE m.fts @@ $7
                    AND animus.memory_filter_match($3, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  GROUP BY mt.memory_id) AS x
              ORDER BY x.score DESC, x.memory_id
              LIMIT $8'
            USING q_terms, q_idf, f, avgdl, s.k1, s.b, animus.memory_or_tsquery(query), lim, b_now;
        RETURN;
    END IF;

    RETURN QUERY SELECT r.id, r.score, proven, r_read, b_now::integer FROM unnest(r_ids, r_scores) AS r(id, score);
END
$_$;

--
-- Name: FUNCTION memory_bm25_topk(query text, filters jsonb, lim integer, budget integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) IS 'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): (id, score, exact, postings_read, budget_used), score descending, ties by id; every row passes animus.memory_filter_match. exact = the result is proven equal to exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_bm25_unindex(bigint[], text[], tsvector[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    WITH gone AS (
        DELETE FROM animus.memory_terms t WHERE t.memory_id = ANY (ids) RETURNING t.memory_id, t.namespace, t.term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT g.namespace, g.term, -count(*), 0 FROM gone g
     WHERE g.memory_id <= coalesce((SELECT s.bulk_from FROM animus.memory_bm25_settings s), 9223372036854775807)
     GROUP BY g.namespace, g.term
    UNION ALL
    SELECT d.namespace, NULL, -count(*), -sum(animus.bm25_doc_len(d.fts))
    FROM unnest(namespaces, vectors) AS d(namespace, fts) GROUP BY d.namespace
$$;

--
-- Name: FUNCTION memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) IS 'Internal (triggers on animus.memories): deletes the BM25 postings of the given memories and appends negative statistic deltas (none per term for a bulk load''s memories, memory_bm25_settings.bulk_from). Raises nothing.';

--
-- Name: memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_boost(score double precision DEFAULT NULL::double precision, retrievability double precision DEFAULT NULL::double precision, age interval DEFAULT NULL::interval, importance double precision DEFAULT NULL::double precision, retrievability_weight double precision DEFAULT 0, recency_weight double precision DEFAULT 0, recency_half_life interval DEFAULT '30 days'::interval, importance_weight double precision DEFAULT 0) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF retrievability_weight IS NULL OR recency_weight IS NULL OR importance_weight IS NULL
       OR retrievability_weight NOT BETWEEN 0 AND 1 OR recency_weight NOT BETWEEN 0 AND 1 OR importance_weight NOT BETWEEN 0 AND 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA224', MESSAGE = 'retrievability_weight, recency_weight and importance_weight must be in [0, 1]',
            DETAIL = format('retrievability_weight = %s, recency_weight = %s, importance_weight = %s',
                            retrievability_weight, recency_weight, importance_weight),
            HINT = '0 switches a factor off (the default).';
    END IF;
    IF recency_half_life IS NULL OR recency_half_life <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA224', MESSAGE = 'recency_half_life must be a positive interval',
            DETAIL = format('recency_half_life = %s', recency_half_life), HINT = 'Pass e.g. ''30 days''.';
    END IF;
    RETURN score
        * (1 - retrievability_weight + retrievability_weight * coalesce(retrievability, 1))
        * (1 - recency_weight + recency_weight
               * CASE WHEN age IS NULL THEN 1
                      ELSE power(0.5, greatest(extract(epoch FROM age), 0) / extract(epoch FROM recency_half_life)) END)
        * (1 - importance_weight + importance_weight * least(greatest(coalesce(importance, 1), 0), 1));
END
$$;

--
-- Name: FUNCTION memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision) IS 'A search score weighted by retrievability (FSRS, 1 when never reviewed), recency (0.5^(age / recency_half_life)) and importance (clamped to [0, 1], 1 when unset): score x (1 - wr + wr R) x (1 - wc + wc 0.5^(age/h)) x (1 - wi + wi I). With every weight 0 (the defaults) it returns score unchanged. Raises ZA224 (a weight outside [0, 1], half-life <= 0).';

--
-- Name: memory_build_vector_index(text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_build_vector_index(maintenance_work_mem text DEFAULT '1GB'::text, parallel_workers integer DEFAULT 2) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    s animus.memory_vector_index_settings%ROWTYPE;
    vector_schema name;
    n bigint;
    l integer;
    built text;
    dim integer;
    indexed text;
BEGIN
    IF memory_build_vector_index.maintenance_work_mem IS NULL OR memory_build_vector_index.parallel_workers IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'maintenance_work_mem and parallel_workers must not be NULL',
            HINT = 'Omit them for ''1GB'' and 2.';
    END IF;
    IF memory_build_vector_index.parallel_workers NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'parallel_workers must be between 0 and 64',
            DETAIL = pg_catalog.format('parallel_workers = %s', memory_build_vector_index.parallel_workers),
            HINT = 'Use about the number of idle cores minus one (the leader builds too); 0 builds serially.';
    END IF;
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_build_vector_index.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_build_vector_index.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_build_vector_index.parallel_workers::text, true);
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v FOR UPDATE;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM animus.memories AS m WHERE m.embedding IS NOT NULL;
    -- halfvec: an expression index on embedding::halfvec(dim) (an index needs the dimension);
    -- memory_vector_candidates orders by the same expression, from built_halfvec / built_dim.
    IF s.halfvec THEN
        SELECT ms.embedding_dim INTO dim FROM animus.memory_settings AS ms;
        indexed := pg_catalog.format('(embedding::%1$I.halfvec(%2$s)) %1$I.halfvec_cosine_ops', vector_schema, dim);
    ELSE
        indexed := pg_catalog.format('embedding %I.vector_cosine_ops', vector_schema);
    END IF;
    IF s.kind = 'ivfflat' THEN
        l := coalesce(s.lists, animus.memory_ivfflat_lists(n));
        built := 'memories_embedding_ivfflat';
        EXECUTE pg_catalog.format(
            'CREATE INDEX memories_embedding_ivfflat ON animus.memories USING ivfflat (%s) WITH (lists = %s)', indexed, l);
    ELSE
        built := 'memories_embedding_hnsw';
        EXECUTE pg_catalog.format('CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (%s)', indexed)
             || CASE WHEN s.m IS NOT NULL OR s.ef_construction IS NOT NULL
                     THEN pg_catalog.format(' WITH (m = %s, ef_construction = %s)', coalesce(s.m, 16), coalesce(s.ef_construction, 64))
                     ELSE '' END;
    END IF;
    UPDATE animus.memory_vector_index_settings
       SET built_lists = l, trained_rows = n, built_at = pg_catalog.now(), built_halfvec = s.halfvec, built_dim = dim;
    RETURN built;
END
$_$;

--
-- Name: FUNCTION memory_build_vector_index(maintenance_work_mem text, parallel_workers integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_build_vector_index(maintenance_work_mem text, parallel_workers integer) IS 'Internal: drops the vector index of animus.memories (either kind) and builds the kind of animus.memory_vector_index_settings (IVFFlat with its lists, or animus.memory_ivfflat_lists of the rows; HNSW with m / ef_construction when set; on embedding::halfvec(dim) when halfvec), with maintenance_work_mem and parallel_workers set for the build only; records the rows it was built on; returns the index name. Granted to nobody. Raises ZA001, ZA002 (as memory_finish_bulk_load).';

--
-- Name: memory_caller(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_caller() RETURNS name
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;

--
-- Name: FUNCTION memory_caller(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_caller() IS 'The role whose namespace grants apply to this session: the SET ROLE target, else the login role (session_user). Independent of SECURITY DEFINER frames. Raises nothing.';

--
-- Name: memory_chain(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_chain(id bigint DEFAULT NULL::bigint) RETURNS TABLE(memory_id bigint, generation integer, superseded_by bigint, superseded_at timestamp with time zone, content text, created_at timestamp with time zone, expires_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    head bigint;
BEGIN
    IF memory_chain.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id of any memory of the chain.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = memory_chain.id
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', memory_chain.id),
            HINT = 'Check the id; the memory may have been deleted.';
    END IF;
    WITH RECURSIVE up (mid, n) AS (
        SELECT memory_chain.id, 0
        UNION ALL
        SELECT m.superseded_by, u.n + 1 FROM up AS u JOIN animus.memories AS m ON m.id = u.mid
         WHERE m.superseded_by IS NOT NULL AND u.n < 10000
    ) CYCLE mid SET is_cycle USING path
    SELECT u.mid INTO head FROM up AS u WHERE NOT u.is_cycle ORDER BY u.n DESC LIMIT 1;
    RETURN QUERY
    WITH RECURSIVE down (mid, g) AS (
        SELECT head, 0
        UNION ALL
        SELECT m.id, d.g + 1 FROM down AS d JOIN animus.memories AS m ON m.superseded_by = d.mid
         WHERE d.g < 10000
    ) CYCLE mid SET is_cycle USING path
    SELECT m.id, d.g, m.superseded_by, m.superseded_at, m.content, m.created_at, m.expires_at
      FROM down AS d JOIN animus.memories AS m ON m.id = d.mid
     WHERE NOT d.is_cycle
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
     ORDER BY d.g, m.created_at, m.id;
END
$$;

--
-- Name: FUNCTION memory_chain(id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_chain(id bigint) IS 'The supersession chain of memory id: the current memory at its head (generation 0), then the memories it superseded (generation 1), theirs (2), ...; only memories the caller sees (read scope and sharing). Superseded and expired memories stay listed until deleted. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (no such memory).';

--
-- Name: memory_check_embedding(public.vector, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_embedding(embedding public.vector, argument text DEFAULT 'embedding'::text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
    expected integer;
BEGIN
    IF embedding IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = format('%s must not be NULL', argument),
            HINT = 'Pass the embedding of the text as a vector, e.g. ''[0.1, 0.2, ...]''::vector.';
    END IF;
    SELECT s.embedding_dim INTO expected FROM animus.memory_settings AS s;
    IF vector_dims(embedding) <> expected THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA200',
            MESSAGE = format('%s has %s dimensions; animus.memories stores %s', argument, vector_dims(embedding), expected),
            DETAIL = format('embedding model: %s', (SELECT s.embedding_model FROM animus.memory_settings AS s)),
            HINT = 'Embed with the model recorded in animus.memory_settings, or change it with animus.memory_begin_reembedding().';
    END IF;
    IF vector_norm(embedding) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA202',
            MESSAGE = format('%s is the zero vector, which has no cosine direction', argument),
            HINT = 'Pass a non-zero embedding.';
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_embedding(embedding public.vector, argument text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) IS 'Raises unless embedding is a non-NULL, non-zero vector of the dimension in animus.memory_settings. Raises ZA001 (NULL), ZA200 (dimension), ZA202 (zero vector).';

--
-- Name: memory_check_fields(text, text, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'content must not be NULL',
            HINT = 'Pass the text of the memory.';
    END IF;
    IF animus.memory_is_blank(content) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA203', MESSAGE = 'content must not be empty or only whitespace',
            DETAIL = pg_catalog.format('content = %L', pg_catalog.left(content, 40)),
            HINT = 'Store non-empty text (spaces, tabs, line breaks and no-break spaces alone do not count).';
    END IF;
    IF pg_catalog.octet_length(content) > 500000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA214', MESSAGE = 'content must be at most 500000 bytes (UTF-8)',
            DETAIL = pg_catalog.format('content is %s bytes', pg_catalog.octet_length(content)),
            HINT = 'Split the text into several memories (e.g. by section or paragraph); its keyword index (a tsvector) holds at most 1 MB.';
    END IF;
    IF memory_type IS NULL OR memory_type = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'memory_type must be a non-empty string',
            HINT = 'Pass a type such as ''fact'', ''episode'' or ''preference''.';
    END IF;
    IF namespace IS NULL OR namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default'', or pass the agent, user or tenant the memory belongs to.';
    END IF;
    IF metadata IS NOT NULL AND pg_catalog.jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'metadata must be a JSON object',
            DETAIL = pg_catalog.format('metadata = %s', pg_catalog.left(metadata::text, 200)),
            HINT = 'Pass an object such as {"topic": "billing"}, or omit it.';
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_fields(content text, memory_type text, namespace text, metadata jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) IS 'Raises unless content, memory_type and namespace are non-empty and metadata is an object (or NULL). Raises ZA001, ZA203 (empty or whitespace-only content), ZA214 (content over 500,000 bytes), ZA003.';

--
-- Name: memory_check_graph_args(integer, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_graph_args(depth integer, relations text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF depth IS NULL OR depth < 1 OR depth > 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'depth must be between 1 and 5',
            DETAIL = format('depth = %s', depth), HINT = 'depth 1: direct neighbours; 2: their neighbours too.';
    END IF;
    IF relations IS NOT NULL AND (cardinality(relations) = 0 OR cardinality(relations) > 100) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'relations must list 1 to 100 relations, or be NULL for all',
            DETAIL = format('relations has %s entries', cardinality(relations)), HINT = 'Omit it to follow every relation.';
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_graph_args(depth integer, relations text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_graph_args(depth integer, relations text[]) IS 'Internal: raises ZA221 unless depth is 1..5 and relations is NULL or lists 1..100 relations.';

--
-- Name: memory_check_limit(integer, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer DEFAULT 1000) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = pg_catalog.format('%s must not be NULL', argument),
            HINT = pg_catalog.format('Pass %s between 1 and %s, or omit it for the default.', argument, maximum);
    END IF;
    IF value < 1 OR value > maximum THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = pg_catalog.format('%s must be between 1 and %s', argument, maximum),
            DETAIL = pg_catalog.format('%s = %s', argument, value),
            HINT = pg_catalog.format('Pass %s between 1 and %s.', argument, maximum);
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_limit(value integer, argument text, maximum integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) IS 'Raises unless 1 <= value <= maximum. Raises ZA001 (NULL), ZA002 (out of range).';

--
-- Name: memory_vector_index_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_vector_index_settings (
    singleton boolean DEFAULT true NOT NULL,
    kind text DEFAULT 'hnsw'::text NOT NULL,
    lists integer,
    probes integer,
    ef_search integer,
    halfvec boolean DEFAULT false NOT NULL,
    m integer,
    ef_construction integer,
    built_halfvec boolean,
    built_dim integer,
    built_lists integer,
    trained_rows bigint,
    built_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_vector_index_settings_ef_construction_check CHECK (((ef_construction >= 4) AND (ef_construction <= 1000))),
    CONSTRAINT memory_vector_index_settings_ef_search_check CHECK (((ef_search >= 1) AND (ef_search <= 1000))),
    CONSTRAINT memory_vector_index_settings_kind_check CHECK ((kind = ANY (ARRAY['hnsw'::text, 'ivfflat'::text]))),
    CONSTRAINT memory_vector_index_settings_lists_check CHECK (((lists >= 1) AND (lists <= 32768))),
    CONSTRAINT memory_vector_index_settings_m_check CHECK (((m >= 2) AND (m <= 100))),
    CONSTRAINT memory_vector_index_settings_probes_check CHECK (((probes >= 1) AND (probes <= 32768))),
    CONSTRAINT memory_vector_index_settings_singleton_check CHECK (singleton)
);

--
-- Name: TABLE memory_vector_index_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_vector_index_settings IS 'The kind of vector index on animus.memories.embedding (one row): hnsw (memories_embedding_hnsw, the default) or ivfflat (memories_embedding_ivfflat). Change it with animus.memory_configure_vector_index().';

--
-- Name: COLUMN memory_vector_index_settings.singleton; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.singleton IS 'Always true: the table has one row.';

--
-- Name: COLUMN memory_vector_index_settings.kind; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.kind IS 'hnsw or ivfflat: the index memory_finish_bulk_load, memory_finish_reembedding and memory_configure_vector_index build.';

--
-- Name: COLUMN memory_vector_index_settings.lists; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.lists IS 'IVFFlat lists; NULL: chosen at each build from the rows (rows / 1000 up to 1M rows, sqrt(rows) beyond, at least 1).';

--
-- Name: COLUMN memory_vector_index_settings.probes; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.probes IS 'IVFFlat lists searched per query (ivfflat.probes); NULL: ceil(sqrt(built_lists)).';

--
-- Name: COLUMN memory_vector_index_settings.ef_search; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.ef_search IS 'HNSW candidate list of an unfiltered search (hnsw.ef_search); NULL: 100. A larger one buys recall with time on big tables (docs/scaling.md); a search asks for at least its k, a filter raises it by 1 / selectivity (at most 1000).';

--
-- Name: COLUMN memory_vector_index_settings.halfvec; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.halfvec IS 'true: the index holds the embeddings as halfvec (16-bit floats: half the index size, faster builds, inserts and scans; searches re-rank their candidates by the full-precision distance). The table keeps full precision either way.';

--
-- Name: COLUMN memory_vector_index_settings.m; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.m IS 'HNSW build: neighbours per node (WITH (m)); NULL: pgvector''s 16. More: better recall at a given ef_search, a bigger index and a slower build.';

--
-- Name: COLUMN memory_vector_index_settings.ef_construction; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.ef_construction IS 'HNSW build: candidate list while building (WITH (ef_construction)); NULL: pgvector''s 64. More: a better graph (recall), a slower build and slower inserts.';

--
-- Name: COLUMN memory_vector_index_settings.built_halfvec; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.built_halfvec IS 'Whether the index as built is on halfvec (NULL: a float index not built by animus, that of the first deploy).';

--
-- Name: COLUMN memory_vector_index_settings.built_dim; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.built_dim IS 'The dimension of a halfvec index as built (its expression is embedding::halfvec(built_dim)); NULL for a float index.';

--
-- Name: COLUMN memory_vector_index_settings.built_lists; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.built_lists IS 'The lists of the IVFFlat index as built (NULL for HNSW or before the first build).';

--
-- Name: COLUMN memory_vector_index_settings.trained_rows; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.trained_rows IS 'Memories with an embedding when the index was last built (an IVFFlat index is trained on them).';

--
-- Name: COLUMN memory_vector_index_settings.built_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.built_at IS 'When the index was last built by animus (NULL: the HNSW index of the first deploy).';

--
-- Name: COLUMN memory_vector_index_settings.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_vector_index_settings.updated_at IS 'When the settings last changed.';

--
-- Name: memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_configure_vector_index(kind text, lists integer DEFAULT NULL::integer, probes integer DEFAULT NULL::integer, rebuild boolean DEFAULT true, maintenance_work_mem text DEFAULT '1GB'::text, parallel_workers integer DEFAULT 2, ef_search integer DEFAULT NULL::integer, halfvec boolean DEFAULT NULL::boolean, m integer DEFAULT NULL::integer, ef_construction integer DEFAULT NULL::integer) RETURNS animus.memory_vector_index_settings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    k text := pg_catalog.lower(pg_catalog.btrim(memory_configure_vector_index.kind));
    s animus.memory_vector_index_settings%ROWTYPE;
    present text;
    hv boolean;
    gm integer;
    gef integer;
BEGIN
    IF k IS NULL OR k NOT IN ('hnsw', 'ivfflat') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA350', MESSAGE = 'kind must be ''hnsw'' or ''ivfflat''',
            DETAIL = pg_catalog.format('kind = %L', memory_configure_vector_index.kind),
            HINT = 'Pass kind => ''hnsw'' (the default index) or kind => ''ivfflat''.';
    END IF;
    IF k = 'hnsw' AND (memory_configure_vector_index.lists IS NOT NULL OR memory_configure_vector_index.probes IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'lists and probes apply to ivfflat only',
            DETAIL = pg_catalog.format('kind = hnsw, lists = %s, probes = %s',
                                       coalesce(memory_configure_vector_index.lists::text, 'NULL'), coalesce(memory_configure_vector_index.probes::text, 'NULL')),
            HINT = 'Omit lists and probes with kind => ''hnsw'' (its search setting is ef_search).';
    END IF;
    IF k = 'ivfflat' AND memory_configure_vector_index.ef_search IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'ef_search applies to hnsw only',
            DETAIL = pg_catalog.format('kind = ivfflat, ef_search = %s', memory_configure_vector_index.ef_search),
            HINT = 'Omit ef_search with kind => ''ivfflat'' (its search setting is probes).';
    END IF;
    IF memory_configure_vector_index.ef_search NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'ef_search must be between 1 and 1000',
            DETAIL = pg_catalog.format('ef_search = %s', memory_configure_vector_index.ef_search),
            HINT = 'Omit it (NULL) for 100; pgvector''s HNSW scans at most 1000 candidates.';
    END IF;
    IF memory_configure_vector_index.lists NOT BETWEEN 1 AND 32768 OR memory_configure_vector_index.probes NOT BETWEEN 1 AND 32768 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'lists and probes must be between 1 and 32768',
            DETAIL = pg_catalog.format('lists = %s, probes = %s',
                                       coalesce(memory_configure_vector_index.lists::text, 'NULL'), coalesce(memory_configure_vector_index.probes::text, 'NULL')),
            HINT = 'Omit them (NULL) for lists = rows / 1000 (sqrt(rows) beyond 1M rows) and probes = sqrt(lists).';
    END IF;
    IF k = 'ivfflat' AND (memory_configure_vector_index.m IS NOT NULL OR memory_configure_vector_index.ef_construction IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'm and ef_construction apply to hnsw only',
            DETAIL = pg_catalog.format('kind = ivfflat, m = %s, ef_construction = %s',
                                       coalesce(memory_configure_vector_index.m::text, 'NULL'), coalesce(memory_configure_vector_index.ef_construction::text, 'NULL')),
            HINT = 'Omit m and ef_construction with kind => ''ivfflat'' (its build setting is lists).';
    END IF;
    IF memory_configure_vector_index.rebuild IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'rebuild must not be NULL',
            HINT = 'Omit it (true) to build the index now; false records the settings for the next build (unless the kind changes).';
    END IF;
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v FOR UPDATE;
    -- m and ef_construction left out keep the configured ones while the kind stays hnsw: a later
    -- bulk load or re-embedding rebuilds the graph with them (a weaker graph, silently, otherwise)
    IF k = 'hnsw' AND s.kind = 'hnsw' THEN
        gm := coalesce(memory_configure_vector_index.m, s.m);
        gef := coalesce(memory_configure_vector_index.ef_construction, s.ef_construction);
    ELSE
        gm := memory_configure_vector_index.m;
        gef := memory_configure_vector_index.ef_construction;
    END IF;
    IF gm NOT BETWEEN 2 AND 100 OR gef NOT BETWEEN 4 AND 1000 OR coalesce(gef, 64) < 2 * coalesce(gm, 16) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'm must be between 2 and 100, ef_construction between 4 and 1000 and at least 2 m',
            DETAIL = pg_catalog.format('m = %s, ef_construction = %s (with the configured ones for those left out)',
                                       coalesce(gm::text, 'NULL (16)'), coalesce(gef::text, 'NULL (64)')),
            HINT = 'Pass both, or m => 16, ef_construction => 64 for pgvector''s defaults.';
    END IF;
    -- halfvec left out (NULL) keeps the storage configured: tuning ef_search or probes on a halfvec
    -- index must not rebuild it as a float one (at a million memories, minutes of build)
    hv := coalesce(memory_configure_vector_index.halfvec, s.halfvec);
    UPDATE animus.memory_vector_index_settings AS v
       SET kind = k, lists = memory_configure_vector_index.lists, probes = memory_configure_vector_index.probes,
           ef_search = memory_configure_vector_index.ef_search, halfvec = hv, m = gm, ef_construction = gef,
           updated_at = pg_catalog.now();
    present := CASE WHEN pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN 'ivfflat'
                    WHEN pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN 'hnsw' END;
    -- No vector index: a bulk load or re-embedding is in progress, whose finish builds this kind.
    IF present IS NOT NULL AND (present <> k OR coalesce(s.built_halfvec, false) <> hv
                                OR memory_configure_vector_index.rebuild) THEN
        LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
        PERFORM animus.memory_build_vector_index(memory_configure_vector_index.maintenance_work_mem,
                                                 memory_configure_vector_index.parallel_workers);
    END IF;
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v;
    RETURN s;
END
$$;

--
-- Name: FUNCTION memory_configure_vector_index(kind text, lists integer, probes integer, rebuild boolean, maintenance_work_mem text, parallel_workers integer, ef_search integer, halfvec boolean, m integer, ef_construction integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_configure_vector_index(kind text, lists integer, probes integer, rebuild boolean, maintenance_work_mem text, parallel_workers integer, ef_search integer, halfvec boolean, m integer, ef_construction integer) IS 'Chooses the vector index of animus.memories: kind ''hnsw'' (default) or ''ivfflat'' with lists (NULL: rows / 1000, sqrt(rows) beyond 1M) and probes (NULL: sqrt(lists)), or hnsw with ef_search (NULL: 100; it applies at once, rebuild => false skips the rebuild); halfvec => true indexes the embeddings as halfvec, false as vector, NULL (omitted) keeps the storage configured; m / ef_construction build the HNSW graph (at the next build; omitted, they keep the configured ones while the kind stays hnsw, else pgvector''s 16 / 64). Rebuilds the index now (a plain CREATE INDEX: writers wait, readers wait until COMMIT) unless rebuild => false and the kind and halfvec are unchanged; during a bulk load or re-embedding only records the choice for its finish. Returns the settings row (animus.memory_vector_index_status() tells whether a rebuild is due). animus_admin only. Raises ZA350 (kind), ZA351 (lists / probes out of 1..32768 or given with hnsw, ef_search out of 1..1000, m / ef_construction out of range or given with ivfflat), ZA001 (rebuild or a build setting NULL), ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem).';

--
-- Name: memory_content_changed(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_content_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF NEW.embedding_model IS NOT DISTINCT FROM OLD.embedding_model THEN
        NEW.embedding_model := NULL;
    END IF;
    RETURN NEW;
END
$$;

--
-- Name: FUNCTION memory_content_changed(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_content_changed() IS 'Trigger of animus.memories: when content changes and the statement does not set embedding_model, clears it (the vector''s model is no longer known). Raises nothing.';

--
-- Name: memory_filter_list(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_filter_list(text_filter jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT jsonb_array_elements_text((text_filter -> 'in'::text)) AS jsonb_array_elements_text);

--
-- Name: FUNCTION memory_filter_list(text_filter jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_filter_list(text_filter jsonb) IS 'Internal: the "in" list of a normalised text filter as text[] (NULL-safe: empty for other forms). Raises nothing.';

--
-- Name: memory_state_match(jsonb, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_state_match(st jsonb, s jsonb) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((s IS NULL) OR ((((s -> 'superseded_by'::text) IS NULL) OR ((st -> 'include_superseded'::text) = 'true'::jsonb)) AND (((s -> 'expires_at'::text) IS NULL) OR (((s ->> 'expires_at'::text))::timestamp with time zone > now())) AND (((s -> 'visibility'::text) IS NULL) OR ((st -> 'viewer'::text) IS NULL) OR ((s ->> 'owner'::text) = (st #>> '{viewer,role}'::text[])) OR (((s ->> 'visibility'::text) = 'groups'::text) AND jsonb_path_exists(s, '$."groups"[*]?(@ == $"g"[*])'::jsonpath, jsonb_build_object('g', (st #> '{viewer,groups}'::text[])))))));

--
-- Name: FUNCTION memory_state_match(st jsonb, s jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_state_match(st jsonb, s jsonb) IS 'Internal to memory_filter_match: true when a memory with mirrored state s (metadata->''_animus'') is live (not expired, not superseded unless st.include_superseded) and visible to st.viewer (owner, member of a share group, or visibility namespace). One expression without a sub-select, so that the planner inlines it into the searches'' filter. Raises nothing.';

--
-- Name: memory_filter_match(jsonb, text, text, text, jsonb, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((((filters -> 'namespace'::text) IS NULL) OR CASE WHEN ((filters -> 'namespace'::text) ? 'in'::text) THEN (namespace = ANY (animus.memory_filter_list((filters -> 'namespace'::text)))) ELSE starts_with(namespace, ((filters -> 'namespace'::text) ->> 'prefix'::text)) END) AND (((filters -> 'memory_type'::text) IS NULL) OR CASE WHEN ((filters -> 'memory_type'::text) ? 'in'::text) THEN (memory_type = ANY (animus.memory_filter_list((filters -> 'memory_type'::text)))) ELSE starts_with(memory_type, ((filters -> 'memory_type'::text) ->> 'prefix'::text)) END) AND (((filters -> 'source'::text) IS NULL) OR CASE WHEN ((filters -> 'source'::text) ? 'in'::text) THEN (source = ANY (animus.memory_filter_list((filters -> 'source'::text)))) ELSE starts_with(source, ((filters -> 'source'::text) ->> 'prefix'::text)) END) AND (((filters -> 'metadata'::text) IS NULL) OR (metadata @> (filters -> 'metadata'::text))) AND (((filters #> '{created_at,gt}'::text[]) IS NULL) OR (created_at > ((filters #>> '{created_at,gt}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,gte}'::text[]) IS NULL) OR (created_at >= ((filters #>> '{created_at,gte}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,lt}'::text[]) IS NULL) OR (created_at < ((filters #>> '{created_at,lt}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,lte}'::text[]) IS NULL) OR (created_at <= ((filters #>> '{created_at,lte}'::text[]))::timestamp with time zone)) AND (((filters -> 'state'::text) IS NULL) OR (NOT (metadata ? '_animus'::text)) OR animus.memory_state_match((filters -> 'state'::text), (metadata -> '_animus'::text))));

--
-- Name: FUNCTION memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) IS 'True when a memory (its namespace, memory_type, source, metadata, created_at) passes a filter normalised by animus.memory_validate_filters; with the filter''s "state" entry, also that it is live (not expired, not superseded unless include_superseded) and visible to the viewer (metadata->''_animus'', change memory_lifecycle). Inlinable SQL: call it in WHERE with a constant or parameter filter. Raises nothing.';

--
-- Name: memory_filter_state(jsonb, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF NOT animus.memory_state_active() THEN
        RETURN normalised;
    END IF;
    RETURN normalised || pg_catalog.jsonb_build_object('state', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'include_superseded', include_superseded,
        'viewer', animus.memory_viewer())));
END
$$;

--
-- Name: FUNCTION memory_filter_state(normalised jsonb, include_superseded boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) IS 'Internal to memory_validate_filters: adds {"state": {"include_superseded": ..., "viewer": animus.memory_viewer()}} to a normalised filter when some memory carries lifecycle or sharing state (animus.memory_state_active()). Raises nothing.';

--
-- Name: memory_finish_bulk_load(text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text DEFAULT '1GB'::text, parallel_workers integer DEFAULT 2) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    old_mem text := pg_catalog.current_setting('maintenance_work_mem');
    old_workers text := pg_catalog.current_setting('max_parallel_maintenance_workers');
    old_work_mem text := pg_catalog.current_setting('work_mem');
    loaded_after bigint;
    n bigint;
BEGIN
    IF memory_finish_bulk_load.maintenance_work_mem IS NULL OR memory_finish_bulk_load.parallel_workers IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'maintenance_work_mem and parallel_workers must not be NULL',
            HINT = 'Omit them for ''1GB'' and 2.';
    END IF;
    IF memory_finish_bulk_load.parallel_workers NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'parallel_workers must be between 0 and 64',
            DETAIL = pg_catalog.format('parallel_workers = %s', memory_finish_bulk_load.parallel_workers),
            HINT = 'Use about the number of idle cores minus one (the leader builds too); 0 builds serially.';
    END IF;
    -- Only for this function's index builds: restored below (an error rolls them back with the
    -- transaction). The HNSW graph builds fastest when it fits in maintenance_work_mem
    -- (~2 kB per 384-d memory); pgvector builds both kinds in parallel.
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_finish_bulk_load.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_finish_bulk_load.parallel_workers::text, true);
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL
       OR pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'no bulk load is in progress (the vector index exists)',
            HINT = 'Start one with animus.memory_begin_bulk_load().';
    END IF;
    -- Writers wait from here to the commit (the index builds below would hold them off anyway), so
    -- no memory is written between the fold of the loaded postings and the end of the bulk load.
    LOCK TABLE animus.memories IN SHARE MODE;
    -- The BM25 statistic deltas of the whole load, folded once (writes do not fold during a bulk
    -- load: memory_bm25_index), before their index is rebuilt on the emptied table. With
    -- work_mem at the build's memory: the fold groups millions of rows, which at the default 4MB
    -- spill to disk.
    PERFORM pg_catalog.set_config('work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    PERFORM animus.memory_bm25_refresh(wait => true);   -- (holds the refresh lock to the commit)
    -- Then the loaded memories' own postings, which left no per-term deltas: their document
    -- frequencies and tf-weight bounds per (namespace, term), added to the statistics. Existing
    -- keys are updated and new ones inserted in key order (cheaper than an upsert per row; sorted
    -- bytewise, which sorts faster than by the collation and is the same order for ASCII lexemes).
    SELECT s.bulk_from INTO loaded_after FROM animus.memory_bm25_settings s;
    IF loaded_after IS NOT NULL THEN
        WITH agg AS MATERIALIZED (
            SELECT mt.namespace, mt.term, pg_catalog.count(*) AS df, pg_catalog.max(mt.tf) AS max_tf,
                   pg_catalog.min(mt.doc_len::double precision / mt.tf) AS min_len_ratio
              FROM animus.memory_terms mt WHERE mt.memory_id > loaded_after GROUP BY mt.term, mt.namespace
        ), updated AS (
            UPDATE animus.memory_bm25_term_stats AS ts
               SET df = ts.df + a.df,
                   max_tf = CASE WHEN ts.max_tf IS NULL THEN NULL ELSE greatest(ts.max_tf, a.max_tf) END,
                   min_len_ratio = CASE WHEN ts.min_len_ratio IS NULL THEN NULL ELSE least(ts.min_len_ratio, a.min_len_ratio) END
              FROM agg a WHERE ts.term = a.term AND ts.namespace = a.namespace
            RETURNING ts.term, ts.namespace
        )
        INSERT INTO animus.memory_bm25_term_stats (namespace, term, df, max_tf, min_len_ratio)
        SELECT a.namespace, a.term, a.df, a.max_tf, a.min_len_ratio FROM agg a
         WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.term = a.term AND u.namespace = a.namespace)
         ORDER BY a.term COLLATE "C", a.namespace COLLATE "C";
        UPDATE animus.memory_bm25_settings SET bulk_from = NULL;
    END IF;
    PERFORM pg_catalog.set_config('work_mem', old_work_mem, true);
    -- The vector index of the configured kind (it sets the same two settings again).
    PERFORM animus.memory_build_vector_index(memory_finish_bulk_load.maintenance_work_mem, memory_finish_bulk_load.parallel_workers);
    CREATE INDEX IF NOT EXISTS memories_fts_gin ON animus.memories USING gin (fts);
    CREATE INDEX IF NOT EXISTS memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
    CREATE INDEX IF NOT EXISTS memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_terms_impact_idx ON animus.memory_terms (term, namespace, impact DESC, memory_id) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (term, namespace);
    PERFORM pg_catalog.set_config('maintenance_work_mem', old_mem, true);
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', old_workers, true);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_finish_bulk_load(maintenance_work_mem text, parallel_workers integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text, parallel_workers integer) IS 'Ends a bulk load: holds writers off (SHARE lock on animus.memories) to the commit, folds the load''s BM25 statistic deltas (memory_bm25_refresh, with work_mem = maintenance_work_mem) and the statistics of the loaded memories'' postings (memory_bm25_settings.bulk_from), builds the vector index of the configured kind (animus.memory_vector_index_settings: HNSW, or IVFFlat trained on the loaded rows; in parallel with parallel_workers workers and maintenance_work_mem, both set for these builds only), the fts / metadata GIN indexes, the two BM25 postings btree indexes and the BM25 deltas index; returns the number of memories. Raises ZA001, ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem), ZA212 (no bulk load in progress).';

--
-- Name: memory_finish_reembedding(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_finish_reembedding() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    missing bigint;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'reembedding' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'no re-embedding is in progress',
            HINT = 'Start one with animus.memory_begin_reembedding(embedding_model, embedding_dim).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    SELECT pg_catalog.count(*) FILTER (WHERE m.embedding IS NULL), pg_catalog.count(*) INTO missing, n
      FROM animus.memories AS m;
    IF missing > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA210',
            MESSAGE = pg_catalog.format('%s of %s memories still lack an embedding', missing, n),
            HINT = 'Re-embed them: SELECT id, content FROM animus.memories WHERE embedding IS NULL; then animus.update_memory(id, embedding => ...).';
    END IF;
    ALTER TABLE animus.memories ALTER COLUMN embedding SET NOT NULL;
    -- The session's maintenance_work_mem and max_parallel_maintenance_workers, as before.
    PERFORM animus.memory_build_vector_index(pg_catalog.current_setting('maintenance_work_mem'),
                                             pg_catalog.current_setting('max_parallel_maintenance_workers')::integer);
    UPDATE animus.memory_settings SET state = 'ready', updated_at = pg_catalog.now();
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_finish_reembedding(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_finish_reembedding() IS 'Ends a change of embedding model once every memory has a new embedding: embedding NOT NULL again, the vector index of the configured kind (animus.memory_vector_index_settings: HNSW or IVFFlat) rebuilt (raise maintenance_work_mem first for large tables); returns the number of memories. Raises ZA209 (no re-embedding in progress), ZA210 (memories still lack an embedding).';

--
-- Name: memory_fsrs_step(double precision[], integer, double precision, double precision, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) RETURNS record
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF stability IS NULL THEN   -- first review (w is 1-based here: w[1] is w0)
        new_stability := greatest(w[grade], 0.1);
        new_difficulty := least(greatest(w[5] - w[6] * (grade - 3), 1), 10);
        retrievability := NULL;
        RETURN;
    END IF;
    retrievability := animus.memory_retrievability(stability, elapsed_days);
    new_difficulty := least(greatest(w[8] * w[5] + (1 - w[8]) * (difficulty - w[7] * (grade - 3)), 1), 10);
    IF grade = 1 THEN
        new_stability := w[12] * power(difficulty, -w[13]) * (power(stability + 1, w[14]) - 1) * exp(w[15] * (1 - retrievability));
    ELSE
        new_stability := stability * (1 + exp(w[9]) * (11 - difficulty) * power(stability, -w[10])
                                          * (exp(w[11] * (1 - retrievability)) - 1)
                                          * CASE WHEN grade = 2 THEN w[16] ELSE 1 END
                                          * CASE WHEN grade = 4 THEN w[17] ELSE 1 END);
    END IF;
    new_stability := greatest(new_stability, 0.01);
END
$$;

--
-- Name: FUNCTION memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) IS 'One FSRS-4.5 review: from (stability, difficulty) (NULL stability: first review) and a grade 1..4 after elapsed_days, the new stability and difficulty and the retrievability at review time (NULL on the first). w holds w0..w16 (w[1] is w0). Raises nothing.';

--
-- Name: memory_graph_expand(bigint[], double precision[], integer, text[], double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_graph_expand(hit_ids bigint[] DEFAULT NULL::bigint[], hit_scores double precision[] DEFAULT NULL::double precision[], depth integer DEFAULT 1, relations text[] DEFAULT NULL::text[], decay double precision DEFAULT 0.5) RETURNS TABLE(memory_id bigint, score double precision, hops integer, via bigint, relation text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF hit_ids IS NULL OR hit_scores IS NULL OR cardinality(hit_ids) <> cardinality(hit_scores) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'hit_ids and hit_scores must be arrays of the same length',
            HINT = 'Pass the ids and scores of the top hits of a search.';
    END IF;
    IF cardinality(hit_ids) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'hit_ids must hold at most 1000 ids',
            DETAIL = format('hit_ids holds %s', cardinality(hit_ids)), HINT = 'Expand the top hits only.';
    END IF;
    IF decay IS NULL OR NOT (decay > 0 AND decay <= 1) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'decay must be in (0, 1]',
            DETAIL = format('decay = %s', decay), HINT = 'The default 0.5 halves a score per link.';
    END IF;
    PERFORM animus.memory_check_graph_args(memory_graph_expand.depth, memory_graph_expand.relations);
    RETURN QUERY
    SELECT w.memory_id, w.score, w.hops, w.via, w.relation
      FROM animus.memory_graph_walk(hit_ids, hit_scores, memory_graph_expand.depth, memory_graph_expand.relations, decay) AS w
     ORDER BY w.score DESC, w.memory_id;
END
$$;

--
-- Name: FUNCTION memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision) IS 'The graph step for a search: the live, visible memories linked to the hits (not hits themselves) up to depth links away, score = hit score x link weight x decay per link (best path at the shallowest depth), best first. Hits the caller cannot see contribute nothing. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (decay), ZA221.';

--
-- Name: memory_graph_walk(bigint[], double precision[], integer, text[], double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision) RETURNS TABLE(memory_id bigint, hops integer, score double precision, via bigint, relation text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    st jsonb := jsonb_strip_nulls(jsonb_build_object('include_superseded', false, 'viewer', viewer));
    frontier bigint[] := seeds;
    frontier_scores double precision[] := seed_scores;
    seen bigint[] := seeds;
    n_via bigint[];
    n_rel text[];
    r_ids bigint[] := '{}';
    r_depth integer[] := '{}';
    r_scores double precision[] := '{}';
    r_via bigint[] := '{}';
    r_rel text[] := '{}';
    d integer := 0;
BEGIN
    WHILE d < depth AND cardinality(frontier) > 0 LOOP
        d := d + 1;
        SELECT coalesce(array_agg(x.other ORDER BY x.other), '{}'), coalesce(array_agg(x.s ORDER BY x.other), '{}'),
               coalesce(array_agg(x.via ORDER BY x.other), '{}'), coalesce(array_agg(x.relation ORDER BY x.other), '{}')
          INTO frontier, frontier_scores, n_via, n_rel
          FROM (SELECT DISTINCT ON (e.other) e.other, e.s, e.via, e.relation
                  FROM (SELECT l.target_id AS other, f.score * l.weight * decay AS s, l.source_id AS via, l.relation
                          FROM unnest(frontier, frontier_scores) AS f(id, score)
                          JOIN animus.memory_links AS l ON l.source_id = f.id
                         WHERE relations IS NULL OR l.relation = ANY (relations)
                        UNION ALL
                        SELECT l.source_id, f.score * l.weight * decay, l.target_id, l.relation
                          FROM unnest(frontier, frontier_scores) AS f(id, score)
                          JOIN animus.memory_links AS l ON l.target_id = f.id
                         WHERE relations IS NULL OR l.relation = ANY (relations)) AS e
                  JOIN animus.memories AS m ON m.id = e.other
                 WHERE NOT e.other = ANY (seen)
                   AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
                   AND animus.memory_state_match(st, m.metadata -> '_animus')
                 ORDER BY e.other, e.s DESC, e.via, e.relation) AS x;
        seen := seen || frontier;
        r_ids := r_ids || frontier;
        r_depth := r_depth || array_fill(d, ARRAY[cardinality(frontier)]);
        r_scores := r_scores || frontier_scores;
        r_via := r_via || n_via;
        r_rel := r_rel || n_rel;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(r_ids, r_depth, r_scores, r_via, r_rel);
END
$$;

--
-- Name: FUNCTION memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision) IS 'Internal to memory_neighbors and memory_graph_expand: breadth-first over links (both directions) from seeds, each memory once at its shallowest depth; score = seed score x product of link weights x decay per step (best path at that depth). Only memories the caller sees that are live (not expired, not superseded). Raises nothing.';

--
-- Name: memory_hybrid_fuse(text, public.vector, jsonb, integer, boolean, boolean, text, double precision, double precision, double precision, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_hybrid_fuse(query_text text, query_embedding public.vector, f jsonb, n integer, use_text boolean, use_vector boolean, fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer) RETURNS TABLE(id bigint, score double precision, vr bigint, tr bigint, best bigint, distance double precision, ts double precision)
    LANGUAGE sql STABLE
    AS $$
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates_live(query_text, f, n) AS c
         WHERE use_text
    )
    SELECT coalesce(vec.id, txt.id),
           CASE WHEN fusion = 'rrf'
                THEN coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0)
                -- convex: alpha * vector + (1 - alpha) * text, each normalised by theoretical
                -- min-max (Bruch et al. 2023, TM2C2): (s - min_possible) / (max_seen - min_possible),
                -- cosine similarity from -1, BM25 from 0; a row a branch did not return gets 0 there.
                -- text_weight / vector_weight scale their branch as in RRF (default 1). A branch
                -- switched off has weight 0 (the other one ranks alone).
                ELSE vector_weight * CASE WHEN use_vector AND use_text THEN a ELSE 1 END
                         * coalesce((2 - vec.distance) / nullif(2 - min(vec.distance) OVER (), 0), 0)
                   + text_weight * CASE WHEN use_vector AND use_text THEN 1 - a ELSE 1 END
                         * coalesce(txt.score / nullif(max(txt.score) OVER (), 0), 0)
           END,
           vec.r, txt.r, least(vec.r, txt.r), vec.distance, txt.score
      FROM vec FULL JOIN txt ON txt.id = vec.id
$$;

--
-- Name: FUNCTION memory_hybrid_fuse(query_text text, query_embedding public.vector, f jsonb, n integer, use_text boolean, use_vector boolean, fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_hybrid_fuse(query_text text, query_embedding public.vector, f jsonb, n integer, use_text boolean, use_vector boolean, fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer) IS 'Internal: the fused candidates of hybrid_search (its arguments already checked; f a normalised read filter): each branch''s best n joined on id with the fused score (rrf or convex, as documented on hybrid_search), the vector and text ranks, the best of them, the cosine distance and the BM25 score; unordered. Granted to nobody (hybrid_search runs as the owner). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_is_blank(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_is_blank(content text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (btrim(content, ' 	
                 　﻿'::text) = ''::text);

--
-- Name: FUNCTION memory_is_blank(content text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_is_blank(content text) IS 'True when content is empty or only whitespace (ASCII and Unicode spaces, tabs, line breaks, no-break spaces). Raises nothing.';

--
-- Name: memory_is_interval(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_is_interval(value jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        RETURN true;
    END IF;
    IF jsonb_typeof(value) = 'number' THEN
        RETURN (value #>> '{}')::double precision BETWEEN -1e12 AND 1e12;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        RETURN false;
    END IF;
    PERFORM (value #>> '{}')::interval;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;

--
-- Name: FUNCTION memory_is_interval(value jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_is_interval(value jsonb) IS 'Internal to store_memories: true when value is JSON null, a number of seconds, or a string that converts to interval. Raises nothing.';

--
-- Name: memory_is_timestamptz(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_is_timestamptz(value jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        RETURN true;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        RETURN false;
    END IF;
    PERFORM (value #>> '{}')::timestamptz;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;

--
-- Name: FUNCTION memory_is_timestamptz(value jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_is_timestamptz(value jsonb) IS 'Internal to store_memories: true when value is JSON null or a string that converts to timestamptz. Raises nothing.';

--
-- Name: memory_ivfflat_lists(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_ivfflat_lists(n bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN CASE WHEN ((n IS NULL) OR (n < 1000)) THEN 1 WHEN (n <= 1000000) THEN ((n / 1000))::integer ELSE LEAST(32768, (ceil(sqrt((n)::double precision)))::integer) END;

--
-- Name: FUNCTION memory_ivfflat_lists(n bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_ivfflat_lists(n bigint) IS 'Internal (memory_build_vector_index): IVFFlat lists for n rows: n / 1000 up to 1M rows, sqrt(n) beyond (pgvector''s guidance), at least 1, at most 32768. Granted to nobody. Raises nothing.';

--
-- Name: memory_namespace_stats(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_namespace_stats() RETURNS TABLE(namespace text, memories bigint, embedded bigint, content_bytes bigint, oldest timestamp with time zone, newest timestamp with time zone, last_updated timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    RETURN QUERY
    SELECT m.namespace, count(*), count(m.embedding), sum(pg_catalog.octet_length(m.content))::bigint,
           min(m.created_at), max(m.created_at), max(m.updated_at)
      FROM animus.memories m
     WHERE m.namespace = ANY (scope) OR '*' = ANY (scope)
     GROUP BY m.namespace
     ORDER BY m.namespace;
END;
$$;

--
-- Name: FUNCTION memory_namespace_stats(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_namespace_stats() IS 'Per memory namespace in the caller''s read scope (animus.memory_scope(''read'')): memories, embedded (with an embedding), content_bytes (UTF-8 bytes of content), oldest and newest created_at, last_updated. Cost: one scan of the memories in scope. Raises nothing of its own.';

--
-- Name: memory_neighbors(bigint, integer, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_neighbors(id bigint DEFAULT NULL::bigint, depth integer DEFAULT 1, relations text[] DEFAULT NULL::text[]) RETURNS TABLE(memory_id bigint, hops integer, via bigint, relation text, weight double precision, namespace text, content text, memory_type text, metadata jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF memory_neighbors.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id of the memory to start from.';
    END IF;
    PERFORM animus.memory_check_graph_args(memory_neighbors.depth, memory_neighbors.relations);
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = memory_neighbors.id
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', memory_neighbors.id),
            HINT = 'Check the id; the memory may have been deleted.';
    END IF;
    RETURN QUERY
    SELECT w.memory_id, w.hops, w.via, w.relation, w.score, m.namespace, m.content, m.memory_type, m.metadata
      FROM animus.memory_graph_walk(ARRAY[memory_neighbors.id], ARRAY[1::double precision], memory_neighbors.depth,
                                    memory_neighbors.relations, 1) AS w
      JOIN animus.memories AS m ON m.id = w.memory_id
     ORDER BY w.hops, w.score DESC, w.memory_id;
END
$$;

--
-- Name: FUNCTION memory_neighbors(id bigint, depth integer, relations text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_neighbors(id bigint, depth integer, relations text[]) IS 'The memories linked to memory id (links in either direction) up to depth links away (1..5), each once at its shallowest depth: hops (links away), via (the memory it was reached from), relation, weight (product of the link weights on the best path), and the memory. Cycle-safe. Only live memories the caller sees (not expired, not superseded, not private to another role); relations NULL follows every relation. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (unknown or invisible id), ZA221 (depth, relations).';

--
-- Name: memory_normalize_text_filter(text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    op text;
    operand jsonb;
BEGIN
    CASE pg_catalog.jsonb_typeof(value)
    WHEN 'string' THEN
        RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(value));
    WHEN 'array' THEN
        op := 'in';
        operand := value;
    WHEN 'object' THEN
        IF (SELECT count(*) FROM pg_catalog.jsonb_object_keys(value)) <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must name exactly one operator', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = 'Use one of {"eq": "x"}, {"in": ["x", "y"]}, {"prefix": "x"}.';
        END IF;
        SELECT k, v INTO op, operand FROM pg_catalog.jsonb_each(value) AS e(k, v);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = pg_catalog.format('filters.%s must be a string, an array of strings or an operator object', field),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = pg_catalog.format('Example: {"%s": "x"} or {"%s": ["x", "y"]} or {"%s": {"prefix": "x"}}.', field, field, field);
    END CASE;

    CASE op
    WHEN 'eq', 'prefix' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s.%s must be a string', field, op),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": {"%s": "x"}}.', field, op);
        END IF;
        IF op = 'eq' THEN
            RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(operand));
        END IF;
        RETURN pg_catalog.jsonb_build_object('prefix', operand);
    WHEN 'in' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'array'
           OR pg_catalog.jsonb_array_length(operand) = 0
           OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(operand) AS e(x)
                       WHERE pg_catalog.jsonb_typeof(e.x) <> 'string') THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must list one or more strings', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": ["x", "y"]}.', field);
        END IF;
        IF pg_catalog.jsonb_array_length(operand) > 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA213',
                MESSAGE = pg_catalog.format('filters.%s must list at most 100 strings', field),
                DETAIL = pg_catalog.format('filters.%s lists %s strings', field, pg_catalog.jsonb_array_length(operand)),
                HINT = 'Use a prefix ({"prefix": "x"}) or a metadata tag instead of a long list, or search in several calls.';
        END IF;
        RETURN pg_catalog.jsonb_build_object('in', operand);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA206',
            MESSAGE = pg_catalog.format('filters.%s uses the unknown operator "%s"', field, op),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = 'Text filters know the operators eq, in and prefix.';
    END CASE;
END
$$;

--
-- Name: FUNCTION memory_normalize_text_filter(field text, value jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) IS 'Internal to memory_validate_filters: normalises one text filter to {"in": [...]} or {"prefix": "..."}. Raises ZA204, ZA206, ZA213 (a list of more than 100 strings).';

--
-- Name: memory_or_tsquery(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_or_tsquery(query text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT (string_agg(((''''::text || replace(replace(lexeme.lexeme, '\'::text, '\\'::text), ''''::text, ''''''::text)) || ''''::text), ' | '::text ORDER BY lexeme.lexeme))::tsquery AS string_agg FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, memory_or_tsquery.query))) lexeme(lexeme));

--
-- Name: FUNCTION memory_or_tsquery(query text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_or_tsquery(query text) IS 'The English lexemes of query ORed into a tsquery (NULL if there are none). Raises nothing.';

--
-- Name: memory_parses_as_vector(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_parses_as_vector(value text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
    PERFORM value::vector;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;

--
-- Name: FUNCTION memory_parses_as_vector(value text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_parses_as_vector(value text) IS 'True if value is valid pgvector text ([finite numbers]); false otherwise. Raises nothing.';

--
-- Name: memory_read_filters(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_read_filters(filters jsonb DEFAULT '{}'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    f       jsonb := animus.memory_validate_filters(filters);
    scope   text[] := animus.memory_scope('read');
    wanted  jsonb := f -> 'namespace';
    allowed text[];
BEGIN
    IF '*' = ANY (scope) THEN
        RETURN f;
    END IF;
    IF wanted IS NULL THEN
        allowed := scope;
    ELSIF wanted ? 'in' THEN
        allowed := ARRAY(SELECT DISTINCT x FROM unnest(animus.memory_filter_list(wanted)) AS x WHERE x = ANY (scope) ORDER BY 1);
    ELSE
        allowed := ARRAY(SELECT x FROM unnest(scope) AS x WHERE starts_with(x, wanted ->> 'prefix') ORDER BY 1);
    END IF;
    RETURN f || jsonb_build_object('namespace', jsonb_build_object('in', to_jsonb(coalesce(allowed, '{}'::text[]))));
END
$$;

--
-- Name: FUNCTION memory_read_filters(filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_read_filters(filters jsonb) IS 'Internal to the SECURITY DEFINER searches: filters checked and normalised by memory_validate_filters, their namespace condition intersected with animus.memory_scope(''read'') (the session''s role). Granted to nobody. Raises ZA204, ZA205, ZA206, ZA213 (memory_validate_filters).';

--
-- Name: memory_reembedding_progress(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_reembedding_progress(namespace text DEFAULT NULL::text) RETURNS TABLE(memory_namespace text, model text, total bigint, current bigint, pending bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    RETURN QUERY
    SELECT nm.namespace, nm.model, count(m.id), count(m.id) FILTER (WHERE m.embedding_model = nm.model),
           count(m.id) FILTER (WHERE m.embedding_model IS DISTINCT FROM nm.model)
      FROM animus.memory_namespace_models AS nm
      LEFT JOIN animus.memories AS m ON m.namespace = nm.namespace
     WHERE (memory_reembedding_progress.namespace IS NULL OR nm.namespace = memory_reembedding_progress.namespace)
       AND ('*' = ANY (scope) OR nm.namespace = ANY (scope))
     GROUP BY nm.namespace, nm.model
     ORDER BY nm.namespace;
END
$$;

--
-- Name: FUNCTION memory_reembedding_progress(namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_reembedding_progress(namespace text) IS 'Per namespace with an active model (of the caller''s read scope; one namespace when given): the model, how many memories it has, how many have a vector of that model (current) and how many wait for one (pending). Runs as the owner. Read-only (STABLE). Raises nothing.';

--
-- Name: memory_request_reembedding(text, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_request_reembedding(namespace text DEFAULT NULL::text, queue text DEFAULT 'work'::text, max_items integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    items jsonb;
    n bigint;
BEGIN
    IF max_items IS NULL OR max_items < 1 OR max_items > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'max_items must be between 1 and 10000',
            DETAIL = pg_catalog.format('max_items = %s', max_items), HINT = 'Call again for more.';
    END IF;
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'work_type', 'memory_reembed', 'source', 'animus.memory_request_reembedding',
               'dedup_key', 'memory-reembed:' || m.id,
               'params', pg_catalog.jsonb_build_object('memory_id', m.id, 'model', nm.model)) ORDER BY m.id),
           count(*)
      INTO items, n
      FROM (SELECT m.id, m.namespace FROM animus.memories AS m
              JOIN animus.memory_namespace_models AS nm ON nm.namespace = m.namespace
             WHERE m.embedding_model IS DISTINCT FROM nm.model
               AND (memory_request_reembedding.namespace IS NULL OR m.namespace = memory_request_reembedding.namespace)
             ORDER BY m.id
             LIMIT max_items) AS m
      JOIN animus.memory_namespace_models AS nm ON nm.namespace = m.namespace;
    IF n > 0 THEN
        PERFORM animus.submit_work_batch(items, queue => memory_request_reembedding.queue);
    END IF;
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_request_reembedding(namespace text, queue text, max_items integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_request_reembedding(namespace text, queue text, max_items integer) IS 'Submits to queue one work item (work_type memory_reembed, params {memory_id, model}, dedup_key memory-reembed:<id>) per memory, at most max_items, whose vector is not of its namespace''s active model; returns how many were submitted (repeats merge into the item still active). Runs as the owner; the caller needs the queue (ZA109). Raises ZA002 (max_items), ZA109 and the errors of submit_work_batch.';

--
-- Name: memory_retrievability(double precision, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ((stability IS NULL) OR (elapsed_days IS NULL)) THEN NULL::double precision ELSE power(((1)::double precision + ((((19.0 / 81.0))::double precision * GREATEST(elapsed_days, (0)::double precision)) / stability)), ('-0.5'::numeric)::double precision) END;

--
-- Name: FUNCTION memory_retrievability(stability double precision, elapsed_days double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) IS 'FSRS-4.5 forgetting curve: probability of recall elapsed_days after a review of a memory with stability days, (1 + 19/81 * t / S)^-0.5 (0.9 at t = S). NULL for NULL input. Raises nothing.';

--
-- Name: memory_row_visible(text, text, oid, oid[], text[], jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[], scope text[], viewer jsonb) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((('*'::text = ANY (scope)) OR (namespace = ANY (scope))) AND ((visibility = 'namespace'::text) OR (viewer IS NULL) OR ((owner_role)::text = (viewer ->> 'role'::text)) OR ((visibility = 'groups'::text) AND ((share_groups)::text[] && ARRAY(SELECT jsonb_array_elements_text((viewer -> 'groups'::text)) AS jsonb_array_elements_text)))));

--
-- Name: FUNCTION memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[], scope text[], viewer jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[], scope text[], viewer jsonb) IS 'Internal: true when a memory (namespace, visibility, owner_role, share_groups) is visible to a caller with read scope scope and viewer animus.memory_viewer(). Lifecycle state (expiry, supersession) is not considered. Raises nothing.';

--
-- Name: memory_scope(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_scope(access text DEFAULT 'read'::text) RETURNS text[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    caller   name := animus.memory_caller();
    granted  text[];
    narrowed text[];
    setting  text := pg_catalog.current_setting('animus.namespaces', true);
BEGIN
    IF access IS NULL OR access NOT IN ('read', 'write') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA004', MESSAGE = 'access must be ''read'' or ''write''',
            DETAIL = pg_catalog.format('access = %L', pg_catalog.left(access, 40)),
            HINT = 'Pass ''read'' (namespaces you may see) or ''write'' (namespaces you may change).';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND (r.rolsuper OR r.rolbypassrls)) THEN
        granted := ARRAY['*'];
    ELSE
        -- joined on the OID: the grants of a dropped role match no role
        SELECT coalesce(pg_catalog.array_agg(DISTINCT g.namespace), '{}') INTO granted
          FROM animus.memory_namespace_grants AS g
          JOIN pg_catalog.pg_roles AS r ON r.oid = g.role_oid
         WHERE pg_catalog.pg_has_role(caller, r.oid, 'USAGE')
           AND (access = 'read' OR g.can_write);
    END IF;
    IF setting IS NULL OR pg_catalog.btrim(setting) = '' THEN
        RETURN granted;
    END IF;
    SELECT coalesce(pg_catalog.array_agg(DISTINCT n), '{}') INTO narrowed
      FROM (SELECT pg_catalog.btrim(x) AS n FROM pg_catalog.unnest(pg_catalog.string_to_array(setting, ',')) AS x) AS s
     WHERE s.n <> '' AND (s.n = ANY (granted) OR '*' = ANY (granted));
    RETURN narrowed;
END
$$;

--
-- Name: FUNCTION memory_scope(access text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_scope(access text) IS 'The namespaces of animus.memories the caller may read (access => ''read'') or write (''write''): the namespaces granted in animus.memory_namespace_grants to the caller or a role it is a member of (by role OID: grants of a dropped role count for nobody), intersected with the session setting animus.namespaces (comma-separated) when that is set; ''{*}'' means every namespace (superusers, BYPASSRLS roles, grants of ''*''). The searches and the row-level security policies of animus.memories call it. Raises ZA004 (access).';

--
-- Name: memory_set_embedding(bigint, public.vector, text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_set_embedding(id bigint DEFAULT NULL::bigint, embedding public.vector DEFAULT NULL::public.vector, model text DEFAULT NULL::text, content text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    dim integer;
BEGIN
    IF memory_set_embedding.id IS NULL OR memory_set_embedding.content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id and content must not be NULL',
            HINT = 'Pass the memory id, its vector, the model and the content that was embedded.';
    END IF;
    SELECT m.dimension INTO dim FROM animus.memory_models AS m WHERE m.name = memory_set_embedding.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA225', MESSAGE = pg_catalog.format('model %L is not registered', pg_catalog.left(memory_set_embedding.model, 80)),
            HINT = 'Register it first with animus.register_model(name, dimension).';
    END IF;
    PERFORM animus.memory_check_embedding(memory_set_embedding.embedding);
    UPDATE animus.memories AS m
       SET embedding = memory_set_embedding.embedding, embedding_model = memory_set_embedding.model
     WHERE m.id = memory_set_embedding.id AND m.content = memory_set_embedding.content
       AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    RETURN FOUND;
END
$$;

--
-- Name: FUNCTION memory_set_embedding(id bigint, embedding public.vector, model text, content text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_set_embedding(id bigint, embedding public.vector, model text, content text) IS 'Writes the vector of memory id computed by model (registered) from content, and records the model; false (nothing written) when the memory is gone, outside the caller''s write scope or its content is no longer content. updated_at does not move. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA200 (dimension), ZA202 (zero vector), ZA225 (model not registered).';

--
-- Name: memory_state_active(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_state_active() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT EXISTS (SELECT 1 FROM animus.memories AS m WHERE m.metadata ? '_animus');
$$;

--
-- Name: FUNCTION memory_state_active(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_state_active() IS 'True when at least one memory expires, is superseded or is not visible to its whole namespace (one probe of a partial index). Runs as the owner (SECURITY DEFINER); reveals one bit about the whole table. Raises nothing.';

--
-- Name: memory_state_mirror(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_state_mirror() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    state jsonb := animus.memory_state_of(NEW.expires_at, NEW.superseded_by, NEW.owner_role, NEW.visibility, NEW.share_groups);
BEGIN
    NEW.metadata := CASE WHEN state IS NULL THEN NEW.metadata - '_animus'
                         ELSE NEW.metadata || pg_catalog.jsonb_build_object('_animus', state) END;
    RETURN NEW;
END
$$;

--
-- Name: FUNCTION memory_state_mirror(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_state_mirror() IS 'Trigger of animus.memories: writes the row''s lifecycle and sharing state into metadata->''_animus'' (removes the key for the defaults), overwriting anything a caller stored there. Raises nothing.';

--
-- Name: memory_state_of(timestamp with time zone, bigint, oid, text, oid[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_state_of(expires_at timestamp with time zone, superseded_by bigint, owner_role oid, visibility text, share_groups oid[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN NULLIF(jsonb_strip_nulls(jsonb_build_object('expires_at', expires_at, 'superseded_by', superseded_by, 'visibility', CASE WHEN (visibility <> 'namespace'::text) THEN visibility ELSE NULL::text END, 'owner', CASE WHEN (visibility <> 'namespace'::text) THEN (owner_role)::text ELSE NULL::text END, 'groups', CASE WHEN (visibility = 'groups'::text) THEN to_jsonb((share_groups)::text[]) ELSE NULL::jsonb END)), '{}'::jsonb);

--
-- Name: FUNCTION memory_state_of(expires_at timestamp with time zone, superseded_by bigint, owner_role oid, visibility text, share_groups oid[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_state_of(expires_at timestamp with time zone, superseded_by bigint, owner_role oid, visibility text, share_groups oid[]) IS 'Internal: the lifecycle and sharing state of a memory as mirrored into metadata->''_animus'' (NULL for the defaults). Raises nothing.';

--
-- Name: memory_store_batch(jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_store_batch(memories jsonb DEFAULT NULL::jsonb, namespace text DEFAULT 'default'::text) RETURNS TABLE(ordinal integer, id bigint, created boolean)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE
    bad record;
    err_message text;
    dim integer;
    scope text[];
BEGIN
    IF memories IS NULL OR jsonb_typeof(memories) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA208',
            MESSAGE = 'memories must be a JSON array of memory objects',
            DETAIL = format('memories is %s', coalesce(jsonb_typeof(memories), 'NULL')),
            HINT = 'Pass [{"content": "...", "embedding": [...], "memory_type": "..."}, ...].';
    END IF;
    IF jsonb_array_length(memories) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA215',
            MESSAGE = 'memories must hold at most 10000 elements',
            DETAIL = format('memories holds %s elements; nothing was stored', jsonb_array_length(memories)),
            HINT = 'Split the load into batches of at most 10000 (2000 loads fastest, docs/memory.md).';
    END IF;
    IF memory_store_batch.namespace IS NULL OR memory_store_batch.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default''; an element''s own "namespace" overrides it.';
    END IF;

    -- Shape of every element: one boolean expression per element (no number is parsed for string
    -- embeddings); only when it fails, the query below names the first bad element and why.
    IF NOT (SELECT coalesce(bool_and(coalesce(
                jsonb_typeof(a.e) = 'object'
                AND (a.e - ARRAY['content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace']) = '{}'::jsonb
                AND jsonb_typeof(a.e -> 'content') = 'string' AND NOT animus.memory_is_blank(a.e ->> 'content')
                AND octet_length(a.e ->> 'content') <= 500000
                AND jsonb_typeof(a.e -> 'memory_type') = 'string' AND a.e ->> 'memory_type' <> ''
                AND coalesce(jsonb_typeof(a.e -> 'source'), 'null') IN ('string', 'null')
                AND coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') = 'object'
                AND (NOT a.e ? 'namespace' OR (jsonb_typeof(a.e -> 'namespace') = 'string' AND a.e ->> 'namespace' <> ''))
                AND (jsonb_typeof(a.e -> 'embedding') = 'string'
                     OR (jsonb_typeof(a.e -> 'embedding') = 'array'
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))),
                false)), true)
              FROM jsonb_array_elements(memories) AS a(e)) THEN
        SELECT a.ord, p.code, p.problem INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         CROSS JOIN LATERAL (
            SELECT c.code, c.problem FROM (VALUES
                (1, 'ZA208', 'is not a JSON object', jsonb_typeof(a.e) <> 'object'),
                (2, 'ZA208', 'has an unknown key (known: content, embedding, memory_type, source, metadata, namespace)',
                    jsonb_typeof(a.e) = 'object' AND EXISTS (
                        SELECT 1 FROM jsonb_object_keys(a.e) AS k
                         WHERE k NOT IN ('content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace'))),
                (3, 'ZA208', 'needs "content" as a string', jsonb_typeof(a.e -> 'content') IS DISTINCT FROM 'string'),
                (4, 'ZA203', 'has empty or whitespace-only content', animus.memory_is_blank(a.e ->> 'content')),
                (4, 'ZA214', 'has content over 500000 bytes (UTF-8)', octet_length(a.e ->> 'content') > 500000),
                (5, 'ZA208', 'needs "memory_type" as a non-empty string',
                    jsonb_typeof(a.e -> 'memory_type') IS DISTINCT FROM 'string' OR a.e ->> 'memory_type' = ''),
                (6, 'ZA208', 'has a "source" that is not a string',
                    coalesce(jsonb_typeof(a.e -> 'source'), 'null') NOT IN ('string', 'null')),
                (7, 'ZA208', 'has "metadata" that is not an object',
                    coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') <> 'object'),
                (8, 'ZA208', 'has a "namespace" that is not a non-empty string',
                    a.e ? 'namespace' AND (jsonb_typeof(a.e -> 'namespace') <> 'string' OR a.e ->> 'namespace' = '')),
                (9, 'ZA208', 'needs "embedding" as an array of numbers or a string "[0.1,...]"',
                    coalesce(jsonb_typeof(a.e -> 'embedding'), 'null') NOT IN ('array', 'string')),
                (10, 'ZA201', 'has an embedding component that is not a number (NaN, Infinity, a string, null)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')),
                (11, 'ZA201', 'has an embedding component beyond the float4 range (infinite)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))
            ) AS c(n, code, problem, failed)
            WHERE c.failed IS TRUE
            ORDER BY c.n
            LIMIT 1) AS p
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = bad.code,
                MESSAGE = format('memories[%s] %s', bad.ord, bad.problem),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = CASE bad.code
                       WHEN 'ZA201' THEN 'Every embedding component must be a finite number.'
                       WHEN 'ZA203' THEN 'Store non-empty text (whitespace alone does not count).'
                       WHEN 'ZA214' THEN 'Split the text into several memories; its keyword index holds at most 1 MB.'
                       ELSE 'Each element is {"content": "...", "embedding": [...], "memory_type": "...", "source"?, "metadata"?, "namespace"?}.'
                       END;
        END IF;
    END IF;

    -- Every element's namespace must be in the caller's write scope (the session's role: this
    -- runs inside the SECURITY DEFINER store_memories, as the owner).
    scope := animus.memory_write_scope();
    IF NOT '*' = ANY (scope) THEN
        SELECT a.ord, coalesce(a.e ->> 'namespace', memory_store_batch.namespace) AS ns INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         WHERE NOT coalesce(a.e ->> 'namespace', memory_store_batch.namespace) = ANY (scope)
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('memories[%s] is for namespace %L, which is not in the caller''s write scope', bad.ord, left(bad.ns, 80)),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
        END IF;
    END IF;

    -- Repeats are found by (namespace, content), not by the content hash: equal texts have equal
    -- hashes, and the table computes the hash once (its generated column) instead of twice; byte order
    -- ("C") sorts them without the collation's cost.
    -- Dimension and zero vector are checked per row while the INSERT reads its input: two C calls
    -- per row; memory_check_embedding (which raises ZA200 / ZA202 naming the element) runs only
    -- for a bad row (calling it for every row cost ~15 % of the load).
    SELECT s.embedding_dim INTO dim FROM animus.memory_settings AS s;
    BEGIN
        -- input is MATERIALIZED: inlined, every reference to emb below would parse the vector
        -- text again (three parses per row: 45 % of the load's CPU, measured).
        RETURN QUERY
        WITH input AS MATERIALIZED (
            SELECT a.ord::integer AS ord,
                   coalesce(a.e ->> 'namespace', memory_store_batch.namespace) AS ns,
                   a.e ->> 'content' AS body,
                   a.e ->> 'memory_type' AS mtype,
                   a.e ->> 'source' AS src,
                   coalesce(a.e -> 'metadata', '{}') AS meta,
                   CASE jsonb_typeof(a.e -> 'embedding')
                   WHEN 'string' THEN (a.e ->> 'embedding')::vector
                   ELSE (a.e -> 'embedding')::text::vector END AS emb
              FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
        ), checked AS MATERIALIZED (
            SELECT i.*,
                   CASE WHEN vector_dims(i.emb) <> dim OR vector_norm(i.emb) = 0
                        THEN animus.memory_check_embedding(i.emb, format('memories[%s].embedding', i.ord)) END AS ok
              FROM input AS i
        ), last_of_each AS (
            SELECT DISTINCT ON (c.ns COLLATE "C", c.body COLLATE "C") c.*
              FROM checked AS c ORDER BY c.ns COLLATE "C", c.body COLLATE "C", c.ord DESC
        ), written AS (
            INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
            SELECT l.ns, l.body, l.mtype, l.src, l.meta, l.emb
              FROM last_of_each AS l ORDER BY l.ord
            ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
               SET memory_type = EXCLUDED.memory_type,
                   source      = EXCLUDED.source,
                   metadata    = EXCLUDED.metadata,
                   embedding   = EXCLUDED.embedding,
                   updated_at  = now()
            RETURNING m.id, m.namespace, m.content, m.xmax = 0 AS is_new
        )
        SELECT c.ord, w.id, w.is_new
          FROM checked AS c JOIN written AS w ON w.namespace = c.ns AND w.content = c.body
         ORDER BY c.ord;
    EXCEPTION WHEN data_exception THEN
        -- pgvector rejected an embedding (NaN, Infinity, beyond float4, malformed string).
        GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT;
        SELECT a.ord INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         WHERE jsonb_typeof(a.e -> 'embedding') = 'string'
           AND NOT animus.memory_parses_as_vector(a.e ->> 'embedding')
         ORDER BY a.ord LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = 'ZA201',
            MESSAGE = format('memories[%s] has an embedding that is not a vector of finite numbers',
                             coalesce(bad.ord::text, '?')),
            DETAIL = format('pgvector: %s. Nothing was stored.', err_message),
            HINT = 'Every embedding component must be a finite number; the string form is "[0.1,0.2,...]".';
    END;
END
$_$;

--
-- Name: FUNCTION memory_store_batch(memories jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_store_batch(memories jsonb, namespace text) IS 'The body of animus.store_memories (which see), apart so that store_memories can be SECURITY DEFINER with search_path = pg_catalog, pg_temp while this parses vectors with pgvector''s schema on its search_path. Granted to nobody: only store_memories calls it, as the owner. Raises ZA001, ZA200, ZA201, ZA202, ZA203, ZA208, ZA214, ZA215, 42501 (a namespace outside the caller''s write scope).';

--
-- Name: memory_text_candidates(text, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 100) RETURNS TABLE(id bigint, score double precision)
    LANGUAGE plpgsql STABLE ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY SELECT t.id, t.score FROM animus.memory_bm25_topk(query, filters, lim) AS t;
END
$$;

--
-- Name: FUNCTION memory_text_candidates(query text, filters jsonb, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) IS 'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; filters must be normalised by memory_validate_filters. Ranks with Okapi BM25 over the query''s English lexemes (animus.memory_bm25_topk, docs/bm25.md). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_text_candidates_live(text, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_text_candidates_live(query text, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 100) RETURNS TABLE(id bigint, score double precision)
    LANGUAGE plpgsql STABLE ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF query IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT c.id, c.score FROM animus.memory_bm25_topk(query, coalesce(filters, '{}'::jsonb), lim) AS c;
END
$$;

--
-- Name: FUNCTION memory_text_candidates_live(query text, filters jsonb, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_text_candidates_live(query text, filters jsonb, lim integer) IS 'Internal keyword branch of search_memory_text and hybrid_search: the BM25 top lim of memory_bm25_topk under the whole filter, its lifecycle "state" entry included (checked lazily there, best first). Granted to nobody. Read-only (STABLE). Raises nothing.';

--
-- Name: memory_validate_filters(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    normalised jsonb := '{}';
    key text;
    value jsonb;
    op text;
    operand jsonb;
    bounds jsonb;
    bound timestamptz;
    include_superseded boolean := false;
    viewer jsonb;
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN animus.memory_filter_state(normalised, false);
    END IF;
    IF pg_catalog.jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = 'filters must be a JSON object',
            DETAIL = pg_catalog.format('filters = %s', pg_catalog.left(filters::text, 200)),
            HINT = 'Pass an object such as {"namespace": "agent-1", "memory_type": ["fact", "episode"]}.';
    END IF;
    IF pg_catalog.octet_length(filters::text) > 16384 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA213',
            MESSAGE = 'filters must be at most 16384 bytes as JSON text',
            DETAIL = pg_catalog.format('filters is %s bytes', pg_catalog.octet_length(filters::text)),
            HINT = 'Filter by fewer values: a namespace or memory_type prefix, or one metadata tag, instead of long lists.';
    END IF;
    FOR key, value IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(filters) AS e LOOP
        CASE key
        WHEN 'namespace', 'memory_type', 'source' THEN
            normalised := normalised || pg_catalog.jsonb_build_object(key, animus.memory_normalize_text_filter(key, value));
        WHEN 'metadata' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.metadata must be a JSON object (matched by containment)',
                    DETAIL = pg_catalog.format('filters.metadata = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"metadata": {"topic": "billing"}} keeps memories whose metadata contains that pair.';
            END IF;
            normalised := normalised || pg_catalog.jsonb_build_object(key, value);
        WHEN 'created_at' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' OR value = '{}'::jsonb THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.created_at must be an object of bounds',
                    DETAIL = pg_catalog.format('filters.created_at = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": "2026-02-01T00:00:00Z"}}.';
            END IF;
            bounds := '{}';
            FOR op, operand IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(value) AS e LOOP
                IF op NOT IN ('gt', 'gte', 'lt', 'lte') THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA206',
                        MESSAGE = pg_catalog.format('filters.created_at uses the unknown operator "%s"', op),
                        DETAIL = pg_catalog.format('filters.created_at = %s', value),
                        HINT = 'created_at knows the operators gt, gte, lt and lte.';
                END IF;
                BEGIN
                    IF pg_catalog.jsonb_typeof(operand) <> 'string' THEN
                        RAISE EXCEPTION USING ERRCODE = 'ZA204';
                    END IF;
                    bound := (operand #>> '{}')::timestamptz;
                EXCEPTION WHEN SQLSTATE 'ZA204' OR data_exception THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA204',
                        MESSAGE = pg_catalog.format('filters.created_at.%s must be a timestamp string', op),
                        DETAIL = pg_catalog.format('filters.created_at.%s = %s', op, operand),
                        HINT = 'Use ISO 8601 with a time zone, e.g. "2026-01-01T00:00:00Z".';
                END;
                bounds := bounds || pg_catalog.jsonb_build_object(op, bound);
            END LOOP;
            normalised := normalised || pg_catalog.jsonb_build_object(key, bounds);
        WHEN 'include_superseded' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'boolean' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.include_superseded must be true or false',
                    DETAIL = pg_catalog.format('filters.include_superseded = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"include_superseded": true} also returns memories that newer ones superseded.';
            END IF;
            include_superseded := value = 'true'::jsonb;
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata, created_at and include_superseded.';
        END CASE;
    END LOOP;
    RETURN animus.memory_filter_state(normalised, include_superseded);
END
$$;

--
-- Name: FUNCTION memory_validate_filters(filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_validate_filters(filters jsonb) IS 'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). When some memory carries lifecycle or sharing state (animus.memory_state_active()), the result has a "state" entry ({"include_superseded": bool, "viewer": animus.memory_viewer()}) by which the predicate drops expired memories, superseded ones (unless filters.include_superseded is true) and memories private to others. Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator), ZA213 (more than 100 strings in a list, or over 16384 bytes).';

--
-- Name: memory_vector_candidates(public.vector, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 100) RETURNS TABLE(id bigint, distance double precision)
    LANGUAGE plpgsql STABLE ROWS 100
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    SET "hnsw.iterative_scan" TO 'strict_order'
    SET "hnsw.ef_search" TO '100'
    SET "hnsw.max_scan_tuples" TO '50000'
    SET "ivfflat.iterative_scan" TO 'relaxed_order'
    SET "ivfflat.probes" TO '1'
    AS $_$
DECLARE
    exact_table_below constant real := 5000;
    exact_below integer := coalesce(nullif(current_setting('animus.vector_exact_below', true), '')::integer, 10000);
    f jsonb := coalesce(filters, '{}');
    rows_where text := 'm.embedding IS NOT NULL AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)';
    exact_sql text;
    matching integer;
    table_rows real;
    ef integer := greatest(100, lim);
    ef_conf integer;
    half_dim integer;
    index_order text := 'm.embedding <=> $1';
    selectivity double precision;
    ivf boolean;
    ivf_lists integer;
    probes integer;
    ids bigint[];
    distances double precision[];
BEGIN
    IF query_embedding IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM animus.memory_namespace_models) THEN
        -- An anti-join on the namespace's model: a hash join over a filter's rows, one probe of
        -- the (small) model table per row the index returns.
        rows_where := rows_where || ' AND NOT EXISTS (SELECT 1 FROM animus.memory_namespace_models AS nm
                                                        WHERE nm.namespace = m.namespace
                                                          AND nm.model IS DISTINCT FROM m.embedding_model)';
    END IF;
    exact_sql := 'WITH hits AS MATERIALIZED (SELECT m.id, m.embedding FROM animus.memories AS m WHERE ' || rows_where || ')
                  SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3';
    SELECT c.reltuples INTO table_rows FROM pg_class AS c WHERE c.oid = 'animus.memories'::regclass;
    IF table_rows >= 0 AND table_rows < exact_table_below THEN   -- -1: never analysed, size unknown
        RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
        RETURN;
    END IF;
    ivf := to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL;
    -- The settings table comes with change memory_vector_index (deployed after this one); it
    -- exists whenever the IVFFlat index does.
    IF ivf OR to_regclass('animus.memory_vector_index_settings') IS NOT NULL THEN
        EXECUTE 'SELECT greatest(coalesce(v.built_lists, v.lists, 1), 1),
                        coalesce(v.probes, ceil(sqrt(greatest(coalesce(v.built_lists, v.lists, 1), 1)))::integer),
                        v.ef_search, CASE WHEN v.built_halfvec THEN v.built_dim END
                   FROM animus.memory_vector_index_settings AS v'
            INTO ivf_lists, probes, ef_conf, half_dim;
        probes := least(coalesce(probes, 1), coalesce(ivf_lists, 1));
        ef := greatest(coalesce(ef_conf, 100), lim);
    END IF;
    IF f - 'state' <> '{}' THEN
        -- Counted without the state and the model (few rows fail them), so that a namespace
        -- filter is counted from its index alone.
        EXECUTE 'SELECT count(*)::integer FROM (
                     SELECT 1 FROM animus.memories AS m
                      WHERE animus.memory_filter_match($1, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                      LIMIT $2) AS s'
            INTO matching USING f - 'state', greatest(exact_below, lim);
        IF matching < greatest(exact_below, lim) THEN
            RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
            RETURN;
        END IF;
        -- The filter's selectivity, from a block sample of about 2,000 rows (a few hundred pages):
        -- ef_search / selectivity keeps as many passing rows in the walk's candidate list as an
        -- unfiltered search has (docs/memory.md, "The vector branch"), up to
        -- pgvector's 1000. Without a sample hit, the count's lower bound exact_below / table_rows
        -- stands in.
        EXECUTE format('SELECT count(*) FILTER (WHERE %s)::double precision / greatest(count(*), 1)
                          FROM animus.memories AS m TABLESAMPLE SYSTEM (%s) REPEATABLE (0)',
                       rows_where, least(100, 100 * 2000 / greatest(table_rows, 1)))
            INTO selectivity USING query_embedding, f;
        IF coalesce(selectivity, 0) = 0 THEN
            selectivity := matching / greatest(table_rows, matching);
        END IF;
        ef := least(1000, ceil(ef / selectivity)::integer);
        IF ivf THEN
            probes := least(ivf_lists, ceil(probes / sqrt(greatest(selectivity, 1e-6)))::integer);
        END IF;
    END IF;
    IF half_dim IS NOT NULL AND (ivf OR to_regclass('animus.memories_embedding_hnsw') IS NOT NULL) THEN
        -- a halfvec index (memory_configure_vector_index(halfvec => true)): the scan orders by its
        -- expression; the candidates are then ranked by the full-precision distance
        index_order := format('m.embedding::halfvec(%s) <=> $1::halfvec(%s)', half_dim, half_dim);
    END IF;
    IF ivf THEN
        PERFORM set_config('ivfflat.probes', probes::text, true);
    ELSE
        PERFORM set_config('hnsw.ef_search', ef::text, true);
    END IF;
    -- MATERIALIZED: the LIMIT applies to the index scan's order (relaxed with IVFFlat), the
    -- aggregate sorts by distance.
    EXECUTE
        'WITH c AS MATERIALIZED (
             SELECT m.id, m.embedding <=> $1 AS distance
               FROM animus.memories AS m
              WHERE ' || rows_where || '
              ORDER BY ' || index_order || '
              LIMIT $3)
         SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id) FROM c'
        INTO ids, distances USING query_embedding, f, lim;
    IF coalesce(cardinality(ids), 0) < lim THEN
        RETURN QUERY EXECUTE exact_sql USING query_embedding, f, lim;
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.distance FROM unnest(ids, distances) AS u(id, distance);
END
$_$;

--
-- Name: FUNCTION memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) IS 'Internal vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance), nearest first, ties by id; lim rows whenever lim rows match. filters must be normalised by memory_validate_filters. Only vectors of the namespace''s active model (memory_namespace_models) when it has one. Exact search for tables under 5,000 rows and for filters matching fewer than animus.vector_exact_below rows (default 10,000); else the vector index: HNSW with a strict-order iterative scan, hnsw.ef_search of animus.memory_vector_index_settings (default 100, at least lim) raised by the filter''s selectivity, or IVFFlat (memory_configure_vector_index) with a relaxed-order iterative scan, ivfflat.probes of animus.memory_vector_index_settings raised by 1 / sqrt(selectivity) (unfiltered when only the lifecycle state filters); a halfvec index is scanned by its expression and its candidates ranked by the full-precision distance. Read-only (STABLE). Raises nothing.';

--
-- Name: memory_vector_index_status(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_vector_index_status() RETURNS TABLE(kind text, index_name text, halfvec boolean, lists integer, probes integer, ef_search integer, m integer, ef_construction integer, trained_rows bigint, table_rows bigint, built_at timestamp with time zone, advice text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.memory_vector_index_settings%ROWTYPE;
    idx text;
    est bigint;
    opts text[];
BEGIN
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v;
    idx := CASE WHEN pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN 'memories_embedding_ivfflat'
                WHEN pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN 'memories_embedding_hnsw' END;
    -- The planner's estimate (cheap, as of the last ANALYZE / autovacuum), not a count.
    SELECT greatest(c.reltuples, 0)::bigint INTO est FROM pg_catalog.pg_class AS c WHERE c.oid = 'animus.memories'::pg_catalog.regclass;
    -- the HNSW graph's build settings as built (the index's reloptions; none: pgvector's 16 / 64)
    IF idx = 'memories_embedding_hnsw' THEN
        SELECT coalesce(c.reloptions, '{}') INTO opts FROM pg_catalog.pg_class AS c WHERE c.oid = 'animus.memories_embedding_hnsw'::pg_catalog.regclass;
    END IF;
    RETURN QUERY SELECT
        s.kind, idx,
        -- the index present's (NULL: none)
        CASE WHEN idx IS NOT NULL THEN coalesce(s.built_halfvec, false) END,
        CASE WHEN idx = 'memories_embedding_ivfflat' THEN s.built_lists ELSE s.lists END,
        -- the probes a search uses: at most the lists built
        CASE WHEN s.kind = 'ivfflat' THEN least(coalesce(s.probes, ceil(sqrt(greatest(coalesce(s.built_lists, s.lists, 1), 1)))::integer),
                                                coalesce(s.built_lists, s.lists, 32768)) END,
        -- the ef_search of an unfiltered search for k <= ef_search
        CASE WHEN s.kind = 'hnsw' THEN coalesce(s.ef_search, 100) END,
        CASE WHEN opts IS NOT NULL THEN coalesce((SELECT pg_catalog.substr(o, 3)::integer FROM unnest(opts) AS o WHERE o LIKE 'm=%'), 16) END,
        CASE WHEN opts IS NOT NULL THEN coalesce((SELECT pg_catalog.substr(o, 17)::integer FROM unnest(opts) AS o WHERE o LIKE 'ef\_construction=%'), 64) END,
        s.trained_rows, est, s.built_at,
        CASE
            WHEN idx IS NULL THEN
                'no vector index: a bulk load or re-embedding is in progress (vector search scans exactly); its finish builds the ' || s.kind || ' index'
            WHEN idx = 'memories_embedding_hnsw' AND s.kind = 'ivfflat' OR idx = 'memories_embedding_ivfflat' AND s.kind = 'hnsw'
                 OR coalesce(s.built_halfvec, false) <> s.halfvec THEN
                'the index is not of the configured kind: SELECT * FROM animus.memory_configure_vector_index(''' || s.kind || ''''
                || CASE WHEN s.halfvec THEN ', halfvec => true' ELSE '' END || ')'
            WHEN idx = 'memories_embedding_ivfflat' AND est > 2 * greatest(coalesce(s.trained_rows, 0), 1000) THEN
                pg_catalog.format('ivfflat trained on %s rows, table has %s: rebuild it (SELECT * FROM animus.memory_configure_vector_index(''ivfflat''))',
                                  coalesce(s.trained_rows, 0), est)
            ELSE 'ok' END;
END
$$;

--
-- Name: FUNCTION memory_vector_index_status(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_vector_index_status() IS 'The vector index of animus.memories: configured kind, the index present (NULL during a bulk load or re-embedding) and whether it is on halfvec, IVFFlat lists and probes or the HNSW ef_search of an unfiltered search and the m / ef_construction the HNSW index was built with, the rows it was built on, the table''s estimated rows (pg_class.reltuples) and advice (''ok'', or when to rebuild: an IVFFlat index on a table grown past twice the rows it was trained on). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_viewer(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_viewer() RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    caller name := animus.memory_caller();
    me oid;
BEGIN
    IF '*' = ANY (animus.memory_scope('read')) THEN
        RETURN NULL;
    END IF;
    SELECT r.oid INTO me FROM pg_catalog.pg_roles AS r WHERE r.rolname = caller;
    RETURN pg_catalog.jsonb_build_object(
        'role', me::text,
        'groups', pg_catalog.to_jsonb(ARRAY(SELECT r.oid::text FROM pg_catalog.pg_roles AS r
                                             WHERE pg_catalog.pg_has_role(caller, r.oid, 'MEMBER') ORDER BY 1)));
END
$$;

--
-- Name: FUNCTION memory_viewer(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_viewer() IS 'Internal: the caller as the sharing rules see it: NULL when its read scope is every namespace (it sees every memory), else {"role": own OID, "groups": [OIDs of the roles it is a member of, itself included]}. Raises nothing.';

--
-- Name: memory_write_scope(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_write_scope() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT animus.memory_scope('write');
$$;

--
-- Name: FUNCTION memory_write_scope(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_write_scope() IS 'The namespaces the memory write functions may change for the caller: animus.memory_scope(''write'') (the session''s role, never current_user; ''{*}'' = every namespace). Raises nothing.';

--
-- Name: ops_check_queue(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.ops_check_queue(queue text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF NOT animus.work_queue_allowed(ops_check_queue.queue) THEN
        PERFORM animus.work_raise_not_granted(ops_check_queue.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = ops_check_queue.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101',
            MESSAGE = pg_catalog.format('argument queue: no work queue named %L', pg_catalog.left(ops_check_queue.queue, 100)),
            HINT = 'Pass an existing queue (animus.queue_stats() lists them), or NULL for every queue.';
    END IF;
END;
$$;

--
-- Name: FUNCTION ops_check_queue(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.ops_check_queue(queue text) IS 'Internal: raises ZA109 when the caller has no grant on queue, ZA101 when no such queue exists; returns nothing otherwise.';

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
    released integer DEFAULT 0 NOT NULL,
    concurrency_key text,
    cost integer DEFAULT 1 NOT NULL,
    active_key text GENERATED ALWAYS AS (
CASE
    WHEN (state = ANY (ARRAY['queued'::text, 'running'::text])) THEN dedup_key
    ELSE NULL::text
END) STORED,
    running_key text GENERATED ALWAYS AS (
CASE
    WHEN (state = 'running'::text) THEN concurrency_key
    ELSE NULL::text
END) STORED
)
WITH (autovacuum_vacuum_scale_factor='0.02', autovacuum_vacuum_threshold='2000', autovacuum_vacuum_insert_scale_factor='0.05', autovacuum_analyze_scale_factor='0.05', autovacuum_vacuum_cost_delay='0', fillfactor='50');

--
-- Name: TABLE work_items; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_items IS 'One row per submission. Canonical items move queued -> running -> completed|dead|cancelled; a duplicate submission is a row in state merged pointing at its canonical item (merged_into) and keeps its own provenance.';

--
-- Name: COLUMN work_items.id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.id IS 'The work item id (UUIDv7 on PostgreSQL 18: time-ordered), returned by submit_work as work_id.';

--
-- Name: COLUMN work_items.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.queue_name IS 'The queue the item was submitted to (animus.queues).';

--
-- Name: COLUMN work_items.work_type; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.work_type IS 'What kind of work: workers pick the handler by it. Part of the dedup key.';

--
-- Name: COLUMN work_items.dedup_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.dedup_key IS 'With queue_name and work_type, the structural dedup key: a second submission with the same key while the first is queued or running is merged into it. NULL: never deduplicated.';

--
-- Name: COLUMN work_items.source; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.source IS 'Who asked for the work (a scheduler, an agent, a person): provenance, kept for merged submissions too.';

--
-- Name: COLUMN work_items.trigger_info; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.trigger_info IS 'Why the work was asked for (free text, e.g. ''every 4h'', ''new mail'').';

--
-- Name: COLUMN work_items.params; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.params IS 'The work''s parameters (a JSON object) handed to the worker.';

--
-- Name: COLUMN work_items.priority; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.priority IS 'Higher is claimed first within a queue; 0 is the default.';

--
-- Name: COLUMN work_items.state; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.state IS 'queued, running, completed, dead, cancelled, or merged (a duplicate submission); changes are checked against animus.work_state_transitions.';

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
-- Name: COLUMN work_items.attempts; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.attempts IS 'claims so far (read_work adds one per claim, nothing ever takes one back): the claim token workers pass as attempt.';

--
-- Name: COLUMN work_items.max_attempts; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.max_attempts IS 'Claims that may count against the item before it goes dead (released claims do not count).';

--
-- Name: COLUMN work_items.msg_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.msg_id IS 'id of the pgmq message in pgmq.q_<queue_name> that carries this item (NULL for merged rows).';

--
-- Name: COLUMN work_items.run_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.run_at IS 'When the item becomes visible to read_work (submit time, a delayed start, or the next retry after backoff).';

--
-- Name: COLUMN work_items.outcome; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.outcome IS 'The result a worker passed to complete_work (JSON).';

--
-- Name: COLUMN work_items.error; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.error IS 'The last error a worker passed to fail_work, or why the item went dead.';

--
-- Name: COLUMN work_items.duration_ms; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.duration_ms IS 'How long the last attempt ran, from its claim to its settle, in milliseconds.';

--
-- Name: COLUMN work_items.trace_context; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.trace_context IS 'The W3C trace context (traceparent, tracestate) of the submission, so the worker''s span links to the requester''s trace.';

--
-- Name: COLUMN work_items.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.created_at IS 'When the submission was made.';

--
-- Name: COLUMN work_items.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.updated_at IS 'When the row last changed.';

--
-- Name: COLUMN work_items.started_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.started_at IS 'When the current (or last) claim began.';

--
-- Name: COLUMN work_items.heartbeat_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.heartbeat_at IS 'The last heartbeat_work of the current claim.';

--
-- Name: COLUMN work_items.resolved_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.resolved_at IS 'When the item ended (completed, dead, cancelled) or was merged: retention (purge_work) counts from here.';

--
-- Name: COLUMN work_items.released; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.released IS 'claims given back with release_work: they do not count against max_attempts (attempts - released is what counts).';

--
-- Name: COLUMN work_items.concurrency_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.concurrency_key IS 'the concurrency key whose limits (animus.concurrency_limits) apply to this item: submit_work''s concurrency_key, else params ->> the queue''s concurrency_param; NULL = no key, no limit.';

--
-- Name: COLUMN work_items.cost; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.cost IS 'units of its key''s rate budget the item uses when it starts (1..1000000, default 1).';

--
-- Name: COLUMN work_items.active_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.active_key IS 'Generated: dedup_key while the item is queued or running, else NULL. The dedup index work_items_active_key is on it (not on state), so claims and the ends of keyless items change no indexed column and stay HOT updates.';

--
-- Name: COLUMN work_items.running_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_items.running_key IS 'Generated: concurrency_key while the item is running, else NULL. Running items per key are counted from the index work_items_running_key (not on state), so items without a concurrency key change no indexed column when claimed.';

--
-- Name: ops_lock_dead(uuid, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.ops_lock_dead(work_id uuid, operation text) RETURNS animus.work_items
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    w animus.work_items;
    a animus.dead_work_actions;
BEGIN
    IF ops_lock_dead.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL',
            HINT = 'Pass the id of a dead item (animus.list_dead_work()).';
    END IF;
    SELECT * INTO w FROM animus.work_items i WHERE i.id = ops_lock_dead.work_id FOR UPDATE;
    IF NOT FOUND OR NOT animus.work_queue_allowed(w.queue_name) THEN
        PERFORM animus.work_raise_unknown(ops_lock_dead.work_id, 'work_id', ops_lock_dead.operation);
    END IF;
    IF w.state <> 'dead' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA165',
            MESSAGE = pg_catalog.format('argument work_id: work item is %s, not dead (%s)', w.state, ops_lock_dead.operation),
            DETAIL = pg_catalog.format('work_id = %s, state = %s', w.id, w.state),
            HINT = 'Only dead items can be retried or discarded: animus.list_dead_work() lists them.';
    END IF;
    SELECT * INTO a FROM animus.dead_work_actions d WHERE d.work_id = w.id;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA166',
            MESSAGE = pg_catalog.format('argument work_id: dead item was %s already (%s)', a.action, ops_lock_dead.operation),
            DETAIL = pg_catalog.format('work_id = %s, %s by %s at %s%s', w.id, a.action, a.acted_by, a.acted_at,
                                       coalesce(', retried as ' || a.retried_as, '')),
            HINT = 'See animus.dead_work_actions; a retried item''s new id is retried_as.';
    END IF;
    -- Actions of purged items are dead weight: dropped here, a few at a time.
    DELETE FROM animus.dead_work_actions d
     WHERE d.work_id IN (SELECT x.work_id FROM animus.dead_work_actions x
                          WHERE NOT EXISTS (SELECT 1 FROM animus.work_items i WHERE i.id = x.work_id) LIMIT 100);
    RETURN w;
END;
$$;

--
-- Name: FUNCTION ops_lock_dead(work_id uuid, operation text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.ops_lock_dead(work_id uuid, operation text) IS 'Internal: locks dead work item work_id (FOR UPDATE) and returns it. Raises ZA001 (NULL), ZA102 (unknown, or a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already).';

--
-- Name: pause_queue(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.pause_queue(queue text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF pause_queue.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass the queue to pause, e.g. queue => ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(pause_queue.queue) THEN
        PERFORM animus.work_raise_not_granted(pause_queue.queue);
    END IF;
    UPDATE animus.queues q SET paused_at = pg_catalog.clock_timestamp()
     WHERE q.queue_name = pause_queue.queue AND q.paused_at IS NULL;
    IF FOUND THEN
        RETURN true;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = pause_queue.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', pause_queue.queue),
            HINT = 'Pass an existing queue (SELECT queue_name FROM animus.queues).';
    END IF;
    RETURN false;
END;
$$;

--
-- Name: FUNCTION pause_queue(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.pause_queue(queue text) IS 'Pauses work queue `queue`: it keeps accepting submissions, and read_work returns nothing from it until animus.resume_queue. Items already running are not touched (they heartbeat and settle as usual). queue_stats shows paused and paused_at. Returns true when the queue was running and is now paused, false when it was paused already (idempotent; paused_at keeps the first pause). Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: pause_schedule(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.pause_schedule(name text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.schedules := animus.schedule_lock(pause_schedule.name);
BEGIN
    IF s.paused THEN
        RETURN false;
    END IF;
    UPDATE animus.schedules x SET paused = true, updated_at = pg_catalog.now() WHERE x.name = s.name;
    RETURN true;
END;
$$;

--
-- Name: FUNCTION pause_schedule(name text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.pause_schedule(name text) IS 'Stops schedule `name` from submitting until resume_schedule; true if it was running, false if already paused. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

--
-- Name: purge_events(interval, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.purge_events(older_than interval DEFAULT '7 days'::interval, queue text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    cutoff timestamptz;
    n      bigint;
BEGIN
    IF purge_events.older_than IS NULL OR purge_events.older_than < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument older_than must be a non-negative interval',
            DETAIL = pg_catalog.format('older_than = %s', coalesce(purge_events.older_than::text, 'NULL')),
            HINT = 'Pass the retention, e.g. older_than => ''7 days''.';
    END IF;
    IF purge_events.queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = purge_events.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', purge_events.queue),
            HINT = 'Pass an existing queue, or NULL for every queue.';
    END IF;
    cutoff := pg_catalog.clock_timestamp() - purge_events.older_than;
    -- Emitted events older than the retention, and rows of keys never emitted that nothing waits for.
    WITH d AS (
        DELETE FROM animus.work_events e
         WHERE (purge_events.queue IS NULL OR e.queue_name = purge_events.queue)
           AND (e.emitted_at < cutoff
                OR (e.emitted_at IS NULL AND e.created_at < cutoff
                    AND NOT EXISTS (SELECT 1 FROM animus.work_steps s JOIN animus.work_items w ON w.id = s.work_id
                                     WHERE s.event_key = e.event_key AND s.state = 'waiting' AND s.kind = 'event'
                                       AND w.queue_name = e.queue_name)))
        RETURNING 1
    )
    SELECT count(*) INTO n FROM d;
    RETURN n;
END;
$$;

--
-- Name: FUNCTION purge_events(older_than interval, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.purge_events(older_than interval, queue text) IS 'Retention of events: deletes the events of queue `queue` (NULL: every queue) emitted more than older_than ago (a wait starting later no longer receives them), and the rows of keys never emitted that nothing waits for. Returns how many rows it deleted. animus_admin only. Raises ZA002 (older_than NULL or negative), ZA101 (unknown queue).';

--
-- Name: purge_expired_memories(text, interval, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.purge_expired_memories(namespace text DEFAULT NULL::text, grace interval DEFAULT '00:00:00'::interval, max_rows integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    n bigint;
BEGIN
    IF grace IS NULL OR grace < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'grace must be an interval >= 0',
            DETAIL = pg_catalog.format('grace = %s', grace), HINT = 'Pass e.g. grace => ''7 days'' to keep expired memories a week.';
    END IF;
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'max_rows must be between 1 and 100000',
            DETAIL = pg_catalog.format('max_rows = %s', max_rows), HINT = 'Call again until it returns 0.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id IN (SELECT x.id FROM animus.memories AS x
                     WHERE x.expires_at <= pg_catalog.now() - grace AND NOT x.pinned
                       AND (purge_expired_memories.namespace IS NULL OR x.namespace = purge_expired_memories.namespace)
                       AND ('*' = ANY (scope) OR x.namespace = ANY (scope))
                     ORDER BY x.expires_at
                     LIMIT max_rows
                       FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

--
-- Name: FUNCTION purge_expired_memories(namespace text, grace interval, max_rows integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.purge_expired_memories(namespace text, grace interval, max_rows integer) IS 'Retention: deletes up to max_rows memories that expired at least grace ago (never pinned ones), in the caller''s write scope (and namespace, when given); returns how many. Their links go with them. Skips rows locked by others; call until it returns 0. Runs as the owner (SECURITY DEFINER). Raises ZA002 (grace < 0, max_rows outside 1..100000).';

--
-- Name: purge_work(interval, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days'::interval, queue text DEFAULT NULL::text, batch_size integer DEFAULT 10000) RETURNS TABLE(queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    AS $_$
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
$_$;

--
-- Name: FUNCTION purge_work(older_than interval, queue text, batch_size integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.purge_work(older_than interval, queue text, batch_size integer) IS 'Retention, in batches: per queue (NULL = every queue the caller has a grant on) deletes at most batch_size work items that ended (completed, dead, cancelled) more than older_than ago, oldest first, with their merged submissions, steps and dead-letter actions (animus.dead_work_actions), and at most batch_size pgmq archive rows archived more than older_than ago; rows another session holds locked are skipped. Children of a purged parent keep parent_id NULL. Each call is one short transaction: call it again until it returns zeros (or on a timer) to purge a backlog without long locks; animus.retention.Retention (`animus retention`) is that loop, paced (share of time, rows per second, pause). A call resumes after the last item and archive row the session''s previous call on the queue deleted (session settings animus_purge.*); a call that finds nothing there forgets that place, so the next starts from the oldest (rows skipped as locked go with the next pass). Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative, batch_size not 1..1000000), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: queue_depth_history(text, interval, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.queue_depth_history(queue text DEFAULT NULL::text, since interval DEFAULT '01:00:00'::interval, buckets integer DEFAULT 60) RETURNS TABLE(queue_name text, bucket_end timestamp with time zone, depth bigint, submitted bigint, ended bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    t1 timestamptz := pg_catalog.clock_timestamp();
    t0 timestamptz;
    width double precision;
BEGIN
    IF queue_depth_history.since IS NULL OR queue_depth_history.since < interval '1 second' OR queue_depth_history.since > interval '31 days'
       OR queue_depth_history.buckets IS NULL OR queue_depth_history.buckets NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA168', MESSAGE = 'arguments since (1 second to 31 days) and buckets (1-1000) out of range',
            DETAIL = pg_catalog.format('since = %s, buckets = %s', coalesce(queue_depth_history.since::text, 'NULL'), coalesce(queue_depth_history.buckets::text, 'NULL')),
            HINT = 'Pass since => ''1 hour'' and buckets => 60, for example.';
    END IF;
    IF queue_depth_history.queue IS NOT NULL THEN
        PERFORM animus.ops_check_queue(queue_depth_history.queue);
    END IF;
    t0 := t1 - queue_depth_history.since;
    width := extract(epoch FROM queue_depth_history.since) / queue_depth_history.buckets;
    -- Open items (queued or running: created, not yet ended) at the end of each bucket: those open
    -- at t0, plus the submissions, minus the ends up to that bucket. Merged duplicates are not
    -- items of their own. One scan of the items not ended before t0.
    RETURN QUERY
    WITH q AS (
        SELECT qq.queue_name FROM animus.queues qq
         WHERE (queue_depth_history.queue IS NULL OR qq.queue_name = queue_depth_history.queue)
           AND animus.work_queue_allowed(qq.queue_name)
    ), w AS (
        SELECT w.queue_name, w.created_at, w.resolved_at
          FROM animus.work_items w JOIN q ON q.queue_name = w.queue_name
         WHERE w.state <> 'merged' AND (w.resolved_at IS NULL OR w.resolved_at > t0) AND w.created_at <= t1
    ), base AS (
        SELECT w.queue_name, count(*) FILTER (WHERE w.created_at <= t0) AS open0 FROM w GROUP BY w.queue_name
    ), ev AS (
        SELECT w.queue_name, least(queue_depth_history.buckets - 1, floor(extract(epoch FROM w.created_at - t0) / width)::integer) AS b, 1 AS sub, 0 AS fin
          FROM w WHERE w.created_at > t0
        UNION ALL
        SELECT w.queue_name, least(queue_depth_history.buckets - 1, floor(extract(epoch FROM w.resolved_at - t0) / width)::integer), 0, 1
          FROM w WHERE w.resolved_at IS NOT NULL AND w.resolved_at <= t1
    ), per AS (
        SELECT ev.queue_name, ev.b, sum(ev.sub)::bigint AS sub, sum(ev.fin)::bigint AS fin FROM ev GROUP BY ev.queue_name, ev.b
    )
    SELECT q.queue_name, t0 + pg_catalog.make_interval(secs => width * (g.b + 1)),
           (coalesce(base.open0, 0) + sum(coalesce(per.sub, 0) - coalesce(per.fin, 0)) OVER (PARTITION BY q.queue_name ORDER BY g.b))::bigint,
           coalesce(per.sub, 0), coalesce(per.fin, 0)
      FROM q
     CROSS JOIN pg_catalog.generate_series(0, queue_depth_history.buckets - 1) AS g(b)
      LEFT JOIN base ON base.queue_name = q.queue_name
      LEFT JOIN per ON per.queue_name = q.queue_name AND per.b = g.b
     ORDER BY q.queue_name, g.b;
END;
$$;

--
-- Name: FUNCTION queue_depth_history(queue text, since interval, buckets integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.queue_depth_history(queue text, since interval, buckets integer) IS 'Depth of each queue (queue; NULL: every queue the caller has a grant on) over the last since (1 second to 31 days, default 1 hour), in buckets (1-1000, default 60) of equal width: per bucket its end time, depth = open items (queued or running) at that time, submitted and ended = items created and ended within the bucket (merged duplicates are not counted). Recomputed from the items'' created_at and resolved_at: exact while the ended items are kept (purge_work removes them after their retention). Cost: one scan of the items not ended before the window. Raises ZA168 (since or buckets out of range), ZA109 (no grant on queue), ZA101 (no such queue).';

--
-- Name: queue_stats(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.queue_stats(queue text DEFAULT NULL::text) RETURNS TABLE(queue_name text, state text, items bigint, queue_length bigint, queue_visible_length bigint, oldest_visible_age_sec double precision, oldest_msg_age_sec integer, total_messages bigint, paused boolean, paused_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    q       text;
    p_at    timestamptz;
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
    FOR q, p_at IN SELECT qq.queue_name, qq.paused_at FROM animus.queues qq
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
               m.queue_length, visible, coalesce(oldest, 0), m.oldest_msg_age_sec, m.total_messages,
               p_at IS NOT NULL, p_at
          FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'completed'), (4, 'dead'), (5, 'cancelled'), (6, 'merged')) AS s(n, state)
         ORDER BY s.n;
    END LOOP;
END;
$$;

--
-- Name: FUNCTION queue_stats(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.queue_stats(queue text) IS 'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent; paused and paused_at (animus.pause_queue: a paused queue accepts submissions, read_work hands out nothing). Counting items scans the queue''s work items. Only queues the caller has a grant on (NULL: every such queue). Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: read_work(text, interval, integer, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.read_work(queue text DEFAULT 'work'::text, vt interval DEFAULT '00:00:30'::interval, qty integer DEFAULT 1, work_types text[] DEFAULT NULL::text[]) RETURNS TABLE(work_id uuid, queue_name text, work_type text, dedup_key text, params jsonb, priority integer, attempts integer, max_attempts integer, msg_id bigint, parent_id uuid, source text, trigger_info text, trace_context jsonb, requesters jsonb, requesters_total bigint, created_at timestamp with time zone, visible_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    AS $_$
#variable_conflict use_column
DECLARE
    v_until    timestamptz;
    m_ids      bigint[];
    m_work     uuid[];
    m_text     text[];
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
    SELECT pg_catalog.array_agg(c.msg_id), pg_catalog.array_agg(c.work_id)
      INTO m_ids, m_text
      FROM animus.work_queue_claim(read_work.queue, read_work.qty, v_until, read_work.work_types) AS c;
    IF m_ids IS NULL THEN
        RETURN;
    END IF;
    -- Every message animus wrote carries its item's id: one cast of the whole array. A stray message
    -- (a stock pgmq client's, whose work_id is missing or no uuid) fails the cast; then each body is
    -- checked on its own (no item: archived below).
    BEGIN
        m_work := m_text::uuid[];
    EXCEPTION WHEN invalid_text_representation THEN
        m_work := ARRAY(SELECT CASE WHEN t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN t::uuid END
                          FROM pg_catalog.unnest(m_text) WITH ORDINALITY AS x(t, n) ORDER BY x.n);
    END;

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
$_$;

--
-- Name: FUNCTION read_work(queue text, vt interval, qty integer, work_types text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.read_work(queue text, vt interval, qty integer, work_types text[]) IS 'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout, an interval: vt => ''30 seconds'' or vt => 30 * interval ''1 second''; an integer vt matches no function, 42883): higher priority first, then earliest due. work_types (at most 100; NULL = every type) claims only items of those types: the others stay queued for a worker that handles them and count in queue_stats. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Items with a concurrency key are returned only within their key''s limits (animus.set_concurrency_limit): over max_running they are held until an item of the key leaves running, over the rate they become visible at the next window; a re-claim of a timed-out running item keeps its slot. Returns the items with their trace_context, requesters (the canonical submission and the first 99 merged ones, oldest first: work_id, source, trigger_info, trace_context, submitted_at) and requesters_total (all of them; animus.get_work_submissions pages through every one). May return fewer than qty; returns nothing from a paused queue (animus.pause_queue) after checking the arguments. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL, work_types empty or with a NULL), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000), ZA110 (more than 100 work_types).';

--
-- Name: memory_models; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_models (
    name text NOT NULL,
    dimension integer NOT NULL,
    provider text DEFAULT 'unspecified'::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_models_dimension_check CHECK (((dimension >= 1) AND (dimension <= 2000))),
    CONSTRAINT memory_models_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT memory_models_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'::text))
);

--
-- Name: TABLE memory_models; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_models IS 'Registered embedding models (register_model); a namespace uses one of them (animus.memory_namespace_models).';

--
-- Name: COLUMN memory_models.name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_models.name IS 'The model name, as an Embedder reports it (e.g. all-MiniLM-L6-v2).';

--
-- Name: COLUMN memory_models.dimension; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_models.dimension IS 'Its vector dimension: equal to animus.memory_settings.embedding_dim.';

--
-- Name: COLUMN memory_models.provider; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_models.provider IS 'Who serves it (local, openai, ...): informative.';

--
-- Name: COLUMN memory_models.metadata; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_models.metadata IS 'Free JSON object about the model (version, weights hash, ...).';

--
-- Name: COLUMN memory_models.registered_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_models.registered_at IS 'When it was registered.';

--
-- Name: register_model(text, integer, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.register_model(name text DEFAULT NULL::text, dimension integer DEFAULT NULL::integer, provider text DEFAULT 'unspecified'::text, metadata jsonb DEFAULT '{}'::jsonb) RETURNS animus.memory_models
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    dim integer := (SELECT s.embedding_dim FROM animus.memory_settings AS s);
    r animus.memory_models;
BEGIN
    IF register_model.name IS NULL OR register_model.name !~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA227', MESSAGE = 'name must be 1 to 200 letters, digits or ._:/@+- (starting with a letter or digit)',
            DETAIL = pg_catalog.format('name = %L', pg_catalog.left(register_model.name, 80)),
            HINT = 'Use the name the Embedder reports, e.g. all-MiniLM-L6-v2.';
    END IF;
    IF register_model.dimension IS NULL OR register_model.dimension <> dim THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA226', MESSAGE = pg_catalog.format('dimension must be %s, the dimension of animus.memories.embedding', dim),
            DETAIL = pg_catalog.format('dimension = %s', register_model.dimension),
            HINT = 'Change the table''s dimension first with animus.memory_begin_reembedding(embedding_dim => ...).';
    END IF;
    IF register_model.metadata IS NULL OR pg_catalog.jsonb_typeof(register_model.metadata) <> 'object'
       OR register_model.provider IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'provider must be text and metadata a JSON object',
            HINT = 'Omit them, or pass e.g. provider => ''local'', metadata => ''{"version": "1"}''.';
    END IF;
    INSERT INTO animus.memory_models AS m (name, dimension, provider, metadata)
    VALUES (register_model.name, register_model.dimension, register_model.provider, register_model.metadata)
    ON CONFLICT ON CONSTRAINT memory_models_pkey DO UPDATE SET provider = EXCLUDED.provider, metadata = EXCLUDED.metadata
    RETURNING m.* INTO r;
    RETURN r;
END
$_$;

--
-- Name: FUNCTION register_model(name text, dimension integer, provider text, metadata jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.register_model(name text, dimension integer, provider text, metadata jsonb) IS 'Registers an embedding model (again: updates provider and metadata) and returns it. Its dimension must be the table''s (animus.memory_settings.embedding_dim). Admin only (SECURITY DEFINER). Raises ZA001, ZA226 (dimension), ZA227 (name).';

--
-- Name: release_work(uuid, integer, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.release_work(work_id uuid, attempt integer DEFAULT NULL::integer, delay interval DEFAULT '00:00:00'::interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $$
DECLARE
    v_queue text;
    v_msg   bigint;
    v_at    timestamptz;
    v_key   text;
BEGIN
    IF release_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    IF release_work.delay IS NULL OR release_work.delay < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument delay must not be NULL or negative',
            DETAIL = pg_catalog.format('delay = %s', coalesce(release_work.delay::text, 'NULL')),
            HINT = 'Pass how long the released item stays invisible, e.g. ''0 seconds'' (visible at once).';
    END IF;
    v_at := pg_catalog.clock_timestamp() + release_work.delay;
    -- running -> queued (a legal transition, as for a retry); read_work counted the attempt when
    -- it claimed the item, so the claim is recorded as released: it does not count against
    -- max_attempts (attempts - released does). attempts itself never goes down, so it stays a claim
    -- token no two claims share: the releasing worker's late complete/fail of this claim raises
    -- ZA108 even after the item is claimed again.
    -- Claim fencing as in complete_work: with attempt, only the caller's own claim is released.
    UPDATE animus.work_items w
       SET state = 'queued', released = w.released + 1, run_at = v_at,
           updated_at = pg_catalog.clock_timestamp()
     WHERE w.id = release_work.work_id AND w.state = 'running'
       AND (release_work.attempt IS NULL OR w.attempts = release_work.attempt)
    RETURNING w.queue_name, w.msg_id, w.concurrency_key INTO v_queue, v_msg, v_key;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(release_work.work_id, 'release_work', release_work.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(release_work.work_id, 'work_id', 'release_work');   -- undoes the UPDATE
    END IF;
    PERFORM animus.work_queue_set_vt(v_queue, ARRAY[v_msg], ARRAY[v_at]);
    IF v_key IS NOT NULL THEN
        PERFORM animus.work_key_wake(v_queue, ARRAY[v_key]);
    END IF;
    RETURN v_at;
END;
$$;

--
-- Name: FUNCTION release_work(work_id uuid, attempt integer, delay interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.release_work(work_id uuid, attempt integer, delay interval) IS 'Gives a running (claimed) work item back: state queued again, visible to read_work after `delay` (default at once), and the claim does not count against max_attempts (released + 1: attempts - released is what counts), so a release, e.g. at a graceful worker shutdown, is not a failed attempt; attempts, the claim token, never goes down, so a late settle of the released claim raises ZA108. Held items of its concurrency key are woken (its slot is free). The item keeps its error, its merged duplicates and a waiting replace-mode follow-up (which keeps waiting). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Returns the time the item becomes visible again. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (delay NULL or negative), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

--
-- Name: resume_queue(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.resume_queue(queue text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_notify boolean;
BEGIN
    IF resume_queue.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass the queue to resume, e.g. queue => ''work''.';
    END IF;
    IF NOT animus.work_queue_allowed(resume_queue.queue) THEN
        PERFORM animus.work_raise_not_granted(resume_queue.queue);
    END IF;
    UPDATE animus.queues q SET paused_at = NULL, last_notified_at = pg_catalog.clock_timestamp()
     WHERE q.queue_name = resume_queue.queue AND q.paused_at IS NOT NULL
    RETURNING q.notify INTO v_notify;
    IF FOUND THEN
        -- Workers idle on LISTEN animus_work: wake them now (not throttled: one per resume), the
        -- backlog that built up while paused is claimable at once.
        IF v_notify THEN
            PERFORM pg_catalog.pg_notify('animus_work', resume_queue.queue);
        END IF;
        RETURN true;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = resume_queue.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', resume_queue.queue),
            HINT = 'Pass an existing queue (SELECT queue_name FROM animus.queues).';
    END IF;
    RETURN false;
END;
$$;

--
-- Name: FUNCTION resume_queue(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.resume_queue(queue text) IS 'Resumes a paused work queue: read_work hands out its items again, and idle workers are woken at once (NOTIFY animus_work, when the queue has notify on). Returns true when the queue was paused and now runs, false when it was running already (idempotent). Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: resume_schedule(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.resume_schedule(name text DEFAULT NULL::text) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.schedules := animus.schedule_lock(resume_schedule.name);
BEGIN
    IF NOT s.paused THEN
        RETURN s.next_run_at;
    END IF;
    -- Periods that passed while paused are not caught up: the next is the first after now
    -- (an interval schedule's period at exactly now counts).
    s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
    UPDATE animus.schedules x SET paused = false, next_run_at = s.next_run_at, updated_at = pg_catalog.now() WHERE x.name = s.name;
    RETURN s.next_run_at;
END;
$$;

--
-- Name: FUNCTION resume_schedule(name text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.resume_schedule(name text) IS 'Resumes a paused schedule and returns its next run: the first period after now (periods that passed while paused are not submitted). On a running schedule it changes nothing and returns next_run_at. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

--
-- Name: retry_dead_work(uuid, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.retry_dead_work(work_id uuid, delay interval DEFAULT '00:00:00'::interval) RETURNS TABLE(retried_as uuid, status text, canonical_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    w animus.work_items;
    s animus.work_submission;
BEGIN
    w := animus.ops_lock_dead(retry_dead_work.work_id, 'retry_dead_work');
    IF retry_dead_work.delay IS NULL OR retry_dead_work.delay < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument delay must be >= 0',
            DETAIL = pg_catalog.format('delay = %s', coalesce(retry_dead_work.delay::text, 'NULL')),
            HINT = 'Pass how long the retry waits before it becomes visible, e.g. ''0 seconds''.';
    END IF;
    -- A new submission of the same work: same queue, type, dedup key (an active item with that key
    -- takes it as a merged requester), params, priority, attempts budget, concurrency key and cost;
    -- the source stays, trigger_info says it is a retry and of what.
    s := animus.submit_work(
        work_type => w.work_type, source => w.source, params => w.params, dedup_key => w.dedup_key,
        trigger_info => pg_catalog.left(pg_catalog.format('retry of dead %s by %s%s', w.id, animus.work_caller(),
                                                          coalesce(': ' || w.trigger_info, '')), 1000),
        priority => w.priority,
        parent_id => CASE WHEN EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = w.parent_id) THEN w.parent_id END,
        max_attempts => w.max_attempts, queue => w.queue_name, delay => retry_dead_work.delay,
        trace_context => w.trace_context, concurrency_key => w.concurrency_key, cost => w.cost);
    INSERT INTO animus.dead_work_actions (work_id, queue_name, action, retried_as, acted_by)
    VALUES (w.id, w.queue_name, 'retried', coalesce(s.canonical_id, s.work_id), animus.work_caller());
    RETURN QUERY SELECT s.work_id, s.status, s.canonical_id;
END;
$$;

--
-- Name: FUNCTION retry_dead_work(work_id uuid, delay interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.retry_dead_work(work_id uuid, delay interval) IS 'Retries dead work item work_id: submits the same work again (queue, work_type, dedup_key, params, priority, max_attempts, concurrency_key, cost, trace_context; source kept, trigger_info ''retry of dead <id> by <role>'') visible after delay, and records it in animus.dead_work_actions. The dead item stays dead with its history. Returns retried_as (the new item), status (queued, or merged when an active item holds the dedup key) and canonical_id. animus_admin only. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already), ZA002 (delay NULL or negative), and what submit_work raises.';

--
-- Name: review_memory(bigint, integer, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.review_memory(id bigint DEFAULT NULL::bigint, grade integer DEFAULT NULL::integer, reviewed_at timestamp with time zone DEFAULT now()) RETURNS TABLE(memory_id bigint, stability double precision, difficulty double precision, retrievability double precision, reps integer, lapses integer, last_review timestamp with time zone, due_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    cur animus.memory_reviews%ROWTYPE;
    cfg animus.memory_review_settings%ROWTYPE;
    step record;
    t double precision;
BEGIN
    IF review_memory.id IS NULL OR review_memory.reviewed_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id and reviewed_at must not be NULL',
            HINT = 'Pass the id of the memory and a grade; reviewed_at defaults to now().';
    END IF;
    IF review_memory.grade IS NULL OR review_memory.grade NOT BETWEEN 1 AND 4 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA222', MESSAGE = 'grade must be 1, 2, 3 or 4',
            DETAIL = pg_catalog.format('grade = %s', review_memory.grade),
            HINT = 'FSRS grades: 1 again (forgotten), 2 hard, 3 good, 4 easy.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = review_memory.id AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', review_memory.id),
            HINT = 'Review a memory of a namespace you may write.';
    END IF;
    SELECT s.* INTO cfg FROM animus.memory_review_settings AS s;
    SELECT r.* INTO cur FROM animus.memory_reviews AS r WHERE r.memory_id = review_memory.id FOR UPDATE;
    IF FOUND AND review_memory.reviewed_at < cur.last_review THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA223', MESSAGE = 'reviewed_at must not be before the last review',
            DETAIL = pg_catalog.format('reviewed_at = %s, last review = %s', review_memory.reviewed_at, cur.last_review),
            HINT = 'Record reviews in time order; omit reviewed_at for now().';
    END IF;
    t := CASE WHEN cur.memory_id IS NULL THEN NULL
              ELSE extract(epoch FROM review_memory.reviewed_at - cur.last_review)::double precision / 86400 END;
    step := animus.memory_fsrs_step(cfg.weights, review_memory.grade, cur.stability, cur.difficulty, t);
    RETURN QUERY
    INSERT INTO animus.memory_reviews AS r (memory_id, stability, difficulty, reps, lapses, last_grade, last_review, due_at)
    VALUES (review_memory.id, step.new_stability, step.new_difficulty, 1, CASE WHEN review_memory.grade = 1 THEN 1 ELSE 0 END,
            review_memory.grade, review_memory.reviewed_at,
            review_memory.reviewed_at + pg_catalog.make_interval(secs => step.new_stability / (19.0 / 81.0)
                                        * (pg_catalog.power(cfg.desired_retention, 1 / -0.5) - 1) * 86400))
    ON CONFLICT ON CONSTRAINT memory_reviews_pkey DO UPDATE
       SET stability = EXCLUDED.stability, difficulty = EXCLUDED.difficulty, reps = r.reps + 1,
           lapses = r.lapses + EXCLUDED.lapses, last_grade = EXCLUDED.last_grade,
           last_review = EXCLUDED.last_review, due_at = EXCLUDED.due_at
    RETURNING r.memory_id, r.stability, r.difficulty, step.retrievability, r.reps, r.lapses, r.last_review, r.due_at;
END
$$;

--
-- Name: FUNCTION review_memory(id bigint, grade integer, reviewed_at timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.review_memory(id bigint, grade integer, reviewed_at timestamp with time zone) IS 'Records a review of memory id with an FSRS grade (1 again, 2 hard, 3 good, 4 easy) at reviewed_at and returns its new retention state: stability, difficulty, the retrievability it had at the review (NULL on the first), reps, lapses, last_review and due_at (when retrievability falls to animus.memory_review_settings.desired_retention). FSRS-4.5 with the weights of animus.memory_review_settings (docs/memory-lifecycle.md). Only memories of the caller''s write scope that it sees; runs as the owner (SECURITY DEFINER). Raises ZA001, ZA207 (unknown or invisible memory), ZA222 (grade outside 1..4), ZA223 (before the last review).';

--
-- Name: revoke_memory_namespace(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL::text, namespace text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    found_one boolean;
BEGIN
    IF role_name IS NULL OR namespace IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name and namespace must not be NULL',
            HINT = 'Pass the role and the namespace of a grant (see animus.memory_namespace_grants).';
    END IF;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE g.namespace = revoke_memory_namespace.namespace
       AND g.role_oid = (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = revoke_memory_namespace.role_name);
    found_one := FOUND;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.oid = g.role_oid);
    RETURN found_one;
END
$$;

--
-- Name: FUNCTION revoke_memory_namespace(role_name text, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.revoke_memory_namespace(role_name text, namespace text) IS 'Removes the grant of namespace to the role now named role_name; true if there was one. Also deletes the grants of roles dropped since. animus_admin only. Raises ZA001.';

--
-- Name: revoke_queue(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.revoke_queue(role_name text DEFAULT NULL::text, queue text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    r_oid oid;
BEGIN
    IF revoke_queue.role_name IS NULL OR revoke_queue.role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument role_name must not be NULL or empty',
            HINT = 'Pass the role of a grant (see animus.queue_grants, role_oid::regrole).';
    END IF;
    IF revoke_queue.queue IS NULL OR revoke_queue.queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass the queue of a grant, or ''*''.';
    END IF;
    SELECT r.oid INTO r_oid FROM pg_catalog.pg_roles r WHERE r.rolname = revoke_queue.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA340', MESSAGE = 'argument role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(revoke_queue.role_name, 80)),
            HINT = 'Grants of a dropped role give nothing to anyone; delete them as the owner if you wish.';
    END IF;
    DELETE FROM animus.queue_grants g WHERE g.role_oid = r_oid AND g.queue_name = revoke_queue.queue;
    RETURN FOUND;
END;
$$;

--
-- Name: FUNCTION revoke_queue(role_name text, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.revoke_queue(role_name text, queue text) IS 'Removes the grant of queue (or ''*'') to role_name; true if there was one. Grants to a group role it is a member of are not affected. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such role).';

--
-- Name: schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_check_args(work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer, every interval, period_key text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF work_type IS NOT NULL AND (animus.work_is_blank(work_type) OR pg_catalog.octet_length(work_type) > 255) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be empty, only white space or longer than 255 bytes',
            HINT = 'Pass the kind of work, e.g. work_type => ''digest''.';
    END IF;
    IF params IS NOT NULL AND pg_catalog.jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument params must be a JSON object',
            DETAIL = pg_catalog.format('params is a JSON %s', pg_catalog.jsonb_typeof(params)),
            HINT = 'Wrap the value in an object, e.g. {"value": ...}.';
    END IF;
    IF priority NOT BETWEEN -1000 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument priority must be between -1000 and 1000',
            DETAIL = pg_catalog.format('priority = %s', priority), HINT = 'Higher priority is read first; 0 is the default.';
    END IF;
    IF max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument max_attempts must be between 1 and 1000',
            DETAIL = pg_catalog.format('max_attempts = %s', max_attempts), HINT = 'Pass max_attempts >= 1 (1 = no retry).';
    END IF;
    IF catchup NOT IN ('latest', 'all') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA137', MESSAGE = 'argument catchup must be ''latest'' or ''all''',
            DETAIL = pg_catalog.format('catchup = %L', pg_catalog.left(catchup, 40)),
            HINT = 'latest: only the most recent missed period runs; all: every missed period, oldest first (at most max_catchup).';
    END IF;
    IF max_catchup NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument max_catchup must be between 1 and 10000',
            DETAIL = pg_catalog.format('max_catchup = %s', max_catchup), HINT = 'It bounds how many missed periods catchup ''all'' submits.';
    END IF;
    IF every IS NOT NULL AND (every < interval '1 second' OR pg_catalog.date_part('month', every) <> 0 OR pg_catalog.date_part('year', every) <> 0
                              OR every > interval '36500 days') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA134', MESSAGE = 'argument every must be a fixed duration between 1 second and 36500 days, without months or years',
            DETAIL = pg_catalog.format('every = %s', every),
            HINT = 'Pass every => ''15 minutes'' or ''1 day'' (24 hours); for calendar periods use cron => ''0 0 1 * *''.';
    END IF;
    IF period_key IS NOT NULL AND (period_key = '' OR pg_catalog.length(period_key) > 100) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument period_key must be NULL or 1-100 characters',
            HINT = 'Pass the params key that receives the period instant, e.g. period_key => ''period_at''.';
    END IF;
END;
$$;

--
-- Name: FUNCTION schedule_check_args(work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer, every interval, period_key text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_check_args(work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer, every interval, period_key text) IS 'Internal: raises ZA001 / ZA002 / ZA003 / ZA134 / ZA137 / ZA138 for the first bad schedule argument (NULL = not given).';

--
-- Name: schedule_check_timezone(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_check_timezone(timezone text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET "TimeZone" TO 'UTC'
    AS $_$
DECLARE
    canonical text;
BEGIN
    IF timezone IS NULL OR timezone = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument timezone must not be NULL or empty',
            HINT = 'Pass an IANA time zone name, e.g. ''UTC'' or ''Europe/Berlin''.';
    END IF;
    -- IANA names only (Area/Location, or UTC/GMT): abbreviations (EST) and POSIX rules (UTC+3,
    -- which means UTC-3) are refused by the shape; the server then says whether it knows the zone
    -- and gives its canonical spelling (a look-up in pg_timezone_names reads every zone file).
    IF timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+$' OR pg_catalog.upper(timezone) IN ('UTC', 'GMT') THEN
        BEGIN
            PERFORM pg_catalog.set_config('TimeZone', timezone, true);
            canonical := pg_catalog.current_setting('TimeZone');
        EXCEPTION WHEN invalid_parameter_value THEN
            canonical := NULL;
        END;
    END IF;
    IF canonical IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA132',
            MESSAGE = pg_catalog.format('argument timezone: %L is not an IANA time zone name', pg_catalog.left(timezone, 64)),
            HINT = 'Pass a name such as ''UTC'', ''Europe/Berlin'' or ''America/New_York'' (see pg_timezone_names); abbreviations and POSIX offsets are refused.';
    END IF;
    RETURN canonical;
END;
$_$;

--
-- Name: FUNCTION schedule_check_timezone(timezone text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_check_timezone(timezone text) IS 'Internal: the canonical name of IANA zone timezone (Area/Location or UTC/GMT, case-insensitive, as the server spells it). Raises ZA001 (NULL/empty), ZA132 (not an IANA zone name).';

--
-- Name: schedule_creator_allowed(oid, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_creator_allowed(role_oid oid, queue text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce((SELECT r.rolsuper OR (pg_catalog.pg_has_role(r.oid, 'animus_producer', 'USAGE')
                        AND EXISTS (SELECT 1 FROM animus.queue_grants g
                                     WHERE g.queue_name IN (queue, '*')
                                       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles gr WHERE gr.oid = g.role_oid)
                                       AND pg_catalog.pg_has_role(r.oid, g.role_oid, 'USAGE')))
                       FROM pg_catalog.pg_roles r WHERE r.oid = role_oid), false);
$$;

--
-- Name: FUNCTION schedule_creator_allowed(role_oid oid, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_creator_allowed(role_oid oid, queue text) IS 'Internal: true while role role_oid exists, may submit (animus_producer privileges, or superuser) and holds a grant on queue (or ''*''). Raises nothing.';

--
-- Name: schedule_lock(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_lock(name text) RETURNS animus.schedules
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.schedules;
BEGIN
    IF schedule_lock.name IS NULL OR schedule_lock.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Pass the name of a schedule (animus.list_schedules()).';
    END IF;
    SELECT * INTO s FROM animus.schedules x WHERE x.name = schedule_lock.name FOR UPDATE;
    IF NOT FOUND OR NOT animus.work_queue_allowed(s.queue_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA136', MESSAGE = pg_catalog.format('argument name: no schedule named %L', pg_catalog.left(schedule_lock.name, 100)),
            HINT = 'Check the name with animus.list_schedules().';
    END IF;
    RETURN s;
END;
$$;

--
-- Name: FUNCTION schedule_lock(name text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_lock(name text) IS 'Internal: the schedule named name, locked FOR UPDATE, if the caller may use its queue. Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use).';

--
-- Name: schedule_next(animus.schedules, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_next(s animus.schedules, after timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    secs numeric;
    k    numeric;
BEGIN
    IF s.cron_spec IS NOT NULL THEN
        RETURN animus.cron_next(s.cron_spec, s.timezone, after);
    END IF;
    IF after < s.start_at THEN
        RETURN s.start_at;
    END IF;
    secs := pg_catalog.date_part('epoch', s.every)::numeric;
    k := pg_catalog.floor(pg_catalog.date_part('epoch', after - s.start_at)::numeric / secs) + 1;
    RETURN s.start_at + pg_catalog.make_interval(secs => (k * secs)::double precision);
END;
$$;

--
-- Name: FUNCTION schedule_next(s animus.schedules, after timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_next(s animus.schedules, after timestamp with time zone) IS 'Internal: the first period of schedule s strictly after `after` (cron: animus.cron_next; interval: start_at + k * every). Raises nothing.';

--
-- Name: schedule_next_runs(text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.schedule_next_runs(name text DEFAULT NULL::text, count integer DEFAULT 5) RETURNS TABLE(run_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s animus.schedules;
    t timestamptz;
    i integer := 0;
BEGIN
    IF schedule_next_runs.name IS NULL OR schedule_next_runs.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Pass the name of a schedule (animus.list_schedules()).';
    END IF;
    IF schedule_next_runs.count IS NULL OR schedule_next_runs.count NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument count must be between 1 and 1000',
            DETAIL = pg_catalog.format('count = %s', coalesce(schedule_next_runs.count::text, 'NULL')),
            HINT = 'Ask for at most 1000 runs.';
    END IF;
    SELECT * INTO s FROM animus.schedules x WHERE x.name = schedule_next_runs.name;
    IF NOT FOUND OR NOT animus.work_queue_allowed(s.queue_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA136', MESSAGE = pg_catalog.format('argument name: no schedule named %L', pg_catalog.left(schedule_next_runs.name, 100)),
            HINT = 'Check the name with animus.list_schedules().';
    END IF;
    -- From next_run_at (a due period first); a paused schedule shows the runs it would have if resumed now.
    t := CASE WHEN s.paused THEN animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END)
              ELSE s.next_run_at END;
    WHILE t IS NOT NULL AND i < schedule_next_runs.count LOOP
        run_at := t;
        RETURN NEXT;
        i := i + 1;
        t := animus.schedule_next(s, t);
    END LOOP;
END;
$$;

--
-- Name: FUNCTION schedule_next_runs(name text, count integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.schedule_next_runs(name text, count integer) IS 'The next `count` (1-1000) periods of schedule `name`, from next_run_at (which may be due already); for a paused schedule those after now. Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use), ZA138 (count out of range).';

--
-- Name: search_memory_text(text, integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.search_memory_text(query text DEFAULT NULL::text, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, score double precision, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    f jsonb;
BEGIN
    IF query IS NULL OR pg_catalog.btrim(query) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'query must be non-empty text',
            HINT = 'Pass the words to search for, e.g. a question in natural language.';
    END IF;
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_read_filters(filters);   -- checked, then confined to the read scope
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.score, pg_catalog.row_number() OVER (ORDER BY c.score DESC, c.id)
      FROM animus.memory_text_candidates_live(query, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.score DESC, c.id;
END
$$;

--
-- Name: FUNCTION search_memory_text(query text, k integer, filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) IS 'The k memories that best match a natural-language query (English stemming; documents matching ANY query term are ranked), filtered (docs/memory.md), best first, ties by id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';

--
-- Name: search_memory_vector(public.vector, integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.search_memory_vector(query_embedding public.vector DEFAULT NULL::public.vector, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, distance double precision, similarity double precision, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    f jsonb;
BEGIN
    PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_read_filters(filters);   -- checked, then confined to the read scope
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.distance, 1 - c.distance, row_number() OVER (ORDER BY c.distance, c.id)
      FROM animus.memory_vector_candidates(query_embedding, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.distance, c.id;
END
$$;

--
-- Name: FUNCTION search_memory_vector(query_embedding public.vector, k integer, filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) IS 'The k memories nearest to query_embedding by cosine distance (HNSW, iterative scan), filtered (docs/memory.md), nearest first, ties by id; k rows whenever k rows match. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. Raises ZA001, ZA002 (k outside 1..1000), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';

--
-- Name: set_concurrency_limit(text, text, integer, integer, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.set_concurrency_limit(queue text, key text DEFAULT '*'::text, max_running integer DEFAULT NULL::integer, rate integer DEFAULT NULL::integer, period interval DEFAULT NULL::interval) RETURNS animus.concurrency_limits
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    result animus.concurrency_limits;
BEGIN
    IF queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL', HINT = 'Pass the queue the limit applies to.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = set_concurrency_limit.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    IF key IS NULL OR (key <> '*' AND (pg_catalog.char_length(key) > 200 OR animus.work_is_blank(key))) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA125', MESSAGE = 'argument key must be ''*'' or 1 to 200 characters, not only white space',
            DETAIL = pg_catalog.format('key = %L', pg_catalog.left(key, 100)),
            HINT = 'Pass the concurrency key the limit is for, or ''*'' (the default) for every key without a limit of its own.';
    END IF;
    IF max_running IS NULL AND rate IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'arguments max_running and rate must not both be NULL',
            HINT = 'Pass max_running => N and/or rate => R with period => ''1 minute''; remove a limit with animus.drop_concurrency_limit.';
    END IF;
    IF max_running NOT BETWEEN 1 AND 1000000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument max_running must be between 1 and 1000000000',
            DETAIL = pg_catalog.format('max_running = %s', max_running),
            HINT = 'Pass how many items of the key may run at once, or NULL for no bound.';
    END IF;
    IF rate NOT BETWEEN 1 AND 1000000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument rate must be between 1 and 1000000000',
            DETAIL = pg_catalog.format('rate = %s', rate),
            HINT = 'Pass how many cost units of the key may start per period, or NULL for no rate limit.';
    END IF;
    IF (rate IS NULL) <> (period IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'arguments rate and period must be given together',
            DETAIL = pg_catalog.format('rate = %s, period = %s', coalesce(rate::text, 'NULL'), coalesce(period::text, 'NULL')),
            HINT = 'Pass rate => R, period => ''1 minute'' (R cost units per minute), or neither.';
    END IF;
    IF period <= '0' OR period > '366 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA127', MESSAGE = 'argument period must be positive and at most 366 days',
            DETAIL = pg_catalog.format('period = %s', period),
            HINT = 'Pass the rate window, e.g. period => ''1 second'' or ''1 minute''.';
    END IF;
    INSERT INTO animus.concurrency_limits AS l (queue_name, concurrency_key, max_running, rate, period)
    VALUES (queue, key, max_running, rate, period)
    ON CONFLICT (queue_name, concurrency_key) DO UPDATE
       SET max_running = excluded.max_running, rate = excluded.rate, period = excluded.period,
           updated_at = pg_catalog.clock_timestamp()
    RETURNING l.* INTO result;
    -- A raised limit frees slots: wake what it frees (for '*', every key of the queue with held items).
    PERFORM animus.work_key_wake(queue, ARRAY(SELECT DISTINCT h.concurrency_key FROM animus.concurrency_held h
                                               WHERE h.queue_name = set_concurrency_limit.queue
                                                 AND (set_concurrency_limit.key = '*' OR h.concurrency_key = set_concurrency_limit.key)));
    RETURN result;
END;
$$;

--
-- Name: FUNCTION set_concurrency_limit(queue text, key text, max_running integer, rate integer, period interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.set_concurrency_limit(queue text, key text, max_running integer, rate integer, period interval) IS 'Sets (inserts or replaces) the limits of concurrency key `key` of `queue` (''*'', the default: each key without a row of its own gets these limits, counted per key): at most max_running items of the key running at once; at most `rate` cost units (work_items.cost) started per `period`, in fixed windows date_bin(period, now, 2000-01-01 UTC) (an item costing more than rate starts only as the first of a window). read_work applies them from the next claim; items already running count. Returns the row. Raises ZA001 (queue NULL), ZA101 (unknown queue), ZA125 (key NULL, empty, only white space or over 200 characters), ZA127 (max_running and rate both NULL; max_running or rate not 1..1000000000; rate without period or period without rate; period not positive or over 366 days).';

--
-- Name: health_thresholds; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.health_thresholds (
    check_name text NOT NULL,
    queue_name text DEFAULT '*'::text NOT NULL,
    warn_at double precision,
    fail_at double precision,
    unit text NOT NULL,
    meaning text NOT NULL,
    CONSTRAINT health_thresholds_check CHECK (((warn_at IS NULL) OR (fail_at IS NULL) OR (warn_at <= fail_at))),
    CONSTRAINT health_thresholds_fail_at_check CHECK ((fail_at >= (0)::double precision)),
    CONSTRAINT health_thresholds_warn_at_check CHECK ((warn_at >= (0)::double precision))
);

--
-- Name: TABLE health_thresholds; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.health_thresholds IS 'Thresholds of animus.health(): a check''s status is fail when its value is >= fail_at, warn when >= warn_at, else ok (NULL: that level is never reached). Rows with queue_name ''*'' are the defaults; a row naming a queue overrides them for it (animus.set_health_threshold).';

--
-- Name: COLUMN health_thresholds.check_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.check_name IS 'The check (health()''s check_name), e.g. oldest_age_sec.';

--
-- Name: COLUMN health_thresholds.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.queue_name IS '''*'' for the default of every queue (and for the checks that are not per queue), else the queue it applies to.';

--
-- Name: COLUMN health_thresholds.warn_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.warn_at IS 'Value from which the check is warn (NULL: never warn).';

--
-- Name: COLUMN health_thresholds.fail_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.fail_at IS 'Value from which the check is fail (NULL: never fail).';

--
-- Name: COLUMN health_thresholds.unit; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.unit IS 'Unit of the value: items, s, rows, bool (1 or 0).';

--
-- Name: COLUMN health_thresholds.meaning; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.health_thresholds.meaning IS 'What the check measures.';

--
-- Name: set_health_threshold(text, double precision, double precision, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.set_health_threshold(check_name text, warn_at double precision DEFAULT NULL::double precision, fail_at double precision DEFAULT NULL::double precision, queue text DEFAULT '*'::text) RETURNS animus.health_thresholds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    d animus.health_thresholds;
    r animus.health_thresholds;
BEGIN
    SELECT * INTO d FROM animus.health_thresholds t WHERE t.check_name = set_health_threshold.check_name AND t.queue_name = '*';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA163',
            MESSAGE = pg_catalog.format('argument check_name: no health check named %L', pg_catalog.left(set_health_threshold.check_name, 100)),
            HINT = 'Use one of: ' || (SELECT pg_catalog.string_agg(t.check_name, ', ' ORDER BY t.check_name) FROM animus.health_thresholds t WHERE t.queue_name = '*') || '.';
    END IF;
    IF set_health_threshold.warn_at = 'NaN' OR set_health_threshold.fail_at = 'NaN' OR set_health_threshold.warn_at < 0 OR set_health_threshold.fail_at < 0
       OR set_health_threshold.warn_at = 'Infinity' OR set_health_threshold.fail_at = 'Infinity'
       OR set_health_threshold.warn_at > set_health_threshold.fail_at THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA164', MESSAGE = 'arguments warn_at and fail_at must be finite, >= 0 and warn_at <= fail_at',
            DETAIL = pg_catalog.format('warn_at = %s, fail_at = %s', coalesce(set_health_threshold.warn_at::text, 'NULL'), coalesce(set_health_threshold.fail_at::text, 'NULL')),
            HINT = 'Pass warn_at <= fail_at, both >= 0; NULL means that level is never reached.';
    END IF;
    IF set_health_threshold.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass ''*'' for the default of every queue, or a queue name.';
    END IF;
    IF set_health_threshold.queue <> '*' THEN
        IF d.check_name IN ('bm25_backlog', 'replication_lag_sec') THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA163',
                MESSAGE = pg_catalog.format('argument check_name: %s is not a per-queue check', d.check_name),
                HINT = 'Pass queue => ''*'' for checks of the database and the memory.';
        END IF;
        PERFORM animus.ops_check_queue(set_health_threshold.queue);
    END IF;
    INSERT INTO animus.health_thresholds AS t (check_name, queue_name, warn_at, fail_at, unit, meaning)
    VALUES (d.check_name, set_health_threshold.queue, set_health_threshold.warn_at, set_health_threshold.fail_at, d.unit, d.meaning)
    ON CONFLICT ON CONSTRAINT health_thresholds_pkey DO UPDATE SET warn_at = excluded.warn_at, fail_at = excluded.fail_at
    RETURNING t.* INTO r;
    RETURN r;
END;
$$;

--
-- Name: FUNCTION set_health_threshold(check_name text, warn_at double precision, fail_at double precision, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.set_health_threshold(check_name text, warn_at double precision, fail_at double precision, queue text) IS 'Sets the thresholds of health check check_name: for every queue (queue ''*'', the default) or for one queue (overriding the default); NULL warn_at / fail_at: that level is never reached. Returns the row. animus_admin only. Raises ZA163 (unknown check, or a per-queue threshold of a database/memory check), ZA164 (negative, NaN or infinite threshold, or warn_at > fail_at), ZA001 (queue NULL), ZA109 (no grant on queue), ZA101 (no such queue).';

--
-- Name: set_namespace_model(text, text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.set_namespace_model(namespace text DEFAULT NULL::text, model text DEFAULT NULL::text, queue text DEFAULT 'work'::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    total bigint := 0;
    n bigint;
BEGIN
    IF set_namespace_model.namespace IS NULL OR set_namespace_model.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string', HINT = 'Pass the namespace to switch.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.memory_models AS m WHERE m.name = set_namespace_model.model) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA225', MESSAGE = pg_catalog.format('model %L is not registered', pg_catalog.left(set_namespace_model.model, 80)),
            HINT = 'Register it first with animus.register_model(name, dimension).';
    END IF;
    INSERT INTO animus.memory_namespace_models AS nm (namespace, model)
    VALUES (set_namespace_model.namespace, set_namespace_model.model)
    ON CONFLICT ON CONSTRAINT memory_namespace_models_pkey DO UPDATE SET model = EXCLUDED.model, set_at = now()
     WHERE nm.model IS DISTINCT FROM EXCLUDED.model;
    LOOP
        n := animus.memory_request_reembedding(set_namespace_model.namespace, set_namespace_model.queue, 10000);
        total := total + n;
        EXIT WHEN n < 10000;
    END LOOP;
    RETURN total;
END
$$;

--
-- Name: FUNCTION set_namespace_model(namespace text, model text, queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.set_namespace_model(namespace text, model text, queue text) IS 'Makes model (registered) the active embedding model of namespace and queues the re-embedding of its memories whose vector is of another model (memory_request_reembedding, into queue); returns how many were queued. Admin only (SECURITY DEFINER). Raises ZA001, ZA225 (model not registered), ZA109 (queue not granted).';

--
-- Name: sleep_work(uuid, integer, timestamp with time zone, text, integer, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone DEFAULT NULL::timestamp with time zone, step_name text DEFAULT 'sleep'::text, occurrence integer DEFAULT 1, delay interval DEFAULT NULL::interval) RETURNS TABLE(suspended boolean, resume_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    v_queue text;
    v_msg   bigint;
    v_at    timestamptz;
    s       animus.work_steps;
BEGIN
    PERFORM animus.work_check_step(sleep_work.work_id, sleep_work.attempt, sleep_work.step_name, sleep_work.occurrence);
    IF (sleep_work.wake_at IS NULL) = (sleep_work.delay IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA117', MESSAGE = 'arguments wake_at and delay: pass exactly one of them',
            DETAIL = pg_catalog.format('wake_at = %s, delay = %s', coalesce(sleep_work.wake_at::text, 'NULL'), coalesce(sleep_work.delay::text, 'NULL')),
            HINT = 'Pass wake_at => a time, or delay => an interval (>= 0) from now.';
    END IF;
    IF sleep_work.delay < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA117', MESSAGE = 'argument delay must not be negative',
            DETAIL = pg_catalog.format('delay = %s', sleep_work.delay), HINT = 'Pass how long to sleep, e.g. delay => ''1 hour''.';
    END IF;
    IF NOT pg_catalog.isfinite(sleep_work.wake_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA117', MESSAGE = 'argument wake_at must be a finite time',
            DETAIL = pg_catalog.format('wake_at = %s', sleep_work.wake_at), HINT = 'Pass when the item should run again; to wait for something, use await_event.';
    END IF;
    SELECT w.queue_name, w.msg_id INTO v_queue, v_msg FROM animus.work_items w
     WHERE w.id = sleep_work.work_id AND w.state = 'running' AND w.attempts = sleep_work.attempt
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(sleep_work.work_id, 'sleep_work', sleep_work.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(sleep_work.work_id, 'work_id', 'sleep_work');
    END IF;
    SELECT * INTO s FROM animus.work_steps ws
     WHERE ws.work_id = sleep_work.work_id AND ws.step_name = sleep_work.step_name AND ws.occurrence = sleep_work.occurrence
       FOR UPDATE;
    IF FOUND THEN
        IF s.kind <> 'sleep' THEN
            PERFORM animus.work_raise_step_reused(s, 'sleep', NULL, NULL);
        END IF;
        IF s.state = 'completed' THEN
            RETURN QUERY SELECT false, s.wake_at;
            RETURN;
        END IF;
        v_at := s.wake_at;   -- durable: the time the first call recorded, not the caller's new one
    ELSE
        v_at := coalesce(sleep_work.wake_at, pg_catalog.clock_timestamp() + sleep_work.delay);
        INSERT INTO animus.work_steps (work_id, step_name, occurrence, kind, state, attempt, wake_at, started_at)
        VALUES (sleep_work.work_id, sleep_work.step_name, sleep_work.occurrence, 'sleep', 'waiting', sleep_work.attempt,
                v_at, pg_catalog.clock_timestamp());
    END IF;
    IF v_at <= pg_catalog.clock_timestamp() THEN
        UPDATE animus.work_steps ws SET state = 'completed', attempt = sleep_work.attempt, finished_at = pg_catalog.clock_timestamp()
         WHERE ws.work_id = sleep_work.work_id AND ws.step_name = sleep_work.step_name AND ws.occurrence = sleep_work.occurrence;
        RETURN QUERY SELECT false, v_at;
        RETURN;
    END IF;
    UPDATE animus.work_steps ws SET state = 'waiting', attempt = sleep_work.attempt
     WHERE ws.work_id = sleep_work.work_id AND ws.step_name = sleep_work.step_name AND ws.occurrence = sleep_work.occurrence;
    PERFORM animus.work_suspend(sleep_work.work_id, v_queue, v_msg, v_at);
    RETURN QUERY SELECT true, v_at;
END;
$$;

--
-- Name: FUNCTION sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval) IS 'A durable sleep of a running work item (the claim at `attempt`) until wake_at, or for delay from the first call: the first call records the wake-up time in step (step_name, occurrence) and later calls (the handler running again) use the recorded time. Before that time the item is given back: queued, the claim recorded as released (not a failed attempt, no worker slot held), visible again at the wake-up time; returns (suspended true, resume_at): the handler must stop without settling the item. Once the time has passed the step completes and returns (false, resume_at): go on. Only items of queues the caller has a grant on. Raises ZA001 (work_id, attempt or step_name NULL), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA117 (neither or both of wake_at and delay, delay negative, wake_at infinite), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued, not running), ZA104 (ended), ZA113 (the step name and occurrence was recorded as a step or an event wait).';

--
-- Name: start_step(uuid, text, integer, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer DEFAULT 1, fingerprint text DEFAULT NULL::text) RETURNS TABLE(done boolean, result jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    v_queue text;
    s       animus.work_steps;
BEGIN
    PERFORM animus.work_check_step(start_step.work_id, start_step.attempt, start_step.step_name, start_step.occurrence,
                                   start_step.fingerprint);
    -- Claim fencing: the item must be running at the caller's attempt. The row lock (KEY SHARE:
    -- it blocks read_work's re-claim, not the worker's own heartbeat) holds until the step is
    -- recorded, so a claim that expires meanwhile cannot slip in between.
    SELECT w.queue_name INTO v_queue FROM animus.work_items w
     WHERE w.id = start_step.work_id AND w.state = 'running' AND w.attempts = start_step.attempt
       FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(start_step.work_id, 'start_step', start_step.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(start_step.work_id, 'work_id', 'start_step');
    END IF;
    SELECT * INTO s FROM animus.work_steps ws
     WHERE ws.work_id = start_step.work_id AND ws.step_name = start_step.step_name AND ws.occurrence = start_step.occurrence
       FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO animus.work_steps (work_id, step_name, occurrence, kind, state, attempt, fingerprint, started_at)
        VALUES (start_step.work_id, start_step.step_name, start_step.occurrence, 'step', 'running', start_step.attempt,
                start_step.fingerprint, pg_catalog.clock_timestamp());
        RETURN QUERY SELECT false, NULL::jsonb;
        RETURN;
    END IF;
    IF s.kind <> 'step' OR (s.fingerprint IS DISTINCT FROM start_step.fingerprint
                            AND s.fingerprint IS NOT NULL AND start_step.fingerprint IS NOT NULL) THEN
        PERFORM animus.work_raise_step_reused(s, 'step', start_step.fingerprint, NULL);
    END IF;
    IF s.state = 'completed' THEN
        RETURN QUERY SELECT true, s.result;
        RETURN;
    END IF;
    -- running (a crashed or timed-out attempt, or this one again) or failed: it runs (again)
    UPDATE animus.work_steps ws
       SET state = 'running', attempt = start_step.attempt, started_at = pg_catalog.clock_timestamp(), finished_at = NULL,
           fingerprint = coalesce(ws.fingerprint, start_step.fingerprint)
     WHERE ws.work_id = start_step.work_id AND ws.step_name = start_step.step_name AND ws.occurrence = start_step.occurrence;
    RETURN QUERY SELECT false, NULL::jsonb;
END;
$$;

--
-- Name: FUNCTION start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text) IS 'Starts durable step (step_name, occurrence) of a running work item, for the claim at `attempt` (the attempts read_work returned). A step completed before (by any attempt) returns done = true with its recorded result: do not run it again. Otherwise the step is recorded as running at this attempt and done = false: run it, then record its outcome with finish_step. A step that failed, or whose attempt crashed or timed out, runs again. fingerprint (e.g. module.qualname of the function) is recorded; a later start with another non-NULL fingerprint raises ZA113. Only items of queues the caller has a grant on. Raises ZA001 (work_id, step_name or attempt NULL), ZA116 (step_name blank or over 300 characters, fingerprint over 1000), ZA002 (occurrence < 1), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim: the item was claimed again since), ZA103 (queued, not running), ZA104 (ended), ZA113 (step recorded with a different fingerprint, or as a sleep or event wait).';

--
-- Name: store_memories(jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.store_memories(memories jsonb DEFAULT NULL::jsonb, namespace text DEFAULT 'default'::text) RETURNS TABLE(ordinal integer, id bigint, created boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    life_keys constant text[] := ARRAY['expires_at', 'ttl', 'pinned', 'supersedes', 'visibility', 'groups'];
    viewer jsonb;
    scope text[];
    bad record;
    cur_ord bigint;
    st text;
    msg text;
    det text;
    hnt text;
    r record;
    out_ordinals integer[];
    out_ids bigint[];
    out_created boolean[];
BEGIN
    IF memories IS NULL OR pg_catalog.jsonb_typeof(memories) <> 'array' THEN
        RETURN QUERY SELECT b.ordinal, b.id, b.created
                       FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
        RETURN;   -- (it raises ZA208)
    END IF;
    -- The content of a memory the caller does not see: refuse rather than overwrite it. Only
    -- callers with a viewer (not every namespace) when some memory is not namespace-visible.
    viewer := animus.memory_viewer();
    IF viewer IS NOT NULL AND animus.memory_state_active() THEN
        scope := animus.memory_scope('read');
        SELECT a.ord INTO bad
          FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
          JOIN animus.memories AS m
            ON m.namespace = coalesce(a.e ->> 'namespace', store_memories.namespace)
           AND m.content_hash = animus.memory_content_hash(a.e ->> 'content')
         WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND pg_catalog.jsonb_typeof(a.e -> 'content') = 'string'
           AND m.visibility <> 'namespace'
           AND NOT animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('memories[%s]: another memory of its namespace, not shared with you, has this content', bad.ord),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = 'Store it in another namespace, or ask its owner to share it.';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(memories) AS a(e)
                    WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND a.e ?| life_keys) THEN
        RETURN QUERY SELECT b.ordinal, b.id, b.created
                       FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
        RETURN;
    END IF;

    -- The shape of the lifecycle keys, first bad element named.
    SELECT a.ord, p.problem INTO bad
      FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
     CROSS JOIN LATERAL (
        SELECT c.problem FROM (VALUES
            (1, 'has "expires_at" that is not a timestamp string',
                a.e ? 'expires_at' AND NOT animus.memory_is_timestamptz(a.e -> 'expires_at')),
            (2, 'has "ttl" that is not an interval string or a number of seconds',
                a.e ? 'ttl' AND NOT animus.memory_is_interval(a.e -> 'ttl')),
            (3, 'has "pinned" that is not true or false',
                a.e ? 'pinned' AND pg_catalog.jsonb_typeof(a.e -> 'pinned') NOT IN ('boolean', 'null')),
            (4, 'has "supersedes" that is not an array of memory ids',
                a.e ? 'supersedes' AND (pg_catalog.jsonb_typeof(a.e -> 'supersedes') <> 'array'
                    OR pg_catalog.jsonb_path_exists(a.e -> 'supersedes', '$[*] ? (@.type() != "number" || @ != @.floor())'))),
            (5, 'has "visibility" that is not a string',
                a.e ? 'visibility' AND pg_catalog.jsonb_typeof(a.e -> 'visibility') NOT IN ('string', 'null')),
            (6, 'has "groups" that is not an array of role names',
                a.e ? 'groups' AND (pg_catalog.jsonb_typeof(a.e -> 'groups') NOT IN ('array', 'null')
                    OR pg_catalog.jsonb_path_exists(a.e -> 'groups', '$[*] ? (@.type() != "string")')))
        ) AS c(n, problem, failed)
        WHERE pg_catalog.jsonb_typeof(a.e) = 'object' AND c.failed
        ORDER BY c.n
        LIMIT 1) AS p
     ORDER BY a.ord
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA208',
            MESSAGE = pg_catalog.format('memories[%s] %s', bad.ord, bad.problem),
            DETAIL = 'Nothing was stored (positions count from 1).',
            HINT = 'Lifecycle keys: "expires_at": "2026-12-31T00:00:00Z", "ttl": "2 hours" or 7200, "pinned": true, '
                   '"supersedes": [12, 13], "visibility": "private" | "groups" | "namespace", "groups": ["role"].';
    END IF;

    scope := animus.memory_write_scope();
    SELECT pg_catalog.array_agg(b.ordinal ORDER BY b.ordinal), pg_catalog.array_agg(b.id ORDER BY b.ordinal),
           pg_catalog.array_agg(b.created ORDER BY b.ordinal)
      INTO out_ordinals, out_ids, out_created
      FROM animus.memory_store_batch(
               (SELECT pg_catalog.jsonb_agg(CASE WHEN pg_catalog.jsonb_typeof(a.e) = 'object' THEN a.e - life_keys ELSE a.e END
                                            ORDER BY a.ord)
                  FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)),
               store_memories.namespace) AS b;
    -- One subtransaction for every element's lifecycle; an error names the element being applied.
    BEGIN
        FOR r IN
            SELECT o.ordinal AS ord, o.id, a.e
              FROM pg_catalog.jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
              JOIN unnest(out_ordinals, out_ids) AS o(ordinal, id) ON o.ordinal = a.ord
             WHERE a.e ?| life_keys
             ORDER BY a.ord
        LOOP
            cur_ord := r.ord;
            PERFORM animus.memory_apply_lifecycle(
                r.id,
                (r.e ->> 'expires_at')::timestamptz,
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'ttl') = 'number'
                     THEN pg_catalog.make_interval(secs => (r.e ->> 'ttl')::double precision)
                     ELSE (r.e ->> 'ttl')::interval END,
                (r.e ->> 'pinned')::boolean,
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'supersedes') = 'array'
                     THEN ARRAY(SELECT x::bigint FROM pg_catalog.jsonb_array_elements_text(r.e -> 'supersedes') AS x) END,
                r.e ->> 'visibility',
                CASE WHEN pg_catalog.jsonb_typeof(r.e -> 'groups') = 'array'
                     THEN ARRAY(SELECT x FROM pg_catalog.jsonb_array_elements_text(r.e -> 'groups') AS x) END,
                scope);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = pg_catalog.format('memories[%s]: %s', cur_ord, msg),
            DETAIL = pg_catalog.concat_ws('. ', nullif(det, ''), 'Nothing was stored (positions count from 1).'),
            HINT = coalesce(nullif(hnt, ''), 'Fix that element and store the batch again.');
    END;
    RETURN QUERY SELECT o.ordinal, o.id, o.created FROM unnest(out_ordinals, out_ids, out_created) AS o(ordinal, id, created);
END
$_$;

--
-- Name: FUNCTION store_memories(memories jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.store_memories(memories jsonb, namespace text) IS 'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, namespace?, expires_at?, ttl?, pinned?, supersedes?, visibility?, groups?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; namespace is the default for elements without one. The lifecycle keys are those of store_memory (ttl an interval string or seconds), checked as store_memory checks them. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. Nothing is written if one element is bad; the error names it (memories[N]). Only into namespaces of the caller''s write scope; runs as the owner (SECURITY DEFINER). Elements with lifecycle keys get the caller as owner. Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), ZA207 (a superseded id that does not exist), ZA208 (malformed element), ZA211 (the content of a memory not shared with the caller), ZA215, ZA216 (expiry), ZA217 (supersession), ZA218 (visibility, groups), ZA219 (unknown group), 42501 (a namespace outside the write scope).';

--
-- Name: store_memory(text, public.vector, text, text, jsonb, text, timestamp with time zone, interval, boolean, bigint[], text, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.store_memory(content text DEFAULT NULL::text, embedding public.vector DEFAULT NULL::public.vector, memory_type text DEFAULT NULL::text, source text DEFAULT NULL::text, metadata jsonb DEFAULT '{}'::jsonb, namespace text DEFAULT 'default'::text, expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone, ttl interval DEFAULT NULL::interval, pinned boolean DEFAULT NULL::boolean, supersedes bigint[] DEFAULT NULL::bigint[], visibility text DEFAULT NULL::text, groups text[] DEFAULT NULL::text[]) RETURNS TABLE(id bigint, created boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[];
    viewer jsonb := animus.memory_viewer();
    new_id bigint;
    is_new boolean;
    other bigint;
BEGIN
    PERFORM animus.memory_check_fields(store_memory.content, store_memory.memory_type,
                                       store_memory.namespace, store_memory.metadata);
    PERFORM animus.memory_check_embedding(store_memory.embedding);
    scope := animus.memory_write_scope();
    IF NOT ('*' = ANY (scope) OR store_memory.namespace = ANY (scope)) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('namespace %L is not in the caller''s write scope', pg_catalog.left(store_memory.namespace, 80)),
            HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
    END IF;
    -- The same content as a memory the caller does not see (private to another role): refuse
    -- rather than overwrite it.
    IF viewer IS NOT NULL THEN
        SELECT m.id INTO other FROM animus.memories AS m
         WHERE m.namespace = store_memory.namespace
           AND m.content_hash = animus.memory_content_hash(store_memory.content)
           AND NOT animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer);
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('another memory of namespace %L, not shared with you, has this content', pg_catalog.left(store_memory.namespace, 80)),
                HINT = 'Store it in another namespace, or ask its owner to share it.';
        END IF;
    END IF;
    -- One race-free statement: a second store of the same content in the same namespace
    -- updates the row (xmax <> 0 on the returned row means the conflict branch ran).
    INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding, owner_role)
    VALUES (store_memory.namespace, store_memory.content, store_memory.memory_type, store_memory.source,
            coalesce(store_memory.metadata, '{}'), store_memory.embedding,
            (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = animus.memory_caller()))
    ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
       SET memory_type = EXCLUDED.memory_type,
           source      = EXCLUDED.source,
           metadata    = EXCLUDED.metadata,
           embedding   = EXCLUDED.embedding,
           updated_at  = pg_catalog.now()
    RETURNING m.id, m.xmax OPERATOR(pg_catalog.=) 0 INTO new_id, is_new;
    IF store_memory.expires_at IS NOT NULL OR store_memory.ttl IS NOT NULL OR store_memory.pinned IS NOT NULL
       OR store_memory.supersedes IS NOT NULL OR store_memory.visibility IS NOT NULL OR store_memory.groups IS NOT NULL THEN
        PERFORM animus.memory_apply_lifecycle(new_id, store_memory.expires_at, store_memory.ttl, store_memory.pinned,
                                              store_memory.supersedes, store_memory.visibility, store_memory.groups, scope);
    END IF;
    RETURN QUERY SELECT new_id, is_new;
END
$$;

--
-- Name: FUNCTION store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]) IS 'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory (memory_type, source, metadata, embedding, updated_at) and returns created = false. Lifecycle (docs/memory-lifecycle.md): expires_at or ttl (from now; out of every search once passed), pinned (never expires), supersedes (ids of older memories of the namespace this one replaces; they leave searches), visibility (namespace, the default; private; groups, with groups => role names); the caller''s role is the owner. Only into a namespace of the caller''s write scope (animus.memory_scope(''write'')); runs as the owner (SECURITY DEFINER). Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content), ZA207 (a superseded id that does not exist), ZA211 (the content of a memory not shared with the caller), ZA214, ZA215, ZA216 (expiry in the past, ttl <= 0, both, or with pinned), ZA217 (supersede itself, another namespace, a cycle), ZA218 (visibility, groups), ZA219 (unknown group), 42501 (namespace outside the write scope).';

--
-- Name: submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamp with time zone, text, jsonb, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.submit_work(work_type text, source text, params jsonb DEFAULT '{}'::jsonb, dedup_key text DEFAULT NULL::text, trigger_info text DEFAULT NULL::text, priority integer DEFAULT 0, parent_id uuid DEFAULT NULL::uuid, max_attempts integer DEFAULT 5, queue text DEFAULT 'work'::text, delay interval DEFAULT '00:00:00'::interval, run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, on_duplicate text DEFAULT 'merge'::text, trace_context jsonb DEFAULT NULL::jsonb, concurrency_key text DEFAULT NULL::text, cost integer DEFAULT 1) RETURNS animus.work_submission
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $_$
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
               AND cw.active_key = submit_work.dedup_key AND cw.waits_for IS NULL;
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
               AND cw.active_key = submit_work.dedup_key AND cw.waits_for IS NULL
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
$_$;

--
-- Name: FUNCTION submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer) IS 'Submits one work item to queue `queue` and returns (work_id, status, canonical_id, msg_id). status: created (a new item and pgmq message), merged (an active item with the same queue + work_type + dedup_key exists: this submission is recorded as a merged row pointing at it, with its own source/trigger_info/params/trace_context), replaced (on_duplicate => ''replace'': the queued item got this submission''s params, priority and run time; if the item is running, a follow-up item is created that runs after it ends: one running plus one queued). Race-free under concurrency. delay or run_at makes the item invisible until due. trace_context {"traceparent","tracestate"} is stored and carried in the message headers. concurrency_key (1..200 characters; NULL: params ->> the queue''s concurrency_param, if set) puts the item under its key''s limits (animus.set_concurrency_limit: at most max_running running, at most rate cost units started per period); cost (1..1000000, default 1) is what it uses of the rate budget. Key and cost are fixed when the item is created (a merge or replace keeps the item''s). Only to a queue the caller has a grant on (animus.grant_queue). Raises ZA001 (queue NULL; work_type/source NULL, empty or only white space; dedup_key empty), ZA003 (params or trace_context not an object), ZA002 (negative delay, max_attempts not 1..1000, priority not -1000..1000, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use), ZA125 (concurrency_key, or the key derived from params, empty, only white space or over 200 characters), ZA126 (cost not 1..1000000).';

--
-- Name: submit_work_batch(jsonb, text, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.submit_work_batch(items jsonb, queue text DEFAULT 'work'::text, on_duplicate text DEFAULT 'merge'::text, trace_context jsonb DEFAULT NULL::jsonb) RETURNS TABLE(ord integer, work_id uuid, status text, canonical_id uuid, msg_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
            ON CONFLICT (queue_name, work_type, active_key) WHERE active_key IS NOT NULL AND waits_for IS NULL
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
                               AND cw.active_key = p.dedup_key
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
$_$;

--
-- Name: FUNCTION submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) IS 'Submits many work items in one call: items is a JSON array of {"work_type","source","params","dedup_key","trigger_info","priority","parent_id","max_attempts","delay" (seconds),"trace_context","concurrency_key","cost"} (concurrency_key and cost as in submit_work: NULL key = params ->> the queue''s concurrency_param, if set). Returns one row per element, in input order (ord from 1): work_id, status (created | merged | replaced), canonical_id, msg_id. Deduplicates against active items and within the batch (the first element with a key is the canonical one). trace_context is the default for elements without one. At most 10000 elements; only to a queue the caller has a grant on. Raises ZA001 (queue NULL; work_type/source missing, empty or only white space), ZA003 (items not an array, an element or its params/trace_context not an object), ZA110 (more than 10000 elements), ZA111 (an element has an unknown key, e.g. dedupe_key), ZA112 (max_attempts, priority or cost not an integer), ZA125 (a concurrency key, given or derived, empty, only white space or over 200 characters), ZA126 (cost not 1..1000000), ZA002 (delay, max_attempts or priority out of range, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use); the message and HINT name the element (from 1) and the key; nothing is written when it raises.';

--
-- Name: sweep_concurrency_keys(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.sweep_concurrency_keys(queue text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    r      record;
    woken  integer := 0;
BEGIN
    IF queue IS NOT NULL AND NOT animus.work_queue_allowed(queue) THEN
        PERFORM animus.work_raise_not_granted(queue);
    END IF;
    IF queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = sweep_concurrency_keys.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue, or NULL for every queue you may use.';
    END IF;
    -- Held rows of items that are no longer queued (cancelled, purged) go.
    DELETE FROM animus.concurrency_held h
     WHERE (sweep_concurrency_keys.queue IS NULL OR h.queue_name = sweep_concurrency_keys.queue)
       AND NOT EXISTS (SELECT 1 FROM animus.work_items w WHERE w.id = h.work_id AND w.state = 'queued');
    FOR r IN SELECT h.queue_name, pg_catalog.array_agg(DISTINCT h.concurrency_key) AS keys
               FROM animus.concurrency_held h
              WHERE (sweep_concurrency_keys.queue IS NULL OR h.queue_name = sweep_concurrency_keys.queue)
                AND animus.work_queue_allowed(h.queue_name)
              GROUP BY h.queue_name ORDER BY h.queue_name LOOP
        woken := woken + animus.work_key_wake(r.queue_name, r.keys);
    END LOOP;
    RETURN woken;
END;
$$;

--
-- Name: FUNCTION sweep_concurrency_keys(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.sweep_concurrency_keys(queue text) IS 'Liveness safety net for concurrency keys: wakes the held items of every key of `queue` (NULL: every queue the caller has a grant on) that has free slots, and forgets held rows of items that are no longer queued. Settles wake held items themselves; a worker calls this now and then (the animus Worker on its periodic tick) so that nothing stays held after a limit was raised or dropped. Returns how many items it woke. Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

--
-- Name: tick_schedules(timestamp with time zone, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.tick_schedules(now timestamp with time zone DEFAULT clock_timestamp(), max_submits integer DEFAULT 1000) RETURNS TABLE(schedule text, period_at timestamp with time zone, work_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    s         animus.schedules;
    budget    integer;
    due       timestamptz[];
    p         timestamptz;
    nxt       timestamptz;
    n_skip    numeric;
    n_due     numeric;
    secs      numeric;
    steps     integer;
    keep      integer;
    send      timestamptz[];
    ids       uuid[];
    sub       animus.work_submission;
    cut       integer;
    err       text;
    cap       constant integer := 100000;   -- periods enumerated per schedule and tick (more: the next tick goes on)
BEGIN
    IF tick_schedules.now IS NULL OR NOT pg_catalog.isfinite(tick_schedules.now) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument now must be a finite timestamp',
            HINT = 'Leave now out (clock_timestamp()), or pass the instant to tick at.';
    END IF;
    IF tick_schedules.max_submits IS NULL OR tick_schedules.max_submits NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument max_submits must be between 1 and 100000',
            DETAIL = pg_catalog.format('max_submits = %s', coalesce(tick_schedules.max_submits::text, 'NULL')),
            HINT = 'It bounds the items one tick submits; the rest follow on the next tick.';
    END IF;
    budget := tick_schedules.max_submits;
    FOR s IN SELECT * FROM animus.schedules x
              WHERE NOT x.paused AND x.next_run_at <= tick_schedules.now AND animus.work_queue_allowed(x.queue_name)
              ORDER BY x.next_run_at
                FOR UPDATE SKIP LOCKED
    LOOP
        EXIT WHEN budget <= 0;
        keep := CASE WHEN s.catchup = 'latest' THEN 1 ELSE s.max_catchup END;
        IF s.every IS NOT NULL THEN
            -- Interval: the due periods by arithmetic (any downtime costs the same); only the
            -- ones that may be submitted are listed.
            secs := pg_catalog.date_part('epoch', s.every)::numeric;
            n_due := pg_catalog.floor(pg_catalog.date_part('epoch', tick_schedules.now - s.next_run_at)::numeric / secs) + 1;
            n_skip := greatest(n_due - keep, 0);
            due := ARRAY(SELECT s.next_run_at + pg_catalog.make_interval(secs => ((n_skip + k) * secs)::double precision)
                           FROM pg_catalog.generate_series(0, least(n_due - n_skip, keep) - 1) AS k);
            nxt := s.next_run_at + pg_catalog.make_interval(secs => (n_due * secs)::double precision);
        ELSE
            -- Cron: walk the due periods, oldest first (at most cap of them per tick).
            due := '{}';
            p := s.next_run_at;
            steps := 0;
            WHILE p IS NOT NULL AND p <= tick_schedules.now AND steps < cap LOOP
                due := due || p;
                steps := steps + 1;
                p := animus.schedule_next(s, p);
            END LOOP;
            nxt := p;     -- the first period not walked (still due when the cap stopped the walk)
            n_due := pg_catalog.cardinality(due);
            n_skip := greatest(n_due - keep, 0);
            due := due[n_skip + 1 :];
        END IF;
        IF NOT animus.schedule_creator_allowed(s.created_by, s.queue_name) THEN
            -- The creator lost its grant (or role): nothing is submitted; these periods are skipped.
            UPDATE animus.schedules x
               SET next_run_at = nxt, skipped_count = x.skipped_count + n_due,
                   last_error = pg_catalog.format('role %s may not submit to queue %L: %s period(s) skipped',
                                                  coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = s.created_by), 'OID ' || s.created_by),
                                                  s.queue_name, n_due),
                   last_error_at = tick_schedules.now, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        IF nxt IS NOT NULL AND nxt <= tick_schedules.now THEN
            -- The walk stopped at the cap: skip what is certainly older than the kept ones (all
            -- but the last keep walked), go on with the rest on the next tick.
            UPDATE animus.schedules x
               SET next_run_at = due[1], skipped_count = x.skipped_count + n_skip, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        send := due;
        cut := least(pg_catalog.cardinality(send), budget);
        ids := '{}';
        err := NULL;
        BEGIN
            FOR i IN 1 .. cut LOOP
                sub := animus.submit_work(
                    work_type => s.work_type,
                    source => 'schedule:' || s.name,
                    params => CASE WHEN s.period_key IS NULL THEN s.params
                                   ELSE s.params || pg_catalog.jsonb_build_object(s.period_key,
                                        pg_catalog.to_char(send[i] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) END,
                    trigger_info => pg_catalog.jsonb_build_object('schedule', s.name,
                                        'period_at', pg_catalog.to_char(send[i] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
                    priority => s.priority,
                    max_attempts => s.max_attempts,
                    queue => s.queue_name);
                ids := ids || sub.work_id;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            err := pg_catalog.format('submit failed (%s): %s', SQLSTATE, err);
        END;
        IF err IS NOT NULL THEN
            -- Nothing of this schedule was submitted (the block rolled back): it stays due.
            UPDATE animus.schedules x SET last_error = err, last_error_at = tick_schedules.now, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        budget := budget - cut;
        UPDATE animus.schedules x
           SET next_run_at = CASE WHEN cut < pg_catalog.cardinality(send) THEN send[cut + 1] ELSE nxt END,
               last_period_at = CASE WHEN cut > 0 THEN send[cut] ELSE x.last_period_at END,
               last_work_id = CASE WHEN cut > 0 THEN ids[cut] ELSE x.last_work_id END,
               submitted_count = x.submitted_count + cut,
               skipped_count = x.skipped_count + n_skip,
               last_error = NULL, last_error_at = NULL,
               updated_at = pg_catalog.now()
         WHERE x.name = s.name;
        FOR i IN 1 .. cut LOOP
            schedule := s.name;
            period_at := send[i];
            work_id := ids[i];
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;

--
-- Name: FUNCTION tick_schedules(now timestamp with time zone, max_submits integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.tick_schedules(now timestamp with time zone, max_submits integer) IS 'Submits the due periods (<= now) of every unpaused schedule on a queue the caller may use, and advances next_run_at in the same transaction: schedule rows are locked FOR UPDATE SKIP LOCKED, so concurrent tickers never submit a period twice and a ticker that dies submits nothing. catchup ''latest'': only the most recent due period (older ones counted in skipped_count); ''all'': each due period oldest first, at most the max_catchup most recent. At most max_submits (1-100000) items per call, the rest on the next tick. Items: source ''schedule:<name>'', trigger_info {"schedule", "period_at"} (JSON text), params as configured (plus period_key). A schedule whose creator may no longer submit to its queue skips its due periods (last_error says why); one whose submit fails stays due (last_error). Returns (schedule, period_at, work_id) per submitted item. Raises ZA001 (now NULL or infinite), ZA138 (max_submits out of range).';

--
-- Name: tz_instants(text, timestamp without time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.tz_instants(tz text, l timestamp without time zone) RETURNS timestamp with time zone[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    u   timestamptz := l AT TIME ZONE 'UTC';
    o1  interval := animus.tz_offset(tz, u - interval '1 day');
    o2  interval := animus.tz_offset(tz, u + interval '1 day');
    r   timestamptz[] := '{}';
BEGIN
    IF o1 = o2 THEN
        IF ((u - o1) AT TIME ZONE tz) = l THEN
            RETURN ARRAY[u - o1];
        END IF;
        -- a transition within the day that returned to the same offset: ask the server
        RETURN ARRAY[l AT TIME ZONE tz];
    END IF;
    IF ((u - greatest(o1, o2)) AT TIME ZONE tz) = l THEN r := r || (u - greatest(o1, o2)); END IF;
    IF ((u - least(o1, o2)) AT TIME ZONE tz) = l THEN r := r || (u - least(o1, o2)); END IF;
    RETURN r;
END;
$$;

--
-- Name: FUNCTION tz_instants(tz text, l timestamp without time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.tz_instants(tz text, l timestamp without time zone) IS 'Internal: the instants (ascending) at which zone tz shows local time l: none in a spring-forward gap, two in a repeated hour. Raises nothing.';

--
-- Name: tz_offset(text, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.tz_offset(tz text, t timestamp with time zone) RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC');
$$;

--
-- Name: FUNCTION tz_offset(tz text, t timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.tz_offset(tz text, t timestamp with time zone) IS 'Internal: the UTC offset of time zone tz at instant t. Raises nothing for a known zone.';

--
-- Name: tz_transition(text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.tz_transition(tz text, lo timestamp with time zone, hi timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    o0  interval := animus.tz_offset(tz, lo);
    a   timestamptz := pg_catalog.date_trunc('minute', lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    b   timestamptz := hi;
    m   timestamptz;
BEGIN
    -- invariant: offset(a) = o0 (a <= lo), offset(b) <> o0
    WHILE b - a > interval '1 minute' LOOP
        m := pg_catalog.date_trunc('minute', (a + (b - a) / 2) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        IF m <= a THEN m := a + interval '1 minute'; END IF;
        IF animus.tz_offset(tz, m) = o0 THEN a := m; ELSE b := m; END IF;
    END LOOP;
    RETURN b;
END;
$$;

--
-- Name: FUNCTION tz_transition(tz text, lo timestamp with time zone, hi timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.tz_transition(tz text, lo timestamp with time zone, hi timestamp with time zone) IS 'Internal: the first minute-aligned instant after lo, at most hi, where zone tz''s offset differs from its offset at lo (hi must differ). Raises nothing.';

--
-- Name: unlink_memories(bigint, bigint, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.unlink_memories(source bigint DEFAULT NULL::bigint, target bigint DEFAULT NULL::bigint, relation text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    n bigint;
BEGIN
    IF unlink_memories.source IS NULL OR unlink_memories.target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'source and target must not be NULL',
            HINT = 'Pass the ids of the two linked memories (relation NULL removes every relation between them).';
    END IF;
    DELETE FROM animus.memory_links AS l
     USING animus.memories AS m
     WHERE l.source_id = unlink_memories.source AND l.target_id = unlink_memories.target
       AND (unlink_memories.relation IS NULL OR l.relation = unlink_memories.relation)
       AND m.id = l.source_id AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

--
-- Name: FUNCTION unlink_memories(source bigint, target bigint, relation text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.unlink_memories(source bigint, target bigint, relation text) IS 'Removes the links from source to target (of one relation, or all when relation is NULL) whose source the caller may write; returns how many. Runs as the owner (SECURITY DEFINER). Raises ZA001.';

--
-- Name: update_memory(bigint, text, public.vector, text, text, jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.update_memory(id bigint DEFAULT NULL::bigint, content text DEFAULT NULL::text, embedding public.vector DEFAULT NULL::public.vector, memory_type text DEFAULT NULL::text, source text DEFAULT NULL::text, metadata jsonb DEFAULT NULL::jsonb, namespace text DEFAULT NULL::text) RETURNS SETOF animus.memories
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    cur animus.memories%ROWTYPE;
    other bigint;
    scope text[] := animus.memory_write_scope();
BEGIN
    IF update_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    -- A memory outside the write scope is "not found", exactly as a missing id.
    SELECT m.* INTO cur FROM animus.memories AS m
     WHERE m.id = update_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, animus.memory_viewer())
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', update_memory.id),
            HINT = 'Check the id (store_memory returns it); the memory may have been deleted.';
    END IF;
    PERFORM animus.memory_check_fields(coalesce(update_memory.content, cur.content),
                                       coalesce(update_memory.memory_type, cur.memory_type),
                                       coalesce(update_memory.namespace, cur.namespace),
                                       update_memory.metadata);
    IF update_memory.embedding IS NOT NULL THEN
        PERFORM animus.memory_check_embedding(update_memory.embedding);
    ELSIF update_memory.content IS DISTINCT FROM cur.content AND update_memory.content IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding must be given when content changes',
            HINT = 'Pass the embedding of the new content in the same call.';
    END IF;
    -- Before the duplicate check, which must not probe a namespace the caller may not write.
    IF update_memory.namespace IS NOT NULL AND NOT ('*' = ANY (scope) OR update_memory.namespace = ANY (scope)) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('namespace %L is not in the caller''s write scope', pg_catalog.left(update_memory.namespace, 80)),
            HINT = 'An animus_admin grants it with animus.grant_memory_namespace(role, namespace, can_write => true).';
    END IF;
    IF update_memory.content IS NOT NULL OR update_memory.namespace IS NOT NULL THEN
        SELECT m.id INTO other FROM animus.memories AS m
         WHERE m.namespace = coalesce(update_memory.namespace, cur.namespace)
           AND m.content_hash = animus.memory_content_hash(coalesce(update_memory.content, cur.content))
           AND m.id <> cur.id;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = pg_catalog.format('memory %s would have the same content as memory %s in namespace %s',
                                 cur.id, other, coalesce(update_memory.namespace, cur.namespace)),
                DETAIL = pg_catalog.format('other id: %s', other),
                HINT = 'Update or delete the other memory instead.';
        END IF;
    END IF;
    RETURN QUERY
    UPDATE animus.memories AS m
       SET content     = coalesce(update_memory.content, m.content),
           embedding   = coalesce(update_memory.embedding, m.embedding),
           memory_type = coalesce(update_memory.memory_type, m.memory_type),
           source      = coalesce(update_memory.source, m.source),
           metadata    = coalesce(update_memory.metadata, m.metadata),
           namespace   = coalesce(update_memory.namespace, m.namespace),
           updated_at  = pg_catalog.now()
     WHERE m.id = cur.id
    RETURNING m.*;
EXCEPTION WHEN unique_violation THEN
    -- a concurrent writer took the (namespace, content) between the check and the update
    RAISE EXCEPTION USING ERRCODE = 'ZA211',
        MESSAGE = pg_catalog.format('memory %s would have the same content as another memory of its namespace', update_memory.id),
        HINT = 'Update or delete the other memory instead.';
END
$$;

--
-- Name: FUNCTION update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) IS 'Changes the non-NULL fields of memory id (metadata is replaced, not merged) and sets updated_at; returns the new row. New content needs its embedding in the same call. Only memories (and a new namespace) of the caller''s write scope that it sees (not private to another role); runs as the owner (SECURITY DEFINER). Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory in the write scope), ZA211 (another memory of the namespace has that content), 42501 (new namespace outside the write scope).';

--
-- Name: update_memory_lifecycle(bigint, timestamp with time zone, interval, boolean, bigint[], text, text[], boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.update_memory_lifecycle(id bigint DEFAULT NULL::bigint, expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone, ttl interval DEFAULT NULL::interval, pinned boolean DEFAULT NULL::boolean, supersedes bigint[] DEFAULT NULL::bigint[], visibility text DEFAULT NULL::text, groups text[] DEFAULT NULL::text[], clear_expiry boolean DEFAULT false) RETURNS SETOF animus.memories
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF update_memory_lifecycle.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = update_memory_lifecycle.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, scope, viewer)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', update_memory_lifecycle.id),
            HINT = 'Check the id (store_memory returns it); the memory may have been deleted.';
    END IF;
    IF clear_expiry THEN
        UPDATE animus.memories AS m SET expires_at = NULL WHERE m.id = update_memory_lifecycle.id;
    END IF;
    PERFORM animus.memory_apply_lifecycle(update_memory_lifecycle.id, update_memory_lifecycle.expires_at,
                                          update_memory_lifecycle.ttl, update_memory_lifecycle.pinned,
                                          update_memory_lifecycle.supersedes, update_memory_lifecycle.visibility,
                                          update_memory_lifecycle.groups, scope);
    UPDATE animus.memories AS m SET updated_at = pg_catalog.now() WHERE m.id = update_memory_lifecycle.id;
    RETURN QUERY SELECT m.* FROM animus.memories AS m WHERE m.id = update_memory_lifecycle.id;
END
$$;

--
-- Name: FUNCTION update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean) IS 'Changes the lifecycle and sharing of memory id and returns the row: expires_at or ttl (from now), clear_expiry, pinned (a pinned memory loses its expiry), supersedes (older memories of its namespace it replaces), visibility (namespace, private, groups) with groups (role names). NULL leaves a field as it is. Only memories of the caller''s write scope that it sees; runs as the owner (SECURITY DEFINER). Raises ZA001, ZA207 (no such memory), ZA215, ZA216 (expiry in the past, ttl <= 0, both given, pinned), ZA217 (supersede itself, another namespace, a cycle), ZA218 (visibility/groups), ZA219 (unknown group role).';

--
-- Name: wait_work(uuid, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.wait_work(work_id uuid, timeout interval DEFAULT '00:00:30'::interval) RETURNS TABLE(id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamp with time zone, timed_out boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    deadline timestamptz;
    pause    double precision := 0.01;
    r        record;
BEGIN
    IF wait_work.work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by submit_work.';
    END IF;
    IF wait_work.timeout IS NULL OR wait_work.timeout < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA155', MESSAGE = 'argument timeout must be a non-negative interval',
            DETAIL = pg_catalog.format('timeout = %s', coalesce(wait_work.timeout::text, 'NULL')),
            HINT = 'Pass how long to wait at most, e.g. timeout => ''30 seconds'' (''0'' only looks once).';
    END IF;
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA156',
            MESSAGE = pg_catalog.format('wait_work cannot wait in a %s transaction: its snapshot never shows the item end',
                                        pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            HINT = 'Call wait_work outside an explicit transaction or in a READ COMMITTED one; or read the state once with animus.watch_work / animus.get_work.';
    END IF;
    deadline := pg_catalog.clock_timestamp() + wait_work.timeout;
    -- Polls: every statement of a READ COMMITTED function reads with a new snapshot, so a commit of
    -- another session is seen at the next look. Notifications are not delivered inside a
    -- statement, hence polling: 10 ms doubling to 500 ms between looks. No row is locked.
    LOOP
        SELECT * INTO r FROM animus.work_wait_state(ARRAY[wait_work.work_id]);
        IF r.state IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_id: no such work item (wait_work)',
                DETAIL = pg_catalog.format('work_id = %s', wait_work.work_id),
                HINT = 'Pass the id returned by submit_work (of a queue your role has a grant on); ended items are removed by purge_work after their retention.';
        END IF;
        EXIT WHEN r.ended OR pg_catalog.clock_timestamp() >= deadline;
        PERFORM pg_catalog.pg_sleep(least(pause, extract(epoch FROM deadline - pg_catalog.clock_timestamp())::double precision));
        pause := least(pause * 2, 0.5);
    END LOOP;
    RETURN QUERY SELECT r.work_id, r.canonical_id, r.state, r.ended, r.outcome, r.error, r.resolved_at, NOT r.ended;
END;
$$;

--
-- Name: FUNCTION wait_work(work_id uuid, timeout interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.wait_work(work_id uuid, timeout interval) IS 'Waits until the work item ends (completed, dead, cancelled) or timeout passes, for psql and SQL callers: returns one row (id: the work_id given, canonical_id, state, ended, outcome, error, resolved_at, timed_out); timed_out = true (ended false, the current state) when the timeout passed first. An item that already ended returns at once; a merged submission waits for its canonical item. Polls (10 ms doubling to 500 ms; a commit of another session is seen at the next look), locks no row, marks nothing; the calling statement keeps its snapshot (xmin) until it returns. Only in READ COMMITTED: a REPEATABLE READ or SERIALIZABLE snapshot would never see the end. Clients that can LISTEN use watch_work instead (client.wait). Raises ZA001 (work_id NULL), ZA155 (timeout NULL or negative), ZA156 (not READ COMMITTED), ZA102 (unknown work item, or one in a queue the caller may not use).';

--
-- Name: watch_work(uuid[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.watch_work(work_ids uuid[]) RETURNS TABLE(work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamp with time zone, watching boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    AS $$
#variable_conflict use_column
BEGIN
    IF watch_work.work_ids IS NULL OR pg_catalog.array_position(watch_work.work_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_ids must not be NULL or contain NULL',
            HINT = 'Pass the ids returned by submit_work.';
    END IF;
    IF pg_catalog.cardinality(watch_work.work_ids) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA110', MESSAGE = 'argument work_ids has more than 10000 elements',
            DETAIL = pg_catalog.format('work_ids has %s elements', pg_catalog.cardinality(watch_work.work_ids)),
            HINT = 'Watch at most 10000 items per call.';
    END IF;
    -- Mark the active canonical items not yet marked, after locking their rows; a row another
    -- transaction holds locked (being settled, claimed, heartbeated, or marked by another
    -- watcher) is skipped, never waited for: its result row says watching = false. The row lock
    -- orders the mark against a concurrent end of the item (see the top of deploy/work_wait.sql).
    INSERT INTO animus.work_awaited (work_id)
    SELECT l.id FROM (
        SELECT w.id FROM animus.work_items w
         WHERE w.id IN (SELECT s.canonical_id FROM animus.work_wait_state(watch_work.work_ids) s
                         WHERE s.state IN ('queued', 'running')
                           AND NOT EXISTS (SELECT 1 FROM animus.work_awaited a WHERE a.work_id = s.canonical_id))
           AND w.state IN ('queued', 'running')
         ORDER BY w.id
           FOR NO KEY UPDATE OF w SKIP LOCKED) l
    ON CONFLICT (work_id) DO NOTHING;
    -- A new statement, a new snapshot (READ COMMITTED): an end that committed while the UPDATE
    -- waited for the row is seen here.
    RETURN QUERY
    SELECT s.*, NOT s.ended AND s.state IS NOT NULL
                AND EXISTS (SELECT 1 FROM animus.work_awaited a WHERE a.work_id = s.canonical_id)
      FROM animus.work_wait_state(watch_work.work_ids) s;
END;
$$;

--
-- Name: FUNCTION watch_work(work_ids uuid[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.watch_work(work_ids uuid[]) IS 'Starts watching work items and returns their current state: one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at, watching). A merged submission resolves to its canonical item (canonical_id, its state and outcome); a replace-mode submission merged into a queued item gets the outcome of the run with the latest params. Items not ended are marked awaited (animus.work_awaited): when they end (completed, dead, cancelled) a notification with the canonical id as payload is sent on channel animus_work_done at the commit (LISTEN before calling, then call again for the ids notified to read their outcome). watching = true guarantees that notification; false for an item not ended means its row was locked by another transaction at that instant (being settled or marked): call again shortly. Never waits for a row lock (no deadlock with the many-id settles). ended rows carry outcome (completed) or error (dead). An id unknown to the caller, or of a queue it has no grant on, gives state NULL (nothing marked). Race-free against a concurrent end: the mark holds the lock of the item row the end updates. At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids).';

--
-- Name: work_caller(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_caller() RETURNS name
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;

--
-- Name: FUNCTION work_caller(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_caller() IS 'Internal: the role whose queue grants apply to this session: the SET ROLE target, else the login role (session_user); independent of SECURITY DEFINER frames. Raises nothing.';

--
-- Name: work_check_concurrency_args(text, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_concurrency_args(concurrency_key text, cost integer, key_from text DEFAULT 'concurrency_key'::text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF concurrency_key IS NOT NULL AND (pg_catalog.char_length(concurrency_key) > 200 OR animus.work_is_blank(concurrency_key)) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA125',
            MESSAGE = pg_catalog.format('argument %s must be 1 to 200 characters, not only white space', key_from),
            DETAIL = pg_catalog.format('%s = %L (%s characters)', key_from, pg_catalog.left(concurrency_key, 100), pg_catalog.char_length(concurrency_key)),
            HINT = 'Pass a short name of what the limit counts, e.g. concurrency_key => ''tenant-a'', or NULL for no key.';
    END IF;
    IF cost IS NULL OR cost NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA126', MESSAGE = 'argument cost must be between 1 and 1000000',
            DETAIL = pg_catalog.format('cost = %s', coalesce(cost::text, 'NULL')),
            HINT = 'Pass the units of its key''s rate budget the item uses (default 1).';
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_concurrency_args(concurrency_key text, cost integer, key_from text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_concurrency_args(concurrency_key text, cost integer, key_from text) IS 'Internal: raises ZA125 (key empty, only white space or over 200 characters; key_from names where the key came from) or ZA126 (cost not 1..1000000); returns when both are good.';

--
-- Name: work_check_concurrency_param(text, boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_concurrency_param(concurrency_param text, empty_clears boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF concurrency_param = '' AND empty_clears THEN
        RETURN;
    END IF;
    IF pg_catalog.char_length(concurrency_param) > 200 OR animus.work_is_blank(concurrency_param) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA129', MESSAGE = 'argument concurrency_param must be 1 to 200 characters, not only white space',
            DETAIL = pg_catalog.format('concurrency_param = %L', pg_catalog.left(concurrency_param, 100)),
            HINT = 'Pass the params key whose value is the concurrency key, e.g. concurrency_param => ''tenant'''
                   || CASE WHEN empty_clears THEN ', or '''' to clear it.' ELSE '.' END;
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_concurrency_param(concurrency_param text, empty_clears boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_concurrency_param(concurrency_param text, empty_clears boolean) IS 'Internal: raises ZA129 for a concurrency_param that is empty (unless empty_clears), only white space or over 200 characters; NULL passes.';

--
-- Name: work_check_event(text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_event(event_key text, payload jsonb DEFAULT NULL::jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF event_key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument event_key must not be NULL', HINT = 'Name the event, e.g. ''approval:42''.';
    END IF;
    IF pg_catalog.btrim(event_key, E' \t\n\r\f\v\u00a0') = '' OR pg_catalog.length(event_key) > 255 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA118', MESSAGE = 'argument event_key must be 1-255 characters, not only white space',
            DETAIL = pg_catalog.format('event_key has %s characters', pg_catalog.length(event_key)),
            HINT = 'Use a short key naming what is awaited, e.g. ''approval:42''.';
    END IF;
    IF pg_catalog.pg_column_size(payload) > 1048576 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA119', MESSAGE = 'argument payload is larger than 1 MB',
            DETAIL = pg_catalog.format('payload has %s bytes (jsonb)', pg_catalog.pg_column_size(payload)),
            HINT = 'Send a reference (an id, a URL) in the payload instead of the data itself.';
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_event(event_key text, payload jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_event(event_key text, payload jsonb) IS 'Internal: checks an event key and payload. Raises ZA001 (event_key NULL), ZA118 (event_key blank or over 255 characters), ZA119 (payload over 1 MB).';

--
-- Name: work_check_queue_settings(interval, double precision, interval, double precision, interval); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_queue_settings(backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify_throttle interval) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF backoff_base < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument backoff_base must not be negative',
            DETAIL = pg_catalog.format('backoff_base = %s', backoff_base),
            HINT = 'Pass the delay before the first retry, e.g. backoff_base => ''2 seconds''.';
    END IF;
    IF backoff_factor < 1 OR backoff_factor = 'NaN' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument backoff_factor must be at least 1',
            DETAIL = pg_catalog.format('backoff_factor = %s', backoff_factor),
            HINT = 'Each retry waits backoff_factor times longer than the one before: 1 = constant, 2 = doubling.';
    END IF;
    IF backoff_cap < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument backoff_cap must not be negative',
            DETAIL = pg_catalog.format('backoff_cap = %s', backoff_cap),
            HINT = 'Pass the longest delay between retries, e.g. backoff_cap => ''5 minutes''.';
    END IF;
    IF backoff_jitter < 0 OR backoff_jitter >= 1 OR backoff_jitter = 'NaN' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument backoff_jitter must be at least 0 and below 1',
            DETAIL = pg_catalog.format('backoff_jitter = %s', backoff_jitter),
            HINT = 'A delay is scaled by a random factor in [1 - jitter, 1 + jitter], e.g. backoff_jitter => 0.25.';
    END IF;
    IF notify_throttle < '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument notify_throttle must not be negative',
            DETAIL = pg_catalog.format('notify_throttle = %s', notify_throttle),
            HINT = 'Pass the shortest time between two wake-ups of a queue, e.g. notify_throttle => ''250 milliseconds''.';
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_queue_settings(backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify_throttle interval); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_queue_settings(backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify_throttle interval) IS 'Internal: raises ZA002 naming the first queue setting out of range (NULL settings pass); returns when all are good.';

--
-- Name: work_check_step(uuid, integer, text, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF work_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_id must not be NULL', HINT = 'Pass the id returned by read_work.';
    END IF;
    IF attempt IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument attempt must not be NULL',
            HINT = 'Pass the attempts read_work returned for this claim (the claim token).';
    END IF;
    IF step_name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument step_name must not be NULL', HINT = 'Name the step, e.g. ''fetch_profile''.';
    END IF;
    IF pg_catalog.btrim(step_name, E' \t\n\r\f\v\u00a0') = '' OR pg_catalog.length(step_name) > 300 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA116', MESSAGE = 'argument step_name must be 1-300 characters, not only white space',
            DETAIL = pg_catalog.format('step_name has %s characters', pg_catalog.length(step_name)),
            HINT = 'Name steps with a short stable identifier such as ''fetch_profile''.';
    END IF;
    IF occurrence IS NULL OR occurrence < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument occurrence must be 1 or more',
            DETAIL = pg_catalog.format('occurrence = %s', coalesce(occurrence::text, 'NULL')),
            HINT = 'Pass 1 for the first step of this name in a run of the handler, 2 for the second, ...';
    END IF;
    IF pg_catalog.length(fingerprint) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA116', MESSAGE = 'argument fingerprint must be at most 1000 characters',
            DETAIL = pg_catalog.format('fingerprint has %s characters', pg_catalog.length(fingerprint)),
            HINT = 'Pass what the step runs, e.g. the function''s module.qualname, or NULL.';
    END IF;
END;
$$;

--
-- Name: FUNCTION work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text) IS 'Internal: checks the arguments the step functions share. Raises ZA001 (work_id, attempt or step_name NULL), ZA116 (step_name blank or over 300 characters, fingerprint over 1000), ZA002 (occurrence NULL or < 1).';

--
-- Name: work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF work_type IS NULL OR animus.work_is_blank(work_type) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be NULL, empty or only white space',
            DETAIL = pg_catalog.format('work_type = %L', pg_catalog.left(work_type, 100)),
            HINT = 'Pass the kind of work, e.g. work_type => ''engage''.';
    END IF;
    IF source IS NULL OR animus.work_is_blank(source) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument source must not be NULL, empty or only white space',
            DETAIL = pg_catalog.format('source = %L', pg_catalog.left(source, 100)),
            HINT = 'Pass who or what submits the work, e.g. source => ''scheduler''.';
    END IF;
    IF dedup_key = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument dedup_key must be NULL or non-empty',
            HINT = 'Pass NULL for work that is never deduplicated, or a key such as ''person=kelly''.';
    END IF;
    -- The dedup index holds queue, work_type and dedup_key: a B-tree entry must fit in a third of a
    -- page (2704 bytes), so both are bounded here rather than failing in the index (54000).
    IF pg_catalog.octet_length(work_type) > 255 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument work_type is longer than 255 bytes',
            DETAIL = pg_catalog.format('work_type is %s bytes', pg_catalog.octet_length(work_type)),
            HINT = 'Name the kind of work briefly, e.g. ''engage''; put details in params.';
    END IF;
    IF pg_catalog.octet_length(dedup_key) > 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument dedup_key is longer than 2000 bytes',
            DETAIL = pg_catalog.format('dedup_key is %s bytes', pg_catalog.octet_length(dedup_key)),
            HINT = 'Use a shorter key, e.g. a digest of the long one: md5(long_key).';
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

COMMENT ON FUNCTION animus.work_check_submit_args(work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer, delay interval, on_duplicate text, trace_context jsonb) IS 'Internal: raises ZA001 / ZA002 / ZA003 / ZA004 for the first bad argument of submit_work (work_type and source: NULL, empty or only white space is ZA001); returns when all are good.';

--
-- Name: work_children(uuid); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_children(parent_id uuid) RETURNS TABLE(work_id uuid, work_type text, dedup_key text, state text, source text, created_at timestamp with time zone, resolved_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

--
-- Name: FUNCTION work_children(parent_id uuid); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_children(parent_id uuid) IS 'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged); only the parent and children in queues the caller has a grant on. Raises ZA001 (parent_id NULL), ZA102 (unknown parent, or one in a queue the caller may not use).';

--
-- Name: work_derive_key(text, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_derive_key(queue text, concurrency_key text, params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
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

--
-- Name: FUNCTION work_derive_key(queue text, concurrency_key text, params jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_derive_key(queue text, concurrency_key text, params jsonb) IS 'Internal: the concurrency key of a new item of queue: concurrency_key when given, else params ->> the queue''s concurrency_param (NULL when it has none). Raises ZA125 for a derived key that is empty, only white space or over 200 characters.';

--
-- Name: work_generate_queue_functions(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_generate_queue_functions() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    q        text;
    qp       text;
    qa       boolean;
    b_send   text := '';
    b_one    text := '';
    b_claim  text := '';
    b_arch   text := '';
    b_vt     text := '';
BEGIN
    FOR q, qp, qa IN SELECT qq.queue_name, qq.concurrency_param, qq.archive_messages FROM animus.queues qq ORDER BY qq.queue_name LOOP
        b_send := b_send || pg_catalog.format($f$
    IF queue = %1$L THEN
        INSERT INTO pgmq.%2$I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest(p_msg_ids), pg_catalog.unnest(p_vts), pg_catalog.unnest(p_messages), pg_catalog.unnest(p_headers));
        RETURN;
    END IF;$f$, q, 'q_' || q);
        b_one := b_one || pg_catalog.format($f$
    IF queue = %1$L THEN%4$s
        WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context, concurrency_key, cost)
            VALUES (p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority,
                    'queued', p_parent_id, p_max_attempts, pg_catalog.nextval(%3$L::regclass), p_run_at, p_trace_context,
                    p_concurrency_key, p_cost)
            ON CONFLICT (queue_name, work_type, active_key) WHERE active_key IS NOT NULL AND waits_for IS NULL
            DO NOTHING
            RETURNING msg_id
        )
        , m AS (
            INSERT INTO pgmq.%2$I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
            SELECT w.msg_id, p_run_at, pg_catalog.jsonb_build_object('work_id', p_id, 'work_type', p_work_type), p_headers FROM w
            RETURNING msg_id
        )
        SELECT m.msg_id, qq.notify AND p_run_at <= pg_catalog.clock_timestamp()
                         AND pg_catalog.clock_timestamp() >= qq.last_notified_at + qq.notify_throttle
          INTO id, wake
          FROM m JOIN animus.queues qq ON qq.queue_name = queue;
        IF wake THEN
            PERFORM animus.work_wake(queue);
        END IF;
        RETURN id;
    END IF;$f$, q, 'q_' || q, 'pgmq.q_' || q || '_msg_id_seq',
        -- a queue with a concurrency_param: the key of an item submitted without one comes from
        -- params. The param is read from animus.queues, never written into the generated code (it
        -- is any text an admin chose: quoted into a dollar-quoted body it could end the quote).
        CASE WHEN qp IS NOT NULL THEN $d$
        IF p_concurrency_key IS NULL THEN
            p_concurrency_key := p_params ->> (SELECT qq.concurrency_param FROM animus.queues qq WHERE qq.queue_name = queue);
            IF pg_catalog.char_length(p_concurrency_key) > 200 OR animus.work_is_blank(p_concurrency_key) THEN
                PERFORM animus.work_check_concurrency_args(p_concurrency_key, 1, 'params ->> concurrency_param');
            END IF;
        END IF;$d$ ELSE '' END);
        -- Three bands, each read in order from its index: priority > 0 and < 0 from the partial
        -- priority index (highest first, then earliest due), priority 0 (no header) from pgmq's vt
        -- index. A band is read only when the ones before it did not fill p_qty.
        b_claim := b_claim || pg_catalog.format($f$
    IF queue = %1$L THEN
        n := 0;
        IF p_types IS NULL THEN%2$s
        ELSE%3$s
        END IF;
        RETURN;
    END IF;$f$, q, (SELECT pg_catalog.string_agg(pg_catalog.format($b$
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.%1$I m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') %2$s
                 ORDER BY %3$s
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.%1$I m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;$b$, 'q_' || q, band.filter, band.ord), '' ORDER BY band.i)
          FROM (VALUES (1, '> ''0''', '(m.headers -> ''animus_priority'') DESC, m.vt'),
                       (2, 'IS NULL', 'm.vt'),
                       (3, '< ''0''', '(m.headers -> ''animus_priority'') DESC, m.vt')) AS band(i, filter, ord)),
              (SELECT pg_catalog.string_agg(pg_catalog.format($b$
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.%1$I m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') %2$s
                   AND (m.message ->> 'work_type') = ANY (p_types)
                 ORDER BY %3$s
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.%1$I m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;$b$, 'q_' || q, band.filter, band.ord), '' ORDER BY band.i)
          FROM (VALUES (1, '> ''0''', '(m.headers -> ''animus_priority'') DESC, m.vt'),
                       (2, 'IS NULL', 'm.vt'),
                       (3, '< ''0''', '(m.headers -> ''animus_priority'') DESC, m.vt')) AS band(i, filter, ord)));
        -- A settled item's message: deleted (animus keeps the outcome in animus.work_items: one
        -- write less per item, nothing for retention to remove), or moved to pgmq's archive for a
        -- queue with archive_messages (the pgmq way).
        IF NOT qa THEN
            b_arch := b_arch || pg_catalog.format($f$
    IF queue = %1$L THEN
        DELETE FROM pgmq.%2$I m WHERE m.msg_id = ANY (p_msg_ids);
        RETURN;
    END IF;$f$, q, 'q_' || q);
        ELSE
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
        END IF;
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
    LANGUAGE plpgsql
AS $body$
BEGIN%s
    EXECUTE pg_catalog.format('INSERT INTO pgmq.%%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))', 'q_' || queue)
    USING p_msg_ids, p_vts, p_messages, p_headers;
END;
$body$$f$, b_send);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_create_item(
    queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb,
    p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamptz, p_trace_context jsonb, p_headers jsonb,
    p_concurrency_key text, p_cost integer)
    RETURNS bigint
    VOLATILE
    LANGUAGE plpgsql
AS $body$
DECLARE
    id   bigint;
    wake boolean;
BEGIN%s
    IF NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %%L', queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;
    IF p_concurrency_key IS NULL THEN
        p_concurrency_key := p_params ->> (SELECT qq.concurrency_param FROM animus.queues qq WHERE qq.queue_name = queue);
        IF pg_catalog.char_length(p_concurrency_key) > 200 OR animus.work_is_blank(p_concurrency_key) THEN
            PERFORM animus.work_check_concurrency_args(p_concurrency_key, 1, 'params ->> concurrency_param');
        END IF;
    END IF;
    EXECUTE pg_catalog.format('WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context, concurrency_key, cost)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ''queued'', $9, $10, pg_catalog.nextval(%%L::regclass), $11, $12, $14, $15)
            ON CONFLICT (queue_name, work_type, active_key) WHERE active_key IS NOT NULL AND waits_for IS NULL
            DO NOTHING
            RETURNING msg_id)
        INSERT INTO pgmq.%%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT w.msg_id, $11, pg_catalog.jsonb_build_object(''work_id'', $1, ''work_type'', $3), $13 FROM w
        RETURNING msg_id', 'pgmq.q_' || queue || '_msg_id_seq', 'q_' || queue)
       INTO id USING p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority, p_parent_id,
                     p_max_attempts, p_run_at, p_trace_context, p_headers, p_concurrency_key, p_cost;
    RETURN id;
END;
$body$$f$, b_one);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamptz, p_types text[])
    RETURNS TABLE (msg_id bigint, work_id text)
    VOLATILE
    LANGUAGE plpgsql
AS $body$
#variable_conflict use_column
DECLARE
    n bigint;
    k bigint;
BEGIN%s
    RETURN QUERY EXECUTE pg_catalog.format('WITH c AS (SELECT m.msg_id FROM pgmq.%%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()
          AND ($3 IS NULL OR (m.message ->> ''work_type'') = ANY ($3))
          ORDER BY coalesce((m.headers ->> ''animus_priority'')::integer, 0) DESC, m.vt LIMIT $1 FOR UPDATE SKIP LOCKED)
        UPDATE pgmq.%%1$I m SET vt = $2, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id RETURNING m.msg_id, m.message ->> ''work_id''', 'q_' || queue)
    USING p_qty, p_until, p_types;
END;
$body$$f$, b_claim);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[])
    RETURNS void
    VOLATILE
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
    LANGUAGE plpgsql
AS $body$
BEGIN%s
    EXECUTE pg_catalog.format('UPDATE pgmq.%%I m SET vt = x.vt FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS x(msg_id, vt)
         WHERE m.msg_id = x.msg_id', 'q_' || queue)
    USING p_msg_ids, p_vts;
END;
$body$$f$, b_vt);
    REVOKE ALL ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb, text, integer) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_claim(text, integer, timestamptz, text[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_archive(text, bigint[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) FROM PUBLIC;
    COMMENT ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): inserts messages (ids preallocated) into pgmq.q_<queue>, like pgmq.send_batch. Internal.';
    COMMENT ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb, text, integer) IS
        'Generated by animus.work_generate_queue_functions (do not edit): in one statement, inserts a queued work item (ON CONFLICT on the dedup index: nothing when the key is held) and its message into pgmq.q_<queue> (body {"work_id","work_type"}, the id taken from the queue''s sequence, like pgmq.send), then sends the throttled wake-up if one is due; the concurrency key of the item is p_concurrency_key, else (a queue with a concurrency_param) params ->> concurrency_param; returns the message id, or NULL when the key is held. Raises ZA101 (unknown queue), ZA125 (a key derived from params empty, only white space or over 200 characters). Internal.';
    COMMENT ON FUNCTION animus.work_queue_claim(text, integer, timestamptz, text[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read; with p_types only messages whose body work_type is one of them. Internal.';
    COMMENT ON FUNCTION animus.work_queue_archive(text, bigint[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): settles messages of pgmq.q_<queue>: deletes them, or (a queue with archive_messages) moves them to pgmq.a_<queue>, like pgmq.archive. Internal.';
    COMMENT ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';
END;
$_$;

--
-- Name: FUNCTION work_generate_queue_functions(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_generate_queue_functions() IS 'Internal: regenerates animus.work_queue_send / _create_item / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue, drop_queue and configure_queue when concurrency_param or archive_messages changes). Raises nothing of its own.';

--
-- Name: work_is_blank(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_is_blank(t text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.btrim(t, E' \t\n\r\f\x0b\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff') = '';
$$;

--
-- Name: FUNCTION work_is_blank(t text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_is_blank(t text) IS 'Internal: true when t is empty or only white space (ASCII, U+0085, U+00A0, U+1680, U+2000-U+200B, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF); NULL for NULL. Raises nothing.';

--
-- Name: work_items_check_transition(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_items_check_transition() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- The same seven pairs as animus.work_state_transitions (a pgTAP test proves they agree): a
    -- constant list costs no query per updated row.
    IF OLD.state = NEW.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) IN (('queued', 'running'), ('queued', 'cancelled'), ('queued', 'dead'),
                                  ('running', 'completed'), ('running', 'queued'), ('running', 'dead'),
                                  ('running', 'cancelled')) THEN
        IF NEW.state IN ('completed', 'dead', 'cancelled') THEN
            DELETE FROM animus.work_awaited a WHERE a.work_id = NEW.id;
            IF FOUND THEN
                PERFORM pg_catalog.pg_notify('animus_work_done', NEW.id::text);
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'ZA105',
        MESSAGE = pg_catalog.format('illegal work item state transition %s -> %s', OLD.state, NEW.state),
        DETAIL  = pg_catalog.format('work item %s', OLD.id),
        HINT    = 'Legal transitions are listed in animus.work_state_transitions; use the animus work functions.';
END;
$$;

--
-- Name: FUNCTION work_items_check_transition(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_items_check_transition() IS 'Trigger: refuses state changes not listed in animus.work_state_transitions (ZA105); when an item ends (completed, dead, cancelled) deletes its mark in animus.work_awaited (animus.watch_work) and, if there was one, sends pg_notify(''animus_work_done'', id), delivered at commit. Raises ZA105.';

--
-- Name: work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[], prios integer[], running boolean[], OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamp with time zone) RETURNS record
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    k        record;
    lim      animus.concurrency_limits;
    st       animus.concurrency_keys;
    it       record;
    n_run    bigint;
    used     bigint;
    win      timestamptz;
    now_     timestamptz := pg_catalog.clock_timestamp();
    stop     text;
    back     bigint[] := '{}';
    h_ids    uuid[] := '{}';
    h_msgs   bigint[] := '{}';
    h_keys   text[] := '{}';
    h_prios  integer[] := '{}';
    l_msgs   bigint[] := '{}';
    l_vts    timestamptz[] := '{}';
BEGIN
    admit_ids := '{}';
    admit_msgs := '{}';
    admitted_at := now_;   -- the start time of the admitted items: the rate window they count in
    FOR k IN SELECT DISTINCT x.key FROM pg_catalog.unnest(keys) AS x(key) ORDER BY 1 LOOP
        lim := animus.work_key_limit(queue, k.key);
        IF lim.queue_name IS NULL THEN
            -- no limit for this key: admit its items
            SELECT admit_ids || pg_catalog.array_agg(x.id ORDER BY x.n), admit_msgs || pg_catalog.array_agg(x.msg ORDER BY x.n)
              INTO admit_ids, admit_msgs
              FROM ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(msgs), pg_catalog.unnest(keys)) WITH ORDINALITY AS x(id, msg, key, n)
             WHERE x.key = k.key;
            CONTINUE;
        END IF;
        SELECT * INTO st FROM animus.concurrency_keys s
         WHERE s.queue_name = queue AND s.concurrency_key = k.key
           FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            IF NOT EXISTS (SELECT 1 FROM animus.concurrency_keys s WHERE s.queue_name = queue AND s.concurrency_key = k.key) THEN
                -- First limited claim of the key: create its state row (a concurrent first claim of
                -- the same key waits for this one; keys are taken in sorted order, so no cycle).
                INSERT INTO animus.concurrency_keys (queue_name, concurrency_key) VALUES (queue, k.key) ON CONFLICT DO NOTHING;
                SELECT * INTO st FROM animus.concurrency_keys s
                 WHERE s.queue_name = queue AND s.concurrency_key = k.key
                   FOR NO KEY UPDATE SKIP LOCKED;
            END IF;
            IF NOT FOUND THEN
                -- Another session admits or wakes this key: its items go back, visible at once.
                back := back || ARRAY(SELECT x.msg FROM ROWS FROM (pg_catalog.unnest(msgs), pg_catalog.unnest(keys)) AS x(msg, key) WHERE x.key = k.key);
                CONTINUE;
            END IF;
        END IF;
        -- A statement after the lock: it sees every settle that committed before the lock was taken.
        SELECT count(*) INTO n_run FROM animus.work_items w
         WHERE w.queue_name = queue AND w.running_key = k.key;
        IF lim.rate IS NOT NULL THEN
            win := pg_catalog.date_bin(lim.period, now_, '2000-01-01 00:00:00+00');
            used := CASE WHEN st.window_start = win THEN st.window_used ELSE 0 END;
        END IF;
        stop := NULL;
        FOR it IN SELECT x.id, x.msg, x.cost, x.prio, x.running
                    FROM ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(msgs), pg_catalog.unnest(keys), pg_catalog.unnest(costs),
                                    pg_catalog.unnest(prios), pg_catalog.unnest(running)) WITH ORDINALITY AS x(id, msg, key, cost, prio, running, n)
                   WHERE x.key = k.key ORDER BY x.n LOOP
            IF it.running THEN
                -- a re-claim of a running item whose claim timed out: it holds its slot already
                admit_ids := admit_ids || it.id;
                admit_msgs := admit_msgs || it.msg;
                CONTINUE;
            END IF;
            IF stop IS NULL AND lim.max_running IS NOT NULL AND n_run >= lim.max_running THEN
                stop := 'hold';
            END IF;
            -- An item costing more than the whole rate may start only as the first of a window
            -- (it could never start otherwise).
            IF stop IS NULL AND lim.rate IS NOT NULL AND used + it.cost > lim.rate AND used > 0 THEN
                stop := 'later';
            END IF;
            IF stop = 'hold' THEN
                h_ids := h_ids || it.id; h_msgs := h_msgs || it.msg; h_keys := h_keys || k.key; h_prios := h_prios || it.prio;
            ELSIF stop = 'later' THEN
                l_msgs := l_msgs || it.msg; l_vts := l_vts || (win + lim.period);
            ELSE
                admit_ids := admit_ids || it.id;
                admit_msgs := admit_msgs || it.msg;
                n_run := n_run + 1;
                used := used + it.cost;
            END IF;
        END LOOP;
        IF lim.rate IS NOT NULL AND (st.window_start IS DISTINCT FROM win OR st.window_used IS DISTINCT FROM used) THEN
            UPDATE animus.concurrency_keys s SET window_start = win, window_used = used
             WHERE s.queue_name = queue AND s.concurrency_key = k.key;
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(back) > 0 THEN
        PERFORM animus.work_queue_set_vt(queue, back, pg_catalog.array_fill(now_, ARRAY[pg_catalog.cardinality(back)]));
    END IF;
    IF pg_catalog.cardinality(h_ids) > 0 THEN
        INSERT INTO animus.concurrency_held (work_id, queue_name, concurrency_key, priority, msg_id)
        SELECT x.id, queue, x.key, x.prio, x.msg
          FROM ROWS FROM (pg_catalog.unnest(h_ids), pg_catalog.unnest(h_keys), pg_catalog.unnest(h_prios), pg_catalog.unnest(h_msgs)) AS x(id, key, prio, msg)
        ON CONFLICT (work_id) DO NOTHING;
        PERFORM animus.work_queue_set_vt(queue, h_msgs, pg_catalog.array_fill('infinity'::timestamptz, ARRAY[pg_catalog.cardinality(h_msgs)]));
    END IF;
    IF pg_catalog.cardinality(l_msgs) > 0 THEN
        PERFORM animus.work_queue_set_vt(queue, l_msgs, l_vts);
    END IF;
END;
$$;

--
-- Name: FUNCTION work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[], prios integer[], running boolean[], OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[], prios integer[], running boolean[], OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamp with time zone) IS 'Internal (read_work): admits the claimed keyed items that fit their key''s limits (in claim order: running count under max_running, started cost within the rate window; a re-claim of a running item keeps its slot) and returns them with the admission time (their started_at: the rate window they count in is the one of their start time); holds the items of a key at max_running (message vt infinity, row in animus.concurrency_held), defers those over the rate to the next window, and makes the items of a key another session has locked visible again at once. Never waits for a lock (SKIP LOCKED) except when two sessions create the state row of the same new key. Raises nothing of its own.';

--
-- Name: work_key_limit(text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_key_limit(queue text, key text) RETURNS animus.concurrency_limits
    LANGUAGE sql STABLE
    AS $$
    SELECT l.* FROM animus.concurrency_limits l
     WHERE l.queue_name = queue AND l.concurrency_key IN (key, '*')
     ORDER BY l.concurrency_key = '*'
     LIMIT 1;
$$;

--
-- Name: FUNCTION work_key_limit(queue text, key text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_key_limit(queue text, key text) IS 'Internal: the concurrency_limits row that applies to key in queue (its own, else ''*''); all NULL when none does. Raises nothing.';

--
-- Name: work_key_wake(text, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_key_wake(queue text, keys text[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    k      text;
    lim    animus.concurrency_limits;
    free   bigint;
    m      bigint[];
    woken  integer := 0;
BEGIN
    IF queue IS NULL OR keys IS NULL THEN
        RETURN 0;
    END IF;
    FOR k IN SELECT DISTINCT x FROM pg_catalog.unnest(keys) AS x WHERE x IS NOT NULL ORDER BY 1 LOOP
        PERFORM 1 FROM animus.concurrency_keys s WHERE s.queue_name = queue AND s.concurrency_key = k FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            CONTINUE;   -- no state row: no claim of the key was ever limited, so none is held
        END IF;
        lim := animus.work_key_limit(queue, k);
        IF lim.max_running IS NULL THEN
            free := NULL;   -- LIMIT NULL: every held item
        ELSE
            SELECT lim.max_running - count(*) INTO free FROM animus.work_items w
             WHERE w.queue_name = queue AND w.running_key = k;
            IF free <= 0 THEN
                CONTINUE;
            END IF;
        END IF;
        WITH d AS (
            -- only items still queued (a held row of an item cancelled meanwhile is the sweep's)
            DELETE FROM animus.concurrency_held h
             WHERE h.work_id IN (SELECT hh.work_id FROM animus.concurrency_held hh
                                   JOIN animus.work_items w ON w.id = hh.work_id AND w.state = 'queued'
                                  WHERE hh.queue_name = queue AND hh.concurrency_key = k
                                  ORDER BY hh.priority DESC, hh.msg_id
                                  LIMIT free
                                    FOR UPDATE OF hh SKIP LOCKED)
            RETURNING h.msg_id
        )
        SELECT pg_catalog.array_agg(d.msg_id) INTO m FROM d;
        IF m IS NOT NULL THEN
            PERFORM animus.work_queue_set_vt(queue, m, pg_catalog.array_fill(pg_catalog.clock_timestamp(), ARRAY[pg_catalog.cardinality(m)]));
            woken := woken + pg_catalog.cardinality(m);
        END IF;
    END LOOP;
    RETURN woken;
END;
$$;

--
-- Name: FUNCTION work_key_wake(queue text, keys text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_key_wake(queue text, keys text[]) IS 'Internal, for the animus functions that take an item out of running or give one back (settles, cancel, release, durable waits): for each key of keys in queue (sorted; NULLs ignored) locks the key''s state row, waiting, and makes as many of its held items visible now as the key has free slots under max_running (all when no max_running applies), highest priority then oldest first. Returns how many it woke. Raises nothing of its own.';

--
-- Name: work_message_headers(integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'animus_priority', NULLIF(priority, 0),
        'traceparent', trace_context -> 'traceparent',
        'tracestate', trace_context -> 'tracestate')), '{}');
$$;

--
-- Name: FUNCTION work_message_headers(priority integer, trace_context jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) IS 'The pgmq headers of a work item message: {"animus_priority": n (only when not 0), "traceparent": ..., "tracestate": ...}, NULL when empty. Raises nothing.';

--
-- Name: work_new_id(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_new_id() RETURNS uuid
    LANGUAGE sql PARALLEL SAFE
    AS $$SELECT pg_catalog.uuidv7()$$;

--
-- Name: FUNCTION work_new_id(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_new_id() IS 'Internal: a new work item id: uuidv7() (time-ordered) on PostgreSQL 18 and later, gen_random_uuid() before. Raises nothing.';

--
-- Name: work_purge_mark(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_purge_mark(setting text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
    SELECT CASE WHEN v ~ '^[0-9]{1,17}$' THEN 'epoch'::timestamptz + v::bigint * interval '1 microsecond' END
      FROM pg_catalog.current_setting(work_purge_mark.setting, true) AS v
$_$;

--
-- Name: FUNCTION work_purge_mark(setting text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_purge_mark(setting text) IS 'Internal to animus.purge_work: the timestamp stored in session setting `setting` as microseconds since the epoch, NULL when the setting is unset, empty or not such a number. Raises nothing.';

--
-- Name: work_queue_allowed(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_allowed(queue text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    caller name := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);   -- animus.work_caller()
BEGIN
    RETURN EXISTS (SELECT 1 FROM animus.queue_grants g
                    WHERE g.queue_name IN (work_queue_allowed.queue, '*')
                      AND pg_catalog.pg_has_role(caller, g.role_oid, 'USAGE'))
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND r.rolsuper);
END;
$$;

--
-- Name: FUNCTION work_queue_allowed(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_allowed(queue text) IS 'Internal: true when the caller (animus.work_caller()) may use queue (a grant of it or of ''*'' to the caller or a role whose privileges it inherits, or a superuser). Raises nothing.';

--
-- Name: work_queue_archive(text, bigint[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF queue = 'work' THEN
        DELETE FROM pgmq.q_work m WHERE m.msg_id = ANY (p_msg_ids);
        RETURN;
    END IF;
    PERFORM pgmq.archive(queue, p_msg_ids);
END;
$$;

--
-- Name: FUNCTION work_queue_archive(queue text, p_msg_ids bigint[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) IS 'Generated by animus.work_generate_queue_functions (do not edit): settles messages of pgmq.q_<queue>: deletes them, or (a queue with archive_messages) moves them to pgmq.a_<queue>, like pgmq.archive. Internal.';

--
-- Name: work_queue_claim(text, integer, timestamp with time zone, text[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone, p_types text[]) RETURNS TABLE(msg_id bigint, work_id text)
    LANGUAGE plpgsql
    AS $_$
#variable_conflict use_column
DECLARE
    n bigint;
    k bigint;
BEGIN
    IF queue = 'work' THEN
        n := 0;
        IF p_types IS NULL THEN
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') > '0'
                 ORDER BY (m.headers -> 'animus_priority') DESC, m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') IS NULL
                 ORDER BY m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') < '0'
                 ORDER BY (m.headers -> 'animus_priority') DESC, m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        ELSE
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') > '0'
                   AND (m.message ->> 'work_type') = ANY (p_types)
                 ORDER BY (m.headers -> 'animus_priority') DESC, m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') IS NULL
                   AND (m.message ->> 'work_type') = ANY (p_types)
                 ORDER BY m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        IF n < p_qty THEN
            RETURN QUERY
            WITH c AS (
                SELECT m.msg_id FROM pgmq.q_work m
                 WHERE m.vt <= pg_catalog.clock_timestamp() AND (m.headers -> 'animus_priority') < '0'
                   AND (m.message ->> 'work_type') = ANY (p_types)
                 ORDER BY (m.headers -> 'animus_priority') DESC, m.vt
                 LIMIT p_qty - n
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE pgmq.q_work m SET vt = p_until, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
              FROM c WHERE m.msg_id = c.msg_id
            RETURNING m.msg_id, m.message ->> 'work_id';
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        END IF;
        END IF;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format('WITH c AS (SELECT m.msg_id FROM pgmq.%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()
          AND ($3 IS NULL OR (m.message ->> ''work_type'') = ANY ($3))
          ORDER BY coalesce((m.headers ->> ''animus_priority'')::integer, 0) DESC, m.vt LIMIT $1 FOR UPDATE SKIP LOCKED)
        UPDATE pgmq.%1$I m SET vt = $2, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id RETURNING m.msg_id, m.message ->> ''work_id''', 'q_' || queue)
    USING p_qty, p_until, p_types;
END;
$_$;

--
-- Name: FUNCTION work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone, p_types text[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone, p_types text[]) IS 'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read; with p_types only messages whose body work_type is one of them. Internal.';

--
-- Name: work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamp with time zone, jsonb, jsonb, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_create_item(queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb, p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamp with time zone, p_trace_context jsonb, p_headers jsonb, p_concurrency_key text, p_cost integer) RETURNS bigint
    LANGUAGE plpgsql
    AS $_$
DECLARE
    id   bigint;
    wake boolean;
BEGIN
    IF queue = 'work' THEN
        WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context, concurrency_key, cost)
            VALUES (p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority,
                    'queued', p_parent_id, p_max_attempts, pg_catalog.nextval('pgmq.q_work_msg_id_seq'::regclass), p_run_at, p_trace_context,
                    p_concurrency_key, p_cost)
            ON CONFLICT (queue_name, work_type, active_key) WHERE active_key IS NOT NULL AND waits_for IS NULL
            DO NOTHING
            RETURNING msg_id
        )
        , m AS (
            INSERT INTO pgmq.q_work (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
            SELECT w.msg_id, p_run_at, pg_catalog.jsonb_build_object('work_id', p_id, 'work_type', p_work_type), p_headers FROM w
            RETURNING msg_id
        )
        SELECT m.msg_id, qq.notify AND p_run_at <= pg_catalog.clock_timestamp()
                         AND pg_catalog.clock_timestamp() >= qq.last_notified_at + qq.notify_throttle
          INTO id, wake
          FROM m JOIN animus.queues qq ON qq.queue_name = queue;
        IF wake THEN
            PERFORM animus.work_wake(queue);
        END IF;
        RETURN id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues qq WHERE qq.queue_name = queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;
    IF p_concurrency_key IS NULL THEN
        p_concurrency_key := p_params ->> (SELECT qq.concurrency_param FROM animus.queues qq WHERE qq.queue_name = queue);
        IF pg_catalog.char_length(p_concurrency_key) > 200 OR animus.work_is_blank(p_concurrency_key) THEN
            PERFORM animus.work_check_concurrency_args(p_concurrency_key, 1, 'params ->> concurrency_param');
        END IF;
    END IF;
    EXECUTE pg_catalog.format('WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context, concurrency_key, cost)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ''queued'', $9, $10, pg_catalog.nextval(%L::regclass), $11, $12, $14, $15)
            ON CONFLICT (queue_name, work_type, active_key) WHERE active_key IS NOT NULL AND waits_for IS NULL
            DO NOTHING
            RETURNING msg_id)
        INSERT INTO pgmq.%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT w.msg_id, $11, pg_catalog.jsonb_build_object(''work_id'', $1, ''work_type'', $3), $13 FROM w
        RETURNING msg_id', 'pgmq.q_' || queue || '_msg_id_seq', 'q_' || queue)
       INTO id USING p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority, p_parent_id,
                     p_max_attempts, p_run_at, p_trace_context, p_headers, p_concurrency_key, p_cost;
    RETURN id;
END;
$_$;

--
-- Name: FUNCTION work_queue_create_item(queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb, p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamp with time zone, p_trace_context jsonb, p_headers jsonb, p_concurrency_key text, p_cost integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_create_item(queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb, p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamp with time zone, p_trace_context jsonb, p_headers jsonb, p_concurrency_key text, p_cost integer) IS 'Generated by animus.work_generate_queue_functions (do not edit): in one statement, inserts a queued work item (ON CONFLICT on the dedup index: nothing when the key is held) and its message into pgmq.q_<queue> (body {"work_id","work_type"}, the id taken from the queue''s sequence, like pgmq.send), then sends the throttled wake-up if one is due; the concurrency key of the item is p_concurrency_key, else (a queue with a concurrency_param) params ->> concurrency_param; returns the message id, or NULL when the key is held. Raises ZA101 (unknown queue), ZA125 (a key derived from params empty, only white space or over 200 characters). Internal.';

--
-- Name: work_queue_scope(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_scope() RETURNS text[]
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    caller  name := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);   -- animus.work_caller()
    granted text[];
BEGIN
    SELECT pg_catalog.array_agg(DISTINCT g.queue_name) INTO granted
      FROM animus.queue_grants g
     WHERE pg_catalog.pg_has_role(caller, g.role_oid, 'USAGE');
    IF granted IS NULL OR NOT '*' = ANY (granted) THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = caller AND r.rolsuper) THEN
            RETURN ARRAY['*'];
        END IF;
    END IF;
    RETURN coalesce(granted, '{}');
END;
$$;

--
-- Name: FUNCTION work_queue_scope(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_queue_scope() IS 'Internal: the queues the caller (animus.work_caller()) may use: those granted in animus.queue_grants to it or to a role whose privileges it inherits; ''{*}'' means every queue (a ''*'' grant, or a superuser). Raises nothing.';

--
-- Name: work_queue_send(text, bigint[], timestamp with time zone[], jsonb[], jsonb[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]) RETURNS void
    LANGUAGE plpgsql
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
-- Name: work_queue_set_vt(text, bigint[], timestamp with time zone[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]) RETURNS void
    LANGUAGE plpgsql
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
-- Name: work_raise_not_granted(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_not_granted(queue text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA109',
        MESSAGE = pg_catalog.format('argument queue: role %s has no grant on queue %L', animus.work_caller(), pg_catalog.left(queue, 100)),
        DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(queue, 100)),
        HINT = 'Ask an admin for animus.grant_queue(role_name => ..., queue => ...), or use a queue granted to your role.';
END;
$$;

--
-- Name: FUNCTION work_raise_not_granted(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_not_granted(queue text) IS 'Internal: raises ZA109 (no grant on queue) naming the caller and the queue.';

--
-- Name: work_raise_not_running(uuid, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer DEFAULT NULL::integer) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s text;
    n integer;
BEGIN
    SELECT w.state, w.attempts INTO s, n FROM animus.work_items w
     WHERE w.id = work_raise_not_running.work_id AND animus.work_queue_allowed(w.queue_name);
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

COMMENT ON FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer) IS 'Internal: raises ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running) or ZA104 (already ended or merged) for a worker operation that found no running item.';

--
-- Name: work_raise_stale_claim(uuid, text, integer, integer, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
-- Name: work_steps; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.work_steps (
    work_id uuid NOT NULL,
    step_name text NOT NULL,
    occurrence integer NOT NULL,
    kind text NOT NULL,
    state text NOT NULL,
    attempt integer NOT NULL,
    result jsonb,
    error text,
    fingerprint text,
    wake_at timestamp with time zone,
    event_key text,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone
);

--
-- Name: TABLE work_steps; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_steps IS 'Durable steps of work items: one row per (work item, step name, occurrence), written by start_step / finish_step, sleep_work and await_event; deleted with the item.';

--
-- Name: COLUMN work_steps.work_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.work_id IS 'the work item the step belongs to (deleted with it).';

--
-- Name: COLUMN work_steps.step_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.step_name IS 'the name the handler gave the step (1-300 characters); sleeps default to ''sleep'', event waits to ''event:<key>''.';

--
-- Name: COLUMN work_steps.occurrence; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.occurrence IS 'the n-th step of this name within one run of the handler (1, 2, ...): repeats of one name are distinct steps.';

--
-- Name: COLUMN work_steps.kind; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.kind IS 'step (start_step / finish_step), sleep (sleep_work) or event (await_event).';

--
-- Name: COLUMN work_steps.state; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.state IS 'running (started, not finished), completed (result recorded: replayed, never run again), failed (runs again on the next attempt), waiting (a sleep or an event wait whose time or event has not come).';

--
-- Name: COLUMN work_steps.attempt; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.attempt IS 'the claim (work item attempts) that last started, finished or resumed the step.';

--
-- Name: COLUMN work_steps.result; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.result IS 'completed step: its result (jsonb, at most 1 MB); event wait: {"status": "received"|"timeout", "payload": ...}; NULL otherwise.';

--
-- Name: COLUMN work_steps.error; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.error IS 'the error text of the last failure of the step (kept while it runs again; cleared when it completes).';

--
-- Name: COLUMN work_steps.fingerprint; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.fingerprint IS 'what the step runs (the Python client records module.qualname of the function): a later start of the same name and occurrence with another fingerprint raises ZA113.';

--
-- Name: COLUMN work_steps.wake_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.wake_at IS 'sleep: when it ends; event wait: its deadline (''infinity'' without timeout). Recorded by the first call and kept by later ones.';

--
-- Name: COLUMN work_steps.event_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.event_key IS 'event wait: the key awaited (in the item''s queue).';

--
-- Name: COLUMN work_steps.started_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.started_at IS 'when the step was last started (a failed step started again gets a new time; a replayed one keeps its first).';

--
-- Name: COLUMN work_steps.finished_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_steps.finished_at IS 'when the step completed or failed (NULL while running or waiting).';

--
-- Name: work_raise_step_reused(animus.work_steps, text, text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA113',
        MESSAGE = pg_catalog.format('argument step_name: step %L (occurrence %s) of work item %s was recorded with a different meaning',
                                    s.step_name, s.occurrence, s.work_id),
        DETAIL = pg_catalog.format('recorded: kind %s, fingerprint %s, event_key %s; now: kind %s, fingerprint %s, event_key %s',
                                   s.kind, coalesce(s.fingerprint, 'NULL'), coalesce(s.event_key, 'NULL'),
                                   kind, coalesce(fingerprint, 'NULL'), coalesce(event_key, 'NULL')),
        HINT = 'Give each distinct step its own name (the occurrence counts repeats of one name within a run of the handler).';
END;
$$;

--
-- Name: FUNCTION work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text) IS 'Internal: raises ZA113 (a recorded step used with a different kind, fingerprint or event key), naming both meanings.';

--
-- Name: work_raise_unknown(uuid, text, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_unknown(work_id uuid, argument text, operation text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = pg_catalog.format('argument %s: no such work item (%s)', argument, operation),
        DETAIL = pg_catalog.format('work_id = %s', work_id),
        HINT = 'Pass the id returned by read_work or submit_work (of a queue your role has a grant on).';
END;
$$;

--
-- Name: FUNCTION work_raise_unknown(work_id uuid, argument text, operation text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_unknown(work_id uuid, argument text, operation text) IS 'Internal: raises ZA102 naming the argument (work_id or work_ids) and the operation, for an item that does not exist or is in a queue the caller may not use.';

--
-- Name: work_raise_unsettled(uuid[], integer[], uuid[], text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    bad record;
BEGIN
    SELECT i.id, w.id IS NULL OR NOT animus.work_queue_allowed(w.queue_name) AS missing, w.attempts, w.state, i.attempt INTO bad
      FROM ROWS FROM (pg_catalog.unnest(work_ids), pg_catalog.unnest(claim_attempts)) AS i(id, attempt)
      LEFT JOIN animus.work_items w ON w.id = i.id
     WHERE i.id <> ALL (settled)
       AND (w.id IS NULL OR NOT animus.work_queue_allowed(w.queue_name)
            OR (i.attempt IS NOT NULL AND w.state <> 'merged' AND w.attempts <> i.attempt))
     ORDER BY w.id IS NULL OR NOT animus.work_queue_allowed(w.queue_name) DESC
     LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = 'argument work_ids: no such work item',
            DETAIL = pg_catalog.format('work_id = %s', bad.id), HINT = 'Pass the ids returned by read_work.';
    ELSIF FOUND THEN
        PERFORM animus.work_raise_stale_claim(bad.id, operation, bad.attempt, bad.attempts, bad.state);
    END IF;
END;
$$;

--
-- Name: FUNCTION work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text) IS 'Internal: for the ids of a many-id complete_work / fail_work that were not settled, raises ZA102 (unknown work item, or one in a queue the caller may not use) or ZA108 (stale claim); returns when neither applies.';

--
-- Name: work_release_followups(uuid[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_release_followups(ended uuid[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
-- Name: work_send_messages(text, animus.work_items[], timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
-- Name: work_suspend(uuid, text, bigint, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_suspend(work_id uuid, queue text, msg_id bigint, until timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    k text;
BEGIN
    UPDATE animus.work_items w
       SET state = 'queued', released = w.released + 1, run_at = work_suspend.until,
           updated_at = pg_catalog.clock_timestamp()
     WHERE w.id = work_suspend.work_id AND w.state = 'running'
    RETURNING w.concurrency_key INTO k;
    PERFORM animus.work_queue_set_vt(work_suspend.queue, ARRAY[work_suspend.msg_id], ARRAY[work_suspend.until]);
    -- A keyed item stops holding its key's running slot: its held followers may start.
    IF k IS NOT NULL THEN
        PERFORM animus.work_key_wake(work_suspend.queue, ARRAY[k]);
    END IF;
END;
$$;

--
-- Name: FUNCTION work_suspend(work_id uuid, queue text, msg_id bigint, until timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_suspend(work_id uuid, queue text, msg_id bigint, until timestamp with time zone) IS 'Internal: gives a running work item back until `until` (state queued, released + 1 so the claim is not a failed attempt, run_at and message visibility = until) and releases its concurrency-key slot. Raises nothing.';

--
-- Name: work_tune_queue_table(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_tune_queue_table(queue text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    -- The queue table holds only live messages: it is small, every row dies within a claim or two,
    -- so a fixed threshold (not a fraction) and no cost delay keep it a few pages long.
    EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 5000, autovacuum_vacuum_cost_delay = 0)', 'q_' || queue);
    -- The archive grows with the settled messages and shrinks by retention's batched deletes.
    EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0)',
        'a_' || queue);
END;
$$;

--
-- Name: FUNCTION work_tune_queue_table(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_tune_queue_table(queue text) IS 'Internal: per-table autovacuum settings of pgmq.q_<queue> (vacuum after 1000 dead rows, analyze after 5000 changes, no cost delay) and of its archive pgmq.a_<queue> (vacuum after 2 % + 2000 dead rows, no cost delay); called by create_queue. Raises nothing of its own.';

--
-- Name: work_wait_state(uuid[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_wait_state(work_ids uuid[]) RETURNS TABLE(work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT i.id, c.id, c.state, coalesce(c.state IN ('completed', 'dead', 'cancelled'), false),
           c.outcome, c.error, c.resolved_at
      FROM (SELECT animus.work_queue_scope() AS queues) sc
     CROSS JOIN pg_catalog.unnest(work_ids) WITH ORDINALITY AS i(id, n)
      LEFT JOIN animus.work_items s ON s.id = i.id AND (s.queue_name = ANY (sc.queues) OR '*' = ANY (sc.queues))
      LEFT JOIN animus.work_items c ON c.id = coalesce(s.merged_into, s.id)
     ORDER BY i.n
$$;

--
-- Name: FUNCTION work_wait_state(work_ids uuid[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_wait_state(work_ids uuid[]) IS 'Internal (called by watch_work and wait_work, which run as the owner): one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at) of the item the id ends with (a merged submission: its canonical item); state NULL for an id unknown to the caller or in a queue it has no grant on. Raises nothing.';

--
-- Name: work_wake(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.work_wake(queue text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE animus.queues q SET last_notified_at = pg_catalog.clock_timestamp()
     WHERE q.queue_name = work_wake.queue AND q.notify
       AND q.last_notified_at + q.notify_throttle <= pg_catalog.clock_timestamp();
    IF FOUND THEN
        PERFORM pg_catalog.pg_notify('animus_work', queue);
    END IF;
END;
$$;

--
-- Name: FUNCTION work_wake(queue text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.work_wake(queue text) IS 'Internal (no role may call it): NOTIFY animus_work with the queue name as payload, at most once per queue per notify_throttle (nothing when the queue has notify off). Raises nothing.';

--
-- Name: concurrency_held; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.concurrency_held (
    work_id uuid NOT NULL,
    queue_name text NOT NULL,
    concurrency_key text NOT NULL,
    priority integer NOT NULL,
    msg_id bigint NOT NULL,
    held_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: TABLE concurrency_held; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.concurrency_held IS 'Queued items read_work held back because their key was at max_running: their messages are invisible (vt infinity) until animus.work_key_wake makes them visible. Internal.';

--
-- Name: COLUMN concurrency_held.work_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.work_id IS 'the held work item.';

--
-- Name: COLUMN concurrency_held.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.queue_name IS 'its queue.';

--
-- Name: COLUMN concurrency_held.concurrency_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.concurrency_key IS 'its concurrency key.';

--
-- Name: COLUMN concurrency_held.priority; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.priority IS 'its priority: wakes take the highest first.';

--
-- Name: COLUMN concurrency_held.msg_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.msg_id IS 'its pgmq message (in pgmq.q_<queue_name>); wakes take the oldest first within a priority.';

--
-- Name: COLUMN concurrency_held.held_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_held.held_at IS 'when read_work held it.';

--
-- Name: concurrency_keys; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.concurrency_keys (
    queue_name text NOT NULL,
    concurrency_key text NOT NULL,
    window_start timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    window_used bigint DEFAULT 0 NOT NULL
);

--
-- Name: TABLE concurrency_keys; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.concurrency_keys IS 'One state row per (queue, key) with a limit, created by read_work at the key''s first limited claim: the row claims and wakes of the key lock, and the key''s rate window. Internal (no role reads it; see animus.concurrency_stats).';

--
-- Name: COLUMN concurrency_keys.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_keys.queue_name IS 'the work queue.';

--
-- Name: COLUMN concurrency_keys.concurrency_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_keys.concurrency_key IS 'the concurrency key.';

--
-- Name: COLUMN concurrency_keys.window_start; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_keys.window_start IS 'start of the rate window window_used counts (a claim in a later window starts from 0).';

--
-- Name: COLUMN concurrency_keys.window_used; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.concurrency_keys.window_used IS 'cost units of the key started in the window beginning at window_start.';

--
-- Name: dead_work_actions; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.dead_work_actions (
    work_id uuid NOT NULL,
    queue_name text NOT NULL,
    action text NOT NULL,
    retried_as uuid,
    acted_by name NOT NULL,
    acted_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT dead_work_actions_action_check CHECK ((action = ANY (ARRAY['retried'::text, 'discarded'::text]))),
    CONSTRAINT dead_work_actions_check CHECK (((action = 'retried'::text) = (retried_as IS NOT NULL)))
);

--
-- Name: TABLE dead_work_actions; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.dead_work_actions IS 'What an operator did with a dead work item (retry_dead_work, discard_dead_work): one row per item; list_dead_work and health() skip acted-on items. Rows whose item was purged are removed by the next retry/discard.';

--
-- Name: COLUMN dead_work_actions.work_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.work_id IS 'The dead work item (animus.work_items.id).';

--
-- Name: COLUMN dead_work_actions.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.queue_name IS 'Its queue (kept for per-queue authorisation after the item is purged).';

--
-- Name: COLUMN dead_work_actions.action; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.action IS 'retried (resubmitted as retried_as) or discarded (acknowledged, left for purge_work).';

--
-- Name: COLUMN dead_work_actions.retried_as; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.retried_as IS 'action retried: the work item the retry submitted (or the active item it merged into).';

--
-- Name: COLUMN dead_work_actions.acted_by; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.acted_by IS 'The role that retried or discarded it (animus.work_caller()).';

--
-- Name: COLUMN dead_work_actions.acted_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.dead_work_actions.acted_at IS 'When.';

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
-- Name: COLUMN error_codes.sqlstate; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.error_codes.sqlstate IS 'The SQLSTATE (class ZA) an animus function raises; catch it by this code, never by message text.';

--
-- Name: COLUMN error_codes.name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.error_codes.name IS 'A short condition name for the code (the Python client''s exception classes follow it).';

--
-- Name: COLUMN error_codes.meaning; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.error_codes.meaning IS 'What went wrong, in one sentence.';

--
-- Name: COLUMN error_codes.hint; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.error_codes.hint IS 'What to do about it (each raise also carries a HINT of its own).';

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
-- Name: COLUMN installed_extensions.extname; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_extensions.extname IS 'pgvector (vector) or pgmq.';

--
-- Name: COLUMN installed_extensions.created; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_extensions.created IS 'true when the animus deploy created the extension; a revert drops only those, never one the database already had.';

--
-- Name: COLUMN installed_extensions.recorded_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_extensions.recorded_at IS 'When the deploy checked the extension.';

--
-- Name: installed_version; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.installed_version (
    version text NOT NULL,
    last_change text NOT NULL,
    installed_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: TABLE installed_version; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.installed_version IS 'Written by the single-file install (sql/animus.sql): the plan''s last tag and change it installed. Empty on Sqitch deployments (health() reads the Sqitch registry).';

--
-- Name: COLUMN installed_version.version; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_version.version IS 'The last tag of sqitch.plan the install holds, plus changes after it (e.g. @v0.6.0+ops_health).';

--
-- Name: COLUMN installed_version.last_change; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_version.last_change IS 'The last change of sqitch.plan the install holds.';

--
-- Name: COLUMN installed_version.installed_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.installed_version.installed_at IS 'When it was installed.';

--
-- Name: memories_id_seq; Type: SEQUENCE; Schema: animus; Owner: -
--

ALTER TABLE animus.memories ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME animus.memories_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: memory_bm25_deltas; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_deltas (
    id bigint NOT NULL,
    namespace text NOT NULL,
    term text,
    df bigint NOT NULL,
    total_len bigint DEFAULT 0 NOT NULL,
    max_tf integer,
    min_len_ratio double precision
);

--
-- Name: TABLE memory_bm25_deltas; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_deltas IS 'Append-only BM25 statistic changes not yet folded by animus.memory_bm25_refresh: term NULL = (documents, total length) of a namespace, else document frequency of a term.';

--
-- Name: COLUMN memory_bm25_deltas.id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.id IS 'Append order; memory_bm25_settings.refreshed_through marks what has been folded.';

--
-- Name: COLUMN memory_bm25_deltas.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.namespace IS 'The namespace the change belongs to.';

--
-- Name: COLUMN memory_bm25_deltas.term; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.term IS 'NULL: a change of documents and total length; else the term whose document frequency changed.';

--
-- Name: COLUMN memory_bm25_deltas.df; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.df IS 'Change of the document count (term NULL) or of the term''s document frequency.';

--
-- Name: COLUMN memory_bm25_deltas.total_len; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.total_len IS 'Change of the total length (term NULL rows).';

--
-- Name: COLUMN memory_bm25_deltas.max_tf; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.max_tf IS 'Rows with df > 0 and a term: largest tf among the postings this row adds (NULL = unknown); else NULL.';

--
-- Name: COLUMN memory_bm25_deltas.min_len_ratio; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_deltas.min_len_ratio IS 'Rows with df > 0 and a term: smallest memory length / tf among the postings this row adds (NULL = unknown); else NULL.';

--
-- Name: memory_bm25_deltas_id_seq; Type: SEQUENCE; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_bm25_deltas ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME animus.memory_bm25_deltas_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: memory_bm25_namespace_stats; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_namespace_stats (
    namespace text NOT NULL,
    docs bigint NOT NULL,
    total_len bigint NOT NULL
);

--
-- Name: TABLE memory_bm25_namespace_stats; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_namespace_stats IS 'BM25 statistics per namespace as of the last refresh: documents and total length (add pending animus.memory_bm25_deltas rows with term NULL).';

--
-- Name: COLUMN memory_bm25_namespace_stats.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_namespace_stats.namespace IS 'The namespace.';

--
-- Name: COLUMN memory_bm25_namespace_stats.docs; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_namespace_stats.docs IS 'Memories in the namespace as of the last refresh.';

--
-- Name: COLUMN memory_bm25_namespace_stats.total_len; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_namespace_stats.total_len IS 'Sum of their lengths in lexemes (average length = total_len / docs).';

--
-- Name: memory_bm25_term_stats; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_term_stats (
    namespace text NOT NULL,
    term text NOT NULL,
    df bigint NOT NULL,
    max_tf integer,
    min_len_ratio double precision
);

--
-- Name: TABLE memory_bm25_term_stats; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_term_stats IS 'BM25 document frequency per namespace and term as of the last refresh (add pending animus.memory_bm25_deltas rows).';

--
-- Name: COLUMN memory_bm25_term_stats.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_stats.namespace IS 'The namespace.';

--
-- Name: COLUMN memory_bm25_term_stats.term; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_stats.term IS 'A lexeme.';

--
-- Name: COLUMN memory_bm25_term_stats.df; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_stats.df IS 'Memories of the namespace containing the term, as of the last refresh.';

--
-- Name: COLUMN memory_bm25_term_stats.max_tf; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_stats.max_tf IS 'Largest tf of the term in a memory of the namespace folded so far (an upper bound: deletes do not lower it; NULL = unknown).';

--
-- Name: COLUMN memory_bm25_term_stats.min_len_ratio; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_stats.min_len_ratio IS 'Smallest memory length / tf of the term over the memories folded so far (a lower bound after deletes; NULL = unknown).';

--
-- Name: memory_bm25_term_totals; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_term_totals (
    term text NOT NULL,
    df bigint NOT NULL,
    max_tf integer,
    min_len_ratio double precision
);

--
-- Name: TABLE memory_bm25_term_totals; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_term_totals IS 'BM25 statistics per term summed over every namespace, as of the last refresh (add pending animus.memory_bm25_deltas rows); kept equal to memory_bm25_term_stats by its triggers. Read by searches over every namespace only.';

--
-- Name: COLUMN memory_bm25_term_totals.term; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_totals.term IS 'A lexeme.';

--
-- Name: COLUMN memory_bm25_term_totals.df; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_totals.df IS 'Memories containing the term, over every namespace, as of the last refresh.';

--
-- Name: COLUMN memory_bm25_term_totals.max_tf; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_totals.max_tf IS 'Greatest memory_bm25_term_stats.max_tf of the term over the namespaces (NULL = unknown).';

--
-- Name: COLUMN memory_bm25_term_totals.min_len_ratio; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_bm25_term_totals.min_len_ratio IS 'Least memory_bm25_term_stats.min_len_ratio of the term over the namespaces (NULL = unknown).';

--
-- Name: memory_namespace_grants; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_namespace_grants (
    role_name name NOT NULL,
    namespace text NOT NULL,
    can_write boolean DEFAULT false NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    granted_by name DEFAULT SESSION_USER NOT NULL,
    role_oid oid NOT NULL,
    CONSTRAINT memory_namespace_grants_namespace_check CHECK (((namespace <> ''::text) AND (length(namespace) <= 200) AND (strpos(namespace, ','::text) = 0)))
);

--
-- Name: TABLE memory_namespace_grants; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_namespace_grants IS 'Which role may read (and with can_write, write) the memories of which namespace; ''*'' = every namespace. Managed with animus.grant_memory_namespace / animus.revoke_memory_namespace (animus_admin). Nobody but the owner writes it directly.';

--
-- Name: COLUMN memory_namespace_grants.role_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.role_name IS 'The role''s name when it was granted (for reading; the grant follows role_oid).';

--
-- Name: COLUMN memory_namespace_grants.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.namespace IS 'The namespace the role may read (and write, with can_write); ''*'' = every namespace.';

--
-- Name: COLUMN memory_namespace_grants.can_write; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.can_write IS 'Whether the role may also store, update and delete memories of the namespace.';

--
-- Name: COLUMN memory_namespace_grants.granted_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.granted_at IS 'When the grant was made or last changed.';

--
-- Name: COLUMN memory_namespace_grants.granted_by; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.granted_by IS 'The session user who made it.';

--
-- Name: COLUMN memory_namespace_grants.role_oid; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_grants.role_oid IS 'The role granted (pg_roles.oid): a grant belongs to this role only, never to a later role of the same name.';

--
-- Name: memory_namespace_models; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_namespace_models (
    namespace text NOT NULL,
    model text NOT NULL,
    set_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_namespace_models_namespace_check CHECK ((namespace <> ''::text))
);

--
-- Name: TABLE memory_namespace_models; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_namespace_models IS 'The active embedding model of a namespace (set_namespace_model); namespaces without a row have none.';

--
-- Name: COLUMN memory_namespace_models.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_models.namespace IS 'The namespace.';

--
-- Name: COLUMN memory_namespace_models.model; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_models.model IS 'Its active model: memories whose vector is of another model are re-embedded.';

--
-- Name: COLUMN memory_namespace_models.set_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_namespace_models.set_at IS 'When the model was made active.';

--
-- Name: memory_review_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_review_settings (
    singleton boolean DEFAULT true NOT NULL,
    weights double precision[] NOT NULL,
    desired_retention double precision DEFAULT 0.9 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_review_settings_desired_retention_check CHECK (((desired_retention > (0)::double precision) AND (desired_retention < (1)::double precision))),
    CONSTRAINT memory_review_settings_singleton_check CHECK (singleton),
    CONSTRAINT memory_review_settings_weights_check CHECK ((cardinality(weights) = 17))
);

--
-- Name: TABLE memory_review_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_review_settings IS 'The FSRS-4.5 parameters of review_memory (one row): weights w0..w16 and the desired retention.';

--
-- Name: COLUMN memory_review_settings.singleton; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_review_settings.singleton IS 'Always true: the table holds one row.';

--
-- Name: COLUMN memory_review_settings.weights; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_review_settings.weights IS 'FSRS-4.5 weights w0..w16 (default: the published defaults of FSRS-4.5).';

--
-- Name: COLUMN memory_review_settings.desired_retention; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_review_settings.desired_retention IS 'The retrievability at which a memory falls due (0.9: due after S days).';

--
-- Name: COLUMN memory_review_settings.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_review_settings.updated_at IS 'When the parameters last changed.';

--
-- Name: memory_reviews; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_reviews (
    memory_id bigint NOT NULL,
    stability double precision NOT NULL,
    difficulty double precision NOT NULL,
    reps integer NOT NULL,
    lapses integer DEFAULT 0 NOT NULL,
    last_grade smallint NOT NULL,
    last_review timestamp with time zone NOT NULL,
    due_at timestamp with time zone NOT NULL,
    CONSTRAINT memory_reviews_difficulty_check CHECK (((difficulty >= (1)::double precision) AND (difficulty <= (10)::double precision))),
    CONSTRAINT memory_reviews_lapses_check CHECK ((lapses >= 0)),
    CONSTRAINT memory_reviews_last_grade_check CHECK (((last_grade >= 1) AND (last_grade <= 4))),
    CONSTRAINT memory_reviews_reps_check CHECK ((reps > 0)),
    CONSTRAINT memory_reviews_stability_check CHECK ((stability > (0)::double precision))
);

--
-- Name: TABLE memory_reviews; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_reviews IS 'The FSRS retention state of each reviewed memory (review_memory); removed with its memory.';

--
-- Name: COLUMN memory_reviews.memory_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.memory_id IS 'The memory reviewed.';

--
-- Name: COLUMN memory_reviews.stability; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.stability IS 'FSRS stability S in days: the time for retrievability to fall from 1 to 0.9.';

--
-- Name: COLUMN memory_reviews.difficulty; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.difficulty IS 'FSRS difficulty D, 1 (easy) to 10 (hard).';

--
-- Name: COLUMN memory_reviews.reps; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.reps IS 'How many reviews the memory had.';

--
-- Name: COLUMN memory_reviews.lapses; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.lapses IS 'How many of them were graded 1 (again: forgotten).';

--
-- Name: COLUMN memory_reviews.last_grade; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.last_grade IS 'The grade of the last review: 1 again, 2 hard, 3 good, 4 easy.';

--
-- Name: COLUMN memory_reviews.last_review; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.last_review IS 'When the memory was last reviewed.';

--
-- Name: COLUMN memory_reviews.due_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_reviews.due_at IS 'When retrievability falls to the desired retention: the memory is due for review from then on.';

--
-- Name: memory_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_settings (
    singleton boolean DEFAULT true NOT NULL,
    embedding_dim integer NOT NULL,
    embedding_model text NOT NULL,
    state text DEFAULT 'ready'::text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_settings_embedding_dim_check CHECK (((embedding_dim >= 1) AND (embedding_dim <= 2000))),
    CONSTRAINT memory_settings_embedding_model_check CHECK ((embedding_model <> ''::text)),
    CONSTRAINT memory_settings_singleton_check CHECK (singleton),
    CONSTRAINT memory_settings_state_check CHECK ((state = ANY (ARRAY['ready'::text, 'reembedding'::text])))
);

--
-- Name: TABLE memory_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_settings IS 'The embedding model and dimension of animus.memories.embedding (one row). Change it with animus.memory_begin_reembedding().';

--
-- Name: COLUMN memory_settings.singleton; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_settings.singleton IS 'Always true: the table has one row.';

--
-- Name: COLUMN memory_settings.embedding_dim; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_settings.embedding_dim IS 'Dimension of animus.memories.embedding (deploy variable embedding_dim; changed with memory_begin_reembedding).';

--
-- Name: COLUMN memory_settings.embedding_model; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_settings.embedding_model IS 'Name of the model the embeddings come from (deploy variable embedding_model).';

--
-- Name: COLUMN memory_settings.state; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_settings.state IS '''ready'', or ''reembedding'' between memory_begin_reembedding and memory_finish_reembedding.';

--
-- Name: COLUMN memory_settings.updated_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_settings.updated_at IS 'When the model, dimension or state last changed.';

--
-- Name: memory_terms; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_terms (
    memory_id bigint NOT NULL,
    namespace text NOT NULL,
    term text NOT NULL,
    tf integer NOT NULL,
    doc_len integer NOT NULL,
    impact real NOT NULL
);

--
-- Name: TABLE memory_terms; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_terms IS 'BM25 postings of animus.memories, maintained by triggers on it: (memory_id, namespace, term, tf, doc_len, impact). Read through animus.memory_text_candidates.';

--
-- Name: COLUMN memory_terms.memory_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.memory_id IS 'The memory (animus.memories.id) the posting belongs to.';

--
-- Name: COLUMN memory_terms.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.namespace IS 'The memory''s namespace (postings are ranked within a namespace).';

--
-- Name: COLUMN memory_terms.term; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.term IS 'An English-stemmed lexeme of the memory''s content.';

--
-- Name: COLUMN memory_terms.tf; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.tf IS 'How often the term occurs in the memory.';

--
-- Name: COLUMN memory_terms.doc_len; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.doc_len IS 'The memory''s length in lexemes.';

--
-- Name: COLUMN memory_terms.impact; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memory_terms.impact IS 'The BM25 term weight of this posting under the statistics at write time: the order the budgeted top-k reads postings in.';

--
-- Name: queue_admin_lock; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.queue_admin_lock (
    singleton boolean DEFAULT true NOT NULL,
    CONSTRAINT queue_admin_lock_singleton_check CHECK (singleton)
);

--
-- Name: TABLE queue_admin_lock; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.queue_admin_lock IS 'One row, locked FOR UPDATE by create_queue and drop_queue to serialise the regeneration of the per-queue functions; only the owner can lock it.';

--
-- Name: COLUMN queue_admin_lock.singleton; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queue_admin_lock.singleton IS 'Always true: the table has one row.';

--
-- Name: queue_grants; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.queue_grants (
    role_oid oid NOT NULL,
    queue_name text NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    granted_by name DEFAULT SESSION_USER NOT NULL,
    CONSTRAINT queue_grants_queue_name_check CHECK (((queue_name = '*'::text) OR (queue_name ~ '^[a-z][a-z0-9_]{0,39}$'::text)))
);

--
-- Name: TABLE queue_grants; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.queue_grants IS 'Which role (by OID: a dropped and re-created role of the same name inherits nothing) may use which work queue; ''*'' = every queue. What it may do there is what its animus role allows (producer: submit, read status, cancel; worker: claim and settle). Managed with animus.grant_queue / animus.revoke_queue (animus_admin); readable by animus_admin.';

--
-- Name: COLUMN queue_grants.role_oid; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queue_grants.role_oid IS 'pg_roles.oid of the grantee (role_oid::regrole shows its name; a number when the role was dropped).';

--
-- Name: COLUMN queue_grants.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queue_grants.queue_name IS 'a queue of animus.queues, or ''*'' for every queue (grants of a dropped queue are removed with it).';

--
-- Name: COLUMN queue_grants.granted_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queue_grants.granted_at IS 'When the grant was made.';

--
-- Name: COLUMN queue_grants.granted_by; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.queue_grants.granted_by IS 'The session user who made it.';

--
-- Name: work_awaited; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.work_awaited (
    work_id uuid NOT NULL,
    awaited_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: TABLE work_awaited; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_awaited IS 'Active work items a waiter awaits (animus.watch_work, client.wait): when one ends (completed, dead, cancelled) the state trigger deletes its row and sends pg_notify(''animus_work_done'', id). Holds only items not yet ended.';

--
-- Name: COLUMN work_awaited.work_id; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_awaited.work_id IS 'the canonical work item awaited (queued or running when marked; no FK: see deploy/work_wait.sql).';

--
-- Name: COLUMN work_awaited.awaited_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_awaited.awaited_at IS 'when the first waiter marked it.';

--
-- Name: work_events; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.work_events (
    queue_name text NOT NULL,
    event_key text NOT NULL,
    payload jsonb,
    emitted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: TABLE work_events; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.work_events IS 'Events per queue and key (emit_event): latched values a work item waits for with await_event. A row without emitted_at was created by a wait on a key not emitted yet (the row emit_event and await_event serialise on). Removed by purge_events.';

--
-- Name: COLUMN work_events.queue_name; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_events.queue_name IS 'the queue whose items the event is for (events of one queue never reach another''s items); deleted with the queue.';

--
-- Name: COLUMN work_events.event_key; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_events.event_key IS 'the key waits name, 1-255 characters, e.g. ''approval:42''.';

--
-- Name: COLUMN work_events.payload; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_events.payload IS 'the payload of the last emit (jsonb, at most 1 MB; may be NULL).';

--
-- Name: COLUMN work_events.emitted_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_events.emitted_at IS 'when the event was last emitted; NULL: not emitted yet (a wait created the row).';

--
-- Name: COLUMN work_events.created_at; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_events.created_at IS 'when the row was created (by the first emit or the first wait on the key).';

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
-- Name: COLUMN work_state_transitions.from_state; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_state_transitions.from_state IS 'The state an item is in.';

--
-- Name: COLUMN work_state_transitions.to_state; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_state_transitions.to_state IS 'A state it may move to.';

--
-- Name: COLUMN work_state_transitions.why; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.work_state_transitions.why IS 'Which call makes that move.';

--
-- Name: concurrency_held concurrency_held_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.concurrency_held
    ADD CONSTRAINT concurrency_held_pkey PRIMARY KEY (work_id);

--
-- Name: concurrency_keys concurrency_keys_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.concurrency_keys
    ADD CONSTRAINT concurrency_keys_pkey PRIMARY KEY (queue_name, concurrency_key);

--
-- Name: concurrency_limits concurrency_limits_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.concurrency_limits
    ADD CONSTRAINT concurrency_limits_pkey PRIMARY KEY (queue_name, concurrency_key);

--
-- Name: dead_work_actions dead_work_actions_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.dead_work_actions
    ADD CONSTRAINT dead_work_actions_pkey PRIMARY KEY (work_id);

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
-- Name: health_thresholds health_thresholds_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.health_thresholds
    ADD CONSTRAINT health_thresholds_pkey PRIMARY KEY (check_name, queue_name);

--
-- Name: installed_extensions installed_extensions_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.installed_extensions
    ADD CONSTRAINT installed_extensions_pkey PRIMARY KEY (extname);

--
-- Name: memories memories_namespace_content_key; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memories
    ADD CONSTRAINT memories_namespace_content_key UNIQUE (namespace, content_hash);

--
-- Name: memories memories_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memories
    ADD CONSTRAINT memories_pkey PRIMARY KEY (id);

--
-- Name: memory_bm25_namespace_stats memory_bm25_namespace_stats_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_namespace_stats
    ADD CONSTRAINT memory_bm25_namespace_stats_pkey PRIMARY KEY (namespace);

--
-- Name: memory_bm25_settings memory_bm25_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_settings
    ADD CONSTRAINT memory_bm25_settings_pkey PRIMARY KEY (singleton);

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_term_stats
    ADD CONSTRAINT memory_bm25_term_stats_pkey PRIMARY KEY (term, namespace) INCLUDE (df, max_tf, min_len_ratio);

--
-- Name: memory_bm25_term_totals memory_bm25_term_totals_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_term_totals
    ADD CONSTRAINT memory_bm25_term_totals_pkey PRIMARY KEY (term) INCLUDE (df, max_tf, min_len_ratio);

--
-- Name: memory_links memory_links_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_links
    ADD CONSTRAINT memory_links_pkey PRIMARY KEY (source_id, target_id, relation);

--
-- Name: memory_models memory_models_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_models
    ADD CONSTRAINT memory_models_pkey PRIMARY KEY (name);

--
-- Name: memory_namespace_grants memory_namespace_grants_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_namespace_grants
    ADD CONSTRAINT memory_namespace_grants_pkey PRIMARY KEY (role_oid, namespace);

--
-- Name: memory_namespace_models memory_namespace_models_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_namespace_models
    ADD CONSTRAINT memory_namespace_models_pkey PRIMARY KEY (namespace);

--
-- Name: memory_review_settings memory_review_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_review_settings
    ADD CONSTRAINT memory_review_settings_pkey PRIMARY KEY (singleton);

--
-- Name: memory_reviews memory_reviews_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_reviews
    ADD CONSTRAINT memory_reviews_pkey PRIMARY KEY (memory_id);

--
-- Name: memory_settings memory_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_settings
    ADD CONSTRAINT memory_settings_pkey PRIMARY KEY (singleton);

--
-- Name: memory_vector_index_settings memory_vector_index_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_vector_index_settings
    ADD CONSTRAINT memory_vector_index_settings_pkey PRIMARY KEY (singleton);

--
-- Name: queue_admin_lock queue_admin_lock_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.queue_admin_lock
    ADD CONSTRAINT queue_admin_lock_pkey PRIMARY KEY (singleton);

--
-- Name: queue_grants queue_grants_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.queue_grants
    ADD CONSTRAINT queue_grants_pkey PRIMARY KEY (role_oid, queue_name);

--
-- Name: queues queues_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.queues
    ADD CONSTRAINT queues_pkey PRIMARY KEY (queue_name);

--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (name);

--
-- Name: work_awaited work_awaited_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_awaited
    ADD CONSTRAINT work_awaited_pkey PRIMARY KEY (work_id);

--
-- Name: work_events work_events_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_events
    ADD CONSTRAINT work_events_pkey PRIMARY KEY (queue_name, event_key);

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
-- Name: work_steps work_steps_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_steps
    ADD CONSTRAINT work_steps_pkey PRIMARY KEY (work_id, step_name, occurrence);

--
-- Name: concurrency_held_key; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX concurrency_held_key ON animus.concurrency_held USING btree (queue_name, concurrency_key, priority DESC, msg_id);

--
-- Name: memories_created_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_created_at ON animus.memories USING btree (created_at);

--
-- Name: memories_embedding_hnsw; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding public.vector_cosine_ops);

--
-- Name: memories_expires_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_expires_at ON animus.memories USING btree (expires_at) WHERE (expires_at IS NOT NULL);

--
-- Name: memories_fts_gin; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_fts_gin ON animus.memories USING gin (fts);

--
-- Name: memories_metadata_gin; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);

--
-- Name: memories_namespace_type; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_namespace_type ON animus.memories USING btree (namespace, memory_type);

--
-- Name: memories_superseded_by; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_superseded_by ON animus.memories USING btree (superseded_by) WHERE (superseded_by IS NOT NULL);

--
-- Name: memories_with_state; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_with_state ON animus.memories USING btree (id) WHERE (metadata ? '_animus'::text);

--
-- Name: memory_bm25_deltas_key_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas USING btree (term, namespace);

--
-- Name: memory_links_target; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_links_target ON animus.memory_links USING btree (target_id);

--
-- Name: memory_reviews_due_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_reviews_due_at ON animus.memory_reviews USING btree (due_at);

--
-- Name: memory_terms_impact_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_terms_impact_idx ON animus.memory_terms USING btree (term, namespace, impact DESC, memory_id) INCLUDE (tf, doc_len);

--
-- Name: memory_terms_memory_term_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_terms_memory_term_idx ON animus.memory_terms USING btree (memory_id, term) INCLUDE (tf, doc_len);

--
-- Name: schedules_due; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX schedules_due ON animus.schedules USING btree (next_run_at) WHERE (NOT paused);

--
-- Name: work_items_dedup_active; Type: INDEX; Schema: animus; Owner: -
--

CREATE UNIQUE INDEX work_items_dedup_active ON animus.work_items USING btree (queue_name, work_type, active_key) WHERE ((active_key IS NOT NULL) AND (waits_for IS NULL));

--
-- Name: work_items_merged_into_order; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_merged_into_order ON animus.work_items USING btree (merged_into, created_at, id) WHERE (merged_into IS NOT NULL);

--
-- Name: work_items_parent_id; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_parent_id ON animus.work_items USING btree (parent_id) WHERE (parent_id IS NOT NULL);

--
-- Name: work_items_resolved_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_resolved_at ON animus.work_items USING btree (resolved_at) WHERE (resolved_at IS NOT NULL);

--
-- Name: work_items_running_key; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_items_running_key ON animus.work_items USING btree (queue_name, running_key) WHERE (running_key IS NOT NULL);

--
-- Name: work_items_waits_for; Type: INDEX; Schema: animus; Owner: -
--

CREATE UNIQUE INDEX work_items_waits_for ON animus.work_items USING btree (waits_for) WHERE (waits_for IS NOT NULL);

--
-- Name: work_steps_waiting_event; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX work_steps_waiting_event ON animus.work_steps USING btree (event_key) WHERE ((state = 'waiting'::text) AND (kind = 'event'::text));

--
-- Name: memories memories_content_changed; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memories_content_changed BEFORE UPDATE OF content ON animus.memories FOR EACH ROW WHEN (((old.content IS DISTINCT FROM new.content) AND (old.embedding_model IS NOT NULL))) EXECUTE FUNCTION animus.memory_content_changed();

--
-- Name: memories memories_state_mirror; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memories_state_mirror BEFORE INSERT OR UPDATE ON animus.memories FOR EACH ROW WHEN (((new.expires_at IS NOT NULL) OR (new.superseded_by IS NOT NULL) OR (new.visibility <> 'namespace'::text) OR (new.metadata ? '_animus'::text))) EXECUTE FUNCTION animus.memory_state_mirror();

--
-- Name: memories memory_bm25_after_delete; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_delete AFTER DELETE ON animus.memories REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_delete();

--
-- Name: memories memory_bm25_after_insert; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_insert AFTER INSERT ON animus.memories REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_insert();

--
-- Name: memories memory_bm25_after_truncate; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_truncate AFTER TRUNCATE ON animus.memories FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_truncate();

--
-- Name: memories memory_bm25_after_update; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_update AFTER UPDATE ON animus.memories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_update();

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_after_delete; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_term_stats_after_delete AFTER DELETE ON animus.memory_bm25_term_stats REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_after_insert; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_term_stats_after_insert AFTER INSERT ON animus.memory_bm25_term_stats REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_after_truncate; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_term_stats_after_truncate AFTER TRUNCATE ON animus.memory_bm25_term_stats FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_after_update; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_term_stats_after_update AFTER UPDATE ON animus.memory_bm25_term_stats REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_term_stats_after_write();

--
-- Name: work_items work_items_state_transition; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER work_items_state_transition BEFORE UPDATE OF state ON animus.work_items FOR EACH ROW EXECUTE FUNCTION animus.work_items_check_transition();

--
-- Name: concurrency_limits concurrency_limits_queue_name_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.concurrency_limits
    ADD CONSTRAINT concurrency_limits_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES animus.queues(queue_name) ON DELETE CASCADE;

--
-- Name: memories memories_superseded_by_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memories
    ADD CONSTRAINT memories_superseded_by_fkey FOREIGN KEY (superseded_by) REFERENCES animus.memories(id) ON DELETE SET NULL;

--
-- Name: memory_links memory_links_source_id_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_links
    ADD CONSTRAINT memory_links_source_id_fkey FOREIGN KEY (source_id) REFERENCES animus.memories(id) ON DELETE CASCADE;

--
-- Name: memory_links memory_links_target_id_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_links
    ADD CONSTRAINT memory_links_target_id_fkey FOREIGN KEY (target_id) REFERENCES animus.memories(id) ON DELETE CASCADE;

--
-- Name: memory_namespace_models memory_namespace_models_model_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_namespace_models
    ADD CONSTRAINT memory_namespace_models_model_fkey FOREIGN KEY (model) REFERENCES animus.memory_models(name);

--
-- Name: memory_reviews memory_reviews_memory_id_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_reviews
    ADD CONSTRAINT memory_reviews_memory_id_fkey FOREIGN KEY (memory_id) REFERENCES animus.memories(id) ON DELETE CASCADE;

--
-- Name: schedules schedules_queue_name_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.schedules
    ADD CONSTRAINT schedules_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES animus.queues(queue_name) ON DELETE CASCADE;

--
-- Name: work_events work_events_queue_name_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_events
    ADD CONSTRAINT work_events_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES animus.queues(queue_name) ON DELETE CASCADE;

--
-- Name: work_steps work_steps_work_id_fkey; Type: FK CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.work_steps
    ADD CONSTRAINT work_steps_work_id_fkey FOREIGN KEY (work_id) REFERENCES animus.work_items(id) ON DELETE CASCADE;

--
-- Name: memories; Type: ROW SECURITY; Schema: animus; Owner: -
--

ALTER TABLE animus.memories ENABLE ROW LEVEL SECURITY;

--
-- Name: memories memories_delete; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memories_delete ON animus.memories FOR DELETE USING (((namespace = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[]))));

--
-- Name: memories memories_insert; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memories_insert ON animus.memories FOR INSERT WITH CHECK (((namespace = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[]))));

--
-- Name: memories memories_read; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memories_read ON animus.memories FOR SELECT USING (((namespace = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[]))));

--
-- Name: memories memories_update; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memories_update ON animus.memories FOR UPDATE USING (((namespace = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[])))) WITH CHECK (((namespace = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('write'::text) AS memory_scope)::text[]))));

--
-- Name: memory_bm25_deltas; Type: ROW SECURITY; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_bm25_deltas ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_bm25_deltas memory_bm25_deltas_read; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memory_bm25_deltas_read ON animus.memory_bm25_deltas FOR SELECT USING (((namespace = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[]))));

--
-- Name: memory_bm25_namespace_stats; Type: ROW SECURITY; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_bm25_namespace_stats ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_bm25_namespace_stats memory_bm25_namespace_stats_read; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memory_bm25_namespace_stats_read ON animus.memory_bm25_namespace_stats FOR SELECT USING (((namespace = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[]))));

--
-- Name: memory_bm25_term_stats; Type: ROW SECURITY; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_bm25_term_stats ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_read; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memory_bm25_term_stats_read ON animus.memory_bm25_term_stats FOR SELECT USING (((namespace = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[]))));

--
-- Name: memory_terms; Type: ROW SECURITY; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_terms ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_terms memory_terms_read; Type: POLICY; Schema: animus; Owner: -
--

CREATE POLICY memory_terms_read ON animus.memory_terms FOR SELECT USING (((namespace = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[])) OR ('*'::text = ANY (( SELECT animus.memory_scope('read'::text) AS memory_scope)::text[]))));

--
-- Name: SCHEMA animus; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA animus TO animus_producer;
GRANT USAGE ON SCHEMA animus TO animus_worker;
GRANT USAGE ON SCHEMA animus TO animus_memory_reader;
GRANT USAGE ON SCHEMA animus TO animus_memory_writer;
GRANT USAGE ON SCHEMA animus TO animus_admin;

--
-- Name: TABLE schedules; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.schedules TO animus_admin;

--
-- Name: FUNCTION alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text) TO animus_producer;
GRANT ALL ON FUNCTION animus.alter_schedule(name text, cron text, every interval, start_at timestamp with time zone, timezone text, work_type text, params jsonb, queue text, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text) TO animus_admin;

--
-- Name: FUNCTION archive_work(queue text, msg_id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) TO animus_worker;
GRANT ALL ON FUNCTION animus.archive_work(queue text, msg_id bigint) TO animus_admin;

--
-- Name: FUNCTION await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval, step_name text, occurrence integer) TO animus_admin;

--
-- Name: FUNCTION bm25_doc_len(fts tsvector); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) TO animus_admin;

--
-- Name: FUNCTION bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) TO animus_admin;

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
-- Name: FUNCTION concurrency_stats(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.concurrency_stats(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.concurrency_stats(queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.concurrency_stats(queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.concurrency_stats(queue text) TO animus_admin;

--
-- Name: FUNCTION configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, concurrency_param text, archive_messages boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, concurrency_param text, archive_messages boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.configure_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, concurrency_param text, archive_messages boolean) TO animus_admin;

--
-- Name: FUNCTION create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean, concurrency_param text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean, concurrency_param text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.create_queue(queue text, backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify boolean, notify_throttle interval, if_not_exists boolean, concurrency_param text) TO animus_admin;

--
-- Name: FUNCTION create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean) TO animus_producer;
GRANT ALL ON FUNCTION animus.create_schedule(name text, cron text, work_type text, params jsonb, queue text, timezone text, every interval, start_at timestamp with time zone, catchup text, max_catchup integer, priority integer, max_attempts integer, period_key text, paused boolean) TO animus_admin;

--
-- Name: FUNCTION cron_next(spec animus.cron_spec, tz text, after timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cron_next(spec animus.cron_spec, tz text, after timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION cron_next_local(spec animus.cron_spec, c timestamp without time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cron_next_local(spec animus.cron_spec, c timestamp without time zone) FROM PUBLIC;

--
-- Name: FUNCTION cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text) TO animus_producer;
GRANT ALL ON FUNCTION animus.cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text) TO animus_worker;
GRANT ALL ON FUNCTION animus.cron_next_runs(cron text, count integer, after timestamp with time zone, timezone text) TO animus_admin;

--
-- Name: FUNCTION cron_parse(cron text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cron_parse(cron text) FROM PUBLIC;

--
-- Name: FUNCTION cron_parse_field(field_no integer, token text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.cron_parse_field(field_no integer, token text) FROM PUBLIC;

--
-- Name: FUNCTION delete_memories(ids bigint[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_memories(ids bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_memories(ids bigint[]) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.delete_memories(ids bigint[]) TO animus_admin;

--
-- Name: FUNCTION delete_memory(id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_memory(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_memory(id bigint) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.delete_memory(id bigint) TO animus_admin;

--
-- Name: FUNCTION delete_work(queue text, msg_id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) TO animus_worker;
GRANT ALL ON FUNCTION animus.delete_work(queue text, msg_id bigint) TO animus_admin;

--
-- Name: FUNCTION deployed_version(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.deployed_version() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.deployed_version() TO animus_producer;
GRANT ALL ON FUNCTION animus.deployed_version() TO animus_worker;
GRANT ALL ON FUNCTION animus.deployed_version() TO animus_admin;

--
-- Name: FUNCTION discard_dead_work(work_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.discard_dead_work(work_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.discard_dead_work(work_id uuid) TO animus_admin;

--
-- Name: TABLE concurrency_limits; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.concurrency_limits TO animus_admin;

--
-- Name: FUNCTION drop_concurrency_limit(queue text, key text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.drop_concurrency_limit(queue text, key text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.drop_concurrency_limit(queue text, key text) TO animus_admin;

--
-- Name: FUNCTION drop_queue(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.drop_queue(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.drop_queue(queue text) TO animus_admin;

--
-- Name: FUNCTION drop_schedule(name text, if_exists boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.drop_schedule(name text, if_exists boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.drop_schedule(name text, if_exists boolean) TO animus_producer;
GRANT ALL ON FUNCTION animus.drop_schedule(name text, if_exists boolean) TO animus_admin;

--
-- Name: FUNCTION due_memories(namespace text, at timestamp with time zone, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.due_memories(namespace text, at timestamp with time zone, lim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.due_memories(namespace text, at timestamp with time zone, lim integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.due_memories(namespace text, at timestamp with time zone, lim integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.due_memories(namespace text, at timestamp with time zone, lim integer) TO animus_admin;

--
-- Name: FUNCTION emit_event(event_key text, payload jsonb, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.emit_event(event_key text, payload jsonb, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.emit_event(event_key text, payload jsonb, queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.emit_event(event_key text, payload jsonb, queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.emit_event(event_key text, payload jsonb, queue text) TO animus_admin;

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
-- Name: FUNCTION finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text) TO animus_worker;
GRANT ALL ON FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb, occurrence integer, error text) TO animus_admin;

--
-- Name: FUNCTION get_event(event_key text, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_event(event_key text, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_event(event_key text, queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.get_event(event_key text, queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.get_event(event_key text, queue text) TO animus_admin;

--
-- Name: FUNCTION memory_content_hash(content text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_content_hash(content text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_admin;

--
-- Name: TABLE memories; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memories TO animus_admin;

--
-- Name: FUNCTION get_memory(id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_memory(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_admin;

--
-- Name: FUNCTION get_work(work_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_work(work_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_producer;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_worker;
GRANT ALL ON FUNCTION animus.get_work(work_id uuid) TO animus_admin;

--
-- Name: FUNCTION get_work_steps(work_id uuid); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_work_steps(work_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_work_steps(work_id uuid) TO animus_producer;
GRANT ALL ON FUNCTION animus.get_work_steps(work_id uuid) TO animus_worker;
GRANT ALL ON FUNCTION animus.get_work_steps(work_id uuid) TO animus_admin;

--
-- Name: FUNCTION get_work_submissions(work_id uuid, after uuid, page_size integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_work_submissions(work_id uuid, after uuid, page_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_work_submissions(work_id uuid, after uuid, page_size integer) TO animus_producer;
GRANT ALL ON FUNCTION animus.get_work_submissions(work_id uuid, after uuid, page_size integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.get_work_submissions(work_id uuid, after uuid, page_size integer) TO animus_admin;

--
-- Name: FUNCTION grant_memory_namespace(role_name text, namespace text, can_write boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.grant_memory_namespace(role_name text, namespace text, can_write boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.grant_memory_namespace(role_name text, namespace text, can_write boolean) TO animus_admin;

--
-- Name: FUNCTION grant_queue(role_name text, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.grant_queue(role_name text, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.grant_queue(role_name text, queue text) TO animus_admin;

--
-- Name: FUNCTION health(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.health() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.health() TO animus_producer;
GRANT ALL ON FUNCTION animus.health() TO animus_worker;
GRANT ALL ON FUNCTION animus.health() TO animus_admin;

--
-- Name: FUNCTION health_level(value double precision, warn_at double precision, fail_at double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) TO animus_producer;
GRANT ALL ON FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) TO animus_worker;
GRANT ALL ON FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision) TO animus_admin;

--
-- Name: FUNCTION heartbeat_work(work_id uuid, extend interval, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.heartbeat_work(work_id uuid, extend interval, attempt integer) TO animus_admin;

--
-- Name: FUNCTION heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]) TO animus_worker;
GRANT ALL ON FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval, attempts integer[]) TO animus_admin;

--
-- Name: FUNCTION hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer, fusion text, alpha double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision, graph_depth integer, graph_relations text[], graph_decay double precision) TO animus_admin;

--
-- Name: TABLE memory_links; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_links TO animus_admin;

--
-- Name: FUNCTION link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.link_memories(source bigint, target bigint, relation text, weight double precision, metadata jsonb) TO animus_admin;

--
-- Name: FUNCTION list_dead_work(queue text, page_size integer, before timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.list_dead_work(queue text, page_size integer, before timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.list_dead_work(queue text, page_size integer, before timestamp with time zone) TO animus_producer;
GRANT ALL ON FUNCTION animus.list_dead_work(queue text, page_size integer, before timestamp with time zone) TO animus_worker;
GRANT ALL ON FUNCTION animus.list_dead_work(queue text, page_size integer, before timestamp with time zone) TO animus_admin;

--
-- Name: FUNCTION list_schedules(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.list_schedules(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.list_schedules(queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.list_schedules(queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.list_schedules(queue text) TO animus_admin;

--
-- Name: FUNCTION memory_apply_lifecycle(memory_id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], scope text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_apply_lifecycle(memory_id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], scope text[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_begin_bulk_load(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_begin_bulk_load() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_begin_bulk_load() TO animus_admin;

--
-- Name: FUNCTION memory_begin_reembedding(embedding_model text, embedding_dim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_after_delete(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_delete() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_insert(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_insert() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_truncate(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_truncate() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_update(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_update() FROM PUBLIC;

--
-- Name: TABLE memory_bm25_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_settings TO animus_admin;

--
-- Name: FUNCTION memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_refresh(wait boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_refresh(wait boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_refresh(wait boolean) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_reindex(namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_reindex(namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_reindex(namespace text) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_term_stats_after_write(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_term_stats_after_write() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_term_totals_sync(terms text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_term_totals_sync(terms text[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_topk(query text, filters jsonb, lim integer, budget integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_boost(score double precision, retrievability double precision, age interval, importance double precision, retrievability_weight double precision, recency_weight double precision, recency_half_life interval, importance_weight double precision) TO animus_admin;

--
-- Name: FUNCTION memory_build_vector_index(maintenance_work_mem text, parallel_workers integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_build_vector_index(maintenance_work_mem text, parallel_workers integer) FROM PUBLIC;

--
-- Name: FUNCTION memory_caller(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_caller() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_caller() TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_caller() TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_caller() TO animus_admin;

--
-- Name: FUNCTION memory_chain(id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_chain(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_chain(id bigint) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_chain(id bigint) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_chain(id bigint) TO animus_admin;

--
-- Name: FUNCTION memory_check_embedding(embedding public.vector, argument text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_admin;

--
-- Name: FUNCTION memory_check_fields(content text, memory_type text, namespace text, metadata jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_check_graph_args(depth integer, relations text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_graph_args(depth integer, relations text[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_check_limit(value integer, argument text, maximum integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_admin;

--
-- Name: TABLE memory_vector_index_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_vector_index_settings TO animus_memory_reader;
GRANT SELECT ON TABLE animus.memory_vector_index_settings TO animus_memory_writer;
GRANT SELECT ON TABLE animus.memory_vector_index_settings TO animus_admin;

--
-- Name: FUNCTION memory_configure_vector_index(kind text, lists integer, probes integer, rebuild boolean, maintenance_work_mem text, parallel_workers integer, ef_search integer, halfvec boolean, m integer, ef_construction integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_configure_vector_index(kind text, lists integer, probes integer, rebuild boolean, maintenance_work_mem text, parallel_workers integer, ef_search integer, halfvec boolean, m integer, ef_construction integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_configure_vector_index(kind text, lists integer, probes integer, rebuild boolean, maintenance_work_mem text, parallel_workers integer, ef_search integer, halfvec boolean, m integer, ef_construction integer) TO animus_admin;

--
-- Name: FUNCTION memory_content_changed(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_content_changed() FROM PUBLIC;

--
-- Name: FUNCTION memory_filter_list(text_filter jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_state_match(st jsonb, s jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_state_match(st jsonb, s jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_state_match(st jsonb, s jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_state_match(st jsonb, s jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_state_match(st jsonb, s jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_admin;

--
-- Name: FUNCTION memory_filter_state(normalised jsonb, include_superseded boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean) TO animus_admin;

--
-- Name: FUNCTION memory_finish_bulk_load(maintenance_work_mem text, parallel_workers integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text, parallel_workers integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text, parallel_workers integer) TO animus_admin;

--
-- Name: FUNCTION memory_finish_reembedding(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_finish_reembedding() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_finish_reembedding() TO animus_admin;

--
-- Name: FUNCTION memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_fsrs_step(w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision, OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision) TO animus_admin;

--
-- Name: FUNCTION memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_graph_expand(hit_ids bigint[], hit_scores double precision[], depth integer, relations text[], decay double precision) TO animus_admin;

--
-- Name: FUNCTION memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision) FROM PUBLIC;

--
-- Name: FUNCTION memory_hybrid_fuse(query_text text, query_embedding public.vector, f jsonb, n integer, use_text boolean, use_vector boolean, fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_hybrid_fuse(query_text text, query_embedding public.vector, f jsonb, n integer, use_text boolean, use_vector boolean, fusion text, a double precision, text_weight double precision, vector_weight double precision, rrf_k integer) FROM PUBLIC;

--
-- Name: FUNCTION memory_is_blank(content text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_is_blank(content text) FROM PUBLIC;

--
-- Name: FUNCTION memory_is_interval(value jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_is_interval(value jsonb) FROM PUBLIC;

--
-- Name: FUNCTION memory_is_timestamptz(value jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_is_timestamptz(value jsonb) FROM PUBLIC;

--
-- Name: FUNCTION memory_ivfflat_lists(n bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_ivfflat_lists(n bigint) FROM PUBLIC;

--
-- Name: FUNCTION memory_namespace_stats(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_namespace_stats() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_namespace_stats() TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_namespace_stats() TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_namespace_stats() TO animus_admin;

--
-- Name: FUNCTION memory_neighbors(id bigint, depth integer, relations text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_neighbors(id bigint, depth integer, relations text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_neighbors(id bigint, depth integer, relations text[]) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_neighbors(id bigint, depth integer, relations text[]) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_neighbors(id bigint, depth integer, relations text[]) TO animus_admin;

--
-- Name: FUNCTION memory_normalize_text_filter(field text, value jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_or_tsquery(query text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_or_tsquery(query text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_admin;

--
-- Name: FUNCTION memory_parses_as_vector(value text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_parses_as_vector(value text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_parses_as_vector(value text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_parses_as_vector(value text) TO animus_admin;

--
-- Name: FUNCTION memory_read_filters(filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_read_filters(filters jsonb) FROM PUBLIC;

--
-- Name: FUNCTION memory_reembedding_progress(namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_reembedding_progress(namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_reembedding_progress(namespace text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_reembedding_progress(namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_reembedding_progress(namespace text) TO animus_admin;

--
-- Name: FUNCTION memory_request_reembedding(namespace text, queue text, max_items integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_request_reembedding(namespace text, queue text, max_items integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_request_reembedding(namespace text, queue text, max_items integer) TO animus_admin;

--
-- Name: FUNCTION memory_retrievability(stability double precision, elapsed_days double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision) TO animus_admin;

--
-- Name: FUNCTION memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[], scope text[], viewer jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[], scope text[], viewer jsonb) FROM PUBLIC;

--
-- Name: FUNCTION memory_scope(access text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_scope(access text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_scope(access text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_scope(access text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_scope(access text) TO animus_admin;

--
-- Name: FUNCTION memory_set_embedding(id bigint, embedding public.vector, model text, content text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_set_embedding(id bigint, embedding public.vector, model text, content text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_set_embedding(id bigint, embedding public.vector, model text, content text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_set_embedding(id bigint, embedding public.vector, model text, content text) TO animus_admin;

--
-- Name: FUNCTION memory_state_active(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_state_active() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_state_active() TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_state_active() TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_state_active() TO animus_admin;

--
-- Name: FUNCTION memory_state_mirror(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_state_mirror() FROM PUBLIC;

--
-- Name: FUNCTION memory_state_of(expires_at timestamp with time zone, superseded_by bigint, owner_role oid, visibility text, share_groups oid[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_state_of(expires_at timestamp with time zone, superseded_by bigint, owner_role oid, visibility text, share_groups oid[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_store_batch(memories jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_store_batch(memories jsonb, namespace text) FROM PUBLIC;

--
-- Name: FUNCTION memory_text_candidates(query text, filters jsonb, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_admin;

--
-- Name: FUNCTION memory_text_candidates_live(query text, filters jsonb, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_text_candidates_live(query text, filters jsonb, lim integer) FROM PUBLIC;

--
-- Name: FUNCTION memory_validate_filters(filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_admin;

--
-- Name: FUNCTION memory_vector_index_status(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_vector_index_status() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_vector_index_status() TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_vector_index_status() TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_vector_index_status() TO animus_admin;

--
-- Name: FUNCTION memory_viewer(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_viewer() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_viewer() TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_viewer() TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_viewer() TO animus_admin;

--
-- Name: FUNCTION memory_write_scope(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_write_scope() FROM PUBLIC;

--
-- Name: FUNCTION ops_check_queue(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.ops_check_queue(queue text) FROM PUBLIC;

--
-- Name: FUNCTION ops_lock_dead(work_id uuid, operation text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.ops_lock_dead(work_id uuid, operation text) FROM PUBLIC;

--
-- Name: FUNCTION pause_queue(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.pause_queue(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.pause_queue(queue text) TO animus_admin;

--
-- Name: FUNCTION pause_schedule(name text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.pause_schedule(name text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.pause_schedule(name text) TO animus_producer;
GRANT ALL ON FUNCTION animus.pause_schedule(name text) TO animus_admin;

--
-- Name: FUNCTION purge_events(older_than interval, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.purge_events(older_than interval, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.purge_events(older_than interval, queue text) TO animus_admin;

--
-- Name: FUNCTION purge_expired_memories(namespace text, grace interval, max_rows integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.purge_expired_memories(namespace text, grace interval, max_rows integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.purge_expired_memories(namespace text, grace interval, max_rows integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.purge_expired_memories(namespace text, grace interval, max_rows integer) TO animus_admin;

--
-- Name: FUNCTION purge_work(older_than interval, queue text, batch_size integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.purge_work(older_than interval, queue text, batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.purge_work(older_than interval, queue text, batch_size integer) TO animus_admin;

--
-- Name: FUNCTION queue_depth_history(queue text, since interval, buckets integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.queue_depth_history(queue text, since interval, buckets integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.queue_depth_history(queue text, since interval, buckets integer) TO animus_producer;
GRANT ALL ON FUNCTION animus.queue_depth_history(queue text, since interval, buckets integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.queue_depth_history(queue text, since interval, buckets integer) TO animus_admin;

--
-- Name: FUNCTION queue_stats(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.queue_stats(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_producer;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.queue_stats(queue text) TO animus_admin;

--
-- Name: FUNCTION read_work(queue text, vt interval, qty integer, work_types text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer, work_types text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer, work_types text[]) TO animus_worker;
GRANT ALL ON FUNCTION animus.read_work(queue text, vt interval, qty integer, work_types text[]) TO animus_admin;

--
-- Name: TABLE memory_models; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_models TO animus_memory_reader;
GRANT SELECT ON TABLE animus.memory_models TO animus_admin;

--
-- Name: FUNCTION register_model(name text, dimension integer, provider text, metadata jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.register_model(name text, dimension integer, provider text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.register_model(name text, dimension integer, provider text, metadata jsonb) TO animus_admin;

--
-- Name: FUNCTION release_work(work_id uuid, attempt integer, delay interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.release_work(work_id uuid, attempt integer, delay interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.release_work(work_id uuid, attempt integer, delay interval) TO animus_worker;
GRANT ALL ON FUNCTION animus.release_work(work_id uuid, attempt integer, delay interval) TO animus_admin;

--
-- Name: FUNCTION resume_queue(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.resume_queue(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.resume_queue(queue text) TO animus_admin;

--
-- Name: FUNCTION resume_schedule(name text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.resume_schedule(name text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.resume_schedule(name text) TO animus_producer;
GRANT ALL ON FUNCTION animus.resume_schedule(name text) TO animus_admin;

--
-- Name: FUNCTION retry_dead_work(work_id uuid, delay interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.retry_dead_work(work_id uuid, delay interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.retry_dead_work(work_id uuid, delay interval) TO animus_admin;

--
-- Name: FUNCTION review_memory(id bigint, grade integer, reviewed_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.review_memory(id bigint, grade integer, reviewed_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.review_memory(id bigint, grade integer, reviewed_at timestamp with time zone) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.review_memory(id bigint, grade integer, reviewed_at timestamp with time zone) TO animus_admin;

--
-- Name: FUNCTION revoke_memory_namespace(role_name text, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.revoke_memory_namespace(role_name text, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.revoke_memory_namespace(role_name text, namespace text) TO animus_admin;

--
-- Name: FUNCTION revoke_queue(role_name text, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.revoke_queue(role_name text, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.revoke_queue(role_name text, queue text) TO animus_admin;

--
-- Name: FUNCTION schedule_check_args(work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer, every interval, period_key text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_check_args(work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer, every interval, period_key text) FROM PUBLIC;

--
-- Name: FUNCTION schedule_check_timezone(timezone text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_check_timezone(timezone text) FROM PUBLIC;

--
-- Name: FUNCTION schedule_creator_allowed(role_oid oid, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_creator_allowed(role_oid oid, queue text) FROM PUBLIC;

--
-- Name: FUNCTION schedule_lock(name text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_lock(name text) FROM PUBLIC;

--
-- Name: FUNCTION schedule_next(s animus.schedules, after timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_next(s animus.schedules, after timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION schedule_next_runs(name text, count integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.schedule_next_runs(name text, count integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.schedule_next_runs(name text, count integer) TO animus_producer;
GRANT ALL ON FUNCTION animus.schedule_next_runs(name text, count integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.schedule_next_runs(name text, count integer) TO animus_admin;

--
-- Name: FUNCTION search_memory_text(query text, k integer, filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_admin;

--
-- Name: FUNCTION search_memory_vector(query_embedding public.vector, k integer, filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_admin;

--
-- Name: FUNCTION set_concurrency_limit(queue text, key text, max_running integer, rate integer, period interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.set_concurrency_limit(queue text, key text, max_running integer, rate integer, period interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.set_concurrency_limit(queue text, key text, max_running integer, rate integer, period interval) TO animus_admin;

--
-- Name: TABLE health_thresholds; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.health_thresholds TO animus_producer;
GRANT SELECT ON TABLE animus.health_thresholds TO animus_worker;
GRANT SELECT ON TABLE animus.health_thresholds TO animus_admin;

--
-- Name: FUNCTION set_health_threshold(check_name text, warn_at double precision, fail_at double precision, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.set_health_threshold(check_name text, warn_at double precision, fail_at double precision, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.set_health_threshold(check_name text, warn_at double precision, fail_at double precision, queue text) TO animus_admin;

--
-- Name: FUNCTION set_namespace_model(namespace text, model text, queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.set_namespace_model(namespace text, model text, queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.set_namespace_model(namespace text, model text, queue text) TO animus_admin;

--
-- Name: FUNCTION sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval) TO animus_worker;
GRANT ALL ON FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamp with time zone, step_name text, occurrence integer, delay interval) TO animus_admin;

--
-- Name: FUNCTION start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text) TO animus_worker;
GRANT ALL ON FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer, fingerprint text) TO animus_admin;

--
-- Name: FUNCTION store_memories(memories jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) TO animus_admin;

--
-- Name: FUNCTION store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[]) TO animus_admin;

--
-- Name: FUNCTION submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer) TO animus_producer;
GRANT ALL ON FUNCTION animus.submit_work(work_type text, source text, params jsonb, dedup_key text, trigger_info text, priority integer, parent_id uuid, max_attempts integer, queue text, delay interval, run_at timestamp with time zone, on_duplicate text, trace_context jsonb, concurrency_key text, cost integer) TO animus_admin;

--
-- Name: FUNCTION submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) TO animus_producer;
GRANT ALL ON FUNCTION animus.submit_work_batch(items jsonb, queue text, on_duplicate text, trace_context jsonb) TO animus_admin;

--
-- Name: FUNCTION sweep_concurrency_keys(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.sweep_concurrency_keys(queue text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.sweep_concurrency_keys(queue text) TO animus_worker;
GRANT ALL ON FUNCTION animus.sweep_concurrency_keys(queue text) TO animus_admin;

--
-- Name: FUNCTION tick_schedules(now timestamp with time zone, max_submits integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.tick_schedules(now timestamp with time zone, max_submits integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.tick_schedules(now timestamp with time zone, max_submits integer) TO animus_worker;
GRANT ALL ON FUNCTION animus.tick_schedules(now timestamp with time zone, max_submits integer) TO animus_admin;

--
-- Name: FUNCTION tz_instants(tz text, l timestamp without time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.tz_instants(tz text, l timestamp without time zone) FROM PUBLIC;

--
-- Name: FUNCTION tz_offset(tz text, t timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.tz_offset(tz text, t timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION tz_transition(tz text, lo timestamp with time zone, hi timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.tz_transition(tz text, lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION unlink_memories(source bigint, target bigint, relation text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.unlink_memories(source bigint, target bigint, relation text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.unlink_memories(source bigint, target bigint, relation text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.unlink_memories(source bigint, target bigint, relation text) TO animus_admin;

--
-- Name: FUNCTION update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_admin;

--
-- Name: FUNCTION update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.update_memory_lifecycle(id bigint, expires_at timestamp with time zone, ttl interval, pinned boolean, supersedes bigint[], visibility text, groups text[], clear_expiry boolean) TO animus_admin;

--
-- Name: FUNCTION wait_work(work_id uuid, timeout interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.wait_work(work_id uuid, timeout interval) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.wait_work(work_id uuid, timeout interval) TO animus_producer;
GRANT ALL ON FUNCTION animus.wait_work(work_id uuid, timeout interval) TO animus_worker;
GRANT ALL ON FUNCTION animus.wait_work(work_id uuid, timeout interval) TO animus_admin;

--
-- Name: FUNCTION watch_work(work_ids uuid[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.watch_work(work_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.watch_work(work_ids uuid[]) TO animus_producer;
GRANT ALL ON FUNCTION animus.watch_work(work_ids uuid[]) TO animus_worker;
GRANT ALL ON FUNCTION animus.watch_work(work_ids uuid[]) TO animus_admin;

--
-- Name: FUNCTION work_caller(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_caller() FROM PUBLIC;

--
-- Name: FUNCTION work_check_concurrency_args(concurrency_key text, cost integer, key_from text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_concurrency_args(concurrency_key text, cost integer, key_from text) FROM PUBLIC;

--
-- Name: FUNCTION work_check_concurrency_param(concurrency_param text, empty_clears boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_concurrency_param(concurrency_param text, empty_clears boolean) FROM PUBLIC;

--
-- Name: FUNCTION work_check_event(event_key text, payload jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_event(event_key text, payload jsonb) FROM PUBLIC;

--
-- Name: FUNCTION work_check_queue_settings(backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify_throttle interval); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_queue_settings(backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision, notify_throttle interval) FROM PUBLIC;

--
-- Name: FUNCTION work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text) FROM PUBLIC;

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
-- Name: FUNCTION work_derive_key(queue text, concurrency_key text, params jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_derive_key(queue text, concurrency_key text, params jsonb) FROM PUBLIC;

--
-- Name: FUNCTION work_generate_queue_functions(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;

--
-- Name: FUNCTION work_is_blank(t text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_is_blank(t text) FROM PUBLIC;

--
-- Name: FUNCTION work_items_check_transition(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_items_check_transition() FROM PUBLIC;

--
-- Name: FUNCTION work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[], prios integer[], running boolean[], OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[], prios integer[], running boolean[], OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION work_key_limit(queue text, key text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_key_limit(queue text, key text) FROM PUBLIC;

--
-- Name: FUNCTION work_key_wake(queue text, keys text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_key_wake(queue text, keys text[]) FROM PUBLIC;

--
-- Name: FUNCTION work_message_headers(priority integer, trace_context jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_producer;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_worker;
GRANT ALL ON FUNCTION animus.work_message_headers(priority integer, trace_context jsonb) TO animus_admin;

--
-- Name: FUNCTION work_new_id(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_new_id() FROM PUBLIC;

--
-- Name: FUNCTION work_purge_mark(setting text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_purge_mark(setting text) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_allowed(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_allowed(queue text) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_archive(queue text, p_msg_ids bigint[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_archive(queue text, p_msg_ids bigint[]) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone, p_types text[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamp with time zone, p_types text[]) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_create_item(queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb, p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamp with time zone, p_trace_context jsonb, p_headers jsonb, p_concurrency_key text, p_cost integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_create_item(queue text, p_id uuid, p_work_type text, p_dedup_key text, p_source text, p_trigger_info text, p_params jsonb, p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamp with time zone, p_trace_context jsonb, p_headers jsonb, p_concurrency_key text, p_cost integer) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_scope(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_scope() FROM PUBLIC;

--
-- Name: FUNCTION work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_send(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[], p_messages jsonb[], p_headers jsonb[]) FROM PUBLIC;

--
-- Name: FUNCTION work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_queue_set_vt(queue text, p_msg_ids bigint[], p_vts timestamp with time zone[]) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_not_granted(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_not_granted(queue text) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_not_running(work_id uuid, operation text, attempt integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text) FROM PUBLIC;

--
-- Name: TABLE work_steps; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.work_steps TO animus_admin;

--
-- Name: FUNCTION work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_unknown(work_id uuid, argument text, operation text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_unknown(work_id uuid, argument text, operation text) FROM PUBLIC;

--
-- Name: FUNCTION work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text) FROM PUBLIC;

--
-- Name: FUNCTION work_release_followups(ended uuid[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_release_followups(ended uuid[]) FROM PUBLIC;

--
-- Name: FUNCTION work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION work_suspend(work_id uuid, queue text, msg_id bigint, until timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_suspend(work_id uuid, queue text, msg_id bigint, until timestamp with time zone) FROM PUBLIC;

--
-- Name: FUNCTION work_tune_queue_table(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_tune_queue_table(queue text) FROM PUBLIC;

--
-- Name: FUNCTION work_wait_state(work_ids uuid[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_wait_state(work_ids uuid[]) FROM PUBLIC;

--
-- Name: FUNCTION work_wake(queue text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.work_wake(queue text) FROM PUBLIC;

--
-- Name: TABLE dead_work_actions; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.dead_work_actions TO animus_admin;

--
-- Name: TABLE error_codes; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.error_codes TO animus_producer;
GRANT SELECT ON TABLE animus.error_codes TO animus_worker;
GRANT SELECT ON TABLE animus.error_codes TO animus_memory_reader;
GRANT SELECT ON TABLE animus.error_codes TO animus_admin;

--
-- Name: TABLE installed_version; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.installed_version TO animus_producer;
GRANT SELECT ON TABLE animus.installed_version TO animus_worker;
GRANT SELECT ON TABLE animus.installed_version TO animus_admin;

--
-- Name: TABLE memory_bm25_deltas; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_deltas TO animus_admin;

--
-- Name: TABLE memory_bm25_namespace_stats; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_namespace_stats TO animus_admin;

--
-- Name: TABLE memory_bm25_term_stats; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_term_stats TO animus_admin;

--
-- Name: TABLE memory_namespace_models; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_namespace_models TO animus_admin;

--
-- Name: TABLE memory_review_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_review_settings TO animus_memory_reader;
GRANT SELECT ON TABLE animus.memory_review_settings TO animus_admin;

--
-- Name: TABLE memory_reviews; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_reviews TO animus_admin;

--
-- Name: TABLE memory_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_settings TO animus_memory_reader;

--
-- Name: TABLE memory_terms; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_terms TO animus_admin;

--
-- Name: TABLE queue_grants; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.queue_grants TO animus_admin;

--
-- Name: TABLE work_events; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.work_events TO animus_admin;

--
-- Name: TABLE work_state_transitions; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.work_state_transitions TO animus_producer;
GRANT SELECT ON TABLE animus.work_state_transitions TO animus_worker;
GRANT SELECT ON TABLE animus.work_state_transitions TO animus_admin;

--
-- PostgreSQL database dump complete
--

