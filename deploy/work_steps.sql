-- Deploy animus:work_steps to pg
-- requires: work_release
-- requires: work_status
-- requires: work_limits
-- requires: work_concurrency

BEGIN;

-- Durable steps, sleeps and event waits of work items (docs/durable.md).
--
-- A handler records each step it completes in animus.work_steps, keyed by its item, the step's
-- name and its occurrence (the n-th step of that name in one run of the handler). When the item
-- runs again (a retry after a crash, a timeout or a failure, or the resume after a sleep), a
-- completed step returns its recorded result instead of running again; a step that failed or
-- never finished runs again. Every call is fenced like complete_work: only the current claim
-- (running, at the attempt read_work returned) records anything.
--
-- A sleep or an event wait is a step too: its first call records the wake-up time (or the
-- deadline), and while that time has not come the item is given back (running -> queued, the
-- claim recorded as released, so no failed attempt and no worker slot held) with its message
-- invisible until then; the handler runs again from the start when it comes due, and replays its
-- completed steps up to the sleep, which now completes.
--
-- Events are latched values per (queue, key): emit_event stores the payload, completes every
-- waiting step of that key in that queue and makes their items visible at once; a wait that starts
-- after the emit receives the stored payload at once. emit_event and await_event serialise on the
-- key's row in animus.work_events (await_event creates it, payload-less, when the key has not been
-- emitted yet), so whichever runs second sees the other's write: no wake-up is lost.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA113', 'step_reused',            'A step name and occurrence already recorded for this work item is used with a different meaning: another function (fingerprint), another kind (step, sleep, event wait) or another event key.',
     'Give each distinct step its own name (the occurrence counts repeats of one name within a run of the handler). If the handler''s code changed while items were in flight, let them finish on the old code or cancel them.'),
    ('ZA114', 'step_not_running',       'finish_step was called for a step this claim has not started with start_step, or has finished already.',
     'Call start_step first (with the same work_id, step_name, occurrence and attempt) and finish_step once per start.'),
    ('ZA115', 'step_result_too_large',  'A step''s result is larger than 1 MB (its jsonb size), or its error text is longer than 10,000 characters.',
     'Record a reference (a key, a URL, a memory id) instead of the data itself, or shorten the error text.'),
    ('ZA116', 'invalid_step_name',      'A step name is empty, only white space or longer than 300 characters, or a fingerprint is longer than 1,000 characters.',
     'Name steps with a short stable identifier such as ''fetch_profile''.'),
    ('ZA117', 'invalid_wait_time',      'A sleep or an event wait was given no time, two times, a negative delay or timeout, or an infinite wake-up time.',
     'sleep_work: pass exactly one of wake_at (a finite time) and delay (>= 0); await_event: timeout NULL (no limit) or >= 0.'),
    ('ZA118', 'invalid_event_key',      'An event key is empty, only white space or longer than 255 characters.',
     'Use a short key naming what is awaited, e.g. ''approval:42''.'),
    ('ZA119', 'event_payload_too_large','An event payload is larger than 1 MB (its jsonb size).',
     'Send a reference (an id, a URL) in the payload instead of the data itself.');

