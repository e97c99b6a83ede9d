-- Deploy animus:work_queues to pg
-- requires: work_items

BEGIN;

CREATE FUNCTION animus.create_queue(
    queue            text,
    backoff_base     interval DEFAULT '2 seconds',
    backoff_factor   double precision DEFAULT 2,
    backoff_cap      interval DEFAULT '5 minutes',
    backoff_jitter   double precision DEFAULT 0.25,
    notify           boolean DEFAULT true,
    notify_throttle  interval DEFAULT '250 milliseconds',
    if_not_exists    boolean DEFAULT false
)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
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
    -- Serialise concurrent creations of the same queue (as pgmq does).
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.create_queue:' || queue));
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
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean) TO animus_admin;
COMMENT ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean) IS
'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). Returns true when created, false when it existed and if_not_exists. Raises ZA001 (queue NULL/empty), ZA107 (invalid name), ZA002 (setting out of range), ZA106 (exists).';

CREATE FUNCTION animus.configure_queue(
    queue            text,
    backoff_base     interval DEFAULT NULL,
    backoff_factor   double precision DEFAULT NULL,
    backoff_cap      interval DEFAULT NULL,
    backoff_jitter   double precision DEFAULT NULL,
    notify           boolean DEFAULT NULL,
    notify_throttle  interval DEFAULT NULL
)
    RETURNS animus.queues
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval) TO animus_admin;
COMMENT ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval) IS
'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting) and returns its row. Raises ZA101 (unknown queue), ZA002 (setting out of range).';

CREATE FUNCTION animus.drop_queue(queue text)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM animus.queues q WHERE q.queue_name = drop_queue.queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues.';
    END IF;
    DELETE FROM animus.work_items w WHERE w.queue_name = drop_queue.queue;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pgmq.drop_queue(queue);
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION animus.drop_queue(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_queue(text) TO animus_admin;
COMMENT ON FUNCTION animus.drop_queue(text) IS
'Drops a work queue: its work items (all states), its pgmq queue and archive. Returns the number of work items deleted. Raises ZA101 (unknown queue).';

-- The default queue.
DO $$ BEGIN PERFORM animus.create_queue(queue => 'work'); END $$;

COMMIT;
