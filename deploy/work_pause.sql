-- Deploy animus:work_pause to pg
-- requires: work_queues
-- requires: work_queue_grants
-- requires: column_comments

BEGIN;

-- Pausing a queue: it keeps accepting submissions (submit_work, submit_work_batch, schedules,
-- events all run as before) and read_work hands out nothing from it until it is resumed. The flag
-- lives on the queue's row, which read_work reads anyway (its existence check): a running queue
-- pays nothing. Pausing does not touch claimed items: running items finish, heartbeat and settle
-- as usual; a retry or a sleep of a paused queue's item becomes visible and waits for the resume.
ALTER TABLE animus.queues ADD COLUMN paused_at timestamptz;
COMMENT ON COLUMN animus.queues.paused_at IS 'When the queue was paused (animus.pause_queue): read_work hands out nothing from it while set; NULL: the queue runs.';

CREATE FUNCTION animus.pause_queue(queue text)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.pause_queue(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.pause_queue(text) TO animus_admin;
COMMENT ON FUNCTION animus.pause_queue(text) IS
'Pauses work queue `queue`: it keeps accepting submissions, and read_work returns nothing from it until animus.resume_queue. Items already running are not touched (they heartbeat and settle as usual). queue_stats shows paused and paused_at. Returns true when the queue was running and is now paused, false when it was paused already (idempotent; paused_at keeps the first pause). Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

CREATE FUNCTION animus.resume_queue(queue text)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.resume_queue(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.resume_queue(text) TO animus_admin;
COMMENT ON FUNCTION animus.resume_queue(text) IS
'Resumes a paused work queue: read_work hands out its items again, and idle workers are woken at once (NOTIFY animus_work, when the queue has notify on). Returns true when the queue was paused and now runs, false when it was running already (idempotent). Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

COMMIT;
