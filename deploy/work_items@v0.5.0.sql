-- Deploy animus:work_items to pg
-- requires: errors
-- requires: roles
-- requires: extensions

BEGIN;

-- Work-queue SQLSTATEs (range ZA100-ZA199). Generic argument errors use ZA001-ZA004.
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA101', 'unknown_queue',              'The named work queue does not exist.',                                      'Create it with animus.create_queue(queue => ...) or pass an existing queue name.'),
    ('ZA102', 'unknown_work_item',          'No work item has the given id (work_id or parent_id).',                     'Pass the id returned by submit_work or read_work.'),
    ('ZA103', 'work_not_running',           'The work item is not running (it is queued or waiting), so it cannot be completed, failed or heartbeated.', 'Claim the item with read_work first; only the worker holding it completes or fails it.'),
    ('ZA104', 'work_already_ended',         'The work item has already ended (completed, dead, cancelled) or is a merged duplicate.', 'Do not complete or fail an item twice; a cancelled item must not be completed. Check get_work(work_id).'),
    ('ZA105', 'illegal_state_transition',   'A work item state change is not in animus.work_state_transitions.',         'Change work item state only through the animus work functions.'),
    ('ZA106', 'queue_already_exists',       'create_queue was called for a queue that already exists.',                   'Pass if_not_exists => true, or use configure_queue to change its settings.'),
    ('ZA107', 'invalid_queue_name',         'A queue name is not 1-40 characters of [a-z0-9_] starting with a letter.',  'Use a lower-case name such as ''work'' or ''mail_send''.'),
    ('ZA108', 'stale_claim',                'A worker passed the attempt number of its claim (read_work''s attempts) to complete_work, fail_work or heartbeat_work, but the item has been claimed again since (its visibility timeout expired): the caller no longer holds it.', 'Stop working on the item and drop its result: another worker holds the current claim. Heartbeat within the visibility timeout to keep a claim.');