-- Steps -------------------------------------------------------------------------------------------
-- No CHECK constraints (see animus.work_items: every state change goes through the functions
-- below). The FOREIGN KEY makes a step go with its item (purge_work, drop_queue): its check runs
-- once per new step row, not per start or finish of an existing one.
CREATE TABLE animus.work_steps (
    work_id      uuid NOT NULL REFERENCES animus.work_items (id) ON DELETE CASCADE,
    step_name    text NOT NULL,
    occurrence   integer NOT NULL,
    kind         text NOT NULL,
    state        text NOT NULL,
    attempt      integer NOT NULL,
    result       jsonb,
    error        text,
    fingerprint  text,
    wake_at      timestamptz,
    event_key    text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    PRIMARY KEY (work_id, step_name, occurrence)
);
COMMENT ON TABLE animus.work_steps IS 'Durable steps of work items: one row per (work item, step name, occurrence), written by start_step / finish_step, sleep_work and await_event; deleted with the item.';
COMMENT ON COLUMN animus.work_steps.work_id IS 'the work item the step belongs to (deleted with it).';
COMMENT ON COLUMN animus.work_steps.step_name IS 'the name the handler gave the step (1-300 characters); sleeps default to ''sleep'', event waits to ''event:<key>''.';
COMMENT ON COLUMN animus.work_steps.occurrence IS 'the n-th step of this name within one run of the handler (1, 2, ...): repeats of one name are distinct steps.';
COMMENT ON COLUMN animus.work_steps.kind IS 'step (start_step / finish_step), sleep (sleep_work) or event (await_event).';
COMMENT ON COLUMN animus.work_steps.state IS 'running (started, not finished), completed (result recorded: replayed, never run again), failed (runs again on the next attempt), waiting (a sleep or an event wait whose time or event has not come).';
COMMENT ON COLUMN animus.work_steps.attempt IS 'the claim (work item attempts) that last started, finished or resumed the step.';
COMMENT ON COLUMN animus.work_steps.result IS 'completed step: its result (jsonb, at most 1 MB); event wait: {"status": "received"|"timeout", "payload": ...}; NULL otherwise.';
COMMENT ON COLUMN animus.work_steps.error IS 'the error text of the last failure of the step (kept while it runs again; cleared when it completes).';
COMMENT ON COLUMN animus.work_steps.fingerprint IS 'what the step runs (the Python client records module.qualname of the function): a later start of the same name and occurrence with another fingerprint raises ZA113.';
COMMENT ON COLUMN animus.work_steps.wake_at IS 'sleep: when it ends; event wait: its deadline (''infinity'' without timeout). Recorded by the first call and kept by later ones.';
COMMENT ON COLUMN animus.work_steps.event_key IS 'event wait: the key awaited (in the item''s queue).';
COMMENT ON COLUMN animus.work_steps.started_at IS 'when the step was last started (a failed step started again gets a new time; a replayed one keeps its first).';
COMMENT ON COLUMN animus.work_steps.finished_at IS 'when the step completed or failed (NULL while running or waiting).';
-- emit_event finds the waits of a key without scanning every step.
CREATE INDEX work_steps_waiting_event ON animus.work_steps (event_key) WHERE state = 'waiting' AND kind = 'event';
GRANT SELECT ON animus.work_steps TO animus_admin;

-- Events ------------------------------------------------------------------------------------------
CREATE TABLE animus.work_events (
    queue_name  text NOT NULL REFERENCES animus.queues (queue_name) ON DELETE CASCADE,
    event_key   text NOT NULL,
    payload     jsonb,
    emitted_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (queue_name, event_key)
);
COMMENT ON TABLE animus.work_events IS 'Events per queue and key (emit_event): latched values a work item waits for with await_event. A row without emitted_at was created by a wait on a key not emitted yet (the row emit_event and await_event serialise on). Removed by purge_events.';
COMMENT ON COLUMN animus.work_events.queue_name IS 'the queue whose items the event is for (events of one queue never reach another''s items); deleted with the queue.';
COMMENT ON COLUMN animus.work_events.event_key IS 'the key waits name, 1-255 characters, e.g. ''approval:42''.';
COMMENT ON COLUMN animus.work_events.payload IS 'the payload of the last emit (jsonb, at most 1 MB; may be NULL).';
COMMENT ON COLUMN animus.work_events.emitted_at IS 'when the event was last emitted; NULL: not emitted yet (a wait created the row).';
COMMENT ON COLUMN animus.work_events.created_at IS 'when the row was created (by the first emit or the first wait on the key).';
GRANT SELECT ON animus.work_events TO animus_admin;

-- Internal helpers --------------------------------------------------------------------------------
-- The one place where keyed concurrency releases the key slot of an item a sleep or an event wait
-- gives back (called by animus.work_suspend only). It does nothing in this change.
-- Gives a running item back until `until` (a sleep, an event wait): queued, the claim recorded as
-- released (not a failed attempt: attempts - released is what counts), its message invisible
-- until then. The caller holds the item's row lock and has checked the claim.
CREATE FUNCTION animus.work_suspend(work_id uuid, queue text, msg_id bigint, until timestamptz)
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_suspend(uuid, text, bigint, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_suspend(uuid, text, bigint, timestamptz) IS
'Internal: gives a running work item back until `until` (state queued, released + 1 so the claim is not a failed attempt, run_at and message visibility = until) and releases its concurrency-key slot. Raises nothing.';

-- The arguments every step function shares: one error per bad argument, naming it.
CREATE FUNCTION animus.work_check_step(work_id uuid, attempt integer, step_name text, occurrence integer, fingerprint text DEFAULT NULL)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_step(uuid, integer, text, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_step(uuid, integer, text, integer, text) IS
'Internal: checks the arguments the step functions share. Raises ZA001 (work_id, attempt or step_name NULL), ZA116 (step_name blank or over 300 characters, fingerprint over 1000), ZA002 (occurrence NULL or < 1).';

-- A step recorded with one meaning and used with another: ZA113.
CREATE FUNCTION animus.work_raise_step_reused(s animus.work_steps, kind text, fingerprint text, event_key text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_raise_step_reused(animus.work_steps, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_step_reused(animus.work_steps, text, text, text) IS
'Internal: raises ZA113 (a recorded step used with a different kind, fingerprint or event key), naming both meanings.';

-- Steps -------------------------------------------------------------------------------------------
CREATE FUNCTION animus.start_step(work_id uuid, step_name text, attempt integer, occurrence integer DEFAULT 1,
                                  fingerprint text DEFAULT NULL)
    RETURNS TABLE (done boolean, result jsonb)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.start_step(uuid, text, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.start_step(uuid, text, integer, integer, text) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.start_step(uuid, text, integer, integer, text) IS
'Starts durable step (step_name, occurrence) of a running work item, for the claim at `attempt` (the attempts read_work returned). A step completed before (by any attempt) returns done = true with its recorded result: do not run it again. Otherwise the step is recorded as running at this attempt and done = false: run it, then record its outcome with finish_step. A step that failed, or whose attempt crashed or timed out, runs again. fingerprint (e.g. module.qualname of the function) is recorded; a later start with another non-NULL fingerprint raises ZA113. Only items of queues the caller has a grant on. Raises ZA001 (work_id, step_name or attempt NULL), ZA116 (step_name blank or over 300 characters, fingerprint over 1000), ZA002 (occurrence < 1), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim: the item was claimed again since), ZA103 (queued, not running), ZA104 (ended), ZA113 (step recorded with a different fingerprint, or as a sleep or event wait).';

CREATE FUNCTION animus.finish_step(work_id uuid, step_name text, attempt integer, result jsonb DEFAULT NULL,
                                   occurrence integer DEFAULT 1, error text DEFAULT NULL)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.finish_step(uuid, text, integer, jsonb, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.finish_step(uuid, text, integer, jsonb, integer, text) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.finish_step(uuid, text, integer, jsonb, integer, text) IS
'Records the outcome of a step started with start_step by the same claim (attempt): error NULL -> completed with result (replayed by every later run of the item, never run again); error given -> failed (it runs again on the next attempt; the error is kept for get_work). result is at most 1 MB (jsonb size), error at most 10000 characters. Only items of queues the caller has a grant on. Raises ZA001 (work_id, step_name or attempt NULL, error empty), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA115 (result over 1 MB, error over 10000 characters), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued), ZA104 (ended), ZA114 (the step is not running for this attempt: never started, or finished already).';

-- Sleeps ------------------------------------------------------------------------------------------
CREATE FUNCTION animus.sleep_work(work_id uuid, attempt integer, wake_at timestamptz DEFAULT NULL,
                                  step_name text DEFAULT 'sleep', occurrence integer DEFAULT 1, delay interval DEFAULT NULL)
    RETURNS TABLE (suspended boolean, resume_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.sleep_work(uuid, integer, timestamptz, text, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.sleep_work(uuid, integer, timestamptz, text, integer, interval) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.sleep_work(uuid, integer, timestamptz, text, integer, interval) IS
'A durable sleep of a running work item (the claim at `attempt`) until wake_at, or for delay from the first call: the first call records the wake-up time in step (step_name, occurrence) and later calls (the handler running again) use the recorded time. Before that time the item is given back: queued, the claim recorded as released (not a failed attempt, no worker slot held), visible again at the wake-up time; returns (suspended true, resume_at): the handler must stop without settling the item. Once the time has passed the step completes and returns (false, resume_at): go on. Only items of queues the caller has a grant on. Raises ZA001 (work_id, attempt or step_name NULL), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA117 (neither or both of wake_at and delay, delay negative, wake_at infinite), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued, not running), ZA104 (ended), ZA113 (the step name and occurrence was recorded as a step or an event wait).';

-- Events ------------------------------------------------------------------------------------------
CREATE FUNCTION animus.work_check_event(event_key text, payload jsonb DEFAULT NULL)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_event(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_event(text, jsonb) IS
'Internal: checks an event key and payload. Raises ZA001 (event_key NULL), ZA118 (event_key blank or over 255 characters), ZA119 (payload over 1 MB).';

CREATE FUNCTION animus.await_event(work_id uuid, attempt integer, event_key text, timeout interval DEFAULT NULL,
                                   step_name text DEFAULT NULL, occurrence integer DEFAULT 1)
    RETURNS TABLE (status text, payload jsonb)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.await_event(uuid, integer, text, interval, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.await_event(uuid, integer, text, interval, text, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.await_event(uuid, integer, text, interval, text, integer) IS
'A durable wait of a running work item (the claim at `attempt`) for event event_key of its queue, recorded as step (step_name, default ''event:'' || event_key; occurrence). The first call records the deadline (now + timeout; no timeout: ''infinity''). Returns (status, payload): ''received'' with the payload when the event was emitted (before the wait started too: events are latched), ''timeout'' once the deadline has passed, both recorded and replayed by later runs; otherwise ''suspended'': the item was given back (queued, the claim recorded as released: not a failed attempt, no worker slot held), visible again at the deadline or as soon as emit_event delivers the event; the handler must stop without settling the item. Only items of queues the caller has a grant on. Raises ZA001 (work_id, attempt or event_key NULL), ZA118 (event_key blank or over 255 characters), ZA116 (bad step_name), ZA002 (occurrence < 1), ZA117 (timeout negative), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (stale claim), ZA103 (queued, not running), ZA104 (ended), ZA113 (the step was recorded as another kind or for another event key).';

CREATE FUNCTION animus.emit_event(event_key text, payload jsonb DEFAULT NULL, queue text DEFAULT 'work')
    RETURNS integer
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.emit_event(text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.emit_event(text, jsonb, text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.emit_event(text, jsonb, text) IS
'Emits event event_key with payload in queue `queue` (default ''work''): stores it (a later emit of the key replaces the payload; a wait that starts later receives it at once), completes every await_event of that key by an item of the queue with status ''received'' and this payload, and makes the parked items visible now (with the queue''s throttled wake-up NOTIFY). Returns how many waits it delivered to. Race-free with a concurrent await_event (both serialise on the key''s row). Needs a grant on the queue: events of one queue never reach another''s items. Raises ZA001 (event_key or queue NULL), ZA118 (event_key blank or over 255 characters), ZA119 (payload over 1 MB), ZA109 (no grant on the queue), ZA101 (unknown queue).';

CREATE FUNCTION animus.get_event(event_key text, queue text DEFAULT 'work')
    RETURNS TABLE (queue_name text, emitted boolean, payload jsonb, emitted_at timestamptz, waiting bigint, created_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_event(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_event(text, text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_event(text, text) IS
'Event event_key of queue `queue` (default ''work''): one row (emitted, payload, emitted_at, waiting: how many waits of items of the queue wait for it now, created_at) when it was emitted or is awaited, no row otherwise. Needs a grant on the queue. Raises ZA001 (event_key or queue NULL), ZA118 (event_key blank or over 255 characters), ZA109 (no grant on the queue).';

CREATE FUNCTION animus.purge_events(older_than interval DEFAULT '7 days', queue text DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.purge_events(interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_events(interval, text) TO animus_admin;
COMMENT ON FUNCTION animus.purge_events(interval, text) IS
'Retention of events: deletes the events of queue `queue` (NULL: every queue) emitted more than older_than ago (a wait starting later no longer receives them), and the rows of keys never emitted that nothing waits for. Returns how many rows it deleted. animus_admin only. Raises ZA002 (older_than NULL or negative), ZA101 (unknown queue).';

COMMIT;