-- One row per animus work queue. Each is backed by a pgmq queue of the same name
-- (pgmq.q_<name> / pgmq.a_<name>). Retry backoff and worker wake-up throttling live here.
CREATE TABLE animus.queues (
    queue_name        text PRIMARY KEY CHECK (queue_name ~ '^[a-z][a-z0-9_]{0,39}$'),
    backoff_base      interval NOT NULL DEFAULT '2 seconds' CHECK (backoff_base >= '0'),
    backoff_factor    double precision NOT NULL DEFAULT 2 CHECK (backoff_factor >= 1),
    backoff_cap       interval NOT NULL DEFAULT '5 minutes' CHECK (backoff_cap >= '0'),
    backoff_jitter    double precision NOT NULL DEFAULT 0.25 CHECK (backoff_jitter >= 0 AND backoff_jitter < 1),
    notify            boolean NOT NULL DEFAULT true,
    notify_throttle   interval NOT NULL DEFAULT '250 milliseconds' CHECK (notify_throttle >= '0'),
    last_notified_at  timestamptz NOT NULL DEFAULT '-infinity',
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.queues IS 'animus work queues, each backed by the pgmq queue of the same name; retry backoff (base * factor^(attempt-1), capped, +/- jitter) and the wake-up NOTIFY on channel animus_work (notify, notify_throttle: at most one NOTIFY per queue per interval).';

CREATE TABLE animus.work_items (
    id              uuid PRIMARY KEY,
    queue_name      text NOT NULL,
    work_type       text NOT NULL,
    dedup_key       text,
    source          text NOT NULL,
    trigger_info    text,
    params          jsonb NOT NULL DEFAULT '{}',
    priority        integer NOT NULL DEFAULT 0,
    state           text NOT NULL,
    merged_into     uuid,
    waits_for       uuid,
    parent_id       uuid,
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 5,
    msg_id          bigint,
    run_at          timestamptz NOT NULL,
    outcome         jsonb,
    error           text,
    duration_ms     double precision,
    trace_context   jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at      timestamptz,
    heartbeat_at    timestamptz,
    resolved_at     timestamptz,
    released        integer NOT NULL DEFAULT 0
    -- No CHECK constraint: PostgreSQL reads a CHECK's stored expression back from its text form and
    -- compiles it in every INSERT and UPDATE statement (measured 8.5 us per submit, the same on every
    -- claim and settle). Rows are written only by the animus functions (no role has table
    -- privileges); they insert items as 'queued' and duplicates as 'merged' with merged_into set, and
    -- every later state change is checked by the trigger work_items_state_transition below.
);
COMMENT ON TABLE animus.work_items IS 'One row per submission. Canonical items move queued -> running -> completed|dead|cancelled; a duplicate submission is a row in state merged pointing at its canonical item (merged_into) and keeps its own provenance.';
-- merged_into and parent_id have no FOREIGN KEY on purpose: an FK check costs ~15 us per insert and
-- takes a KEY SHARE lock on the canonical row, which concurrent merges of a hot key turn into
-- multixacts. Only animus functions write these columns (submit checks parent_id exists, merged_into
-- is always an active item), purge_work deletes merged rows with their canonical item and sets
-- children's parent_id to NULL; a pgTAP test checks that no reference dangles.
COMMENT ON COLUMN animus.work_items.merged_into IS 'state merged: the canonical work item this duplicate submission was merged into (no FK: see deploy/work_items.sql).';
COMMENT ON COLUMN animus.work_items.parent_id IS 'the parent work item (checked at submit; set to NULL when the parent is purged).';
COMMENT ON COLUMN animus.work_items.waits_for IS 'replace mode while the canonical item runs: this queued follow-up waits for that running item to end, then becomes the key holder and visible.';
COMMENT ON COLUMN animus.work_items.attempts IS 'claims so far (read_work adds one per claim, nothing ever takes one back): the claim token workers pass as attempt.';
COMMENT ON COLUMN animus.work_items.released IS 'claims given back with release_work: they do not count against max_attempts (attempts - released is what counts).';
COMMENT ON COLUMN animus.work_items.msg_id IS 'id of the pgmq message in pgmq.q_<queue_name> that carries this item (NULL for merged rows).';

-- Work item ids: UUIDv7 (time-ordered) where the server has it (PostgreSQL 18), else random v4.
-- Time-ordered keys go to the right edge of the primary key index instead of a random leaf: fewer
-- pages dirtied and fewer full-page images in the WAL after each checkpoint (measured: a merge wrote
-- 640 bytes of WAL, now 423). A plain SQL function, so the planner inlines it: no call overhead.
DO $$
BEGIN
    IF pg_catalog.to_regprocedure('pg_catalog.uuidv7()') IS NOT NULL THEN
        CREATE FUNCTION animus.work_new_id() RETURNS uuid VOLATILE PARALLEL SAFE LANGUAGE sql
            AS 'SELECT pg_catalog.uuidv7()';
    ELSE
        CREATE FUNCTION animus.work_new_id() RETURNS uuid VOLATILE PARALLEL SAFE LANGUAGE sql
            AS 'SELECT pg_catalog.gen_random_uuid()';
    END IF;
END $$;
REVOKE ALL ON FUNCTION animus.work_new_id() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_new_id() IS
'Internal: a new work item id: uuidv7() (time-ordered) on PostgreSQL 18 and later, gen_random_uuid() before. Raises nothing.';

-- Structural dedup: at most one key holder per (queue, work_type, dedup_key) among active items.
-- Inserts use this index as the ON CONFLICT arbiter, which makes submit race-free. Items without
-- a key (which never dedup) get no entry: one index write less per create, claim and retry.
CREATE UNIQUE INDEX work_items_dedup_active ON animus.work_items (queue_name, work_type, dedup_key)
    WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL;
-- At most one follow-up waits for a running item (replace mode: one running plus one queued).
CREATE UNIQUE INDEX work_items_waits_for ON animus.work_items (waits_for) WHERE waits_for IS NOT NULL;
CREATE INDEX work_items_merged_into ON animus.work_items (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX work_items_parent_id ON animus.work_items (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX work_items_resolved_at ON animus.work_items (resolved_at) WHERE resolved_at IS NOT NULL;

-- The legal state transitions; the trigger below refuses every other one (ZA105).
CREATE TABLE animus.work_state_transitions (
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    why         text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);
COMMENT ON TABLE animus.work_state_transitions IS 'Legal work item state changes (enforced by trigger work_items_state_transition; any other raises ZA105). New rows start queued or merged (only the SECURITY DEFINER submit functions insert).';
INSERT INTO animus.work_state_transitions (from_state, to_state, why) VALUES
    ('queued',  'running',   'read_work claimed it'),
    ('queued',  'cancelled', 'cancel_work before it ran'),
    ('queued',  'dead',      'read_work found it past max_attempts'),
    ('running', 'completed', 'complete_work'),
    ('running', 'queued',    'fail_work with retries left: back to the queue after a backoff'),
    ('running', 'dead',      'fail_work not retryable or out of attempts; or read_work after the last attempt timed out'),
    ('running', 'cancelled', 'cancel_work while running (the worker learns it from heartbeat_work)');
GRANT SELECT ON animus.work_state_transitions TO animus_producer, animus_worker, animus_admin;

CREATE FUNCTION animus.work_items_check_transition()
    RETURNS trigger
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_items_check_transition() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_items_check_transition() IS 'Trigger: refuses state changes not listed in animus.work_state_transitions. Raises ZA105.';

-- New rows: only submit_work / submit_work_batch (SECURITY DEFINER) insert, always as queued or
-- merged; no BEFORE INSERT trigger because its set-up costs ~30 us in every submit.
-- No WHEN clause: it would be compiled in every UPDATE statement; the function returns at once
-- when the state is unchanged.
CREATE TRIGGER work_items_state_transition
    BEFORE UPDATE OF state ON animus.work_items
    FOR EACH ROW
    EXECUTE FUNCTION animus.work_items_check_transition();

COMMIT;
