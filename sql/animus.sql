-- animus single-file install, generated from sqitch.plan by tools/gen_install.py: do not edit.
-- Prefer `sqitch deploy` (it records what is deployed and can revert); this file is for servers
-- where Sqitch is not available. Variables: embedding_dim (default 1536), embedding_model.
\set ON_ERROR_STOP on
\if :{?embedding_dim}
\else
\set embedding_dim 1536
\endif
\if :{?embedding_model}
\else
\set embedding_model unspecified
\endif
BEGIN;

-- ==== change schema (deploy/schema.sql) ====
-- Deploy animus:schema to pg

CREATE SCHEMA animus;
COMMENT ON SCHEMA animus IS 'animus: work queue with structural dedup, semantic memory, telemetry context. Functions are executable only by the animus_* roles.';

-- Functions created in schema animus by the deploying role are not executable by PUBLIC:
-- every function is granted to named roles right after it is created.
ALTER DEFAULT PRIVILEGES IN SCHEMA animus REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA animus FROM PUBLIC;

-- ==== change extensions (deploy/extensions.sql) ====
-- Deploy animus:extensions to pg
-- requires: schema

-- Which of the two extensions this deployment created, so that a revert never drops an
-- extension (and its queues) that the database already had.
CREATE TABLE animus.installed_extensions (
    extname     name PRIMARY KEY,
    created     boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.installed_extensions IS 'Extensions animus needs, and whether its deploy created them (revert drops only those).';

DO $$
DECLARE
    req record;
    installed text;
BEGIN
    FOR req IN SELECT * FROM (VALUES ('vector', '0.8.0', 'pgvector'), ('pgmq', '1.5.0', 'pgmq'))
               AS r(extname, min_version, project)
    LOOP
        SELECT extversion INTO installed FROM pg_catalog.pg_extension WHERE extname = req.extname;
        IF installed IS NULL THEN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions
                           WHERE name = req.extname
                             AND string_to_array(version, '.')::int[] >= string_to_array(req.min_version, '.')::int[]) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA010',
                    MESSAGE = format('extension "%s" (%s >= %s) is not available on this server', req.extname, req.project, req.min_version),
                    DETAIL  = format('available versions: %s', coalesce((SELECT string_agg(version, ', ') FROM pg_catalog.pg_available_extension_versions WHERE name = req.extname), 'none')),
                    HINT    = format('Install %s on the PostgreSQL server (package, or the image built from docker/), then deploy again.', req.project);
            END IF;
            EXECUTE format('CREATE EXTENSION %I', req.extname);
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, true);
        ELSE
            IF string_to_array(installed, '.')::int[] < string_to_array(req.min_version, '.')::int[] THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA011',
                    MESSAGE = format('extension "%s" is version %s; animus needs %s or later', req.extname, installed, req.min_version),
                    HINT    = format('Run ALTER EXTENSION %s UPDATE (after installing a newer %s on the server).', req.extname, req.project);
            END IF;
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, false);
        END IF;
    END LOOP;
END $$;

-- ==== change roles (deploy/roles.sql) ====
-- Deploy animus:roles to pg
-- requires: schema

-- NOLOGIN group roles. Applications log in with their own roles and are granted one of these:
--   GRANT animus_worker TO my_worker_login;
-- Roles are cluster-wide: a second database on the same cluster reuses them.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('animus_producer',      'submits work and reads the status of work'),
        ('animus_worker',        'claims, heartbeats, completes and fails work'),
        ('animus_memory_reader', 'reads and searches memories'),
        ('animus_memory_writer', 'stores, updates and deletes memories (and reads them)'),
        ('animus_admin',         'creates queues, purges, configures; member of every animus role')
    ) AS t(rolname, purpose)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.rolname) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname);
        END IF;
        EXECUTE format('COMMENT ON ROLE %I IS %L', r.rolname, 'animus: ' || r.purpose);
        EXECUTE format('GRANT USAGE ON SCHEMA animus TO %I', r.rolname);
    END LOOP;
END $$;

-- Memberships (checked first: a second database on the cluster finds them granted already).
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES ('animus_memory_reader', 'animus_memory_writer'),
                                   ('animus_producer', 'animus_admin'),
                                   ('animus_worker', 'animus_admin'),
                                   ('animus_memory_writer', 'animus_admin')) AS t(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m.member, m.grp, 'member') THEN
            EXECUTE format('GRANT %I TO %I', m.grp, m.member);
        END IF;
    END LOOP;
END $$;

-- ==== change errors (deploy/errors.sql) ====
-- Deploy animus:errors to pg
-- requires: roles

-- The one table of the project's SQLSTATEs. Class ZA is animus' own (SQL reserves classes
-- starting with I-Z for implementations; PostgreSQL uses none starting with Z).
--   ZA0xx  arguments and setup        ZA1xx  work queue
--   ZA2xx  memory                     ZA3xx  privileges and configuration
-- Each change that raises a new code adds its row here; docs/errors.md mirrors this table and a
-- test keeps the two equal.
CREATE TABLE animus.error_codes (
    sqlstate  char(5) PRIMARY KEY CHECK (sqlstate ~ '^ZA[0-9A-Z]{3}$'),
    name      text NOT NULL UNIQUE CHECK (name ~ '^[a-z_]+$'),
    meaning   text NOT NULL,
    hint      text NOT NULL
);
COMMENT ON TABLE animus.error_codes IS 'SQLSTATEs raised by animus (class ZA): code, condition name, meaning, what to do.';

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA001', 'null_argument',        'A required argument is NULL or empty.',                         'Pass a non-empty value for the named argument.'),
    ('ZA002', 'argument_out_of_range','A numeric argument is outside its documented range.',           'Use a value inside the range given in the message.'),
    ('ZA003', 'invalid_json_argument','A jsonb argument has the wrong shape (e.g. not an object).',    'Pass a JSON object of the documented shape.'),
    ('ZA004', 'invalid_option',       'A text option is not one of its documented values.',            'Use one of the values listed in the message.'),
    ('ZA010', 'extension_missing',    'pgvector or pgmq is not available on the server.',              'Install the extension on the server, then deploy again.'),
    ('ZA011', 'extension_too_old',    'An installed extension is older than animus needs.',            'ALTER EXTENSION ... UPDATE after installing a newer version.');

GRANT SELECT ON animus.error_codes TO animus_producer, animus_worker, animus_memory_reader, animus_admin;

-- ==== change work_items@v0.5.0 (deploy/work_items@v0.5.0.sql) ====
-- Deploy animus:work_items to pg
-- requires: errors
-- requires: roles
-- requires: extensions

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

-- ==== change work_queues@v0.4.0 (deploy/work_queues@v0.4.0.sql) ====
-- Deploy animus:work_queues to pg
-- requires: work_items

-- Throttled worker wake-up: at most one NOTIFY animus_work (payload: queue name) per queue per
-- notify_throttle. A NOTIFY in every submitting transaction would serialise commits. The UPDATE
-- decides (of concurrent callers one notifies); the per-item create statement checks that one is
-- due before calling, so most submits run no UPDATE at all.
CREATE FUNCTION animus.work_wake(queue text)
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_wake(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_wake(text) IS
'Internal (no role may call it): NOTIFY animus_work with the queue name as payload, at most once per queue per notify_throttle (nothing when the queue has notify off). Raises nothing.';

-- Queue-specific SQL without dynamic SQL on the hot path. pgmq addresses each queue's table by name,
-- so pgmq.send/read/archive build and plan their statement with EXECUTE on every call (~20-50 us).
-- animus instead (re)generates five small functions whenever a queue is created or dropped, with one
-- static branch per queue: PL/pgSQL caches the plan of each branch. Their statements are the ones
-- pgmq uses (same columns, defaults and locking); an unknown queue falls back to dynamic SQL.
-- The generated functions have no SET search_path: a SET clause costs a configuration save and
-- restore in every call (they run on every submit, claim and settle). Every name in them is
-- schema-qualified, no role may execute them, and their only callers are SECURITY DEFINER functions
-- that pin search_path = ''.
CREATE FUNCTION animus.work_generate_queue_functions()
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
AS $gen$
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
        WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context)
            VALUES (p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority,
                    'queued', p_parent_id, p_max_attempts, pg_catalog.nextval(%3$L::regclass), p_run_at, p_trace_context)
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
    END IF;$f$, q, 'q_' || q, 'pgmq.q_' || q || '_msg_id_seq');
        -- Three bands, each read in order from its index: priority > 0 and < 0 from the partial
        -- priority index (highest first, then earliest due), priority 0 (no header) from pgmq's vt
        -- index. A band is read only when the ones before it did not fill p_qty.
        b_claim := b_claim || pg_catalog.format($f$
    IF queue = %1$L THEN
        n := 0;%2$s
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
                       (3, '< ''0''', '(m.headers -> ''animus_priority'') DESC, m.vt')) AS band(i, filter, ord)));
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
    p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamptz, p_trace_context jsonb, p_headers jsonb)
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
    EXECUTE pg_catalog.format('WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ''queued'', $9, $10, pg_catalog.nextval(%%L::regclass), $11, $12)
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN (''queued'', ''running'') AND waits_for IS NULL AND dedup_key IS NOT NULL
            DO NOTHING
            RETURNING msg_id)
        INSERT INTO pgmq.%%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT w.msg_id, $11, pg_catalog.jsonb_build_object(''work_id'', $1, ''work_type'', $3), $13 FROM w
        RETURNING msg_id', 'pgmq.q_' || queue || '_msg_id_seq', 'q_' || queue)
       INTO id USING p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority, p_parent_id,
                     p_max_attempts, p_run_at, p_trace_context, p_headers;
    RETURN id;
END;
$body$$f$, b_one);
    EXECUTE pg_catalog.format($f$
CREATE OR REPLACE FUNCTION animus.work_queue_claim(queue text, p_qty integer, p_until timestamptz)
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
          ORDER BY coalesce((m.headers ->> ''animus_priority'')::integer, 0) DESC, m.vt LIMIT $1 FOR UPDATE SKIP LOCKED)
        UPDATE pgmq.%%1$I m SET vt = $2, read_ct = m.read_ct + 1, last_read_at = pg_catalog.clock_timestamp()
          FROM c WHERE m.msg_id = c.msg_id RETURNING m.msg_id, m.message ->> ''work_id''', 'q_' || queue)
    USING p_qty, p_until;
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
    REVOKE ALL ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_claim(text, integer, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_archive(text, bigint[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) FROM PUBLIC;
    COMMENT ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): inserts messages (ids preallocated) into pgmq.q_<queue>, like pgmq.send_batch. Internal.';
    COMMENT ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb) IS
        'Generated by animus.work_generate_queue_functions (do not edit): in one statement, inserts a queued work item (ON CONFLICT on the dedup index: nothing when the key is held) and its message into pgmq.q_<queue> (body {"work_id","work_type"}, the id taken from the queue''s sequence, like pgmq.send), then sends the throttled wake-up if one is due; returns the message id, or NULL when the key is held. Raises ZA101 (unknown queue). Internal.';
    COMMENT ON FUNCTION animus.work_queue_claim(text, integer, timestamptz) IS
        'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read. Internal.';
    COMMENT ON FUNCTION animus.work_queue_archive(text, bigint[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): moves messages of pgmq.q_<queue> to pgmq.a_<queue>, like pgmq.archive. Internal.';
    COMMENT ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';
END;
$gen$;
REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_generate_queue_functions() IS
'Internal: regenerates animus.work_queue_send / _create_item / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue and drop_queue). Raises nothing of its own.';
DO $$ BEGIN PERFORM animus.work_generate_queue_functions(); END $$;

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
    -- pgmq queue table and reads in (priority desc, visible-at) order. Partial: messages of
    -- priority 0 (no animus_priority header, the common case) are read through pgmq's own vt index
    -- and cost no entry here, neither when written nor when a claim, retry or heartbeat moves their
    -- vt. See docs/work-queue.md.
    EXECUTE format('CREATE INDEX %I ON pgmq.%I ((headers -> %L) DESC, vt) WHERE (headers -> %L) IS NOT NULL',
                   'q_' || queue || '_animus_priority', 'q_' || queue, 'animus_priority', 'animus_priority');
    INSERT INTO animus.queues (queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle)
    VALUES (queue, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle);
    PERFORM animus.work_generate_queue_functions();
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
REVOKE ALL ON FUNCTION animus.drop_queue(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_queue(text) TO animus_admin;
COMMENT ON FUNCTION animus.drop_queue(text) IS
'Drops a work queue: its work items (all states), its pgmq queue and archive. Returns the number of work items deleted. Raises ZA101 (unknown queue).';

-- The default queue.
DO $$ BEGIN PERFORM animus.create_queue(queue => 'work'); END $$;

-- ==== change work_submit@v0.4.0 (deploy/work_submit@v0.4.0.sql) ====
-- Deploy animus:work_submit to pg
-- requires: work_queues

-- No SET search_path here (every name is qualified): a SET clause would stop the planner from
-- inlining this SQL function into the batch statements that call it per item.
-- The pgmq message that carries a work item. Body: {"work_id", "work_type"}; headers:
-- {"animus_priority", "traceparent", "tracestate"} (absent keys omitted; animus_priority only when
-- not 0; NULL when no key is left, as pgmq.send stores). Ordinary pgmq messages: pgmq.read /
-- pgmq.metrics on the queue work as usual.
CREATE FUNCTION animus.work_message_headers(priority integer, trace_context jsonb)
    RETURNS jsonb
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
AS $$
    SELECT NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'animus_priority', NULLIF(priority, 0),
        'traceparent', trace_context -> 'traceparent',
        'tracestate', trace_context -> 'tracestate')), '{}');
$$;
REVOKE ALL ON FUNCTION animus.work_message_headers(integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.work_message_headers(integer, jsonb) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.work_message_headers(integer, jsonb) IS
'The pgmq headers of a work item message: {"animus_priority": n (only when not 0), "traceparent": ..., "tracestate": ...}, NULL when empty. Raises nothing.';

-- Inserts the pgmq messages of new work items (ids preallocated from the queue's sequence, so the
-- work item row is written once: one INSERT per table instead of INSERT + UPDATE).
CREATE FUNCTION animus.work_send_messages(queue text, items animus.work_items[], visible_at timestamptz DEFAULT NULL)
    RETURNS void
    VOLATILE
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_send_messages(text, animus.work_items[], timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_send_messages(text, animus.work_items[], timestamptz) IS
'Internal (no role may call it): writes the pgmq messages of new work items (msg_id preallocated from the queue sequence), visible at visible_at or each item''s run_at. Raises nothing of its own.';

-- What submit_work returns.
CREATE TYPE animus.work_submission AS (
    work_id       uuid,
    status        text,
    canonical_id  uuid,
    msg_id        bigint
);
COMMENT ON TYPE animus.work_submission IS 'Result of animus.submit_work: the submission''s id, created | merged | replaced, the canonical item, its pgmq message.';

-- Raises the error for the first bad argument of submit_work (called only when one is bad, so the
-- common path evaluates a single combined check).
CREATE FUNCTION animus.work_check_submit_args(
    work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer,
    delay interval, on_duplicate text, trace_context jsonb
)
    RETURNS void
    IMMUTABLE
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb) IS
'Internal: raises ZA001 / ZA002 / ZA003 / ZA004 for the first bad argument of submit_work; returns when all are good.';

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
    trace_context  jsonb DEFAULT NULL
)
    RETURNS animus.work_submission
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
    IF submit_work.work_type IS NULL OR submit_work.work_type = '' OR submit_work.source IS NULL OR submit_work.source = ''
       OR submit_work.dedup_key = '' OR pg_catalog.octet_length(submit_work.work_type) > 255
       OR pg_catalog.octet_length(submit_work.dedup_key) > 2000 OR pg_catalog.jsonb_typeof(coalesce(submit_work.params, '{}')) <> 'object'
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
                    'UPDATE pgmq.%I SET vt = $2, headers = NULLIF(CASE WHEN $3 = 0 THEN coalesce(headers, ''{}'') - ''animus_priority''
                       ELSE coalesce(headers, ''{}'') || pg_catalog.jsonb_build_object(''animus_priority'', $3) END, ''{}'')
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
                 WHEN submit_work.priority <> 0 THEN pg_catalog.jsonb_build_object('animus_priority', submit_work.priority) END);
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
REVOKE ALL ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb) IS
'Submits one work item to queue `queue` and returns (work_id, status, canonical_id, msg_id). status: created (a new item and pgmq message), merged (an active item with the same queue + work_type + dedup_key exists: this submission is recorded as a merged row pointing at it, with its own source/trigger_info/params/trace_context), replaced (on_duplicate => ''replace'': the queued item got this submission''s params, priority and run time; if the item is running, a follow-up item is created that runs after it ends: one running plus one queued). Race-free under concurrency. delay or run_at makes the item invisible until due. trace_context {"traceparent","tracestate"} is stored and carried in the message headers. Raises ZA001 (work_type/source NULL or empty, dedup_key empty), ZA003 (params or trace_context not an object), ZA002 (negative delay, max_attempts not 1..1000, priority not -1000..1000, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA101 (unknown queue), ZA102 (unknown parent_id).';

CREATE FUNCTION animus.submit_work_batch(
    items          jsonb,
    queue          text DEFAULT 'work',
    on_duplicate   text DEFAULT 'merge',
    trace_context  jsonb DEFAULT NULL
)
    RETURNS TABLE (ord integer, work_id uuid, status text, canonical_id uuid, msg_id bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
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
          WHEN pg_catalog.octet_length(e.item ->> 'work_type') > 255 THEN 'ZA002:work_type is longer than 255 bytes'
          WHEN pg_catalog.octet_length(e.item ->> 'dedup_key') > 2000 THEN 'ZA002:dedup_key is longer than 2000 bytes'
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
                animus.work_new_id(),                                               -- id
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
                pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), NULL, NULL, NULL, -- created/updated/started/heartbeat/resolved
                0                                                                   -- released
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
'Submits many work items in one call: items is a JSON array of {"work_type","source","params","dedup_key","trigger_info","priority","parent_id","max_attempts","delay" (seconds),"trace_context"}. Returns one row per element, in input order (ord from 1): work_id, status (created | merged | replaced), canonical_id, msg_id. Deduplicates against active items and within the batch (the first element with a key is the canonical one). trace_context is the default for elements without one. Raises ZA003 (items not an array, an element or its params/trace_context not an object), ZA001 (work_type/source missing or empty), ZA002 (delay, max_attempts or priority out of range, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA101 (unknown queue), ZA102 (unknown parent_id); nothing is written when it raises.';

-- ==== change work_lifecycle@v0.4.0 (deploy/work_lifecycle@v0.4.0.sql) ====
-- Deploy animus:work_lifecycle to pg
-- requires: work_submit

-- The worker functions (read_work, complete_work, fail_work, heartbeat_work, cancel_work, and
-- release_work in work_release) run with SET plan_cache_mode = force_generic_plan and
-- SET enable_seqscan = off, like submit_work: every statement in them (and in the generated queue
-- functions they call) is a key look-up. With the default plan cache mode the planner re-planned
-- them in most calls (65 % of a read + complete cycle's statement time), and a generic plan made
-- without the second setting claimed through a hash join over a sequential scan of the whole
-- queue table. Measured per read_work + complete_work cycle of server CPU: 858 us before, 392 us
-- after (a raw pgmq.read + pgmq.archive: 387 us).

-- Raises the right error for a work item that a worker operation could not act on. attempt: the
-- caller's claim token (read_work's attempts), NULL when the caller passed none.
CREATE FUNCTION animus.work_raise_not_running(work_id uuid, operation text, attempt integer DEFAULT NULL)
    RETURNS void
    STABLE
    SET search_path = ''
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
CREATE FUNCTION animus.work_raise_stale_claim(work_id uuid, operation text, attempt integer, current_attempt integer, state text)
    RETURNS void
    VOLATILE
    SET search_path = ''
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
CREATE FUNCTION animus.work_raise_unsettled(work_ids uuid[], claim_attempts integer[], settled uuid[], operation text)
    RETURNS void
    STABLE
    SET search_path = ''
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
CREATE FUNCTION animus.work_release_followups(ended uuid[])
    RETURNS void
    VOLATILE
    SET search_path = ''
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

CREATE FUNCTION animus.read_work(
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
    SET search_path = ''
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
CREATE FUNCTION animus.complete_work(work_ids uuid[], outcomes jsonb[] DEFAULT NULL, attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, completed boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

CREATE FUNCTION animus.complete_work(work_id uuid, outcome jsonb DEFAULT NULL, attempt integer DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
CREATE FUNCTION animus.fail_work(work_ids uuid[], error text, retryable boolean DEFAULT true, attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, failed boolean, state text, retry_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

CREATE FUNCTION animus.fail_work(work_id uuid, error text, retryable boolean DEFAULT true, attempt integer DEFAULT NULL)
    RETURNS TABLE (state text, retry_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
CREATE FUNCTION animus.heartbeat_work(work_id uuid, extend interval DEFAULT '30 seconds', attempt integer DEFAULT NULL)
    RETURNS TABLE (state text, cancelled boolean, visible_until timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

CREATE FUNCTION animus.cancel_work(work_id uuid)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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
CREATE FUNCTION animus.archive_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

CREATE FUNCTION animus.delete_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
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

-- ==== change work_status@v0.4.0 (deploy/work_status@v0.4.0.sql) ====
-- Deploy animus:work_status to pg
-- requires: work_lifecycle

CREATE FUNCTION animus.get_work(work_id uuid)
    RETURNS TABLE (
        id                 uuid,
        queue_name         text,
        work_type          text,
        dedup_key          text,
        source             text,
        trigger_info       text,
        params             jsonb,
        priority           integer,
        state              text,
        canonical_id       uuid,
        resolution         text,
        merged_into        uuid,
        waits_for          uuid,
        parent_id          uuid,
        attempts           integer,
        max_attempts       integer,
        msg_id             bigint,
        run_at             timestamptz,
        outcome            jsonb,
        error              text,
        duration_ms        double precision,
        trace_context      jsonb,
        requesters         jsonb,
        merged_submissions jsonb,
        children           bigint,
        created_at         timestamptz,
        updated_at         timestamptz,
        started_at         timestamptz,
        heartbeat_at       timestamptz,
        resolved_at        timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work(uuid) IS
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and every merged one, with trace_context, oldest first), merged_submissions (each merged duplicate with its own source, trigger_info, params, priority, trace_context), and the number of children. Raises ZA001 (work_id NULL), ZA102 (unknown work item).';

CREATE FUNCTION animus.work_children(parent_id uuid)
    RETURNS TABLE (work_id uuid, work_type text, dedup_key text, state text, source text, created_at timestamptz, resolved_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_children(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.work_children(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.work_children(uuid) IS
'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged). Raises ZA001 (parent_id NULL), ZA102 (unknown parent).';

CREATE FUNCTION animus.queue_stats(queue text DEFAULT NULL)
    RETURNS TABLE (
        queue_name               text,
        state                    text,
        items                    bigint,
        queue_length             bigint,
        queue_visible_length     bigint,
        oldest_visible_age_sec   double precision,
        oldest_msg_age_sec       integer,
        total_messages           bigint
    )
    STABLE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.queue_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_stats(text) IS
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent. Counting items scans the queue''s work items. Raises ZA101 (unknown queue).';

CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days', queue text DEFAULT NULL)
    RETURNS TABLE (queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.purge_work(interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_work(interval, text) TO animus_admin;
COMMENT ON FUNCTION animus.purge_work(interval, text) IS
'Retention: deletes work items that ended (completed, dead, cancelled) more than older_than ago, with their merged submissions, and archived pgmq messages archived more than older_than ago, per queue (NULL = every queue). Children of a purged parent keep parent_id NULL. Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative), ZA101 (unknown queue).';

-- ==== change work_release@v0.4.0 (deploy/work_release@v0.4.0.sql) ====
-- Deploy animus:work_release to pg
-- requires: work_lifecycle
-- requires: work_status

-- release: give a claimed item back without counting the attempt --------------------------------
CREATE FUNCTION animus.release_work(work_id uuid, attempt integer DEFAULT NULL, delay interval DEFAULT '0 seconds')
    RETURNS timestamptz
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
DECLARE
    v_queue text;
    v_msg   bigint;
    v_at    timestamptz;
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
    RETURNING w.queue_name, w.msg_id INTO v_queue, v_msg;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(release_work.work_id, 'release_work', release_work.attempt);
    END IF;
    PERFORM animus.work_queue_set_vt(v_queue, ARRAY[v_msg], ARRAY[v_at]);
    RETURN v_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.release_work(uuid, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.release_work(uuid, integer, interval) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.release_work(uuid, integer, interval) IS
'Gives a running (claimed) work item back: state queued again, visible to read_work after `delay` (default at once), and the claim does not count against max_attempts (released + 1: attempts - released is what counts), so a release, e.g. at a graceful worker shutdown, is not a failed attempt; attempts, the claim token, never goes down, so a late settle of the released claim raises ZA108. The item keeps its error, its merged duplicates and a waiting replace-mode follow-up (which keeps waiting). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Returns the time the item becomes visible again. Raises ZA001 (work_id NULL), ZA002 (delay NULL or negative), ZA102 (unknown work item), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

-- ==== change memory_table (deploy/memory_table.sql) ====
-- Deploy animus:memory_table to pg
-- requires: errors
-- requires: extensions

-- The deploy variables are pasted into SQL below: refuse anything but a usable dimension first,
-- with a clear error instead of a syntax error (passed as a quoted literal, so nothing runs).
SET LOCAL animus.deploy_embedding_dim = :'embedding_dim';
SET LOCAL animus.deploy_embedding_model = :'embedding_model';
DO $$
DECLARE
    dim   text := pg_catalog.current_setting('animus.deploy_embedding_dim');
    model text := pg_catalog.current_setting('animus.deploy_embedding_model');
BEGIN
    IF dim !~ '^[0-9]{1,9}$' OR dim::integer NOT BETWEEN 1 AND 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = 'embedding_dim must be a whole number from 1 to 2000',
            DETAIL = pg_catalog.format('embedding_dim = %L', pg_catalog.left(dim, 40)),
            HINT = 'Deploy with the dimension of your embedding model, e.g. sqitch deploy --set embedding_dim=384 '
                   '(default 1536, from sqitch.conf); pgvector''s HNSW index takes at most 2000 dimensions.';
    END IF;
    IF pg_catalog.btrim(model) = '' OR pg_catalog.length(model) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = 'embedding_model must be a name of 1 to 200 characters',
            DETAIL = pg_catalog.format('embedding_model = %L', pg_catalog.left(model, 40)),
            HINT = 'Deploy with --set embedding_model=<name of your model> (default ''unspecified'', from sqitch.conf).';
    END IF;
END $$;

-- Which embedding model the vectors in animus.memories come from, and their dimension. One row.
-- The dimension is the deploy variable :embedding_dim (sqitch.conf, or --set embedding_dim=384),
-- the model name :'embedding_model'. animus.memory_begin_reembedding() changes both later
-- (see docs/memory.md, "Changing the embedding model").
CREATE TABLE animus.memory_settings (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    embedding_dim    integer NOT NULL CHECK (embedding_dim BETWEEN 1 AND 2000),
    embedding_model  text NOT NULL CHECK (embedding_model <> ''),
    -- 'ready': every memory has an embedding of embedding_dim dimensions and the HNSW index exists;
    -- 'reembedding': between memory_begin_reembedding() and memory_finish_reembedding().
    state            text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'reembedding')),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_settings IS
    'The embedding model and dimension of animus.memories.embedding (one row). Change it with animus.memory_begin_reembedding().';
-- HNSW indexes vectors of at most 2,000 dimensions (pgvector 0.8), hence the CHECK above.
INSERT INTO animus.memory_settings (embedding_dim, embedding_model)
VALUES (:embedding_dim, :'embedding_model');

-- The content hash that makes "the same content in the same namespace" one memory. sha256 over
-- the UTF-8 bytes: convert_to() is only STABLE because it depends on the server encoding, which
-- cannot change for a database, so this wrapper is IMMUTABLE (a generated column needs that).
-- The SQL-standard body is bound at creation time, so it needs no search_path.
CREATE FUNCTION animus.memory_content_hash(content text)
    RETURNS bytea
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN pg_catalog.sha256(pg_catalog.convert_to(content, 'UTF8'));
COMMENT ON FUNCTION animus.memory_content_hash(text) IS
    'sha256 of the UTF-8 bytes of content: the key (with namespace) under which store_memory merges a repeated memory. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_content_hash(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_content_hash(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE TABLE animus.memories (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace     text NOT NULL DEFAULT 'default' CHECK (namespace <> ''),
    content       text NOT NULL CHECK (pg_catalog.btrim(content) <> ''),
    memory_type   text NOT NULL CHECK (memory_type <> ''),
    source        text,
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    embedding     vector(:embedding_dim) NOT NULL,
    fts           tsvector GENERATED ALWAYS AS (pg_catalog.to_tsvector('english'::regconfig, content)) STORED,
    content_hash  bytea GENERATED ALWAYS AS (animus.memory_content_hash(content)) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memories_namespace_content_key UNIQUE (namespace, content_hash)
);
-- Keep rows whole in the heap. By default PostgreSQL shrinks any row above ~2 kB by moving its
-- largest values to the TOAST table, and a 384-d vector alone is 1.5 kB: either the vector went
-- out of line (pgvector's storage is EXTERNAL; every exact distance and index-scan candidate then
-- cost a TOAST fetch: at 100k rows, exact search over a 510-row filter took 10.6 ms) or, with the
-- vector kept in, the tsvector did (every ts_rank a TOAST fetch: keyword search 3x slower).
-- toast_tuple_target = 8160 leaves rows up to a page inline; above that, content and fts are
-- compressed or moved first (EXTENDED) and the vector (MAIN) only if the row still cannot fit.
ALTER TABLE animus.memories SET (toast_tuple_target = 8160);
ALTER TABLE animus.memories ALTER COLUMN embedding SET STORAGE MAIN;
COMMENT ON TABLE animus.memories IS
    'Semantic memories: text, embedding (dimension in animus.memory_settings), metadata; one row per (namespace, content).';
COMMENT ON COLUMN animus.memories.namespace IS 'Whose memory: an agent, a user, a tenant. Filters and (later) row-level security scope by it.';
COMMENT ON COLUMN animus.memories.fts IS 'English tsvector of content (stemmed, stop words removed), GIN-indexed: the keyword branch of search.';
COMMENT ON COLUMN animus.memories.content_hash IS 'animus.memory_content_hash(content): with namespace, the dedup key of store_memory.';

-- Cosine HNSW index (pgvector defaults m = 16, ef_construction = 64). Search functions set
-- hnsw.ef_search and iterative scans themselves (docs/memory.md).
CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding vector_cosine_ops);
CREATE INDEX memories_fts_gin ON animus.memories USING gin (fts);
-- Filters: namespace (+ memory_type) by btree, metadata containment by GIN, time ranges by btree.
CREATE INDEX memories_namespace_type ON animus.memories (namespace, memory_type);
CREATE INDEX memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
CREATE INDEX memories_created_at ON animus.memories (created_at);

-- Privileges: readers (and writers, its members) SELECT, under the row-level security policies a
-- later change adds. Nobody but the owner writes the table: writers go through the SECURITY
-- DEFINER functions of memory_store, which confine them to their write scope.
GRANT SELECT ON animus.memories, animus.memory_settings TO animus_memory_reader;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA200', 'memory_dimension_mismatch',   'An embedding does not have the dimension recorded in animus.memory_settings.',     'Embed with the model in animus.memory_settings, or change the model with animus.memory_begin_reembedding().'),
    ('ZA201', 'memory_embedding_not_finite', 'An embedding component is NaN, infinite or not a number.',                         'Check the embedding model output; every component must be a finite number.'),
    ('ZA202', 'memory_zero_vector',          'An embedding is the zero vector, which has no cosine direction.',                   'Pass a non-zero embedding (e.g. the model output for non-empty text).'),
    ('ZA203', 'memory_empty_content',        'The content of a memory is empty or only whitespace.',                              'Store non-empty text.'),
    ('ZA204', 'memory_invalid_filter',       'A search filter value has the wrong JSON shape.',                                  'Use the filter shape in docs/memory.md (strings, arrays of strings, operator objects).'),
    ('ZA205', 'memory_unknown_filter_key',   'A search filter has a key animus does not know.',                                  'Use only namespace, memory_type, source, metadata and created_at.'),
    ('ZA206', 'memory_unknown_filter_operator','A search filter uses an operator animus does not know.',                         'Use eq, in or prefix (text fields), gt/gte/lt/lte (created_at).'),
    ('ZA207', 'memory_not_found',            'No memory has the given id (or it is not visible to the caller).',                 'Check the id; get_memory returns no row for a missing id.'),
    ('ZA208', 'memory_invalid_batch',        'An element of a batch of memories is malformed.',                                  'Pass a JSON array of objects with content, embedding and memory_type (docs/memory.md).'),
    ('ZA209', 'memory_reembedding_state',    'The operation does not fit the embedding state (ready or reembedding).',           'See animus.memory_settings.state; finish or begin re-embedding first.'),
    ('ZA210', 'memory_embeddings_missing',   'Re-embedding cannot finish while memories still lack an embedding.',               'Store the new embeddings (animus.update_memory or store_memories), then finish again.');

-- ==== change memory_filters@v0.4.0 (deploy/memory_filters@v0.4.0.sql) ====
-- Deploy animus:memory_filters to pg
-- requires: memory_table

-- Search filters: one JSON shape for the three searches (docs/memory.md, "Filters").
--   {"namespace":   "a" | ["a", "b"] | {"eq": "a"} | {"in": ["a", "b"]} | {"prefix": "team/"},
--    "memory_type": same forms,   "source": same forms,
--    "metadata":    {...}                         -- containment: metadata @> this object
--    "created_at":  {"gte": ts, "gt": ts, "lt": ts, "lte": ts}}   -- any subset, ANDed
-- animus.memory_validate_filters() checks a filter once and returns it normalised
-- (text fields become {"in": [...]} or {"prefix": "..."}, timestamps canonical);
-- animus.memory_filter_match() applies a normalised filter to one row.

-- The strings of a normalised {"in": [...]} filter as text[]. IMMUTABLE, so with a constant
-- filter the planner folds it into a constant array and `col = ANY(...)` can use a btree index.
CREATE FUNCTION animus.memory_filter_list(text_filter jsonb)
    RETURNS text[]
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(text_filter -> 'in'));
COMMENT ON FUNCTION animus.memory_filter_list(jsonb) IS
    'Internal: the "in" list of a normalised text filter as text[] (NULL-safe: empty for other forms). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_list(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- One text field (namespace, memory_type, source) of a filter, normalised.
CREATE FUNCTION animus.memory_normalize_text_filter(field text, value jsonb)
    RETURNS jsonb
    IMMUTABLE
    SET search_path = ''
    LANGUAGE plpgsql
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
        RETURN pg_catalog.jsonb_build_object('in', operand);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA206',
            MESSAGE = pg_catalog.format('filters.%s uses the unknown operator "%s"', field, op),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = 'Text filters know the operators eq, in and prefix.';
    END CASE;
END
$$;
COMMENT ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) IS
    'Internal to memory_validate_filters: normalises one text filter to {"in": [...]} or {"prefix": "..."}. Raises ZA204, ZA206.';
REVOKE ALL ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}')
    RETURNS jsonb
    STABLE
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    normalised jsonb := '{}';
    key text;
    value jsonb;
    op text;
    operand jsonb;
    bounds jsonb;
    bound timestamptz;
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN normalised;
    END IF;
    IF pg_catalog.jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = 'filters must be a JSON object',
            DETAIL = pg_catalog.format('filters = %s', pg_catalog.left(filters::text, 200)),
            HINT = 'Pass an object such as {"namespace": "agent-1", "memory_type": ["fact", "episode"]}.';
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
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata and created_at.';
        END CASE;
    END LOOP;
    RETURN normalised;
END
$$;
COMMENT ON FUNCTION animus.memory_validate_filters(jsonb) IS
    'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). '
    'Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator).';
REVOKE ALL ON FUNCTION animus.memory_validate_filters(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_validate_filters(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The filter predicate, for every query that filters memories (the three searches and the
-- keyword candidates of animus.memory_text_candidates). A SQL-standard body without SET clauses:
-- it is bound at creation (no search_path lookups at run time) and the planner INLINES it, so
-- with a constant (EXECUTE ... USING) filter the unused branches fold away and what is left
-- (namespace = ANY('{...}'), metadata @> '{...}', created_at >= ...) can use the indexes.
-- Pass a filter normalised by animus.memory_validate_filters.
CREATE FUNCTION animus.memory_filter_match(
    filters      jsonb,
    namespace    text,
    memory_type  text,
    source       text,
    metadata     jsonb,
    created_at   timestamptz)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    (filters -> 'namespace' IS NULL
        OR CASE WHEN filters -> 'namespace' ? 'in'
                THEN namespace = ANY (animus.memory_filter_list(filters -> 'namespace'))
                ELSE pg_catalog.starts_with(namespace, filters -> 'namespace' ->> 'prefix') END)
    AND (filters -> 'memory_type' IS NULL
        OR CASE WHEN filters -> 'memory_type' ? 'in'
                THEN memory_type = ANY (animus.memory_filter_list(filters -> 'memory_type'))
                ELSE pg_catalog.starts_with(memory_type, filters -> 'memory_type' ->> 'prefix') END)
    AND (filters -> 'source' IS NULL
        OR CASE WHEN filters -> 'source' ? 'in'
                THEN source = ANY (animus.memory_filter_list(filters -> 'source'))
                ELSE pg_catalog.starts_with(source, filters -> 'source' ->> 'prefix') END)
    AND (filters -> 'metadata' IS NULL OR metadata @> (filters -> 'metadata'))
    AND (filters #> '{created_at,gt}' IS NULL OR created_at > (filters #>> '{created_at,gt}')::timestamptz)
    AND (filters #> '{created_at,gte}' IS NULL OR created_at >= (filters #>> '{created_at,gte}')::timestamptz)
    AND (filters #> '{created_at,lt}' IS NULL OR created_at < (filters #>> '{created_at,lt}')::timestamptz)
    AND (filters #> '{created_at,lte}' IS NULL OR created_at <= (filters #>> '{created_at,lte}')::timestamptz);
COMMENT ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) IS
    'True when a memory (its namespace, memory_type, source, metadata, created_at) passes a filter normalised by '
    'animus.memory_validate_filters. Inlinable SQL: call it in WHERE with a constant or parameter filter. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_store@v0.4.0 (deploy/memory_store@v0.4.0.sql) ====
-- Deploy animus:memory_store to pg
-- requires: memory_table

-- Functions that use pgvector's type and operators run with search_path = pg_catalog plus the
-- schema pgvector is installed in (read here, at deploy time); every animus name is qualified.
--
-- The write functions (store_memory, store_memories, update_memory, delete_memory,
-- delete_memories) are SECURITY DEFINER with search_path = '': no role but the owner writes
-- animus.memories directly. They confine the caller to its write scope themselves
-- (animus.memory_write_scope(), which judges the session's role, never current_user), because
-- an owner that is a superuser is not subject to row-level security; for an owner that is not,
-- the forced policies of security_memory_rls check the same scope a second time.
SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- The namespaces the write functions may change for the caller. Every namespace until change
-- security_memory_rls replaces the body with animus.memory_scope('write') (and its revert puts
-- this one back). Granted to nobody: the SECURITY DEFINER write functions call it as the owner.
CREATE FUNCTION animus.memory_write_scope()
    RETURNS text[]
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT ARRAY['*']::text[];
$$;
COMMENT ON FUNCTION animus.memory_write_scope() IS
    'The namespaces the memory write functions may change for the caller (''{*}'' = every namespace). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_write_scope() FROM PUBLIC;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA211', 'memory_duplicate_content', 'An update would give a memory the same content as another memory of its namespace.',
     'Update or delete the other memory (its id is in the DETAIL), or store the content with store_memory, which merges.');

-- Checks an embedding argument against animus.memory_settings. Used by every function that
-- takes an embedding. NaN and infinite components cannot reach it: pgvector rejects them when
-- the value is parsed (SQLSTATE 22000 / 22003); the batch form, whose embeddings arrive as JSON,
-- checks them itself (ZA201).
CREATE FUNCTION animus.memory_check_embedding(embedding vector, argument text DEFAULT 'embedding')
    RETURNS void
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_check_embedding(vector, text) IS
    'Raises unless embedding is a non-NULL, non-zero vector of the dimension in animus.memory_settings. '
    'Raises ZA001 (NULL), ZA200 (dimension), ZA202 (zero vector).';
REVOKE ALL ON FUNCTION animus.memory_check_embedding(vector, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_embedding(vector, text) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Checks the text arguments of a memory; returns nothing, raises on the first bad one.
CREATE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb)
    RETURNS void
    IMMUTABLE
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'content must not be NULL',
            HINT = 'Pass the text of the memory.';
    END IF;
    IF pg_catalog.btrim(content) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA203', MESSAGE = 'content must not be empty',
            DETAIL = pg_catalog.format('content = %L', pg_catalog.left(content, 40)),
            HINT = 'Store non-empty text.';
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
COMMENT ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) IS
    'Raises unless content, memory_type and namespace are non-empty and metadata is an object (or NULL). '
    'Raises ZA001, ZA203, ZA003.';
REVOKE ALL ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.store_memory(
    content      text   DEFAULT NULL,
    embedding    vector DEFAULT NULL,
    memory_type  text   DEFAULT NULL,
    source       text   DEFAULT NULL,
    metadata     jsonb  DEFAULT '{}',
    namespace    text   DEFAULT 'default')
    RETURNS TABLE (id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[];
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
    -- One race-free statement: a second store of the same content in the same namespace
    -- updates the row (xmax <> 0 on the returned row means the conflict branch ran).
    RETURN QUERY
    INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
    VALUES (store_memory.namespace, store_memory.content, store_memory.memory_type, store_memory.source,
            coalesce(store_memory.metadata, '{}'), store_memory.embedding)
    ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
       SET memory_type = EXCLUDED.memory_type,
           source      = EXCLUDED.source,
           metadata    = EXCLUDED.metadata,
           embedding   = EXCLUDED.embedding,
           updated_at  = pg_catalog.now()
    RETURNING m.id, m.xmax OPERATOR(pg_catalog.=) 0;
END
$$;
COMMENT ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) IS
    'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory '
    '(memory_type, source, metadata, embedding, updated_at) and returns created = false. '
    'Only into a namespace of the caller''s write scope (animus.memory_scope(''write'')); runs as the owner (SECURITY DEFINER). '
    'Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content), '
    '42501 (namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

-- Whether text parses as a pgvector vector (the error path of store_memories uses it to find the
-- element pgvector rejected).
CREATE FUNCTION animus.memory_parses_as_vector(value text)
    RETURNS boolean
    IMMUTABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM value::vector;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION animus.memory_parses_as_vector(text) IS
    'True if value is valid pgvector text ([finite numbers]); false otherwise. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_parses_as_vector(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_parses_as_vector(text) TO animus_memory_writer, animus_admin;

-- The batch form: one INSERT for many memories. Input is a JSON array of objects
--   {"content": "...", "embedding": ..., "memory_type": "...",
--    "source": "..." (optional), "metadata": {...} (optional), "namespace": "..." (optional)}
-- where embedding is a JSON array of numbers, or a string in pgvector's text form "[0.1,0.2,...]".
-- The string form is the fast path for bulk loads: JSON numbers are parsed as numeric, which
-- costs about 4x the whole rest of the load (measured, docs/memory.md).
-- Every element is checked before or while the one INSERT runs; the first bad one raises, naming
-- its position (1-based), and nothing is written. Repeats of one (namespace, content) inside a
-- batch collapse to the last of them.
CREATE FUNCTION animus.memory_store_batch(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
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
    IF memory_store_batch.namespace IS NULL OR memory_store_batch.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default''; an element''s own "namespace" overrides it.';
    END IF;

    -- Shape of every element: one boolean expression per element (no number is parsed for string
    -- embeddings); only when it fails, the query below names the first bad element and why.
    IF NOT (SELECT coalesce(bool_and(coalesce(
                jsonb_typeof(a.e) = 'object'
                AND (a.e - ARRAY['content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace']) = '{}'::jsonb
                AND jsonb_typeof(a.e -> 'content') = 'string' AND btrim(a.e ->> 'content') <> ''
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
                (4, 'ZA203', 'has empty content', btrim(a.e ->> 'content') = ''),
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
                       WHEN 'ZA203' THEN 'Store non-empty text.'
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
$$;
COMMENT ON FUNCTION animus.memory_store_batch(jsonb, text) IS
    'The body of animus.store_memories (which see), apart so that store_memories can be SECURITY DEFINER with search_path = '''' '
    'while this parses vectors with pgvector''s schema on its search_path. Granted to nobody: only store_memories calls it, as the owner. '
    'Raises ZA001, ZA200, ZA201, ZA202, ZA203, ZA208, 42501 (a namespace outside the caller''s write scope).';
REVOKE ALL ON FUNCTION animus.memory_store_batch(jsonb, text) FROM PUBLIC;

CREATE FUNCTION animus.store_memories(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT b.ordinal, b.id, b.created
                   FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
END
$$;
COMMENT ON FUNCTION animus.store_memories(jsonb, text) IS
    'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, '
    'namespace?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; namespace is the default for elements '
    'without one. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. '
    'Nothing is written if one element is bad. Only into namespaces of the caller''s write scope; runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), '
    'ZA208 (malformed element), 42501 (a namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memories(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memories(jsonb, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m WHERE m.id = get_memory.id;
END
$$;
COMMENT ON FUNCTION animus.get_memory(bigint) IS
    'The memory with this id, as the table row (no row if there is none or it is not visible to the caller). Read-only (STABLE). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.get_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_memory(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Changes the given fields of a memory; a NULL argument keeps that field. New content needs its
-- new embedding in the same call, so the text and its vector never disagree.
CREATE FUNCTION animus.update_memory(
    id           bigint DEFAULT NULL,
    content      text   DEFAULT NULL,
    embedding    vector DEFAULT NULL,
    memory_type  text   DEFAULT NULL,
    source       text   DEFAULT NULL,
    metadata     jsonb  DEFAULT NULL,
    namespace    text   DEFAULT NULL)
    RETURNS SETOF animus.memories
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) IS
    'Changes the non-NULL fields of memory id (metadata is replaced, not merged) and sets updated_at; returns the new row. '
    'New content needs its embedding in the same call. Only memories (and a new namespace) of the caller''s write scope; '
    'runs as the owner (SECURITY DEFINER). Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory in the write scope), '
    'ZA211 (another memory of the namespace has that content), 42501 (new namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.delete_memory(id bigint DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_write_scope();
BEGIN
    IF delete_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = delete_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.delete_memory(bigint) IS
    'Deletes memory id; true if it existed in the caller''s write scope, false otherwise. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memory(bigint) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
    scope text[] := animus.memory_write_scope();
BEGIN
    IF ids IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'ids must not be NULL', HINT = 'Pass an array of memory ids.';
    END IF;
    DELETE FROM animus.memories AS m
     WHERE m.id = ANY (delete_memories.ids) AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.delete_memories(bigint[]) IS
    'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memories(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memories(bigint[]) TO animus_memory_writer, animus_admin;

-- ==== change memory_search@v0.4.0 (deploy/memory_search@v0.4.0.sql) ====
-- Deploy animus:memory_search to pg
-- requires: memory_filters
-- requires: memory_store

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- The vector branch needs pgvector 0.8's iterative index scans (hnsw.iterative_scan,
-- hnsw.max_scan_tuples); the rest of animus works with 0.7.
DO $$
BEGIN
    -- Load pgvector's library in this session (a cast to vector does): it defines the hnsw.*
    -- settings the functions below SET. Unloaded, they are placeholders, which only a superuser
    -- may name in CREATE FUNCTION ... SET (a deploy by a non-superuser owner failed here).
    EXECUTE pg_catalog.format('SELECT %L::%s.vector', '[1]',
                              (SELECT e.extnamespace::regnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'vector'));
    IF (SELECT string_to_array(extversion, '.')::int[] < '{0,8,0}' FROM pg_catalog.pg_extension WHERE extname = 'vector') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'ZA011',
            MESSAGE = format('memory search needs pgvector 0.8.0 or later; this database has %s',
                             (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'vector')),
            HINT = 'Install pgvector >= 0.8.0 on the server and run ALTER EXTENSION vector UPDATE, then deploy again.';
    END IF;
END $$;

-- k and candidates: 1 .. 1000 (1000 is also pgvector's ceiling for hnsw.ef_search).
CREATE FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer DEFAULT 1000)
    RETURNS void
    IMMUTABLE
    SET search_path = ''
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_check_limit(integer, text, integer) IS
    'Raises unless 1 <= value <= maximum. Raises ZA001 (NULL), ZA002 (out of range).';
REVOKE ALL ON FUNCTION animus.memory_check_limit(integer, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_limit(integer, text, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- A natural-language query as an OR of its English lexemes: 'the cats ran home' becomes
-- 'cat' | 'ran' | 'home'. An AND (plainto_tsquery) of a sentence-long query matches almost
-- nothing; OR matches any document sharing a stemmed term and the rank sorts them.
-- NULL when the query has no lexeme (empty, or only stop words).
CREATE FUNCTION animus.memory_or_tsquery(query text)
    RETURNS tsquery
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN (SELECT pg_catalog.string_agg(
                   '''' || pg_catalog.replace(pg_catalog.replace(lexeme, '\', '\\'), '''', '''''') || '''',
                   ' | ' ORDER BY lexeme)::tsquery
          FROM pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('english'::regconfig, query))) AS lexeme);
COMMENT ON FUNCTION animus.memory_or_tsquery(text) IS
    'The English lexemes of query ORed into a tsquery (NULL if there are none). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_or_tsquery(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_or_tsquery(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- THE keyword branch of search_memory_text and hybrid_search: up to lim ids with their score,
-- best first (ties by id). filters must already be normalised by memory_validate_filters.
-- This version ranks with ts_rank over the OR query, normalisation 1 (rank / (1 + log(document
-- length))): on NFCorpus dev it beats plain ts_rank (nDCG@10 0.2765 vs 0.2708; docs/memory.md).
-- A later change (BM25) replaces this body.
-- EXECUTE ... USING plans with the actual filter, so memory_filter_match inlines and folds.
-- ROWS 100: callers join the result to animus.memories; with the default estimate (1000) the
-- planner hashes the whole table instead of probing the primary key (measured: 1 ms -> 7 ms).
CREATE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    q tsquery := animus.memory_or_tsquery(query);
BEGIN
    IF q IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT m.id, pg_catalog.ts_rank(m.fts, $1, 1)::double precision AS score
           FROM animus.memories AS m
          WHERE m.fts @@ $1
            AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
          ORDER BY score DESC, m.id
          LIMIT $3'
        USING q, coalesce(filters, '{}'), lim;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; '
    'filters must be normalised by memory_validate_filters. Ranks with ts_rank (normalisation 1) over the OR of the query''s English lexemes. '
    'Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- THE vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance),
-- nearest first (ties by id); k rows whenever k rows match. Three paths:
--   * a table of fewer than 5,000 rows (pg_class.reltuples), or a filter matching fewer than
--     2,000 rows (counted through the indexes, stopping at 2,000): exact search over those rows
--     (a few ms; cheaper than walking the graph past 99 % non-matches, and exact);
--   * otherwise the HNSW index with an iterative scan (relaxed order, re-sorted here), which keeps
--     walking the graph until lim rows pass the filter (hnsw.max_scan_tuples caps it);
--   * if the index scan still returned fewer than lim rows (it hit that cap, or the table is
--     small), exact search over the filter, so a short answer always means "no more rows match".
-- hnsw.ef_search is max(100, lim): 100 gives recall@10 >= 0.95 (docs/memory.md), and an index
-- scan otherwise stops at ef_search rows. The SET clauses keep these settings inside the call.
CREATE FUNCTION animus.memory_vector_candidates(query_embedding vector, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, distance double precision)
    STABLE
    ROWS 100
    SET search_path = pg_catalog, :"vector_schema"
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET hnsw.max_scan_tuples = 20000
    LANGUAGE plpgsql
AS $$
DECLARE
    exact_below constant integer := 2000;
    exact_table_below constant real := 5000;
    f jsonb := coalesce(filters, '{}');
    matching integer;
    table_rows real;
    ids bigint[];
    distances double precision[];
BEGIN
    IF query_embedding IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT c.reltuples INTO table_rows FROM pg_class AS c WHERE c.oid = 'animus.memories'::regclass;
    IF table_rows >= 0 AND table_rows < exact_table_below THEN   -- -1: never analysed, size unknown
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    IF f <> '{}' THEN
        EXECUTE
            'SELECT count(*)::integer FROM (
                 SELECT 1 FROM animus.memories AS m
                  WHERE animus.memory_filter_match($1, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  LIMIT $2) AS s'
            INTO matching USING f, greatest(exact_below, lim);
        IF matching < greatest(exact_below, lim) THEN
            RETURN QUERY EXECUTE
                'WITH hits AS MATERIALIZED (
                     SELECT m.id, m.embedding FROM animus.memories AS m
                      WHERE m.embedding IS NOT NULL
                        AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
                 SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
                USING query_embedding, f, lim;
            RETURN;
        END IF;
    END IF;

    PERFORM set_config('hnsw.ef_search', greatest(100, lim)::text, true);
    EXECUTE
        'SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id)
           FROM (SELECT m.id, m.embedding <=> $1 AS distance
                   FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  ORDER BY m.embedding <=> $1
                  LIMIT $3) AS c'
        INTO ids, distances USING query_embedding, f, lim;
    IF coalesce(cardinality(ids), 0) < lim THEN
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.distance FROM unnest(ids, distances) AS u(id, distance);
END
$$;
COMMENT ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) IS
    'Internal vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance), nearest first, '
    'ties by id; lim rows whenever lim rows match. filters must be normalised by memory_validate_filters. '
    'HNSW with iterative scan; exact search for tables under 5,000 rows and filters under 2,000 rows. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_vector_candidates(vector, jsonb, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.search_memory_vector(
    query_embedding  vector  DEFAULT NULL,
    k                integer DEFAULT 10,
    filters          jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   distance double precision, similarity double precision, rank bigint)
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
BEGIN
    PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_validate_filters(filters);
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.distance, 1 - c.distance, row_number() OVER (ORDER BY c.distance, c.id)
      FROM animus.memory_vector_candidates(query_embedding, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.distance, c.id;
END
$$;
COMMENT ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) IS
    'The k memories nearest to query_embedding by cosine distance (HNSW, iterative scan), filtered (docs/memory.md), '
    'nearest first, ties by id; k rows whenever k rows match. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001, ZA002 (k outside 1..1000), ZA200, ZA202, ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.search_memory_text(
    query    text    DEFAULT NULL,
    k        integer DEFAULT 10,
    filters  jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint)
    STABLE
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
BEGIN
    IF query IS NULL OR pg_catalog.btrim(query) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'query must be non-empty text',
            HINT = 'Pass the words to search for, e.g. a question in natural language.';
    END IF;
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_validate_filters(filters);
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.score, pg_catalog.row_number() OVER (ORDER BY c.score DESC, c.id)
      FROM animus.memory_text_candidates(query, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.score DESC, c.id;
END
$$;
COMMENT ON FUNCTION animus.search_memory_text(text, integer, jsonb) IS
    'The k memories that best match a natural-language query (English stemming; documents matching ANY query term are ranked), '
    'filtered (docs/memory.md), best first, ties by id. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.search_memory_text(text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_text(text, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Hybrid search: both branches fused by Reciprocal Rank Fusion in one SQL statement,
--   score = vector_weight / (rrf_k + vector_rank) + text_weight / (rrf_k + text_rank)
-- (a branch that did not return the row adds 0). A NULL or empty input, or a zero weight,
-- switches its branch off. Ties: score, then the better of the two ranks, then id.
CREATE FUNCTION animus.hybrid_search(
    query_text       text             DEFAULT NULL,
    query_embedding  vector           DEFAULT NULL,
    k                integer          DEFAULT 10,
    filters          jsonb            DEFAULT '{}',
    text_weight      double precision DEFAULT 1,
    vector_weight    double precision DEFAULT 1,
    rrf_k            integer          DEFAULT 60,
    candidates       integer          DEFAULT NULL)
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint,
                   vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    STABLE
    SET search_path = pg_catalog, :"vector_schema"
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
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
    f := animus.memory_validate_filters(filters);

    RETURN QUERY
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates(query_text, f, n) AS c
         WHERE use_text
    ), fused AS (
        SELECT coalesce(vec.id, txt.id) AS id,
               coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0) AS score,
               vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
          FROM vec FULL JOIN txt ON txt.id = vec.id
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
END
$$;
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) IS
    'Vector and keyword search fused by Reciprocal Rank Fusion in one statement: each branch contributes its best '
    'candidates (default max(3k, 30), at most 1000); score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank). '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k out of range), ZA200, ZA202, ZA204, ZA205, ZA206.';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_bm25@v0.4.0 (deploy/memory_bm25@v0.4.0.sql) ====
-- Deploy animus:memory_bm25 to pg
-- requires: memory_search

-- Okapi BM25 for the keyword branch of search_memory_text and hybrid_search, in plain SQL.
-- Design and measurements: docs/bm25.md. In short:
--   * memory_terms holds one posting per (memory, lexeme) with tf, the memory's length and an
--     "impact" (the BM25 tf-weight at write time); an index on (namespace, term, impact DESC)
--     lets a query read only the best postings of each term instead of every match.
--   * Corpus statistics are per namespace (a tenant's idf is its own corpus'). Writers only
--     APPEND delta rows (memory_bm25_deltas); readers add base + pending deltas, so statistics
--     are exact at every snapshot and no writer ever updates a shared counter row. A refresh
--     folds the deltas into the base tables (automatically past settings.refresh_after rows).

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA280', 'keyword_ranking_setting_out_of_range', 'A BM25 setting (k1, b, postings budget, rescore depth, refresh threshold) is outside its documented range.',
     'Use k1 in (0, 10], b in [0, 1], postings_budget >= 1, rescore_extra and refresh_after >= 0 (docs/bm25.md).');

CREATE TABLE animus.memory_bm25_settings (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    k1             double precision NOT NULL DEFAULT 1.2,
    b              double precision NOT NULL DEFAULT 0.75,
    postings_budget     integer NOT NULL DEFAULT 16000,
    max_postings_budget integer NOT NULL DEFAULT 16000,
    rescore_extra  integer NOT NULL DEFAULT 190,
    refresh_after  integer NOT NULL DEFAULT 20000,
    refreshed_through bigint NOT NULL DEFAULT 0,
    CONSTRAINT memory_bm25_settings_k1 CHECK (k1 > 0 AND k1 <= 10),
    CONSTRAINT memory_bm25_settings_b CHECK (b >= 0 AND b <= 1),
    CONSTRAINT memory_bm25_settings_budget CHECK (postings_budget >= 1 AND max_postings_budget >= postings_budget AND rescore_extra >= 0),
    CONSTRAINT memory_bm25_settings_refresh CHECK (refresh_after >= 0)
);
INSERT INTO animus.memory_bm25_settings DEFAULT VALUES;
COMMENT ON TABLE animus.memory_bm25_settings IS
    'BM25 settings (one row; change with animus.memory_bm25_configure): k1, b; postings_budget = postings of whole lists a query may read (max_postings_budget: up to which it grows, x4 a round, while the result is not proven exact); rescore_extra = candidates beyond lim completed exactly; refresh_after = pending delta rows that make a write fold the statistics; refreshed_through = last delta id folded.';

-- One posting per (memory, lexeme of its fts). doc_len = number of lexeme occurrences of the memory
-- (stop words excluded), as BM25 wants. impact = BM25 tf-weight with the settings and the
-- namespace's average length at write time: only the order of postings depends on it, never a score.
CREATE TABLE animus.memory_terms (
    memory_id  bigint NOT NULL,
    namespace  text NOT NULL,
    term       text NOT NULL,
    tf         integer NOT NULL,
    doc_len    integer NOT NULL,
    impact     real NOT NULL
);
CREATE INDEX memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
CREATE INDEX memory_terms_impact_idx ON animus.memory_terms (namespace, term, impact DESC, memory_id) INCLUDE (tf, doc_len);
COMMENT ON TABLE animus.memory_terms IS
    'BM25 postings of animus.memories, maintained by triggers on it: (memory_id, namespace, term, tf, doc_len, impact). Read through animus.memory_text_candidates.';

-- Folded statistics, written only by animus.memory_bm25_refresh.
CREATE TABLE animus.memory_bm25_namespace_stats (
    namespace  text PRIMARY KEY,
    docs       bigint NOT NULL,
    total_len  bigint NOT NULL
);
CREATE TABLE animus.memory_bm25_term_stats (
    namespace  text NOT NULL,
    term       text NOT NULL,
    df         bigint NOT NULL,
    PRIMARY KEY (namespace, term)
);
-- Pending changes, appended by every write (one row per namespace and statement with term NULL:
-- documents and total length; one row per namespace, term and statement: document frequency).
CREATE TABLE animus.memory_bm25_deltas (
    id         bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME animus.memory_bm25_deltas_id_seq),
    namespace  text NOT NULL,
    term       text,
    df         bigint NOT NULL,
    total_len  bigint NOT NULL DEFAULT 0
);
CREATE INDEX memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (namespace, term);
COMMENT ON TABLE animus.memory_bm25_namespace_stats IS 'BM25 statistics per namespace as of the last refresh: documents and total length (add pending animus.memory_bm25_deltas rows with term NULL).';
COMMENT ON TABLE animus.memory_bm25_term_stats IS 'BM25 document frequency per namespace and term as of the last refresh (add pending animus.memory_bm25_deltas rows).';
COMMENT ON TABLE animus.memory_bm25_deltas IS 'Append-only BM25 statistic changes not yet folded by animus.memory_bm25_refresh: term NULL = (documents, total length) of a namespace, else document frequency of a term.';

-- The BM25 tf-weight. SQL and without SET so that the planner inlines it (a SET clause would stop
-- inlining); it calls nothing but float8 arithmetic, which always resolves in pg_catalog.
CREATE FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision,
                                      k1 double precision, b double precision)
RETURNS double precision
IMMUTABLE PARALLEL SAFE
LANGUAGE sql
AS $$ SELECT tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)) $$;
REVOKE ALL ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision)
    TO animus_memory_reader, animus_admin;
COMMENT ON FUNCTION animus.bm25_tf_weight(double precision, double precision, double precision, double precision, double precision) IS
    'Okapi BM25 term-frequency weight tf*(k1+1) / (tf + k1*(1 - b + b*doc_len/avgdl)); a term''s score is idf times this. Raises nothing.';

-- Number of lexeme occurrences of a tsvector (a stripped vector counts one per lexeme).
CREATE FUNCTION animus.bm25_doc_len(fts tsvector)
RETURNS integer
IMMUTABLE PARALLEL SAFE
SET search_path = ''
LANGUAGE sql
AS $$ SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer FROM pg_catalog.unnest(fts) AS u $$;
REVOKE ALL ON FUNCTION animus.bm25_doc_len(tsvector) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.bm25_doc_len(tsvector) TO animus_memory_reader, animus_admin;
COMMENT ON FUNCTION animus.bm25_doc_len(tsvector) IS
    'BM25 document length of a tsvector: the number of lexeme occurrences (stop words are not in it). Raises nothing.';

CREATE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    folded   bigint;
    last_id  bigint;
    zero_ns  text[];
    zero_terms text[];
BEGIN
    -- One refresher at a time; writers never wait for it (they only append deltas).
    IF wait THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh'));
    ELSIF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh')) THEN
        RETURN NULL;
    END IF;

    WITH moved AS (
        DELETE FROM animus.memory_bm25_deltas RETURNING id, namespace, term, df, total_len
    ), terms AS (
        SELECT m.namespace, m.term, sum(m.df) AS df FROM moved m
        WHERE m.term IS NOT NULL GROUP BY m.namespace, m.term HAVING sum(m.df) <> 0
    ), up_terms AS (
        INSERT INTO animus.memory_bm25_term_stats AS s (namespace, term, df)
        SELECT t.namespace, t.term, t.df FROM terms t
        ON CONFLICT (namespace, term) DO UPDATE SET df = s.df + excluded.df
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
REVOKE ALL ON FUNCTION animus.memory_bm25_refresh(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_refresh(boolean) TO animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_refresh(boolean) IS
    'Folds the pending BM25 statistic deltas into the per-namespace statistics; returns the number of delta rows folded, or NULL when wait => false and another refresh holds the lock. Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';

-- Postings and statistic deltas of memories being added (called by the triggers on animus.memories).
CREATE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_bm25_settings;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        SELECT d.id, d.namespace, d.fts, animus.bm25_doc_len(d.fts) AS doc_len
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
        RETURNING namespace, term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT p.namespace, p.term, count(*), 0 FROM postings p GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len) FROM docs d GROUP BY d.namespace;

    IF s.refresh_after > 0
       AND (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through >= s.refresh_after THEN
        PERFORM animus.memory_bm25_refresh(wait => false);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas. Raises nothing.';

-- Removes the postings of memories and appends negative deltas (vectors = their old fts).
CREATE FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE sql
AS $$
    WITH gone AS (
        DELETE FROM animus.memory_terms t WHERE t.memory_id = ANY (ids) RETURNING t.namespace, t.term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT g.namespace, g.term, -count(*), 0 FROM gone g GROUP BY g.namespace, g.term
    UNION ALL
    SELECT d.namespace, NULL, -count(*), -sum(animus.bm25_doc_len(d.fts))
    FROM unnest(namespaces, vectors) AS d(namespace, fts) GROUP BY d.namespace
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_unindex(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): deletes the BM25 postings of the given memories and appends negative statistic deltas. Raises nothing.';

CREATE FUNCTION animus.memory_bm25_after_insert()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts))
    FROM new_rows n HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION animus.memory_bm25_after_update()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
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

CREATE FUNCTION animus.memory_bm25_after_delete()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM animus.memory_bm25_unindex(pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts))
    FROM old_rows o HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION animus.memory_bm25_after_truncate()
RETURNS trigger
VOLATILE
SECURITY DEFINER
SET search_path = ''
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE animus.memory_terms, animus.memory_bm25_deltas, animus.memory_bm25_term_stats, animus.memory_bm25_namespace_stats;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION animus.memory_bm25_after_insert() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_update() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_delete() FROM PUBLIC;
REVOKE ALL ON FUNCTION animus.memory_bm25_after_truncate() FROM PUBLIC;
COMMENT ON FUNCTION animus.memory_bm25_after_insert() IS 'Trigger (statement level, AFTER INSERT ON animus.memories): BM25 postings and statistics of the new memories. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_update() IS 'Trigger (statement level, AFTER UPDATE ON animus.memories): re-indexes memories whose fts or namespace changed. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_delete() IS 'Trigger (statement level, AFTER DELETE ON animus.memories): removes the postings and statistics of deleted memories. Raises nothing.';
COMMENT ON FUNCTION animus.memory_bm25_after_truncate() IS 'Trigger (AFTER TRUNCATE ON animus.memories): empties the BM25 postings and statistics. Raises nothing.';

-- Existing memories (deploying on a populated database): index them in one statement, with writers
-- held off until the triggers exist.
LOCK TABLE animus.memories IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(m.id), pg_catalog.array_agg(m.namespace), pg_catalog.array_agg(m.fts))
       FROM animus.memories m HAVING count(*) > 0;
    PERFORM animus.memory_bm25_refresh();
END $$;

CREATE TRIGGER memory_bm25_after_insert AFTER INSERT ON animus.memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_insert();
CREATE TRIGGER memory_bm25_after_update AFTER UPDATE ON animus.memories
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_update();
CREATE TRIGGER memory_bm25_after_delete AFTER DELETE ON animus.memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_delete();
CREATE TRIGGER memory_bm25_after_truncate AFTER TRUNCATE ON animus.memories
    FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_truncate();

-- The BM25 top-k (see docs/bm25.md, "Top-k retrieval"). Query terms are taken rarest first
-- within a postings budget: a term whose whole list fits in what is left is read to its end (its
-- contribution is then exact for every memory); the remaining, common (low-idf) terms are cut:
-- only their lim best postings by impact are read, to seed candidates (split between namespaces).
-- Candidates are ranked by the score the postings read give them; the best lim + rescore_extra
-- are completed exactly (their postings of the cut terms, looked up by memory id) and re-ranked.
-- The result is proven exact when the k-th exact score reaches what any other memory could
-- still score (candidates not rescored, and memories in no list read); if not, and the budget
-- may grow (max_postings_budget), the round is repeated with four times the budget.
CREATE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 10,
                                        budget integer DEFAULT NULL)
RETURNS TABLE (id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
STABLE
SET search_path = ''
LANGUAGE plpgsql
AS $$
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
    must_filter := f - 'namespace' <> '{}'::jsonb;
    n_spaces := greatest(coalesce(pg_catalog.cardinality(spaces), 0), 1);

    SELECT sum(x.docs), sum(x.total_len) INTO n_docs, n_len FROM (
        SELECT ns.docs, ns.total_len FROM animus.memory_bm25_namespace_stats ns WHERE ns.namespace = ANY (spaces)
        UNION ALL
        SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term IS NULL
    ) x;
    IF coalesce(n_docs, 0) <= 0 THEN
        RETURN;
    END IF;
    avgdl := CASE WHEN n_len > 0 THEN n_len / n_docs ELSE 1 END;

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term)
      INTO q_terms, q_df
      FROM (SELECT u.lexeme AS term,
                   (SELECT coalesce(sum(x.df), 0) FROM (
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts WHERE ts.namespace = ANY (spaces) AND ts.term = u.lexeme
                        UNION ALL
                        SELECT d.df FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term = u.lexeme) x
                   )::double precision AS df
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);

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
        rescore := CASE WHEN cutting THEN lim + s.rescore_extra ELSE lim END;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.cap FROM unnest(q_terms, q_idf, q_cap) WITH ORDINALITY AS x(term, idf, cap, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            SELECT mt.memory_id, q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE mt.namespace = ANY (spaces) AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.idf * animus.bm25_tf_weight(p.tf, p.doc_len, avgdl, s.k1, s.b) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term
            SELECT l.o, max(q.idf * l.last_impact) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n, min(c.impact) AS last_impact
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            SELECT c.memory_id, c.lb, c.lb_full FROM cand c
             ORDER BY c.lb DESC, c.memory_id
             LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END
        ), top AS MATERIALIZED (
            SELECT c.memory_id, c.lb, c.lb_full FROM ranked c
             WHERE NOT must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             ORDER BY c.lb DESC, c.memory_id
             LIMIT rescore + 1
        ), completed AS (
            -- exact scores of the best `rescore` candidates: add their postings of the cut terms
            -- (index-only probes on (memory_id, term))
            SELECT t.memory_id, t.lb_full + coalesce(x.extra, 0) AS score
              FROM (SELECT * FROM top ORDER BY top.lb DESC, top.memory_id LIMIT rescore) t
              LEFT JOIN LATERAL (
                   SELECT sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b)) AS extra
                     FROM animus.memory_terms mt JOIN q ON q.term = mt.term
                    WHERE mt.memory_id = t.memory_id AND mt.term = ANY (cut_terms)) x ON cutting
        ), best AS (
            SELECT c.memory_id, c.score FROM completed c ORDER BY c.score DESC, c.memory_id LIMIT lim
        )
        SELECT (SELECT pg_catalog.array_agg(b.memory_id ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT pg_catalog.array_agg(b.score ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT count(*) FROM top),
               (SELECT coalesce(sum(bo.ub), 0) FROM bounds bo),
               (SELECT t.lb FROM top t ORDER BY t.lb DESC, t.memory_id LIMIT 1 OFFSET rescore),
               -- filtered: candidates past the checked prefix were not looked at
               (SELECT min(r.lb) FILTER (WHERE must_filter) FROM ranked r HAVING count(*) > 3 * (rescore + 1))
          INTO r_ids, r_scores, r_cands, r_bound, r_next_lb, r_prefix_lb;
        r_next_lb := CASE WHEN r_prefix_lb IS NULL THEN r_next_lb ELSE greatest(r_next_lb, r_prefix_lb) END;
        r_read := (SELECT sum(CASE WHEN c IS NULL THEN d ELSE least(c, d) END)::bigint FROM unnest(q_cap, q_df) AS x(c, d));

        -- Exact when nothing left out can reach the k-th score: a memory in no list scores at most
        -- r_bound; a candidate not rescored at most its partial score (<= r_next_lb) + r_bound.
        proven := r_bound = 0 AND r_next_lb IS NULL
               OR (coalesce(pg_catalog.cardinality(r_ids), 0) >= lim
                   AND r_scores[lim] >= coalesce(r_next_lb, 0) + r_bound);
        EXIT WHEN proven OR b_now >= b_max;
        b_now := least(b_now * 4, b_max);
    END LOOP;

    -- A selective filter can leave fewer than lim of the candidates: then score every memory
    -- that passes the filter and matches a query term (few, since the filter is selective).
    IF must_filter AND coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven THEN
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
$$;

REVOKE ALL ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) IS
    'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): '
    '(id, score, exact, postings_read, budget_used), score descending, ties by id. exact = the result is proven equal to '
    'exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). Read-only (STABLE). Raises nothing.';

-- The keyword branch of search_memory_text and hybrid_search, now BM25 (revert restores ts_rank).
CREATE OR REPLACE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision)
    STABLE
    ROWS 100
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT t.id, t.score FROM animus.memory_bm25_topk(query, filters, lim) AS t;
END
$$;
COMMENT ON FUNCTION animus.memory_text_candidates(text, jsonb, integer) IS
    'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; '
    'filters must be normalised by memory_validate_filters. Ranks with Okapi BM25 over the query''s English lexemes '
    '(animus.memory_bm25_topk, docs/bm25.md). Read-only (STABLE). Raises nothing.';

CREATE FUNCTION animus.memory_bm25_configure(
    k1                   double precision DEFAULT NULL,
    b                    double precision DEFAULT NULL,
    postings_budget      integer DEFAULT NULL,
    max_postings_budget  integer DEFAULT NULL,
    rescore_extra        integer DEFAULT NULL,
    refresh_after        integer DEFAULT NULL)
RETURNS animus.memory_bm25_settings
VOLATILE
SET search_path = ''
LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) TO animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) IS
    'Changes BM25 settings (NULL keeps a value) and returns them. Scores use the new k1/b at once; the impact order of '
    'existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';

CREATE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL)
RETURNS bigint
VOLATILE
SET search_path = ''
LANGUAGE plpgsql
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
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION animus.memory_bm25_reindex(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_bm25_reindex(text) TO animus_admin;
COMMENT ON FUNCTION animus.memory_bm25_reindex(text) IS
    'Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) '
    'with the current k1, b and average length; returns the postings rewritten. Run it after changing k1/b or after a '
    'namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

GRANT SELECT ON animus.memory_terms, animus.memory_bm25_settings, animus.memory_bm25_namespace_stats,
                animus.memory_bm25_term_stats, animus.memory_bm25_deltas TO animus_memory_reader;

-- ==== change memory_admin@v0.6.0 (deploy/memory_admin@v0.6.0.sql) ====
-- Deploy animus:memory_admin to pg
-- requires: memory_store
-- requires: memory_bm25

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA212', 'memory_bulk_load_state', 'The operation does not fit the bulk-load state (the HNSW index is dropped during a bulk load).',
     'Call animus.memory_begin_bulk_load() to start a bulk load and animus.memory_finish_bulk_load() to end it.');

-- Changing the embedding model (and with it, possibly, the dimension) later. Vectors of two
-- models are not comparable, so every memory is re-embedded:
--   1. SELECT animus.memory_begin_reembedding('new-model', 768);   -- clears all embeddings
--   2. for each row of SELECT id, content FROM animus.memories WHERE embedding IS NULL:
--        SELECT animus.update_memory(id, embedding => <new vector>);   (or store_memories)
--   3. SELECT animus.memory_finish_reembedding();                  -- NOT NULL + HNSW again
-- Between 1 and 3, keyword search works as before; vector search sees only the memories already
-- re-embedded (exact scan, no index). Both functions are SECURITY DEFINER because they change
-- the table (ALTER TABLE needs its owner); they are granted to animus_admin only.

CREATE FUNCTION animus.memory_begin_reembedding(embedding_model text DEFAULT NULL, embedding_dim integer DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
            HINT = 'HNSW indexes vectors of at most 2,000 dimensions.';
    END IF;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 're-embedding is already in progress',
            DETAIL = pg_catalog.format('target model %s, %s dimensions', settings.embedding_model, settings.embedding_dim),
            HINT = 'Store the missing embeddings and call animus.memory_finish_reembedding().';
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is in progress (the HNSW index is dropped)',
            HINT = 'Finish it with animus.memory_finish_bulk_load() first.';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';

    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    DROP INDEX animus.memories_embedding_hnsw;
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
COMMENT ON FUNCTION animus.memory_begin_reembedding(text, integer) IS
    'Starts a change of embedding model: records the model and dimension (NULL keeps the dimension), clears every embedding '
    '(re-typing the column to vector(embedding_dim)) and drops the HNSW index; returns how many memories need a new embedding. '
    'Raises ZA001, ZA002 (dimension outside 1..2000), ZA209 (already re-embedding).';
REVOKE ALL ON FUNCTION animus.memory_begin_reembedding(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_begin_reembedding(text, integer) TO animus_admin;

CREATE FUNCTION animus.memory_finish_reembedding()
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
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
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    ALTER TABLE animus.memories ALTER COLUMN embedding SET NOT NULL;
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    UPDATE animus.memory_settings SET state = 'ready', updated_at = pg_catalog.now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_reembedding() IS
    'Ends a change of embedding model once every memory has a new embedding: embedding NOT NULL again, HNSW index rebuilt '
    '(raise maintenance_work_mem first for large tables); returns the number of memories. '
    'Raises ZA209 (no re-embedding in progress), ZA210 (memories still lack an embedding).';
REVOKE ALL ON FUNCTION animus.memory_finish_reembedding() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_finish_reembedding() TO animus_admin;

-- Bulk loads. Inserting into an HNSW index walks the graph for every row (5-10x slower than the
-- rest of the insert), the two GIN indexes and the BM25 postings indexes (memory_bm25) add their own
-- per-row work; building the indexes once after the load is much cheaper. The postings and statistic
-- deltas are still written by the BM25 triggers batch by batch, so the statistics stay exact and
-- keyword search keeps working (sequential scans) during the load. For a load that is large relative to the table:
--   1. SELECT animus.memory_begin_bulk_load();     -- drops the HNSW, the two GIN and the BM25 indexes
--   2. SELECT count(*) FROM animus.store_memories(<batch>);   -- as many batches as needed
--   3. SELECT animus.memory_finish_bulk_load();    -- rebuilds them, HNSW in parallel
-- Run in one transaction, readers of animus.memories wait until COMMIT (DROP INDEX holds an
-- ACCESS EXCLUSIVE lock) and a failure leaves the indexes as they were. Run as separate
-- transactions, readers and writers keep working during the load: vector search falls back to an
-- exact scan, keyword search and metadata filters to sequential scans (slower, same results);
-- during step 3 writers wait (CREATE INDEX holds a SHARE lock), readers do not.
-- SECURITY DEFINER because DROP/CREATE INDEX need the table owner; granted to animus_admin only.
CREATE FUNCTION animus.memory_begin_bulk_load()
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'a bulk load cannot start while re-embedding is in progress',
            HINT = 'Finish re-embedding with animus.memory_finish_reembedding() first (it has no HNSW index to drop).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is already in progress (the HNSW index is dropped)',
            HINT = 'Load with animus.store_memories(), then call animus.memory_finish_bulk_load().';
    END IF;
    DROP INDEX animus.memories_embedding_hnsw;
    DROP INDEX IF EXISTS animus.memories_fts_gin;
    DROP INDEX IF EXISTS animus.memories_metadata_gin;
    -- The BM25 postings (~44 per memory) keep being written by the triggers, so keyword search
    -- stays exact during the load; only their two btree indexes go, and the index of the pending
    -- statistic deltas (folded every batch anyway), all rebuilt once at the finish.
    DROP INDEX IF EXISTS animus.memory_terms_memory_term_idx;
    DROP INDEX IF EXISTS animus.memory_terms_impact_idx;
    DROP INDEX IF EXISTS animus.memory_bm25_deltas_key_idx;
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_begin_bulk_load() IS
    'Starts a bulk load: drops the HNSW index and the fts / metadata GIN indexes of animus.memories and the two btree '
    'indexes of the BM25 postings animus.memory_terms and the index of animus.memory_bm25_deltas (rebuilt by animus.memory_finish_bulk_load()); returns the number of memories. Load with store_memories in between. '
    'Raises ZA209 (re-embedding in progress), ZA212 (a bulk load is already in progress).';
REVOKE ALL ON FUNCTION animus.memory_begin_bulk_load() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_begin_bulk_load() TO animus_admin;

CREATE FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text DEFAULT '1GB', parallel_workers integer DEFAULT 2)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
DECLARE
    vector_schema name;
    old_mem text := pg_catalog.current_setting('maintenance_work_mem');
    old_workers text := pg_catalog.current_setting('max_parallel_maintenance_workers');
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
    -- (~2 kB per 384-d memory); pgvector builds it in parallel since 0.6.
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_finish_bulk_load.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_finish_bulk_load.parallel_workers::text, true);
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'no bulk load is in progress (the HNSW index exists)',
            HINT = 'Start one with animus.memory_begin_bulk_load().';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    CREATE INDEX IF NOT EXISTS memories_fts_gin ON animus.memories USING gin (fts);
    CREATE INDEX IF NOT EXISTS memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
    CREATE INDEX IF NOT EXISTS memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_terms_impact_idx ON animus.memory_terms (namespace, term, impact DESC, memory_id) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (namespace, term);
    PERFORM pg_catalog.set_config('maintenance_work_mem', old_mem, true);
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', old_workers, true);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_bulk_load(text, integer) IS
    'Ends a bulk load: rebuilds the HNSW index (in parallel with parallel_workers workers and maintenance_work_mem, '
    'both set for these builds only), the fts / metadata GIN indexes, the two BM25 postings btree indexes and the BM25 deltas index; returns the number of memories. '
    'Raises ZA001, ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem), ZA212 (no bulk load in progress).';
REVOKE ALL ON FUNCTION animus.memory_finish_bulk_load(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_finish_bulk_load(text, integer) TO animus_admin;

-- ==== change security_memory_rls@v0.4.0 (deploy/security_memory_rls@v0.4.0.sql) ====
-- Deploy animus:security_memory_rls to pg
-- requires: memory_store
-- requires: memory_search

-- Tenant isolation of animus.memories by namespace, with row-level security.
--
-- Who may see which namespace is DATA managed by animus_admin: animus.memory_namespace_grants
-- maps a role (a login role, or a group role its members inherit from) to namespaces, read-only
-- or read-write; the namespace '*' means every namespace. A session may narrow (never widen)
-- what it sees by setting the custom setting animus.namespaces to a comma-separated list:
-- a custom GUC can be set by anyone, so it is only ever intersected with the grants.
--
-- The caller is the session's role (SET ROLE target, else the login role), not current_user:
-- inside a SECURITY DEFINER function current_user is the function's owner, and the tenant of a
-- call must not change with the function it goes through. PostgreSQL checks membership when
-- the role setting is set (SET ROLE, set_config, -c role=), so it cannot be forged.
--
-- The memory read functions are SECURITY INVOKER, so these policies apply to every read. The
-- write functions are SECURITY DEFINER (nobody but the owner writes the table): they check the
-- write scope themselves through animus.memory_write_scope(), which this change points at
-- memory_scope('write'), and the policies check it again unless the owner is a superuser.
-- FORCE makes them apply to a non-superuser table owner too; superusers and BYPASSRLS roles
-- are not confined by PostgreSQL and get the scope '*'.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA320', 'security_unknown_role',    'A namespace grant names a role that does not exist.',
     'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_memory_reader TO ...), then grant it namespaces.'),
    ('ZA321', 'security_invalid_namespace', 'A namespace in a grant is empty, too long or contains a comma.',
     'Use a non-empty namespace of at most 200 characters without commas, or ''*'' for every namespace.');

CREATE TABLE animus.memory_namespace_grants (
    role_name   name NOT NULL,
    namespace   text NOT NULL CHECK (namespace <> '' AND pg_catalog.length(namespace) <= 200 AND pg_catalog.strpos(namespace, ',') = 0),
    can_write   boolean NOT NULL DEFAULT false,
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  name NOT NULL DEFAULT session_user,
    PRIMARY KEY (role_name, namespace)
);
COMMENT ON TABLE animus.memory_namespace_grants IS
    'Which role may read (and with can_write, write) the memories of which namespace; ''*'' = every namespace. '
    'Managed with animus.grant_memory_namespace / animus.revoke_memory_namespace (animus_admin). Nobody but the owner writes it directly.';
-- animus_admin sees every namespace (it manages them); revoke this row to confine admins too.
INSERT INTO animus.memory_namespace_grants (role_name, namespace, can_write, granted_by)
VALUES ('animus_admin', '*', true, 'animus');

-- The role a call is made for: the SET ROLE target, else the login role. Never current_user.
CREATE FUNCTION animus.memory_caller()
    RETURNS name
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;
COMMENT ON FUNCTION animus.memory_caller() IS
    'The role whose namespace grants apply to this session: the SET ROLE target, else the login role (session_user). '
    'Independent of SECURITY DEFINER frames. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_caller() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_caller() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The namespaces the caller may read ('read') or write ('write'), narrowed by animus.namespaces.
-- SECURITY DEFINER so that the grants table (which names every tenant) stays unreadable.
-- 'USAGE', as for table privileges: a grant to a role counts for members that inherit from it
-- (a NOINHERIT member gets it after SET ROLE to that role).
CREATE FUNCTION animus.memory_scope(access text DEFAULT 'read')
    RETURNS text[]
    STABLE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
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
        SELECT coalesce(pg_catalog.array_agg(DISTINCT g.namespace), '{}') INTO granted
          FROM animus.memory_namespace_grants AS g
          JOIN pg_catalog.pg_roles AS r ON r.rolname = g.role_name
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
COMMENT ON FUNCTION animus.memory_scope(text) IS
    'The namespaces of animus.memories the caller may read (access => ''read'') or write (''write''): the namespaces granted in '
    'animus.memory_namespace_grants to the caller or a role it is a member of, intersected with the session setting '
    'animus.namespaces (comma-separated) when that is set; ''{*}'' means every namespace (superusers, BYPASSRLS roles, '
    'grants of ''*''). The row-level security policies of animus.memories call it. Raises ZA004 (access).';
REVOKE ALL ON FUNCTION animus.memory_scope(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_scope(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL, can_write boolean DEFAULT false)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    IF role_name IS NULL OR role_name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name must be a role name',
            HINT = 'Pass the login or group role that may see the namespace.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = grant_memory_namespace.role_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA320', MESSAGE = 'role_name names no role',
            DETAIL = pg_catalog.format('role_name = %L', pg_catalog.left(role_name, 80)),
            HINT = 'Create the role first, then grant it namespaces.';
    END IF;
    IF namespace IS NULL OR namespace = '' OR pg_catalog.length(namespace) > 200 OR pg_catalog.strpos(namespace, ',') > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA321', MESSAGE = 'namespace must be non-empty, at most 200 characters, without commas',
            DETAIL = pg_catalog.format('namespace = %L', pg_catalog.left(namespace, 80)),
            HINT = 'Pass the namespace the role may see, or ''*'' for every namespace.';
    END IF;
    INSERT INTO animus.memory_namespace_grants AS g (role_name, namespace, can_write)
    VALUES (grant_memory_namespace.role_name, grant_memory_namespace.namespace, coalesce(grant_memory_namespace.can_write, false))
    ON CONFLICT ON CONSTRAINT memory_namespace_grants_pkey DO UPDATE
       SET can_write = EXCLUDED.can_write, granted_at = pg_catalog.now(), granted_by = session_user;
END
$$;
COMMENT ON FUNCTION animus.grant_memory_namespace(text, text, boolean) IS
    'Lets role_name (and its members) read the memories of namespace (''*'' = every namespace), and change them if can_write. '
    'Granting again replaces can_write. animus_admin only. Raises ZA001 (role_name), ZA320 (no such role), ZA321 (namespace).';
REVOKE ALL ON FUNCTION animus.grant_memory_namespace(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.grant_memory_namespace(text, text, boolean) TO animus_admin;

CREATE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = ''
    LANGUAGE plpgsql
AS $$
BEGIN
    IF role_name IS NULL OR namespace IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'role_name and namespace must not be NULL',
            HINT = 'Pass the role and the namespace of a grant (see animus.memory_namespace_grants).';
    END IF;
    DELETE FROM animus.memory_namespace_grants AS g
     WHERE g.role_name = revoke_memory_namespace.role_name AND g.namespace = revoke_memory_namespace.namespace;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION animus.revoke_memory_namespace(text, text) IS
    'Removes the grant of namespace to role_name; true if there was one. animus_admin only. Raises ZA001.';
REVOKE ALL ON FUNCTION animus.revoke_memory_namespace(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.revoke_memory_namespace(text, text) TO animus_admin;

-- The memory write functions (SECURITY DEFINER, memory_store) confine the caller to this scope.
CREATE OR REPLACE FUNCTION animus.memory_write_scope()
    RETURNS text[]
    STABLE
    SET search_path = ''
    LANGUAGE sql
AS $$
    SELECT animus.memory_scope('write');
$$;
COMMENT ON FUNCTION animus.memory_write_scope() IS
    'The namespaces the memory write functions may change for the caller: animus.memory_scope(''write'') '
    '(the session''s role, never current_user; ''{*}'' = every namespace). Raises nothing.';

-- The policies. (SELECT ...) makes each scope an InitPlan: computed once per statement, and the
-- namespace btree index can serve "namespace = ANY (scope)".
ALTER TABLE animus.memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memories FORCE ROW LEVEL SECURITY;

CREATE POLICY memories_read ON animus.memories FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memories_insert ON animus.memories FOR INSERT
    WITH CHECK (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
                OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));
CREATE POLICY memories_update ON animus.memories FOR UPDATE
    USING (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]))
    WITH CHECK (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
                OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));
CREATE POLICY memories_delete ON animus.memories FOR DELETE
    USING (namespace = ANY ((SELECT animus.memory_scope('write'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('write'))::text[]));

-- ==== change security_bm25_rls (deploy/security_bm25_rls.sql) ====
-- Deploy animus:security_bm25_rls to pg
-- requires: memory_bm25
-- requires: security_memory_rls

-- The BM25 postings and statistics are derived from memories and name their namespace: the terms
-- of a memory are its content as a bag of words, and the statistics are counts per tenant. Readers
-- SELECT them (memory_bm25_topk is SECURITY INVOKER), so they get the memories' read policy:
-- a reader sees (and BM25 ranks with) the postings and statistics of its own namespaces only,
-- so idf and average length are computed over what it may see and never over another tenant.
-- Not FORCEd: the owner's SECURITY DEFINER triggers and refresh maintain every namespace.
ALTER TABLE animus.memory_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_namespace_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_term_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE animus.memory_bm25_deltas ENABLE ROW LEVEL SECURITY;

CREATE POLICY memory_terms_read ON animus.memory_terms FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_namespace_stats_read ON animus.memory_bm25_namespace_stats FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_term_stats_read ON animus.memory_bm25_term_stats FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));
CREATE POLICY memory_bm25_deltas_read ON animus.memory_bm25_deltas FOR SELECT
    USING (namespace = ANY ((SELECT animus.memory_scope('read'))::text[])
           OR '*' = ANY ((SELECT animus.memory_scope('read'))::text[]));

-- memory_bm25_refresh folds the pending statistics of EVERY namespace and returns how many rows
-- it folded: a count over other tenants' writes. The write triggers call it as the owner when
-- needed; a manual refresh is an administrator's job.
REVOKE EXECUTE ON FUNCTION animus.memory_bm25_refresh(boolean) FROM animus_memory_writer;

-- ==== change security_search_path (deploy/security_search_path.sql) ====
-- Deploy animus:security_search_path to pg
-- requires: security_bm25_rls
-- requires: work_release
-- requires: memory_admin

-- An empty search_path on a function does not keep the caller's temporary schema out: PostgreSQL
-- then searches pg_temp FIRST for tables and types (never for functions or operators). Any role
-- may create temporary objects, so a caller could shadow a type (CREATE DOMAIN pg_temp.text ...
-- CHECK (pg_temp.evil(VALUE))) and have a SECURITY DEFINER function, or an invoker function called
-- inside one, run its code as the owner. Naming pg_temp explicitly and LAST closes that:
-- pg_catalog (and pgvector's schema, where a function names it) is searched first.
-- Every later animus function carries the same setting in its own definition; the catalog test
-- (tests/pgtap/foundation.sql) and verify/security_search_path.sql enforce it.
DO $$
DECLARE
    f       pg_catalog.regprocedure;
    current text;
BEGIN
    FOR f, current IN
        SELECT p.oid::pg_catalog.regprocedure, pg_catalog.substr(c, 13)
          FROM pg_catalog.pg_proc AS p, pg_catalog.unnest(p.proconfig) AS c
         WHERE p.pronamespace = 'animus'::pg_catalog.regnamespace AND c LIKE 'search_path=%'
    LOOP
        IF current = '""' THEN
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
        ELSIF current NOT LIKE '%, pg\_temp' THEN
            -- 'pg_catalog, <schema of pgvector>' on the functions that use pgvector's types
            EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = %s, pg_temp', f, current);
        END IF;
    END LOOP;
END $$;

-- ==== change work_queue_grants (deploy/work_queue_grants.sql) ====
-- Deploy animus:work_queue_grants to pg
-- requires: security_search_path

-- Per-queue authorisation. EXECUTE on the work functions says WHAT a role may do (animus_producer
-- submits and reads status, animus_worker claims and settles); animus.queue_grants says on WHICH
-- queues. A grant of queue '*' covers every queue, present and future.
--
-- Grants are keyed by role OID, not name: a grant survives DROP ROLE only as a row naming a role
-- that no longer exists, and a role created later with the same name gets a new OID and inherits
-- nothing.
--
-- The caller is the session's role (the SET ROLE target, else the login role), never current_user
-- (inside a SECURITY DEFINER function that is the owner); PostgreSQL checks membership when the
-- role setting is set, so it cannot be forged. A grant to a group role counts for the members that
-- inherit its privileges ('USAGE', as for table privileges). Superusers may use every queue.
--
-- Upgrade default: so that existing deployments keep working after `sqitch deploy`, the group
-- roles animus_producer, animus_worker and animus_admin get '*'. To confine tenants, an admin
-- grants each tenant's login (or tenant group) role its queues and revokes '*' from
-- animus_producer and animus_worker (docs/work-queue.md, "Authorisation").

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA109', 'queue_not_granted',        'The calling role has no grant on the work queue (animus.queue_grants) for a submit or a claim.',
     'Ask an admin for animus.grant_queue(role_name => ..., queue => ...), or use a queue granted to your role.'),
    ('ZA340', 'queue_grant_unknown_role', 'A queue grant names a role that does not exist.',
     'Create the role first (CREATE ROLE ... LOGIN; GRANT animus_worker TO ...), then grant it queues.'),
    ('ZA341', 'queue_grant_invalid_queue', 'A queue grant names neither an existing queue nor ''*''.',
     'Pass an existing queue (see animus.queues) or ''*'' for every queue.');

CREATE TABLE animus.queue_grants (
    role_oid    oid NOT NULL,
    queue_name  text NOT NULL CHECK (queue_name = '*' OR queue_name ~ '^[a-z][a-z0-9_]{0,39}$'),
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  name NOT NULL DEFAULT session_user,
    PRIMARY KEY (role_oid, queue_name)
);
COMMENT ON TABLE animus.queue_grants IS
    'Which role (by OID: a dropped and re-created role of the same name inherits nothing) may use which work queue; '
    '''*'' = every queue. What it may do there is what its animus role allows (producer: submit, read status, cancel; '
    'worker: claim and settle). Managed with animus.grant_queue / animus.revoke_queue (animus_admin); readable by animus_admin.';
COMMENT ON COLUMN animus.queue_grants.role_oid IS 'pg_roles.oid of the grantee (role_oid::regrole shows its name; a number when the role was dropped).';
COMMENT ON COLUMN animus.queue_grants.queue_name IS 'a queue of animus.queues, or ''*'' for every queue (grants of a dropped queue are removed with it).';
GRANT SELECT ON animus.queue_grants TO animus_admin;

INSERT INTO animus.queue_grants (role_oid, queue_name, granted_by)
SELECT r.oid, '*', 'animus' FROM pg_catalog.pg_roles r
 WHERE r.rolname IN ('animus_producer', 'animus_worker', 'animus_admin');

-- The helpers below run in every submit, claim and settle. Like the generated queue functions
-- they have no SET search_path (a SET clause costs a configuration save and restore per call:
-- measured 10 us per check with it, 6.5 us without): every name in them is schema-qualified, no
-- role may execute them, and their only callers are SECURITY DEFINER functions that pin
-- search_path = pg_catalog, pg_temp.

-- The role a queue call is made for: the SET ROLE target, else the login role. Never current_user.
CREATE FUNCTION animus.work_caller()
    RETURNS name
    STABLE
    LANGUAGE sql
AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::name;
$$;
REVOKE ALL ON FUNCTION animus.work_caller() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_caller() IS
    'Internal: the role whose queue grants apply to this session: the SET ROLE target, else the login role (session_user); '
    'independent of SECURITY DEFINER frames. Raises nothing.';

-- The queues the caller may use: '{*}' for every queue. Called once per work function call (the
-- settle functions check the queues of the rows they touched against it).
CREATE FUNCTION animus.work_queue_scope()
    RETURNS text[]
    STABLE
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_queue_scope() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_queue_scope() IS
    'Internal: the queues the caller (animus.work_caller()) may use: those granted in animus.queue_grants to it or to a role '
    'whose privileges it inherits; ''{*}'' means every queue (a ''*'' grant, or a superuser). Raises nothing.';

-- One queue: the common check of submit and claim.
CREATE FUNCTION animus.work_queue_allowed(queue text)
    RETURNS boolean
    STABLE
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_queue_allowed(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_queue_allowed(text) IS
    'Internal: true when the caller (animus.work_caller()) may use queue (a grant of it or of ''*'' to the caller or a role '
    'whose privileges it inherits, or a superuser). Raises nothing.';

-- Raised by submit and claim for a queue the caller has no grant on (whether or not it exists:
-- a confined role does not learn which queues exist).
CREATE FUNCTION animus.work_raise_not_granted(queue text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA109',
        MESSAGE = pg_catalog.format('argument queue: role %s has no grant on queue %L', animus.work_caller(), pg_catalog.left(queue, 100)),
        DETAIL = pg_catalog.format('queue = %L', pg_catalog.left(queue, 100)),
        HINT = 'Ask an admin for animus.grant_queue(role_name => ..., queue => ...), or use a queue granted to your role.';
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_not_granted(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_not_granted(text) IS 'Internal: raises ZA109 (no grant on queue) naming the caller and the queue.';

CREATE FUNCTION animus.grant_queue(role_name text DEFAULT NULL, queue text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.grant_queue(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.grant_queue(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.grant_queue(text, text) IS
    'Lets role_name (and the members that inherit its privileges) use work queue `queue` (''*'' = every queue) with the animus '
    'functions its roles may execute: a producer submits there and sees and cancels its items, a worker claims and settles them. '
    'The grant is recorded by role OID: a role dropped and created again under the same name has no grant (grants of dropped '
    'roles are deleted here). Returns true when the grant is new, false when it existed. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such '
    'role), ZA341 (no such queue).';

CREATE FUNCTION animus.revoke_queue(role_name text DEFAULT NULL, queue text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.revoke_queue(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.revoke_queue(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.revoke_queue(text, text) IS
    'Removes the grant of queue (or ''*'') to role_name; true if there was one. Grants to a group role it is a member of are '
    'not affected. animus_admin only. Raises ZA001 (role_name or queue NULL/empty), ZA340 (no such role).';

-- ==== change work_limits (deploy/work_limits.sql) ====
-- Deploy animus:work_limits to pg
-- requires: work_queue_grants

-- What one call may carry is bounded (docs/work-queue.md, "Limits"): a batch of submissions, the
-- ids of a many-id settle, the work types of a claim filter; read_work and get_work return the
-- first 100 requesters of an item and their total, work_submissions pages through all of them.
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA110', 'list_too_long',      'A list argument (batch items, work ids, work types) has more elements than its documented limit.',
     'Split the call into several, each within the limit named in the message.'),
    ('ZA111', 'unknown_batch_key',  'An element of submit_work_batch''s items has a key submit_work_batch does not know (e.g. a misspelt dedup_key).',
     'Use only the keys listed in the HINT of the error; fix the spelling of the one named in the message.'),
    ('ZA112', 'not_an_integer',     'A JSON number that must be an integer (priority, max_attempts) has a fraction.',
     'Pass a whole number; nothing is rounded.');

-- The first requesters of an item in submission order come from this index without sorting every
-- merged row (a hot key can have millions); it replaces the (merged_into) index it extends.
CREATE INDEX work_items_merged_into_order ON animus.work_items (merged_into, created_at, id) WHERE merged_into IS NOT NULL;
DROP INDEX animus.work_items_merged_into;

-- ==== change work_queues@v0.5.0 (deploy/work_queues@v0.5.0.sql) ====
-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.4.0
-- requires: work_queue_grants

-- The claim gained a work-type filter: the generated function gets a fourth argument.
DROP FUNCTION animus.work_queue_claim(text, integer, timestamptz);

-- Queue-specific SQL without dynamic SQL on the hot path. pgmq addresses each queue's table by name,
-- so pgmq.send/read/archive build and plan their statement with EXECUTE on every call (~20-50 us).
-- animus instead (re)generates five small functions whenever a queue is created or dropped, with one
-- static branch per queue: PL/pgSQL caches the plan of each branch. Their statements are the ones
-- pgmq uses (same columns, defaults and locking); an unknown queue falls back to dynamic SQL.
-- The generated functions have no SET search_path: a SET clause costs a configuration save and
-- restore in every call (they run on every submit, claim and settle). Every name in them is
-- schema-qualified, no role may execute them, and their only callers are SECURITY DEFINER functions
-- that pin search_path = pg_catalog, pg_temp.
-- The claim takes an optional work-type filter (read_work's work_types): each band is generated
-- twice, without the filter (p_types NULL: the statements pgmq uses) and with it, matched on the
-- message body's work_type while the scan walks the band's index, so a worker skips the items it
-- has no handler for and they stay queued for a worker that has one.
CREATE OR REPLACE FUNCTION animus.work_generate_queue_functions()
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $gen$
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
        WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context)
            VALUES (p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority,
                    'queued', p_parent_id, p_max_attempts, pg_catalog.nextval(%3$L::regclass), p_run_at, p_trace_context)
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
    END IF;$f$, q, 'q_' || q, 'pgmq.q_' || q || '_msg_id_seq');
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
    p_priority integer, p_parent_id uuid, p_max_attempts integer, p_run_at timestamptz, p_trace_context jsonb, p_headers jsonb)
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
    EXECUTE pg_catalog.format('WITH w AS (
            INSERT INTO animus.work_items (id, queue_name, work_type, dedup_key, source, trigger_info, params, priority,
                                           state, parent_id, max_attempts, msg_id, run_at, trace_context)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ''queued'', $9, $10, pg_catalog.nextval(%%L::regclass), $11, $12)
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN (''queued'', ''running'') AND waits_for IS NULL AND dedup_key IS NOT NULL
            DO NOTHING
            RETURNING msg_id)
        INSERT INTO pgmq.%%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE
        SELECT w.msg_id, $11, pg_catalog.jsonb_build_object(''work_id'', $1, ''work_type'', $3), $13 FROM w
        RETURNING msg_id', 'pgmq.q_' || queue || '_msg_id_seq', 'q_' || queue)
       INTO id USING p_id, queue, p_work_type, p_dedup_key, p_source, p_trigger_info, p_params, p_priority, p_parent_id,
                     p_max_attempts, p_run_at, p_trace_context, p_headers;
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
    REVOKE ALL ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_claim(text, integer, timestamptz, text[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_archive(text, bigint[]) FROM PUBLIC;
    REVOKE ALL ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) FROM PUBLIC;
    COMMENT ON FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): inserts messages (ids preallocated) into pgmq.q_<queue>, like pgmq.send_batch. Internal.';
    COMMENT ON FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb) IS
        'Generated by animus.work_generate_queue_functions (do not edit): in one statement, inserts a queued work item (ON CONFLICT on the dedup index: nothing when the key is held) and its message into pgmq.q_<queue> (body {"work_id","work_type"}, the id taken from the queue''s sequence, like pgmq.send), then sends the throttled wake-up if one is due; returns the message id, or NULL when the key is held. Raises ZA101 (unknown queue). Internal.';
    COMMENT ON FUNCTION animus.work_queue_claim(text, integer, timestamptz, text[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): claims up to p_qty visible messages of pgmq.q_<queue> in (animus_priority desc, vt) order until p_until, like pgmq.read; with p_types only messages whose body work_type is one of them. Internal.';
    COMMENT ON FUNCTION animus.work_queue_archive(text, bigint[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): moves messages of pgmq.q_<queue> to pgmq.a_<queue>, like pgmq.archive. Internal.';
    COMMENT ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';
END;
$gen$;
REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_generate_queue_functions() IS
'Internal: regenerates animus.work_queue_send / _create_item / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue and drop_queue). Raises nothing of its own.';
DO $$ BEGIN PERFORM animus.work_generate_queue_functions(); END $$;

-- One error per bad setting, naming it (create_queue and configure_queue share it). NULL is
-- checked by create_queue only (configure_queue's NULL keeps a setting).
CREATE FUNCTION animus.work_check_queue_settings(
    backoff_base interval, backoff_factor double precision, backoff_cap interval, backoff_jitter double precision,
    notify_throttle interval
)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_queue_settings(interval, double precision, interval, double precision, interval) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_queue_settings(interval, double precision, interval, double precision, interval) IS
'Internal: raises ZA002 naming the first queue setting out of range (NULL settings pass); returns when all are good.';

-- Queue creation and removal regenerate the queue functions, so they are serialised: each locks
-- the one row of animus.queue_admin_lock (FOR UPDATE). Locking a row needs UPDATE on its table,
-- which no role but the owner has, so no other login can hold it (the advisory key used before
-- could be held by any login, blocking queue administration). A row lock, not a table lock: it
-- conflicts with nothing but another create_queue / drop_queue, so VACUUM of animus.queues and
-- every read and write of it go on (a SHARE UPDATE EXCLUSIVE table lock would stop VACUUM).
CREATE TABLE animus.queue_admin_lock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO animus.queue_admin_lock DEFAULT VALUES;
COMMENT ON TABLE animus.queue_admin_lock IS
    'One row, locked FOR UPDATE by create_queue and drop_queue to serialise the regeneration of the per-queue functions; only the owner can lock it.';
COMMENT ON COLUMN animus.queue_admin_lock.singleton IS 'Always true: the table has one row.';

CREATE OR REPLACE FUNCTION animus.create_queue(
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
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
    INSERT INTO animus.queues (queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle)
    VALUES (queue, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle);
    PERFORM animus.work_generate_queue_functions();
    RETURN true;
END;
$$;
COMMENT ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean) IS
'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). Returns true when created, false when it existed and if_not_exists. Who may use the queue: animus.grant_queue (the group roles hold ''*'' until an admin revokes it). Raises ZA001 (queue or a setting NULL/empty, each named), ZA107 (invalid name), ZA002 (a setting out of range, named: backoff_base, backoff_cap, notify_throttle >= 0; backoff_factor >= 1; 0 <= backoff_jitter < 1), ZA106 (exists).';

CREATE OR REPLACE FUNCTION animus.configure_queue(
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
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    result animus.queues;
BEGIN
    IF queue IS NULL OR queue = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL or empty',
            HINT = 'Pass the queue to change, e.g. queue => ''work''.';
    END IF;
    PERFORM animus.work_check_queue_settings(backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify_throttle);
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
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval) IS
'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting) and returns its row. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue), ZA002 (a setting out of range, named).';

CREATE OR REPLACE FUNCTION animus.drop_queue(queue text)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
    PERFORM pgmq.drop_queue(queue);
    PERFORM animus.work_generate_queue_functions();
    RETURN n;
END;
$$;
COMMENT ON FUNCTION animus.drop_queue(text) IS
'Drops a work queue: its work items (all states), its grants, its pgmq queue and archive. Returns the number of work items deleted. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue).';

-- ==== change work_submit@v0.5.0 (deploy/work_submit@v0.5.0.sql) ====
-- Deploy animus:work_submit to pg
-- requires: work_submit@v0.4.0
-- requires: work_queues
-- requires: work_limits

-- submit_work and submit_work_batch, and the argument check they share; work_message_headers,
-- work_send_messages and the type work_submission are unchanged since v0.4.0
-- (deploy/work_submit@v0.4.0.sql).

-- Work types and sources must say something: NULL, empty and only white space (ASCII white space,
-- no-break spaces, the Unicode spaces and separators, the zero-width no-break space) are refused.
-- A plain SQL function without SET: the planner inlines it into the statements that call it.
CREATE FUNCTION animus.work_is_blank(t text)
    RETURNS boolean
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
AS $$
    SELECT pg_catalog.btrim(t, E' \t\n\r\f\x0b\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff') = '';
$$;
REVOKE ALL ON FUNCTION animus.work_is_blank(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_is_blank(text) IS
'Internal: true when t is empty or only white space (ASCII, U+0085, U+00A0, U+1680, U+2000-U+200B, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF); NULL for NULL. Raises nothing.';

-- Raises the error for the first bad argument of submit_work (called only when one is bad, so the
-- common path evaluates a single combined check).
CREATE OR REPLACE FUNCTION animus.work_check_submit_args(
    work_type text, source text, params jsonb, dedup_key text, priority integer, max_attempts integer,
    delay interval, on_duplicate text, trace_context jsonb
)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb) IS
'Internal: raises ZA001 / ZA002 / ZA003 / ZA004 for the first bad argument of submit_work (work_type and source: NULL, empty or only white space is ZA001); returns when all are good.';

-- PL/pgSQL prepares each expression once per transaction, so the common path of this function
-- evaluates as few expressions and statements as it can (one combined argument check, one dedup
-- probe, one statement writing the row and its message).
CREATE OR REPLACE FUNCTION animus.submit_work(
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
    trace_context  jsonb DEFAULT NULL
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
       OR submit_work.on_duplicate IS NULL OR submit_work.on_duplicate NOT IN ('merge', 'replace') THEN
        PERFORM animus.work_check_submit_args(submit_work.work_type, submit_work.source, coalesce(submit_work.params, '{}'), submit_work.dedup_key,
            submit_work.priority, submit_work.max_attempts, submit_work.delay, submit_work.on_duplicate, submit_work.trace_context);
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
                    'UPDATE pgmq.%I SET vt = $2, headers = NULLIF(CASE WHEN $3 = 0 THEN coalesce(headers, ''{}'') - ''animus_priority''
                       ELSE coalesce(headers, ''{}'') || pg_catalog.jsonb_build_object(''animus_priority'', $3) END, ''{}'')
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
                 WHEN submit_work.priority <> 0 THEN pg_catalog.jsonb_build_object('animus_priority', submit_work.priority) END);
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
REVOKE ALL ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb) IS
'Submits one work item to queue `queue` and returns (work_id, status, canonical_id, msg_id). status: created (a new item and pgmq message), merged (an active item with the same queue + work_type + dedup_key exists: this submission is recorded as a merged row pointing at it, with its own source/trigger_info/params/trace_context), replaced (on_duplicate => ''replace'': the queued item got this submission''s params, priority and run time; if the item is running, a follow-up item is created that runs after it ends: one running plus one queued). Race-free under concurrency. delay or run_at makes the item invisible until due. trace_context {"traceparent","tracestate"} is stored and carried in the message headers. Only to a queue the caller has a grant on (animus.grant_queue). Raises ZA001 (queue NULL; work_type/source NULL, empty or only white space; dedup_key empty), ZA003 (params or trace_context not an object), ZA002 (negative delay, max_attempts not 1..1000, priority not -1000..1000, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use).';

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
                               'max_attempts', 'delay', 'trace_context'] AS keys) AS known
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
            HINT = pg_catalog.format('Fix item %s (%s). ', bad.n, bad.problem) || 'Each element: {"work_type": text, "source": text, "params": object, "dedup_key": text, "trigger_info": text, "priority": int, "parent_id": uuid, "max_attempts": int, "delay": seconds, "trace_context": object}.';
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
                animus.work_new_id(),                                               -- id
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
                pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), NULL, NULL, NULL, -- created/updated/started/heartbeat/resolved
                0                                                                   -- released
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
'Submits many work items in one call: items is a JSON array of {"work_type","source","params","dedup_key","trigger_info","priority","parent_id","max_attempts","delay" (seconds),"trace_context"}. Returns one row per element, in input order (ord from 1): work_id, status (created | merged | replaced), canonical_id, msg_id. Deduplicates against active items and within the batch (the first element with a key is the canonical one). trace_context is the default for elements without one. At most 10000 elements; only to a queue the caller has a grant on. Raises ZA001 (queue NULL; work_type/source missing, empty or only white space), ZA003 (items not an array, an element or its params/trace_context not an object), ZA110 (more than 10000 elements), ZA111 (an element has an unknown key, e.g. dedupe_key), ZA112 (max_attempts or priority not an integer), ZA002 (delay, max_attempts or priority out of range, work_type over 255 or dedup_key over 2000 bytes), ZA004 (unknown on_duplicate), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA102 (unknown parent_id, or one in a queue the caller may not use); the message and HINT name the element (from 1) and the key; nothing is written when it raises.';

-- ==== change work_lifecycle@v0.5.0 (deploy/work_lifecycle@v0.5.0.sql) ====
-- Deploy animus:work_lifecycle to pg
-- requires: work_lifecycle@v0.4.0
-- requires: work_submit

-- Per-queue authorisation: read_work claims only on a queue the caller has a grant on (ZA109);
-- the settle functions act on items of such queues only: an item of another queue is unknown to
-- the caller (ZA102, as for an id that does not exist). The check runs after the UPDATE that
-- settles (one look-up of the grants per call; the raise undoes the UPDATE), so the tuned
-- statements keep their plans.

-- The error for an item the caller may not see, or that does not exist: the same for both.
CREATE FUNCTION animus.work_raise_unknown(work_id uuid, argument text, operation text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'ZA102', MESSAGE = pg_catalog.format('argument %s: no such work item (%s)', argument, operation),
        DETAIL = pg_catalog.format('work_id = %s', work_id),
        HINT = 'Pass the id returned by read_work or submit_work (of a queue your role has a grant on).';
END;
$$;
REVOKE ALL ON FUNCTION animus.work_raise_unknown(uuid, text, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_unknown(uuid, text, text) IS
'Internal: raises ZA102 naming the argument (work_id or work_ids) and the operation, for an item that does not exist or is in a queue the caller may not use.';

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
REVOKE ALL ON FUNCTION animus.work_raise_not_running(uuid, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_not_running(uuid, text, integer) IS
'Internal: raises ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running) or ZA104 (already ended or merged) for a worker operation that found no running item.';

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
REVOKE ALL ON FUNCTION animus.work_raise_unsettled(uuid[], integer[], uuid[], text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_raise_unsettled(uuid[], integer[], uuid[], text) IS
'Internal: for the ids of a many-id complete_work / fail_work that were not settled, raises ZA102 (unknown work item, or one in a queue the caller may not use) or ZA108 (stale claim); returns when neither applies.';

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

-- read_work gained work_types (claim only the types a worker handles) and requesters_total (the
-- requesters are capped): a new signature and result, so the v0.4.0 function is dropped.
DROP FUNCTION animus.read_work(text, interval, integer);
CREATE FUNCTION animus.read_work(
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
'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout, an interval: vt => ''30 seconds'' or vt => 30 * interval ''1 second''; an integer vt matches no function, 42883): higher priority first, then earliest due. work_types (at most 100; NULL = every type) claims only items of those types: the others stay queued for a worker that handles them and count in queue_stats. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Returns the items with their trace_context, requesters (the canonical submission and the first 99 merged ones, oldest first: work_id, source, trigger_info, trace_context, submitted_at) and requesters_total (all of them; animus.get_work_submissions pages through every one). May return fewer than qty. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL, work_types empty or with a NULL), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000), ZA110 (more than 100 work_types).';

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
            RETURNING w.id, w.queue_name, w.msg_id
        )
        SELECT u.queue_name, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids FROM u GROUP BY u.queue_name
    LOOP
        -- Items of a queue the caller may not use are unknown to it (the raise undoes the UPDATE).
        IF NOT (r.queue_name = ANY (scope) OR '*' = ANY (scope)) THEN
            PERFORM animus.work_raise_unknown(r.ids[1], 'work_ids', 'complete_work');
        END IF;
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
'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and archives their messages in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item. Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on (others are unknown to it). Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

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
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(work_id, 'work_id', 'complete_work');   -- undoes the UPDATE
    END IF;
    PERFORM animus.work_queue_archive(v_queue, ARRAY[v_msg]);
    PERFORM animus.work_release_followups(ARRAY[work_id]);
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.complete_work(uuid, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid, jsonb, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid, jsonb, integer) IS
'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message archived; its merged duplicates resolve with it (get_work shows their canonical state), and a replace-mode follow-up waiting for it becomes visible. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';

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
            RETURNING w.id, w.state, w.queue_name, w.msg_id, w.run_at
        )
        SELECT u.queue_name, u.state, pg_catalog.array_agg(u.id) AS ids, pg_catalog.array_agg(u.msg_id) AS msg_ids,
               pg_catalog.array_agg(u.run_at) AS run_ats
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
'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message archived). Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA110 (more than 10000 ids), ZA002 (attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

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
REVOKE ALL ON FUNCTION animus.fail_work(uuid, text, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.fail_work(uuid, text, boolean, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.fail_work(uuid, text, boolean, integer) IS
'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message archived). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

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
REVOKE ALL ON FUNCTION animus.heartbeat_work(uuid, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.heartbeat_work(uuid, interval, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.heartbeat_work(uuid, interval, integer) IS
'Extends the visibility timeout of a running item to now + extend and records heartbeat_at. Returns (state, cancelled, visible_until): cancelled = true (and nothing extended) when the item was cancelled meanwhile, so the worker can stop. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (extend not positive), ZA102 (unknown item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued: the claim timed out), ZA104 (already ended or merged).';

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
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.cancel_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.cancel_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.cancel_work(uuid) IS
'Cancels a queued or running work item: state cancelled, message archived (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. Returns true, or false if it was already cancelled. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA104 (completed, dead or a merged submission).';

-- thin pgmq wrappers --------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION animus.archive_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.archive_work(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.archive_work(text, bigint) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.archive_work(text, bigint) IS
'Thin wrapper of pgmq.archive(queue, msg_id): moves a raw message to the archive; true if it existed. Does not change any work item (use complete_work / cancel_work for that). Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

CREATE OR REPLACE FUNCTION animus.delete_work(queue text, msg_id bigint)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.delete_work(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_work(text, bigint) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.delete_work(text, bigint) IS
'Thin wrapper of pgmq.delete(queue, msg_id): deletes a raw message; true if it existed. Does not change any work item. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- ==== change work_status@v0.5.0 (deploy/work_status@v0.5.0.sql) ====
-- Deploy animus:work_status to pg
-- requires: work_status@v0.4.0
-- requires: work_lifecycle

-- Status reads are scoped to the queues the caller has a grant on: an item of another queue is
-- unknown to it (ZA102), queue_stats lists only granted queues. What one item returns is capped:
-- the first 100 requesters and merged submissions, with totals; get_work_submissions pages through
-- all. purge_work (animus_admin) is unchanged since v0.4.0.

-- get_work returns two more columns (the totals of the capped lists): dropped and created again.
DROP FUNCTION animus.get_work(uuid);
CREATE FUNCTION animus.get_work(work_id uuid)
    RETURNS TABLE (
        id                 uuid,
        queue_name         text,
        work_type          text,
        dedup_key          text,
        source             text,
        trigger_info       text,
        params             jsonb,
        priority           integer,
        state              text,
        canonical_id       uuid,
        resolution         text,
        merged_into        uuid,
        waits_for          uuid,
        parent_id          uuid,
        attempts           integer,
        max_attempts       integer,
        msg_id             bigint,
        run_at             timestamptz,
        outcome            jsonb,
        error              text,
        duration_ms        double precision,
        trace_context      jsonb,
        requesters         jsonb,
        requesters_total   bigint,
        merged_submissions jsonb,
        merged_total       bigint,
        children           bigint,
        created_at         timestamptz,
        updated_at         timestamptz,
        started_at         timestamptz,
        heartbeat_at       timestamptz,
        resolved_at        timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work(uuid) IS
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and the first 99 merged ones, with trace_context, oldest first) and requesters_total (all of them), merged_submissions (the first 100 merged duplicates, each with its own source, trigger_info, params, priority, trace_context) and merged_total (all of them: animus.get_work_submissions pages through every one), and the number of children. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

CREATE OR REPLACE FUNCTION animus.work_children(parent_id uuid)
    RETURNS TABLE (work_id uuid, work_type text, dedup_key text, state text, source text, created_at timestamptz, resolved_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_children(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.work_children(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.work_children(uuid) IS
'The work items submitted with parent_id => this item, oldest first (merged child submissions included, in state merged); only the parent and children in queues the caller has a grant on. Raises ZA001 (parent_id NULL), ZA102 (unknown parent, or one in a queue the caller may not use).';

CREATE OR REPLACE FUNCTION animus.queue_stats(queue text DEFAULT NULL)
    RETURNS TABLE (
        queue_name               text,
        state                    text,
        items                    bigint,
        queue_length             bigint,
        queue_visible_length     bigint,
        oldest_visible_age_sec   double precision,
        oldest_msg_age_sec       integer,
        total_messages           bigint
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q      text;
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
    FOR q IN SELECT qq.queue_name FROM animus.queues qq
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
               m.queue_length, visible, coalesce(oldest, 0), m.oldest_msg_age_sec, m.total_messages
          FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'completed'), (4, 'dead'), (5, 'cancelled'), (6, 'merged')) AS s(n, state)
         ORDER BY s.n;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.queue_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_stats(text) IS
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent. Counting items scans the queue''s work items. Only queues the caller has a grant on (NULL: every such queue). Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- Every submission merged into an item, a page at a time (read_work and get_work carry the first
-- ones only). Keyset paging in submission order (created_at, id) on the index
-- work_items_merged_into_order: pass the last work_id of a page as after to get the next.
CREATE FUNCTION animus.get_work_submissions(work_id uuid, after uuid DEFAULT NULL, page_size integer DEFAULT 100)
    RETURNS TABLE (id uuid, source text, trigger_info text, params jsonb, priority integer, trace_context jsonb, submitted_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work_submissions(uuid, uuid, integer) IS
'The submissions merged into work item work_id (or into its canonical item, for a merged submission), oldest first, page_size (1..1000) at a time: pass the last id of a page as after for the next page; an empty page is the end. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (page_size not 1..1000), ZA102 (unknown work item or one in a queue the caller may not use; after not merged into it).';

-- ==== change work_release@v0.5.0 (deploy/work_release@v0.5.0.sql) ====
-- Deploy animus:work_release to pg
-- requires: work_release@v0.4.0
-- requires: work_status

-- release_work acts only on items of queues the caller has a grant on (as complete_work does).
CREATE OR REPLACE FUNCTION animus.release_work(work_id uuid, attempt integer DEFAULT NULL, delay interval DEFAULT '0 seconds')
    RETURNS timestamptz
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
    v_at    timestamptz;
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
    RETURNING w.queue_name, w.msg_id INTO v_queue, v_msg;
    IF NOT FOUND THEN
        PERFORM animus.work_raise_not_running(release_work.work_id, 'release_work', release_work.attempt);
    END IF;
    IF NOT animus.work_queue_allowed(v_queue) THEN
        PERFORM animus.work_raise_unknown(release_work.work_id, 'work_id', 'release_work');   -- undoes the UPDATE
    END IF;
    PERFORM animus.work_queue_set_vt(v_queue, ARRAY[v_msg], ARRAY[v_at]);
    RETURN v_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.release_work(uuid, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.release_work(uuid, integer, interval) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.release_work(uuid, integer, interval) IS
'Gives a running (claimed) work item back: state queued again, visible to read_work after `delay` (default at once), and the claim does not count against max_attempts (released + 1: attempts - released is what counts), so a release, e.g. at a graceful worker shutdown, is not a failed attempt; attempts, the claim token, never goes down, so a late settle of the released claim raises ZA108. The item keeps its error, its merged duplicates and a waiting replace-mode follow-up (which keeps waiting). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Returns the time the item becomes visible again. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (delay NULL or negative), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

-- ==== change memory_filters@v0.6.0 (deploy/memory_filters@v0.6.0.sql) ====
-- Deploy animus:memory_filters to pg
-- requires: memory_filters@v0.4.0

-- Bounded filters (docs/memory.md, "Limits"): a text filter lists at most 100 strings and a
-- whole filter is at most 16 kB of JSON (ZA213). A filter becomes constants of the plan that
-- every search makes for it (namespace = ANY('{...}'), metadata @> '{...}'); unbounded, one call
-- could make the planner and executor chew on megabytes of constants per query.
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA213', 'memory_filter_too_large', 'A search filter lists more than 100 strings in one field, or is over 16384 bytes of JSON.',
     'Filter by a prefix or a metadata tag instead of long lists, or search in several calls.');

CREATE OR REPLACE FUNCTION animus.memory_normalize_text_filter(field text, value jsonb)
    RETURNS jsonb
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) IS
    'Internal to memory_validate_filters: normalises one text filter to {"in": [...]} or {"prefix": "..."}. Raises ZA204, ZA206, ZA213 (a list of more than 100 strings).';
REVOKE ALL ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_normalize_text_filter(text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}')
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    normalised jsonb := '{}';
    key text;
    value jsonb;
    op text;
    operand jsonb;
    bounds jsonb;
    bound timestamptz;
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN normalised;
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
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata and created_at.';
        END CASE;
    END LOOP;
    RETURN normalised;
END
$$;
COMMENT ON FUNCTION animus.memory_validate_filters(jsonb) IS
    'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). '
    'Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator), ZA213 (more than 100 strings in a list, or over 16384 bytes).';
REVOKE ALL ON FUNCTION animus.memory_validate_filters(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_validate_filters(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_store@v0.6.0 (deploy/memory_store@v0.6.0.sql) ====
-- Deploy animus:memory_store to pg
-- requires: memory_store@v0.4.0

SELECT e.extnamespace::regnamespace::text AS vector_schema
  FROM pg_catalog.pg_extension e WHERE e.extname = 'vector' \gset

-- Limits on what one call writes (docs/memory.md, "Limits"):
--   * content: not empty and not only whitespace -- btrim() alone strips spaces only, so tabs,
--     line breaks and no-break spaces passed as "content" (ZA203); at most 500,000 bytes (ZA214):
--     the keyword index of a memory is a tsvector, which holds at most 1 MB of lexemes (more is a
--     raw 54000 from the INSERT), and URLs and e-mail addresses yield more than one lexeme each;
--   * store_memories and delete_memories: at most 10,000 elements a call (ZA215), so one call
--     cannot hold every writer of the table behind its locks for minutes.
-- get_memory runs as the owner and returns only a memory of the caller's read scope: tenant
-- roles no longer read animus.memories (change security_memory_private).
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA214', 'memory_content_too_long', 'The content of a memory is longer than 500,000 bytes (UTF-8).',
     'Split the text into several memories (by section or paragraph).'),
    ('ZA215', 'memory_batch_too_large', 'A batch (store_memories, delete_memories) has more than 10,000 elements.',
     'Split it into batches of at most 10,000 elements.');

-- True when text is empty or holds only whitespace: ASCII spaces and controls (tab, line feed,
-- vertical tab, form feed, carriage return) and the Unicode spaces (no-break space U+00A0, U+1680,
-- U+2000..U+200A, line and paragraph separators, U+202F, U+205F, U+3000, zero-width no-break
-- space U+FEFF). SQL-standard body: bound at creation and inlined.
CREATE FUNCTION animus.memory_is_blank(content text)
    RETURNS boolean
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN pg_catalog.btrim(content, E' \t\n\x0b\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff') = '';
COMMENT ON FUNCTION animus.memory_is_blank(text) IS
    'True when content is empty or only whitespace (ASCII and Unicode spaces, tabs, line breaks, no-break spaces). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_is_blank(text) FROM PUBLIC;
-- Granted to nobody: memory_check_fields and memory_store_batch call it inside the SECURITY DEFINER writes.

CREATE OR REPLACE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) IS
    'Raises unless content, memory_type and namespace are non-empty and metadata is an object (or NULL). '
    'Raises ZA001, ZA203 (empty or whitespace-only content), ZA214 (content over 500,000 bytes), ZA003.';
REVOKE ALL ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_check_fields(text, text, text, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.memory_store_batch(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SET search_path = pg_catalog, :"vector_schema", pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
COMMENT ON FUNCTION animus.memory_store_batch(jsonb, text) IS
    'The body of animus.store_memories (which see), apart so that store_memories can be SECURITY DEFINER with search_path = pg_catalog, pg_temp '
    'while this parses vectors with pgvector''s schema on its search_path. Granted to nobody: only store_memories calls it, as the owner. '
    'Raises ZA001, ZA200, ZA201, ZA202, ZA203, ZA208, ZA214, ZA215, 42501 (a namespace outside the caller''s write scope).';
REVOKE ALL ON FUNCTION animus.memory_store_batch(jsonb, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
     WHERE m.id = ANY (delete_memories.ids) AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.delete_memories(bigint[]) IS
    'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. '
    'At most 10,000 ids a call. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA215 (more than 10,000 ids).';
REVOKE ALL ON FUNCTION animus.delete_memories(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memories(bigint[]) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m
                  WHERE m.id = get_memory.id AND ('*' = ANY (scope) OR m.namespace = ANY (scope));
END
$$;
COMMENT ON FUNCTION animus.get_memory(bigint) IS
    'The memory with this id, as the table row; no row if there is none or it is outside the caller''s read scope (animus.memory_scope(''read'')). '
    'Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.get_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_memory(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_search@v0.6.0 (deploy/memory_search@v0.6.0.sql) ====
-- Deploy animus:memory_search to pg
-- requires: memory_search@v0.4.0
-- requires: security_memory_rls

-- Tenant roles no longer read any table that holds other tenants' rows (change
-- security_memory_private revokes SELECT): with SELECT, a leakproof comparison (=, <, >=, <=> on
-- an index) is evaluated as an index condition BEFORE the row-level security filter, and
-- EXPLAIN (ANALYZE) reports how many hidden rows that filter removed -- enough to rebuild another
-- tenant's words, namespaces and neighbours. So the searches run as the owner (SECURITY DEFINER)
-- and confine themselves: the caller's read scope (animus.memory_scope('read'), which judges the
-- session's role, never current_user) is folded into the filter's namespace list before any
-- table is read. The branches then see an ordinary {"namespace": {"in": [...]}} filter: the same
-- plans as an owner's filtered search (the namespace btree, BM25 statistics of those namespaces
-- only), and the row-level security policies still apply beneath, for an owner that is not a
-- superuser. search_path is pg_catalog, pg_temp: the bodies use no pgvector operator (the
-- vector branch memory_vector_candidates sets its own path, with pgvector's schema).

-- The filter a search runs with: the caller's filter, checked and normalised, with its namespace
-- condition intersected with the read scope. '*' in the scope leaves it as it is; an empty
-- intersection is {"in": []}, which matches nothing.
CREATE FUNCTION animus.memory_read_filters(filters jsonb DEFAULT '{}')
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_read_filters(jsonb) IS
    'Internal to the SECURITY DEFINER searches: filters checked and normalised by memory_validate_filters, their namespace '
    'condition intersected with animus.memory_scope(''read'') (the session''s role). Granted to nobody. '
    'Raises ZA204, ZA205, ZA206, ZA213 (memory_validate_filters).';
REVOKE ALL ON FUNCTION animus.memory_read_filters(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION animus.search_memory_vector(
    query_embedding  vector  DEFAULT NULL,
    k                integer DEFAULT 10,
    filters          jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   distance double precision, similarity double precision, rank bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) IS
    'The k memories nearest to query_embedding by cosine distance (HNSW, iterative scan), filtered (docs/memory.md), '
    'nearest first, ties by id; k rows whenever k rows match. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001, ZA002 (k outside 1..1000), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_vector(vector, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.search_memory_text(
    query    text    DEFAULT NULL,
    k        integer DEFAULT 10,
    filters  jsonb   DEFAULT '{}')
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
      FROM animus.memory_text_candidates(query, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.score DESC, c.id;
END
$$;
COMMENT ON FUNCTION animus.search_memory_text(text, integer, jsonb) IS
    'The k memories that best match a natural-language query (English stemming; documents matching ANY query term are ranked), '
    'filtered (docs/memory.md), best first, ties by id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.search_memory_text(text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.search_memory_text(text, integer, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.hybrid_search(
    query_text       text             DEFAULT NULL,
    query_embedding  vector           DEFAULT NULL,
    k                integer          DEFAULT 10,
    filters          jsonb            DEFAULT '{}',
    text_weight      double precision DEFAULT 1,
    vector_weight    double precision DEFAULT 1,
    rrf_k            integer          DEFAULT 60,
    candidates       integer          DEFAULT NULL)
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint,
                   vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
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

    RETURN QUERY
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates(query_text, f, n) AS c
         WHERE use_text
    ), fused AS (
        SELECT coalesce(vec.id, txt.id) AS id,
               coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0) AS score,
               vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
          FROM vec FULL JOIN txt ON txt.id = vec.id
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
END
$$;
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) IS
    'Vector and keyword search fused by Reciprocal Rank Fusion in one statement: each branch contributes its best '
    'candidates (default max(3k, 30), at most 1000); score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank). '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k out of range), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_bm25@v0.6.0 (deploy/memory_bm25@v0.6.0.sql) ====
-- Deploy animus:memory_bm25 to pg
-- requires: memory_bm25@v0.4.0

-- * memory_bm25_refresh took pg_advisory_xact_lock(hashtext('animus.memory_bm25_refresh')): any
--   login may hold that key, and did: manual refreshes hung and the write-time refresh (which only
--   tries) skipped for good, so memory_bm25_deltas grew without bound and every search summed it.
--   Refreshes now lock the row of animus.memory_bm25_settings (FOR UPDATE needs UPDATE on it,
--   which only the owner has), and a write waits for a running refresh once four times
--   refresh_after rows are pending.
-- * memory_bm25_configure and memory_bm25_reindex were SECURITY INVOKER and animus_admin may not
--   write the settings or the postings: they run as the owner now (EXECUTE: animus_admin only).
-- (CREATE OR REPLACE keeps each function's privileges: the refresh stays admin-only.)

CREATE OR REPLACE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
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
        DELETE FROM animus.memory_bm25_deltas RETURNING id, namespace, term, df, total_len
    ), terms AS (
        SELECT m.namespace, m.term, sum(m.df) AS df FROM moved m
        WHERE m.term IS NOT NULL GROUP BY m.namespace, m.term HAVING sum(m.df) <> 0
    ), up_terms AS (
        INSERT INTO animus.memory_bm25_term_stats AS s (namespace, term, df)
        SELECT t.namespace, t.term, t.df FROM terms t
        ON CONFLICT (namespace, term) DO UPDATE SET df = s.df + excluded.df
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
COMMENT ON FUNCTION animus.memory_bm25_refresh(boolean) IS
    'Folds the pending BM25 statistic deltas into the per-namespace statistics; returns the number of delta rows folded, or NULL when wait => false and another refresh is running (it locks the row of animus.memory_bm25_settings). Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';


CREATE OR REPLACE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_bm25_settings;
    backlog bigint;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        SELECT d.id, d.namespace, d.fts, animus.bm25_doc_len(d.fts) AS doc_len
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
        RETURNING namespace, term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT p.namespace, p.term, count(*), 0 FROM postings p GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len) FROM docs d GROUP BY d.namespace;

    -- Past refresh_after pending rows a write folds them, unless a refresh is running; past four
    -- times that it waits for the running one and folds, so the backlog (which every search adds
    -- up) stays bounded even while refreshes keep colliding.
    IF s.refresh_after > 0 THEN
        backlog := (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through;
        IF backlog >= 4 * s.refresh_after::bigint THEN
            PERFORM animus.memory_bm25_refresh(wait => true);
        ELSIF backlog >= s.refresh_after THEN
            PERFORM animus.memory_bm25_refresh(wait => false);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas; folds them (memory_bm25_refresh) past refresh_after pending rows, waiting for a running refresh past four times that. Raises nothing.';


CREATE OR REPLACE FUNCTION animus.memory_bm25_configure(
    k1                   double precision DEFAULT NULL,
    b                    double precision DEFAULT NULL,
    postings_budget      integer DEFAULT NULL,
    max_postings_budget  integer DEFAULT NULL,
    rescore_extra        integer DEFAULT NULL,
    refresh_after        integer DEFAULT NULL)
RETURNS animus.memory_bm25_settings
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_bm25_configure(double precision, double precision, integer, integer, integer, integer) IS
    'Changes BM25 settings (NULL keeps a value) and returns them. Runs as the owner (SECURITY DEFINER; animus_admin only). Scores use the new k1/b at once; the impact order of '
    'existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';


CREATE OR REPLACE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL)
RETURNS bigint
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
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
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_bm25_reindex(text) IS
    'Runs as the owner (SECURITY DEFINER; animus_admin only). Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) '
    'with the current k1, b and average length; returns the postings rewritten. Run it after changing k1/b or after a '
    'namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

-- ==== change security_memory_rls (deploy/security_memory_rls.sql) ====
-- Deploy animus:security_memory_rls to pg
-- requires: security_memory_rls@v0.4.0

-- Namespace grants keyed by the role's OID, not its name. By name, a grant outlived DROP ROLE
-- (roles are cluster objects: no trigger sees them go) and a later role created with the same
-- name inherited the tenant. An OID is never the OID of another live role: a dropped role's
-- grants match no role, memory_scope ignores them, and grant/revoke delete them when they run.
-- role_name stays as the name at grant time (what an admin reads). A role renamed keeps its
-- grants, as it keeps its privileges.
ALTER TABLE animus.memory_namespace_grants ADD COLUMN role_oid oid;
UPDATE animus.memory_namespace_grants AS g SET role_oid = r.oid
  FROM pg_catalog.pg_roles AS r WHERE r.rolname = g.role_name;
DELETE FROM animus.memory_namespace_grants WHERE role_oid IS NULL;   -- grants of roles already dropped
ALTER TABLE animus.memory_namespace_grants
    ALTER COLUMN role_oid SET NOT NULL,
    DROP CONSTRAINT memory_namespace_grants_pkey,
    ADD CONSTRAINT memory_namespace_grants_pkey PRIMARY KEY (role_oid, namespace);
COMMENT ON COLUMN animus.memory_namespace_grants.role_oid IS
    'The role granted (pg_roles.oid): a grant belongs to this role only, never to a later role of the same name.';
COMMENT ON COLUMN animus.memory_namespace_grants.role_name IS
    'The role''s name when it was granted (for reading; the grant follows role_oid).';

CREATE OR REPLACE FUNCTION animus.memory_scope(access text DEFAULT 'read')
    RETURNS text[]
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_scope(text) IS
    'The namespaces of animus.memories the caller may read (access => ''read'') or write (''write''): the namespaces granted in '
    'animus.memory_namespace_grants to the caller or a role it is a member of (by role OID: grants of a dropped role count for '
    'nobody), intersected with the session setting animus.namespaces (comma-separated) when that is set; ''{*}'' means every '
    'namespace (superusers, BYPASSRLS roles, grants of ''*''). The searches and the row-level security policies of '
    'animus.memories call it. Raises ZA004 (access).';

CREATE OR REPLACE FUNCTION animus.grant_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL, can_write boolean DEFAULT false)
    RETURNS void
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.grant_memory_namespace(text, text, boolean) IS
    'Lets role_name (and its members) read the memories of namespace (''*'' = every namespace), and change them if can_write. '
    'Granting again replaces can_write. The grant is kept by role OID: it ends with DROP ROLE and never passes to a later role '
    'of the same name (grants of dropped roles are deleted here). animus_admin only. '
    'Raises ZA001 (role_name), ZA320 (no such role), ZA321 (namespace).';

CREATE OR REPLACE FUNCTION animus.revoke_memory_namespace(role_name text DEFAULT NULL, namespace text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.revoke_memory_namespace(text, text) IS
    'Removes the grant of namespace to the role now named role_name; true if there was one. Also deletes the grants of roles '
    'dropped since. animus_admin only. Raises ZA001.';

-- ==== change security_memory_private (deploy/security_memory_private.sql) ====
-- Deploy animus:security_memory_private to pg
-- requires: memory_search
-- requires: memory_store
-- requires: memory_bm25
-- requires: security_memory_rls

-- Tenant roles hold no privilege on a table that holds other tenants' rows. With SELECT and
-- row-level security alone, a reader's leakproof comparisons (=, <, >=, and
-- pgvector's <=>) ran as index conditions BEFORE the policy's filter, and EXPLAIN (ANALYZE)
-- printed how many hidden rows the filter then removed ("Rows Removed by Filter"): a prefix
-- search on memory_terms rebuilt another tenant's words, the same on memories.namespace listed
-- the tenants, on content_hash confirmed a guessed text, on embedding <=> counted hidden
-- neighbours, and a plain EXPLAIN estimated their row counts. memory_bm25_settings and the
-- deltas' ids count every tenant's writes. Reads now go through the SECURITY DEFINER functions
-- (search_memory_text, search_memory_vector, hybrid_search, get_memory), which filter on the
-- caller's scope themselves; the policies stay as a second layer under a non-superuser owner.
-- animus_admin (trusted, scope '*') keeps SELECT. animus.memory_settings (the embedding model
-- and dimension, no tenant data) stays readable.
REVOKE SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                 animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    FROM animus_memory_reader;
GRANT SELECT ON animus.memories, animus.memory_terms, animus.memory_bm25_settings,
                animus.memory_bm25_namespace_stats, animus.memory_bm25_term_stats, animus.memory_bm25_deltas
    TO animus_admin;

-- ==== change column_comments (deploy/column_comments.sql) ====
-- Deploy animus:column_comments to pg
-- requires: security_memory_private
-- requires: work_release
-- requires: work_limits

-- The columns that had no comment: with these, \d+ on any animus table documents every column.
-- (Columns added later carry their comment in the change that adds them.)
COMMENT ON COLUMN animus.error_codes.sqlstate IS 'The SQLSTATE (class ZA) an animus function raises; catch it by this code, never by message text.';
COMMENT ON COLUMN animus.error_codes.name IS 'A short condition name for the code (the Python client''s exception classes follow it).';
COMMENT ON COLUMN animus.error_codes.meaning IS 'What went wrong, in one sentence.';
COMMENT ON COLUMN animus.error_codes.hint IS 'What to do about it (each raise also carries a HINT of its own).';

COMMENT ON COLUMN animus.installed_extensions.extname IS 'pgvector (vector) or pgmq.';
COMMENT ON COLUMN animus.installed_extensions.created IS 'true when the animus deploy created the extension; a revert drops only those, never one the database already had.';
COMMENT ON COLUMN animus.installed_extensions.recorded_at IS 'When the deploy checked the extension.';

COMMENT ON COLUMN animus.queues.queue_name IS 'The queue''s name, also the name of its pgmq queue (pgmq.q_<name>, pgmq.a_<name>): 1-40 characters of [a-z0-9_], starting with a letter.';
COMMENT ON COLUMN animus.queues.backoff_base IS 'Retry delay after the first failed attempt; attempt n waits backoff_base * backoff_factor^(n-1).';
COMMENT ON COLUMN animus.queues.backoff_factor IS 'Growth of the retry delay per attempt (>= 1).';
COMMENT ON COLUMN animus.queues.backoff_cap IS 'Longest retry delay, before jitter.';
COMMENT ON COLUMN animus.queues.backoff_jitter IS 'Random spread of each retry delay, as a fraction (0.25 = +/- 25 %), so that failures of many items do not retry in step.';
COMMENT ON COLUMN animus.queues.notify IS 'Whether submits wake workers with NOTIFY animus_work (payload: the queue name).';
COMMENT ON COLUMN animus.queues.notify_throttle IS 'At most one wake-up NOTIFY per queue per this interval.';
COMMENT ON COLUMN animus.queues.last_notified_at IS 'When the last wake-up NOTIFY was sent for the queue (the throttle''s clock).';
COMMENT ON COLUMN animus.queues.created_at IS 'When the queue was created.';

COMMENT ON COLUMN animus.work_items.id IS 'The work item id (UUIDv7 on PostgreSQL 18: time-ordered), returned by submit_work as work_id.';
COMMENT ON COLUMN animus.work_items.queue_name IS 'The queue the item was submitted to (animus.queues).';
COMMENT ON COLUMN animus.work_items.work_type IS 'What kind of work: workers pick the handler by it. Part of the dedup key.';
COMMENT ON COLUMN animus.work_items.dedup_key IS 'With queue_name and work_type, the structural dedup key: a second submission with the same key while the first is queued or running is merged into it. NULL: never deduplicated.';
COMMENT ON COLUMN animus.work_items.source IS 'Who asked for the work (a scheduler, an agent, a person): provenance, kept for merged submissions too.';
COMMENT ON COLUMN animus.work_items.trigger_info IS 'Why the work was asked for (free text, e.g. ''every 4h'', ''new mail'').';
COMMENT ON COLUMN animus.work_items.params IS 'The work''s parameters (a JSON object) handed to the worker.';
COMMENT ON COLUMN animus.work_items.priority IS 'Higher is claimed first within a queue; 0 is the default.';
COMMENT ON COLUMN animus.work_items.state IS 'queued, running, completed, dead, cancelled, or merged (a duplicate submission); changes are checked against animus.work_state_transitions.';
COMMENT ON COLUMN animus.work_items.max_attempts IS 'Claims that may count against the item before it goes dead (released claims do not count).';
COMMENT ON COLUMN animus.work_items.run_at IS 'When the item becomes visible to read_work (submit time, a delayed start, or the next retry after backoff).';
COMMENT ON COLUMN animus.work_items.outcome IS 'The result a worker passed to complete_work (JSON).';
COMMENT ON COLUMN animus.work_items.error IS 'The last error a worker passed to fail_work, or why the item went dead.';
COMMENT ON COLUMN animus.work_items.duration_ms IS 'How long the last attempt ran, from its claim to its settle, in milliseconds.';
COMMENT ON COLUMN animus.work_items.trace_context IS 'The W3C trace context (traceparent, tracestate) of the submission, so the worker''s span links to the requester''s trace.';
COMMENT ON COLUMN animus.work_items.created_at IS 'When the submission was made.';
COMMENT ON COLUMN animus.work_items.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN animus.work_items.started_at IS 'When the current (or last) claim began.';
COMMENT ON COLUMN animus.work_items.heartbeat_at IS 'The last heartbeat_work of the current claim.';
COMMENT ON COLUMN animus.work_items.resolved_at IS 'When the item ended (completed, dead, cancelled) or was merged: retention (purge_work) counts from here.';

COMMENT ON COLUMN animus.work_state_transitions.from_state IS 'The state an item is in.';
COMMENT ON COLUMN animus.work_state_transitions.to_state IS 'A state it may move to.';
COMMENT ON COLUMN animus.work_state_transitions.why IS 'Which call makes that move.';

COMMENT ON COLUMN animus.memories.id IS 'The memory id, returned by store_memory.';
COMMENT ON COLUMN animus.memories.content IS 'The remembered text: what keyword search ranks and what the embedding was computed from.';
COMMENT ON COLUMN animus.memories.memory_type IS 'What kind of memory (''fact'', ''episode'', ''preference'', ...): a search filter.';
COMMENT ON COLUMN animus.memories.source IS 'Where the memory came from (an agent, a conversation, an import): a search filter.';
COMMENT ON COLUMN animus.memories.metadata IS 'Free JSON object; searches filter on it by containment.';
COMMENT ON COLUMN animus.memories.embedding IS 'The embedding of content, of the dimension and model in animus.memory_settings; cosine HNSW index.';
COMMENT ON COLUMN animus.memories.created_at IS 'When the memory was first stored.';
COMMENT ON COLUMN animus.memories.updated_at IS 'When it was last stored again or updated.';

COMMENT ON COLUMN animus.memory_settings.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN animus.memory_settings.embedding_dim IS 'Dimension of animus.memories.embedding (deploy variable embedding_dim; changed with memory_begin_reembedding).';
COMMENT ON COLUMN animus.memory_settings.embedding_model IS 'Name of the model the embeddings come from (deploy variable embedding_model).';
COMMENT ON COLUMN animus.memory_settings.state IS '''ready'', or ''reembedding'' between memory_begin_reembedding and memory_finish_reembedding.';
COMMENT ON COLUMN animus.memory_settings.updated_at IS 'When the model, dimension or state last changed.';

COMMENT ON COLUMN animus.memory_bm25_settings.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN animus.memory_bm25_settings.k1 IS 'BM25 term-frequency saturation (default 1.2).';
COMMENT ON COLUMN animus.memory_bm25_settings.b IS 'BM25 length normalisation (default 0.75).';
COMMENT ON COLUMN animus.memory_bm25_settings.postings_budget IS 'Postings of whole lists a keyword query reads, rarest terms first (default 16000).';
COMMENT ON COLUMN animus.memory_bm25_settings.max_postings_budget IS 'When above postings_budget: a query whose top-k is not proven exact retries with 4x the budget, up to this.';
COMMENT ON COLUMN animus.memory_bm25_settings.rescore_extra IS 'Candidates beyond the limit whose scores are completed exactly before the final ranking (default 190).';
COMMENT ON COLUMN animus.memory_bm25_settings.refresh_after IS 'Pending statistic rows (animus.memory_bm25_deltas) after which a write folds them into the statistics (0: only explicit refreshes).';
COMMENT ON COLUMN animus.memory_bm25_settings.refreshed_through IS 'The last memory_bm25_deltas id folded into the statistics.';

COMMENT ON COLUMN animus.memory_terms.memory_id IS 'The memory (animus.memories.id) the posting belongs to.';
COMMENT ON COLUMN animus.memory_terms.namespace IS 'The memory''s namespace (postings are ranked within a namespace).';
COMMENT ON COLUMN animus.memory_terms.term IS 'An English-stemmed lexeme of the memory''s content.';
COMMENT ON COLUMN animus.memory_terms.tf IS 'How often the term occurs in the memory.';
COMMENT ON COLUMN animus.memory_terms.doc_len IS 'The memory''s length in lexemes.';
COMMENT ON COLUMN animus.memory_terms.impact IS 'The BM25 term weight of this posting under the statistics at write time: the order the budgeted top-k reads postings in.';

COMMENT ON COLUMN animus.memory_bm25_namespace_stats.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_bm25_namespace_stats.docs IS 'Memories in the namespace as of the last refresh.';
COMMENT ON COLUMN animus.memory_bm25_namespace_stats.total_len IS 'Sum of their lengths in lexemes (average length = total_len / docs).';
COMMENT ON COLUMN animus.memory_bm25_term_stats.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_bm25_term_stats.term IS 'A lexeme.';
COMMENT ON COLUMN animus.memory_bm25_term_stats.df IS 'Memories of the namespace containing the term, as of the last refresh.';
COMMENT ON COLUMN animus.memory_bm25_deltas.id IS 'Append order; memory_bm25_settings.refreshed_through marks what has been folded.';
COMMENT ON COLUMN animus.memory_bm25_deltas.namespace IS 'The namespace the change belongs to.';
COMMENT ON COLUMN animus.memory_bm25_deltas.term IS 'NULL: a change of documents and total length; else the term whose document frequency changed.';
COMMENT ON COLUMN animus.memory_bm25_deltas.df IS 'Change of the document count (term NULL) or of the term''s document frequency.';
COMMENT ON COLUMN animus.memory_bm25_deltas.total_len IS 'Change of the total length (term NULL rows).';

COMMENT ON COLUMN animus.memory_namespace_grants.namespace IS 'The namespace the role may read (and write, with can_write); ''*'' = every namespace.';
COMMENT ON COLUMN animus.memory_namespace_grants.can_write IS 'Whether the role may also store, update and delete memories of the namespace.';
COMMENT ON COLUMN animus.memory_namespace_grants.granted_at IS 'When the grant was made or last changed.';
COMMENT ON COLUMN animus.memory_namespace_grants.granted_by IS 'The session user who made it.';
COMMENT ON COLUMN animus.queue_grants.granted_at IS 'When the grant was made.';
COMMENT ON COLUMN animus.queue_grants.granted_by IS 'The session user who made it.';

-- ==== change work_concurrency (deploy/work_concurrency.sql) ====
-- Deploy animus:work_concurrency to pg
-- requires: work_release

-- Per-key concurrency and rate limits (issue 14, part 5).
--
-- A work item may carry a concurrency key (a tenant, an API account, a model); an admin sets per
-- key limits on a queue: at most max_running items of the key running at once, and at most `rate`
-- cost units started per `period` (fixed windows: date_bin(period, now, 2000-01-01 UTC)). read_work
-- admits a claimed item of a limited key only when it fits; the rest are deferred:
--   over max_running -> held: message vt 'infinity' and a row in animus.concurrency_held; the held
--                       items of a key are woken (vt = now, priority then oldest first, as many as
--                       there are free slots) when an item of the key leaves running;
--   over rate        -> message vt = the start of the next window.
-- Deferral takes a big backlog of one key out of the claim order, so the other keys are served.
--
-- Serialisation: one state row per (queue, key) in animus.concurrency_keys. read_work locks it
-- FOR NO KEY UPDATE SKIP LOCKED (a reader never waits: items of a key another session is admitting
-- or waking go back visible at once) and counts the key's running items in a later statement (so
-- the count sees every settle that committed before the lock was taken); every function that
-- takes an item out of running wakes through animus.work_key_wake, which locks the same row
-- (blocking, keys in sorted order) after the item's update. So a claim that holds an item and a
-- settle that frees a slot are ordered: whichever comes second sees the other.
-- Plain items (no key) take none of this: read_work checks one aggregate and goes on.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA125', 'invalid_concurrency_key', 'A concurrency key (given, or derived from params by the queue''s concurrency_param) is empty, only white space or longer than 200 characters.',
     'Pass a short name of what the limit counts, e.g. concurrency_key => ''tenant-a'', or NULL for an item without a key.'),
    ('ZA126', 'invalid_cost', 'A work item''s cost is not an integer between 1 and 1000000.',
     'Pass cost => the units the item uses of its key''s rate budget (e.g. tokens / 1000); the default is 1.'),
    ('ZA127', 'invalid_concurrency_limit', 'A concurrency limit setting is out of range or incomplete: max_running and rate 1..1000000000, period > 0 and at most 366 days, rate and period given together, at least one of max_running and rate.',
     'Pass max_running => N, and/or rate => R with period => ''1 minute''; drop a limit with animus.drop_concurrency_limit.'),
    ('ZA128', 'unknown_concurrency_limit', 'drop_concurrency_limit named a (queue, key) that has no limit.',
     'List the limits with SELECT * FROM animus.concurrency_limits (or animus.concurrency_stats(queue)).'),
    ('ZA129', 'invalid_concurrency_param', 'A queue''s concurrency_param is empty, only white space or longer than 200 characters.',
     'Pass the params key whose value is the concurrency key, e.g. concurrency_param => ''tenant'', or '''' to clear it with configure_queue.');

-- The new columns. Both are set at creation and never change (a replace-mode debounce keeps them).
ALTER TABLE animus.work_items
    ADD COLUMN concurrency_key text,
    ADD COLUMN cost integer NOT NULL DEFAULT 1;
COMMENT ON COLUMN animus.work_items.concurrency_key IS 'the concurrency key whose limits (animus.concurrency_limits) apply to this item: submit_work''s concurrency_key, else params ->> the queue''s concurrency_param; NULL = no key, no limit.';
COMMENT ON COLUMN animus.work_items.cost IS 'units of its key''s rate budget the item uses when it starts (1..1000000, default 1).';
ALTER TABLE animus.queues ADD COLUMN concurrency_param text;
COMMENT ON COLUMN animus.queues.concurrency_param IS 'when set, an item submitted without a concurrency_key gets params ->> concurrency_param as its key (NULL: no derived key).';

-- Running items per key: read_work counts them under the key's lock. Partial: plain items and
-- items that are not running have no entry.
CREATE INDEX work_items_concurrency_running ON animus.work_items (queue_name, concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

CREATE TABLE animus.concurrency_limits (
    queue_name       text NOT NULL REFERENCES animus.queues (queue_name) ON DELETE CASCADE,
    concurrency_key  text NOT NULL,
    max_running      integer CHECK (max_running BETWEEN 1 AND 1000000000),
    rate             integer CHECK (rate BETWEEN 1 AND 1000000000),
    period           interval CHECK (period > '0' AND period <= '366 days'),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (queue_name, concurrency_key),
    CHECK ((rate IS NULL) = (period IS NULL)),
    CHECK (max_running IS NOT NULL OR rate IS NOT NULL)
);
COMMENT ON TABLE animus.concurrency_limits IS 'Per-key limits of a work queue, set with animus.set_concurrency_limit (animus_admin): the row of the item''s key, else the queue''s ''*'' row (each key then gets its own limits of that size), else no limit.';
COMMENT ON COLUMN animus.concurrency_limits.queue_name IS 'the work queue (the limits go with it when it is dropped).';
COMMENT ON COLUMN animus.concurrency_limits.concurrency_key IS 'the key the limit applies to; ''*'' = every key of the queue without a row of its own.';
COMMENT ON COLUMN animus.concurrency_limits.max_running IS 'at most this many items of the key running at once (NULL: no bound).';
COMMENT ON COLUMN animus.concurrency_limits.rate IS 'at most this many cost units of the key started per period (NULL: no rate limit).';
COMMENT ON COLUMN animus.concurrency_limits.period IS 'the rate window: fixed windows date_bin(period, now, 2000-01-01 00:00 UTC).';
COMMENT ON COLUMN animus.concurrency_limits.updated_at IS 'when the limit was last set.';
GRANT SELECT ON animus.concurrency_limits TO animus_admin;

CREATE TABLE animus.concurrency_keys (
    queue_name       text NOT NULL,
    concurrency_key  text NOT NULL,
    window_start     timestamptz NOT NULL DEFAULT '-infinity',
    window_used      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_name, concurrency_key)
);
COMMENT ON TABLE animus.concurrency_keys IS 'One state row per (queue, key) with a limit, created by read_work at the key''s first limited claim: the row claims and wakes of the key lock, and the key''s rate window. Internal (no role reads it; see animus.concurrency_stats).';
COMMENT ON COLUMN animus.concurrency_keys.queue_name IS 'the work queue.';
COMMENT ON COLUMN animus.concurrency_keys.concurrency_key IS 'the concurrency key.';
COMMENT ON COLUMN animus.concurrency_keys.window_start IS 'start of the rate window window_used counts (a claim in a later window starts from 0).';
COMMENT ON COLUMN animus.concurrency_keys.window_used IS 'cost units of the key started in the window beginning at window_start.';

CREATE TABLE animus.concurrency_held (
    work_id          uuid PRIMARY KEY,
    queue_name       text NOT NULL,
    concurrency_key  text NOT NULL,
    priority         integer NOT NULL,
    msg_id           bigint NOT NULL,
    held_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX concurrency_held_key ON animus.concurrency_held (queue_name, concurrency_key, priority DESC, msg_id);
COMMENT ON TABLE animus.concurrency_held IS 'Queued items read_work held back because their key was at max_running: their messages are invisible (vt infinity) until animus.work_key_wake makes them visible. Internal.';
COMMENT ON COLUMN animus.concurrency_held.work_id IS 'the held work item.';
COMMENT ON COLUMN animus.concurrency_held.queue_name IS 'its queue.';
COMMENT ON COLUMN animus.concurrency_held.concurrency_key IS 'its concurrency key.';
COMMENT ON COLUMN animus.concurrency_held.priority IS 'its priority: wakes take the highest first.';
COMMENT ON COLUMN animus.concurrency_held.msg_id IS 'its pgmq message (in pgmq.q_<queue_name>); wakes take the oldest first within a priority.';
COMMENT ON COLUMN animus.concurrency_held.held_at IS 'when read_work held it.';

-- The limit that applies to a key: its own row, else the queue's '*' row. A SQL function the
-- planner inlines.
CREATE FUNCTION animus.work_key_limit(queue text, key text)
    RETURNS animus.concurrency_limits
    STABLE
    LANGUAGE sql
AS $$
    SELECT l.* FROM animus.concurrency_limits l
     WHERE l.queue_name = queue AND l.concurrency_key IN (key, '*')
     ORDER BY l.concurrency_key = '*'
     LIMIT 1;
$$;
REVOKE ALL ON FUNCTION animus.work_key_limit(text, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_limit(text, text) IS
'Internal: the concurrency_limits row that applies to key in queue (its own, else ''*''); all NULL when none does. Raises nothing.';

-- The check of a key and a cost shared by submit_work and the queue functions. Called only when
-- one is bad (the callers test the condition inline).
CREATE FUNCTION animus.work_check_concurrency_args(concurrency_key text, cost integer, key_from text DEFAULT 'concurrency_key')
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_concurrency_args(text, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_concurrency_args(text, integer, text) IS
'Internal: raises ZA125 (key empty, only white space or over 200 characters; key_from names where the key came from) or ZA126 (cost not 1..1000000); returns when both are good.';

-- Admission at claim (called by read_work for the claimed items that have a key). ids, msgs,
-- keys, costs, prios, running: the claimed items in claim order; running = the item was already
-- running (a re-claim after its claim timed out: it keeps its slot and is not charged again).
-- Returns the admitted items; the others are held, deferred to the next rate window, or (their
-- key being locked by another session) made visible again at once. The caller holds the items'
-- row locks.
CREATE FUNCTION animus.work_key_admit(queue text, ids uuid[], msgs bigint[], keys text[], costs integer[],
                                      prios integer[], running boolean[],
                                      OUT admit_ids uuid[], OUT admit_msgs bigint[], OUT admitted_at timestamptz)
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
         WHERE w.queue_name = queue AND w.concurrency_key = k.key AND w.state = 'running';
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
REVOKE ALL ON FUNCTION animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_admit(text, uuid[], bigint[], text[], integer[], integer[], boolean[]) IS
'Internal (read_work): admits the claimed keyed items that fit their key''s limits (in claim order: running count under max_running, started cost within the rate window; a re-claim of a running item keeps its slot) and returns them with the admission time (their started_at: the rate window they count in is the one of their start time); holds the items of a key at max_running (message vt infinity, row in animus.concurrency_held), defers those over the rate to the next window, and makes the items of a key another session has locked visible again at once. Never waits for a lock (SKIP LOCKED) except when two sessions create the state row of the same new key. Raises nothing of its own.';

-- Wakes held items of the given keys of a queue: for each key (sorted), locks its state row
-- (waiting), then makes as many held items visible now as the key has free slots (all of them
-- when no max_running applies any more), highest priority then oldest first. Every function that
-- takes an item of a key out of running calls it after its update, in the same transaction.
CREATE FUNCTION animus.work_key_wake(queue text, keys text[])
    RETURNS integer
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
             WHERE w.queue_name = queue AND w.concurrency_key = k AND w.state = 'running';
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
REVOKE ALL ON FUNCTION animus.work_key_wake(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_key_wake(text, text[]) IS
'Internal, for the animus functions that take an item out of running or give one back (settles, cancel, release, durable waits): for each key of keys in queue (sorted; NULLs ignored) locks the key''s state row, waiting, and makes as many of its held items visible now as the key has free slots under max_running (all when no max_running applies), highest priority then oldest first. Returns how many it woke. Raises nothing of its own.';

-- The safety net: wakes held items of every key of a queue (or of every queue) that has free
-- slots. Workers call it now and then (the animus Worker on its periodic tick).
CREATE FUNCTION animus.sweep_concurrency_keys(queue text DEFAULT NULL)
    RETURNS integer
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.sweep_concurrency_keys(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.sweep_concurrency_keys(text) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.sweep_concurrency_keys(text) IS
'Liveness safety net for concurrency keys: wakes the held items of every key of `queue` (NULL: every queue the caller has a grant on) that has free slots, and forgets held rows of items that are no longer queued. Settles wake held items themselves; a worker calls this now and then (the animus Worker on its periodic tick) so that nothing stays held after a limit was raised or dropped. Returns how many items it woke. Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- Limits (animus_admin) -------------------------------------------------------------------------
CREATE FUNCTION animus.set_concurrency_limit(
    queue        text,
    key          text DEFAULT '*',
    max_running  integer DEFAULT NULL,
    rate         integer DEFAULT NULL,
    period       interval DEFAULT NULL
)
    RETURNS animus.concurrency_limits
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) TO animus_admin;
COMMENT ON FUNCTION animus.set_concurrency_limit(text, text, integer, integer, interval) IS
'Sets (inserts or replaces) the limits of concurrency key `key` of `queue` (''*'', the default: each key without a row of its own gets these limits, counted per key): at most max_running items of the key running at once; at most `rate` cost units (work_items.cost) started per `period`, in fixed windows date_bin(period, now, 2000-01-01 UTC) (an item costing more than rate starts only as the first of a window). read_work applies them from the next claim; items already running count. Returns the row. Raises ZA001 (queue NULL), ZA101 (unknown queue), ZA125 (key NULL, empty, only white space or over 200 characters), ZA127 (max_running and rate both NULL; max_running or rate not 1..1000000000; rate without period or period without rate; period not positive or over 366 days).';

CREATE FUNCTION animus.drop_concurrency_limit(queue text, key text DEFAULT '*')
    RETURNS animus.concurrency_limits
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.drop_concurrency_limit(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_concurrency_limit(text, text) TO animus_admin;
COMMENT ON FUNCTION animus.drop_concurrency_limit(text, text) IS
'Removes the limit of key `key` (''*'': the default) of `queue`, returns the removed row, and wakes the held items it no longer holds back (a key without its own row falls back to ''*''). Raises ZA001 (queue or key NULL), ZA101 (unknown queue), ZA128 (no such limit).';

CREATE FUNCTION animus.concurrency_stats(queue text DEFAULT 'work')
    RETURNS TABLE (concurrency_key text, max_running integer, rate integer, period interval,
                   running bigint, queued bigint, held bigint, window_start timestamptz, window_used bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.concurrency_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.concurrency_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.concurrency_stats(text) IS
'Per concurrency key of `queue` with active items, held items or a state row: the limits that apply (max_running, rate, period: its own row or ''*''; NULL = none), running and queued items (queued includes held), held (waiting for a free slot), and for a rate limit the current window''s start and the cost units started in it. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL), ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- ==== change work_queues@v0.6.0 (deploy/work_queues@v0.6.0.sql) ====
-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.5.0
-- requires: work_concurrency

-- Concurrency keys: the generated create_item writes the item's concurrency_key and cost (and, for
-- a queue with a concurrency_param, derives the key from params in the queue's own branch: queues
-- without one pay nothing); create_queue / configure_queue take concurrency_param; drop_queue
-- removes the queue's concurrency state.
DROP FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb);

CREATE OR REPLACE FUNCTION animus.work_generate_queue_functions()
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $gen$
DECLARE
    q        text;
    qp       text;
    b_send   text := '';
    b_one    text := '';
    b_claim  text := '';
    b_arch   text := '';
    b_vt     text := '';
BEGIN
    FOR q, qp IN SELECT qq.queue_name, qq.concurrency_param FROM animus.queues qq ORDER BY qq.queue_name LOOP
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
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN (''queued'', ''running'') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
        'Generated by animus.work_generate_queue_functions (do not edit): moves messages of pgmq.q_<queue> to pgmq.a_<queue>, like pgmq.archive. Internal.';
    COMMENT ON FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]) IS
        'Generated by animus.work_generate_queue_functions (do not edit): sets the visibility time of messages of pgmq.q_<queue>, like pgmq.set_vt. Internal.';
END;
$gen$;
REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_generate_queue_functions() IS
'Internal: regenerates animus.work_queue_send / _create_item / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue and drop_queue). Raises nothing of its own.';
DO $$ BEGIN PERFORM animus.work_generate_queue_functions(); END $$;

-- One error for a bad concurrency_param (create_queue; configure_queue also takes '' = clear).
CREATE FUNCTION animus.work_check_concurrency_param(concurrency_param text, empty_clears boolean)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.work_check_concurrency_param(text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_check_concurrency_param(text, boolean) IS
'Internal: raises ZA129 for a concurrency_param that is empty (unless empty_clears), only white space or over 200 characters; NULL passes.';

DROP FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean);
DROP FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval);

CREATE FUNCTION animus.create_queue(
    queue            text,
    backoff_base     interval DEFAULT '2 seconds',
    backoff_factor   double precision DEFAULT 2,
    backoff_cap      interval DEFAULT '5 minutes',
    backoff_jitter   double precision DEFAULT 0.25,
    notify           boolean DEFAULT true,
    notify_throttle  interval DEFAULT '250 milliseconds',
    if_not_exists    boolean DEFAULT false,
    concurrency_param text DEFAULT NULL
)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
    INSERT INTO animus.queues (queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle, concurrency_param)
    VALUES (queue, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle, concurrency_param);
    PERFORM animus.work_generate_queue_functions();
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) TO animus_admin;
COMMENT ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) IS
'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). concurrency_param: the params key whose value is the concurrency key of an item submitted without one (animus.set_concurrency_limit). Returns true when created, false when it existed and if_not_exists. Who may use the queue: animus.grant_queue (the group roles hold ''*'' until an admin revokes it). Raises ZA001 (queue or a setting NULL/empty, each named), ZA107 (invalid name), ZA002 (a setting out of range, named: backoff_base, backoff_cap, notify_throttle >= 0; backoff_factor >= 1; 0 <= backoff_jitter < 1), ZA106 (exists), ZA129 (concurrency_param empty, only white space or over 200 characters).';

CREATE FUNCTION animus.configure_queue(
    queue            text,
    backoff_base     interval DEFAULT NULL,
    backoff_factor   double precision DEFAULT NULL,
    backoff_cap      interval DEFAULT NULL,
    backoff_jitter   double precision DEFAULT NULL,
    notify           boolean DEFAULT NULL,
    notify_throttle  interval DEFAULT NULL,
    concurrency_param text DEFAULT NULL
)
    RETURNS animus.queues
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
    IF concurrency_param IS NOT NULL THEN
        -- the generated submit functions derive the key: regenerate them (serialised as create_queue)
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
                                 ELSE NULLIF(configure_queue.concurrency_param, '') END
    WHERE q.queue_name = configure_queue.queue
    RETURNING q.* INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', queue),
            HINT = 'List queues with SELECT queue_name FROM animus.queues, or create it with animus.create_queue.';
    END IF;
    IF concurrency_param IS NOT NULL THEN
        PERFORM animus.work_generate_queue_functions();
    END IF;
    RETURN result;
END;
$$;
REVOKE ALL ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text) TO animus_admin;
COMMENT ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text) IS
'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting; concurrency_param => '''' clears the derived key) and returns its row. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue), ZA002 (a setting out of range, named), ZA129 (concurrency_param only white space or over 200 characters).';

CREATE OR REPLACE FUNCTION animus.drop_queue(queue text)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.drop_queue(text) IS
'Drops a work queue: its work items (all states), its grants, its concurrency limits and state, its pgmq queue and archive. Returns the number of work items deleted. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue).';

-- ==== change work_submit (deploy/work_submit.sql) ====
-- Deploy animus:work_submit to pg
-- requires: work_submit@v0.5.0
-- requires: work_concurrency
-- requires: work_queues

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

-- ==== change work_lifecycle@v0.6.0 (deploy/work_lifecycle@v0.6.0.sql) ====
-- Deploy animus:work_lifecycle to pg
-- requires: work_lifecycle@v0.5.0
-- requires: work_concurrency
-- requires: work_submit

-- Concurrency keys: read_work admits the claimed items that have a key through
-- animus.work_key_admit (items without a key take the v0.5.0 path: one FILTER more per aggregate);
-- every way out of running (complete_work, fail_work, cancel_work, read_work's dead path) wakes held
-- items of the item's key through animus.work_key_wake, after the item's update and in the same
-- transaction.

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
REVOKE ALL ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) IS
'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message archived). Held items of the failed items'' concurrency keys are woken. Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA110 (more than 10000 ids), ZA002 (attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';


-- cancel --------------------------------------------------------------------------------------------
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
REVOKE ALL ON FUNCTION animus.cancel_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.cancel_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.cancel_work(uuid) IS
'Cancels a queued or running work item: state cancelled, message archived (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. A cancelled running item frees its concurrency key''s slot (held items are woken). Returns true, or false if it was already cancelled. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA104 (completed, dead or a merged submission).';

-- ==== change work_release (deploy/work_release.sql) ====
-- Deploy animus:work_release to pg
-- requires: work_release@v0.5.0
-- requires: work_concurrency
-- requires: work_lifecycle

-- Concurrency keys: a released item frees its key's slot, so held items of the key are woken.
CREATE OR REPLACE FUNCTION animus.release_work(work_id uuid, attempt integer DEFAULT NULL, delay interval DEFAULT '0 seconds')
    RETURNS timestamptz
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
REVOKE ALL ON FUNCTION animus.release_work(uuid, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.release_work(uuid, integer, interval) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.release_work(uuid, integer, interval) IS
'Gives a running (claimed) work item back: state queued again, visible to read_work after `delay` (default at once), and the claim does not count against max_attempts (released + 1: attempts - released is what counts), so a release, e.g. at a graceful worker shutdown, is not a failed attempt; attempts, the claim token, never goes down, so a late settle of the released claim raises ZA108. Held items of its concurrency key are woken (its slot is free). The item keeps its error, its merged duplicates and a waiting replace-mode follow-up (which keeps waiting). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Returns the time the item becomes visible again. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA002 (delay NULL or negative), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

-- ==== change work_wait (deploy/work_wait.sql) ====
-- Deploy animus:work_wait to pg
-- requires: work_status
-- requires: work_limits

-- Awaiting a result (docs/work-queue.md, "Waiting for a result").
--
-- Producers and workers pay nothing unless someone waits: a waiter marks the canonical item
-- awaited (watch_work inserts it into animus.work_awaited), and the state-transition trigger
-- (reworked in work_items) removes the mark when the item ends (completed, dead, cancelled) and,
-- if there was one, sends pg_notify('animus_work_done', id). NOTIFY is transactional: listeners
-- get it when the settling transaction commits. The marks are a side table, not a work_items
-- column: marking writes no new version of the hot work_items row, and submit_work_batch builds
-- work_items rows column by column (a new column would change that type).
--
-- Why watch_work cannot miss an end (with the caller LISTENing on animus_work_done before it
-- calls watch_work): watch_work locks the active item's row (FOR NO KEY UPDATE) before it
-- inserts the mark and holds the lock to its commit, and every end is an UPDATE of that row, so
-- the two are ordered by the row lock.
--   * The end goes first: the item is ended (or its row is locked by the ending transaction).
--     watch_work does not wait for a locked row (SKIP LOCKED): it marks nothing for it and says
--     so (watching false); its state read (a fresh snapshot) returns the ended row if the end has
--     committed, else the caller looks again shortly.
--   * The mark goes first: the settling UPDATE waits for watch_work to commit; its trigger then
--     (a statement with a fresh snapshot) finds the committed mark and notifies at its commit,
--     when the caller already listens.
-- watching = true (a committed mark, or ours) therefore guarantees a notification at the end.
-- Never waiting for a row lock keeps watch_work out of deadlocks: the many-id settle functions
-- lock several item rows in their input order, a watcher waiting for one of them while holding
-- another could deadlock with them (and the settle could be the one aborted).
-- A retried item (running -> queued) stays marked; the mark goes with the end.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA155', 'invalid_wait_timeout',   'wait_work was given a NULL or negative timeout.',
     'Pass how long to wait at most, e.g. timeout => ''30 seconds'' (''0'' only looks once).'),
    ('ZA156', 'wait_needs_read_committed', 'wait_work was called in a REPEATABLE READ or SERIALIZABLE transaction: its snapshot would never show the item end.',
     'Call wait_work outside an explicit transaction or in a READ COMMITTED one; or read the state once with animus.watch_work / animus.get_work.');

CREATE TABLE animus.work_awaited (
    work_id     uuid PRIMARY KEY,
    awaited_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
-- No FOREIGN KEY to work_items (its check would cost every mark a KEY SHARE lock and a probe):
-- only watch_work inserts (active items it has locked), the end of the item deletes the row.
COMMENT ON TABLE animus.work_awaited IS 'Active work items a waiter awaits (animus.watch_work, client.wait): when one ends (completed, dead, cancelled) the state trigger deletes its row and sends pg_notify(''animus_work_done'', id). Holds only items not yet ended.';
COMMENT ON COLUMN animus.work_awaited.work_id IS 'the canonical work item awaited (queued or running when marked; no FK: see deploy/work_wait.sql).';
COMMENT ON COLUMN animus.work_awaited.awaited_at IS 'when the first waiter marked it.';

-- The current state of each id, resolved to the item it ends with: a merged submission reads its
-- canonical item (merged_into, one hop: canonical items are never merged). Ids unknown to the
-- caller (absent, or in a queue without a grant) give a row with state NULL.
CREATE FUNCTION animus.work_wait_state(work_ids uuid[])
    RETURNS TABLE (work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamptz)
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT i.id, c.id, c.state, coalesce(c.state IN ('completed', 'dead', 'cancelled'), false),
           c.outcome, c.error, c.resolved_at
      FROM (SELECT animus.work_queue_scope() AS queues) sc
     CROSS JOIN pg_catalog.unnest(work_ids) WITH ORDINALITY AS i(id, n)
      LEFT JOIN animus.work_items s ON s.id = i.id AND (s.queue_name = ANY (sc.queues) OR '*' = ANY (sc.queues))
      LEFT JOIN animus.work_items c ON c.id = coalesce(s.merged_into, s.id)
     ORDER BY i.n
$$;
REVOKE ALL ON FUNCTION animus.work_wait_state(uuid[]) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_wait_state(uuid[]) IS
'Internal (called by watch_work and wait_work, which run as the owner): one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at) of the item the id ends with (a merged submission: its canonical item); state NULL for an id unknown to the caller or in a queue it has no grant on. Raises nothing.';

CREATE FUNCTION animus.watch_work(work_ids uuid[])
    RETURNS TABLE (work_id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text, resolved_at timestamptz,
                   watching boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.watch_work(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.watch_work(uuid[]) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.watch_work(uuid[]) IS
'Starts watching work items and returns their current state: one row per input id, in input order: (work_id, canonical_id, state, ended, outcome, error, resolved_at, watching). A merged submission resolves to its canonical item (canonical_id, its state and outcome); a replace-mode submission merged into a queued item gets the outcome of the run with the latest params. Items not ended are marked awaited (animus.work_awaited): when they end (completed, dead, cancelled) a notification with the canonical id as payload is sent on channel animus_work_done at the commit (LISTEN before calling, then call again for the ids notified to read their outcome). watching = true guarantees that notification; false for an item not ended means its row was locked by another transaction at that instant (being settled or marked): call again shortly. Never waits for a row lock (no deadlock with the many-id settles). ended rows carry outcome (completed) or error (dead). An id unknown to the caller, or of a queue it has no grant on, gives state NULL (nothing marked). Race-free against a concurrent end: the mark holds the lock of the item row the end updates. At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids).';

CREATE FUNCTION animus.wait_work(work_id uuid, timeout interval DEFAULT '30 seconds')
    RETURNS TABLE (id uuid, canonical_id uuid, state text, ended boolean, outcome jsonb, error text,
                   resolved_at timestamptz, timed_out boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.wait_work(uuid, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.wait_work(uuid, interval) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.wait_work(uuid, interval) IS
'Waits until the work item ends (completed, dead, cancelled) or timeout passes, for psql and SQL callers: returns one row (id: the work_id given, canonical_id, state, ended, outcome, error, resolved_at, timed_out); timed_out = true (ended false, the current state) when the timeout passed first. An item that already ended returns at once; a merged submission waits for its canonical item. Polls (10 ms doubling to 500 ms; a commit of another session is seen at the next look), locks no row, marks nothing; the calling statement keeps its snapshot (xmin) until it returns. Only in READ COMMITTED: a REPEATABLE READ or SERIALIZABLE snapshot would never see the end. Clients that can LISTEN use watch_work instead (client.wait). Raises ZA001 (work_id NULL), ZA155 (timeout NULL or negative), ZA156 (not READ COMMITTED), ZA102 (unknown work item, or one in a queue the caller may not use).';

-- ==== change work_items (deploy/work_items.sql) ====
-- Deploy animus:work_items to pg
-- requires: work_items@v0.5.0
-- requires: work_wait

-- The state-transition trigger (BEFORE UPDATE OF state, one call per state change already) also
-- tells waiters: when an item ends it removes the item's mark from animus.work_awaited (set by
-- animus.watch_work) and, if there was one, sends pg_notify('animus_work_done', id). NOTIFY is
-- transactional: delivered at the settle's commit, dropped if it rolls back. An item nobody
-- waits for pays one primary-key probe of that small table at its end (claims, retries and
-- heartbeats pay nothing); the statement runs with a fresh snapshot, so it sees a mark committed
-- while the settle waited for the item's row lock.
CREATE OR REPLACE FUNCTION animus.work_items_check_transition()
    RETURNS trigger
    VOLATILE
    SET search_path = pg_catalog, pg_temp
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
COMMENT ON FUNCTION animus.work_items_check_transition() IS
'Trigger: refuses state changes not listed in animus.work_state_transitions (ZA105); when an item ends (completed, dead, cancelled) deletes its mark in animus.work_awaited (animus.watch_work) and, if there was one, sends pg_notify(''animus_work_done'', id), delivered at commit. Raises ZA105.';

-- ==== change work_steps (deploy/work_steps.sql) ====
-- Deploy animus:work_steps to pg
-- requires: work_release
-- requires: work_status
-- requires: work_limits
-- requires: work_concurrency

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

-- ==== change work_status@v0.6.0 (deploy/work_status@v0.6.0.sql) ====
-- Deploy animus:work_status to pg
-- requires: work_status@v0.5.0
-- requires: work_steps

-- get_work lists the item's durable steps (animus.work_steps): the first 100 in the order they last
-- started, with their timing and outcome, and steps_total; get_work_steps returns every step with
-- its result. New result columns: get_work is dropped and created again. The other status
-- functions are unchanged since v0.5.0.
DROP FUNCTION animus.get_work(uuid);
CREATE FUNCTION animus.get_work(work_id uuid)
    RETURNS TABLE (
        id                 uuid,
        queue_name         text,
        work_type          text,
        dedup_key          text,
        source             text,
        trigger_info       text,
        params             jsonb,
        priority           integer,
        state              text,
        canonical_id       uuid,
        resolution         text,
        merged_into        uuid,
        waits_for          uuid,
        parent_id          uuid,
        attempts           integer,
        max_attempts       integer,
        msg_id             bigint,
        run_at             timestamptz,
        outcome            jsonb,
        error              text,
        duration_ms        double precision,
        trace_context      jsonb,
        requesters         jsonb,
        requesters_total   bigint,
        merged_submissions jsonb,
        merged_total       bigint,
        children           bigint,
        steps              jsonb,
        steps_total        bigint,
        created_at         timestamptz,
        updated_at         timestamptz,
        started_at         timestamptz,
        heartbeat_at       timestamptz,
        resolved_at        timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work(uuid) IS
'One work item with its provenance: canonical_id and resolution (for a merged submission, the canonical item''s id and state: merged duplicates resolve with it, and outcome/error are the canonical''s), requesters (the canonical submission and the first 99 merged ones, with trace_context, oldest first) and requesters_total (all of them), merged_submissions (the first 100 merged duplicates, each with its own source, trigger_info, params, priority, trace_context) and merged_total (all of them: animus.get_work_submissions pages through every one), the number of children, steps (the first 100 durable steps of the item, or of its canonical item for a merged submission, in the order they last started: name, occurrence, kind step|sleep|event, state running|completed|failed|waiting, attempt, started_at, finished_at, duration_ms, error, wake_at, event_key; animus.get_work_steps returns them all, with results) and steps_total. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

CREATE FUNCTION animus.get_work_steps(work_id uuid)
    RETURNS TABLE (
        step_name    text,
        occurrence   integer,
        kind         text,
        state        text,
        attempt      integer,
        result       jsonb,
        error        text,
        fingerprint  text,
        wake_at      timestamptz,
        event_key    text,
        started_at   timestamptz,
        finished_at  timestamptz,
        duration_ms  double precision
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.get_work_steps(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_work_steps(uuid) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.get_work_steps(uuid) IS
'Every durable step of work item work_id (of its canonical item, for a merged submission), in the order they last started: step_name, occurrence, kind (step, sleep, event), state (running, completed, failed, waiting), the attempt that last ran it, result (event waits: {"status", "payload"}), error, fingerprint, wake_at (a sleep''s end, an event wait''s deadline), event_key, started_at, finished_at, duration_ms. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use).';

-- ==== change work_schedules (deploy/work_schedules.sql) ====
-- Deploy animus:work_schedules to pg
-- requires: work_submit
-- requires: work_queue_grants

-- Schedules: work submitted by the database itself, per cron expression or fixed interval.
--
-- Cron is evaluated in SQL: an expression is parsed once (animus.cron_parse) into sorted integer
-- arrays (animus.cron_spec), and the next run is found by walking months, days, hours and minutes
-- of those arrays (animus.cron_next_local), never minute by minute. Time zones are IANA names;
-- DST follows Debian (Vixie) cron, as the Python library cronsim does (docs/schedules.md):
--   * an expression whose minute or hour field starts with '*' ("real clock": */15 * * * *,
--     0 * * * *) runs at every instant whose local time matches: twice for a repeated local time,
--     never for one skipped by a spring-forward gap;
--   * any other expression ("wall clock": 30 2 * * *) runs once per matching local date-time: a
--     repeated local time at its first occurrence, a skipped one at the end of the gap.
--
-- Exactly once: tick_schedules locks each due schedule row (FOR UPDATE SKIP LOCKED), submits its
-- due periods through animus.submit_work and advances next_run_at in the same transaction. A
-- ticker that dies rolls all of it back; another ticker skips the locked row, or re-reads it after
-- the commit (READ COMMITTED re-checks next_run_at <= now on the new row version) and finds it not
-- due. So no period is submitted twice, and none is lost.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA130', 'cron_syntax_error', 'A cron expression is malformed: not 5 fields or a known @macro, or a field token that is not a number, name, *, range, list or step.',
     'Use 5 fields (minute hour day-of-month month day-of-week) of numbers, names (JAN-DEC, SUN-SAT), *, a-b, lists and /steps, or @hourly/@daily/@weekly/@monthly/@yearly.'),
    ('ZA131', 'cron_value_out_of_range', 'A cron field holds a value outside its range (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7), a range whose end is below its start, or a step of 0.',
     'Keep each value inside its field''s range, write ranges low-high, and steps of at least 1.'),
    ('ZA132', 'schedule_unknown_time_zone', 'A time zone is not an IANA time zone name known to the server (pg_timezone_names).',
     'Pass a name such as ''UTC'', ''Europe/Berlin'' or ''America/New_York''; abbreviations and POSIX offsets are refused.'),
    ('ZA133', 'schedule_period_ambiguous', 'A schedule needs exactly one of cron and every.',
     'Pass cron => ''*/15 * * * *'' or every => ''15 minutes'', not both and not neither.'),
    ('ZA134', 'schedule_invalid_interval', 'every is not a fixed duration of at least 1 second (no months or years) or over 100 years.',
     'Pass every => ''15 minutes'' or ''1 day'' (24 hours); for calendar periods use a cron expression.'),
    ('ZA135', 'schedule_already_exists', 'create_schedule was called with the name of an existing schedule.',
     'Choose another name, alter the existing one with animus.alter_schedule, or drop it first.'),
    ('ZA136', 'schedule_not_found', 'No schedule has the given name (or it belongs to a queue the caller may not use).',
     'Check the name with animus.list_schedules().'),
    ('ZA137', 'schedule_invalid_policy', 'catchup is not ''latest'' or ''all''.',
     'Pass catchup => ''latest'' (only the most recent missed period) or ''all'' (every missed period, oldest first).'),
    ('ZA138', 'schedule_argument_out_of_range', 'A schedule argument is outside its range (max_catchup 1-10000, count 1-1000, max_submits 1-100000).',
     'Use a value inside the range given in the message.'),
    ('ZA139', 'cron_never_fires', 'A cron expression names no instant that exists (e.g. 30 February) within 50 years.',
     'Check the day-of-month against the months (31 * 4 has no day 31) and the weekday rule.'),
    ('ZA140', 'schedule_invalid_name', 'A schedule name is not 1-100 characters of letters, digits and _ . : - starting with a letter or digit.',
     'Use a name such as ''daily_digest'' or ''tenant-a:report''.');

-- The parsed form of a 5-field cron expression.
CREATE TYPE animus.cron_spec AS (
    minutes    integer[],
    hours      integer[],
    doms       integer[],
    months     integer[],
    dows       integer[],
    day_and    boolean,
    real_clock boolean
);
COMMENT ON TYPE animus.cron_spec IS 'A parsed cron expression (animus.cron_parse): the matching values of each field, sorted, and two flags.';
COMMENT ON COLUMN animus.cron_spec.minutes IS 'minutes 0-59 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.hours IS 'hours 0-23 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.doms IS 'days of the month 1-31 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.months IS 'months 1-12 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.dows IS 'days of the week 0-6 (0 = Sunday; 7 in the expression is stored as 0) that match, ascending';
COMMENT ON COLUMN animus.cron_spec.day_and IS 'true when the day-of-month or the day-of-week field starts with * (both must match); false: either matches (Vixie rule)';
COMMENT ON COLUMN animus.cron_spec.real_clock IS 'true when the minute or hour field starts with *: runs follow the real clock across DST changes; false: once per local date-time';

CREATE TABLE animus.schedules (
    name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
    cron            text,
    cron_spec       animus.cron_spec,
    every           interval CHECK (every >= '1 second'),
    start_at        timestamptz,
    timezone        text NOT NULL DEFAULT 'UTC',
    work_type       text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(params) = 'object'),
    queue_name      text NOT NULL REFERENCES animus.queues (queue_name) ON DELETE CASCADE,
    priority        integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    max_attempts    integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 1000),
    period_key      text CHECK (period_key <> ''),
    catchup         text NOT NULL DEFAULT 'latest' CHECK (catchup IN ('latest', 'all')),
    max_catchup     integer NOT NULL DEFAULT 100 CHECK (max_catchup BETWEEN 1 AND 10000),
    paused          boolean NOT NULL DEFAULT false,
    next_run_at     timestamptz,
    last_period_at  timestamptz,
    last_work_id    uuid,
    submitted_count bigint NOT NULL DEFAULT 0,
    skipped_count   bigint NOT NULL DEFAULT 0,
    last_error      text,
    last_error_at   timestamptz,
    created_by      oid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((cron IS NULL) <> (every IS NULL)),
    CHECK ((cron IS NULL) = (cron_spec IS NULL)),
    CHECK ((every IS NULL) = (start_at IS NULL))
);
CREATE INDEX schedules_due ON animus.schedules (next_run_at) WHERE NOT paused;
COMMENT ON TABLE animus.schedules IS
    'Recurring work: each period of a cron expression or fixed interval is submitted once by animus.tick_schedules. '
    'Managed with animus.create_schedule / alter_schedule / pause_schedule / resume_schedule / drop_schedule; readable by animus_admin.';
COMMENT ON COLUMN animus.schedules.name IS 'the schedule''s name (1-100 of [A-Za-z0-9_.:-]); its items have source ''schedule:<name>''';
COMMENT ON COLUMN animus.schedules.cron IS '5-field cron expression or @macro as given (NULL for an interval schedule)';
COMMENT ON COLUMN animus.schedules.cron_spec IS 'cron parsed once at create time (animus.cron_parse); NULL for an interval schedule';
COMMENT ON COLUMN animus.schedules.every IS 'fixed period of an interval schedule (>= 1 second, days are 24 hours, no months); NULL for a cron schedule';
COMMENT ON COLUMN animus.schedules.start_at IS 'first period of an interval schedule (periods are start_at + k * every); NULL for a cron schedule';
COMMENT ON COLUMN animus.schedules.timezone IS 'IANA time zone the cron expression is evaluated in (canonical name of pg_timezone_names)';
COMMENT ON COLUMN animus.schedules.work_type IS 'work_type of the submitted items';
COMMENT ON COLUMN animus.schedules.params IS 'params of the submitted items (a JSON object)';
COMMENT ON COLUMN animus.schedules.queue_name IS 'queue the items are submitted to (dropping the queue drops its schedules)';
COMMENT ON COLUMN animus.schedules.priority IS 'priority of the submitted items (-1000..1000)';
COMMENT ON COLUMN animus.schedules.max_attempts IS 'max_attempts of the submitted items (1..1000)';
COMMENT ON COLUMN animus.schedules.period_key IS 'when set, the period instant (ISO 8601, UTC) is added to the params of each item under this key';
COMMENT ON COLUMN animus.schedules.catchup IS 'missed periods after downtime: ''latest'' submits only the most recent (the others are counted in skipped_count), ''all'' every one, oldest first';
COMMENT ON COLUMN animus.schedules.max_catchup IS 'with catchup ''all'': at most this many of the most recent due periods are submitted; older ones are skipped and counted';
COMMENT ON COLUMN animus.schedules.paused IS 'true: not ticked; resume_schedule continues with the first period after the resume';
COMMENT ON COLUMN animus.schedules.next_run_at IS 'the earliest period not yet submitted or skipped: due when <= now';
COMMENT ON COLUMN animus.schedules.last_period_at IS 'the last period submitted (NULL before the first)';
COMMENT ON COLUMN animus.schedules.last_work_id IS 'work_id of the item submitted for last_period_at';
COMMENT ON COLUMN animus.schedules.submitted_count IS 'periods submitted since creation';
COMMENT ON COLUMN animus.schedules.skipped_count IS 'periods not submitted: passed over by catchup ''latest'' or max_catchup, or while the creator lacked a grant on the queue';
COMMENT ON COLUMN animus.schedules.last_error IS 'why the last tick did not submit this schedule''s due periods (NULL after a successful submit)';
COMMENT ON COLUMN animus.schedules.last_error_at IS 'when last_error was recorded';
COMMENT ON COLUMN animus.schedules.created_by IS 'pg_roles.oid of the creating role (animus.work_caller()): ticks submit only while it may use the queue';
COMMENT ON COLUMN animus.schedules.created_at IS 'when the schedule was created';
COMMENT ON COLUMN animus.schedules.updated_at IS 'when the schedule was last changed by a call (create, alter, pause, resume) or a tick';
GRANT SELECT ON animus.schedules TO animus_admin;

-- ---------------------------------------------------------------- cron parsing

-- One field of a cron expression: its sorted values. field_no: 1 minute, 2 hour, 3 day-of-month,
-- 4 month, 5 day-of-week (values 0-7 kept; the caller maps 7 to 0).
CREATE FUNCTION animus.cron_parse_field(field_no integer, token text)
    RETURNS integer[]
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.cron_parse_field(integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_parse_field(integer, text) IS
    'Internal: the sorted values of one cron field (1 minute, 2 hour, 3 day-of-month, 4 month, 5 day-of-week 0-7). Raises ZA130 (malformed token), ZA131 (value out of range, range end below start, step 0).';

CREATE FUNCTION animus.cron_parse(cron text DEFAULT NULL)
    RETURNS animus.cron_spec
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.cron_parse(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_parse(text) IS
    'Internal: parses a standard 5-field cron expression (minute hour day-of-month month day-of-week; *, lists, ranges, steps, JAN-DEC, SUN-SAT, 0 and 7 = Sunday) '
    'or a macro (@yearly @annually @monthly @weekly @daily @midnight @hourly) into animus.cron_spec. Raises ZA001 (NULL or blank), '
    'ZA130 (malformed: message names the field and the token), ZA131 (value out of range, reversed range, step 0), ZA139 (a day-of-month no chosen month has).';

-- ---------------------------------------------------------------- cron evaluation

-- The first local (wall-clock) date-time >= c that the spec matches; NULL when none within 50 years.
CREATE FUNCTION animus.cron_next_local(spec animus.cron_spec, c timestamp)
    RETURNS timestamp
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.cron_next_local(animus.cron_spec, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_next_local(animus.cron_spec, timestamp) IS
    'Internal: the first wall-clock date-time >= c (rounded up to the minute) that spec matches; NULL when none within 50 years. '
    'Walks months, days, hours and minutes of the spec''s arrays. Raises nothing.';

-- The UTC offset of zone tz at instant t. Like the queue helpers (deploy/work_queue_grants.sql) it
-- has no SET clause, so it inlines: no role may execute it, and its callers pin search_path.
CREATE FUNCTION animus.tz_offset(tz text, t timestamptz)
    RETURNS interval
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
AS $$
    SELECT (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC');
$$;
REVOKE ALL ON FUNCTION animus.tz_offset(text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_offset(text, timestamptz) IS 'Internal: the UTC offset of time zone tz at instant t. Raises nothing for a known zone.';

-- The first minute-aligned instant in (lo, hi] whose offset differs from lo's (binary search).
CREATE FUNCTION animus.tz_transition(tz text, lo timestamptz, hi timestamptz)
    RETURNS timestamptz
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.tz_transition(text, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_transition(text, timestamptz, timestamptz) IS
    'Internal: the first minute-aligned instant after lo, at most hi, where zone tz''s offset differs from its offset at lo (hi must differ). Raises nothing.';

-- The instants at which zone tz shows local time l: none (a spring-forward gap), one, or two (a
-- repeated local time), ascending.
CREATE FUNCTION animus.tz_instants(tz text, l timestamp)
    RETURNS timestamptz[]
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.tz_instants(text, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_instants(text, timestamp) IS
    'Internal: the instants (ascending) at which zone tz shows local time l: none in a spring-forward gap, two in a repeated hour. Raises nothing.';

-- The first run of spec in zone tz strictly after instant after; NULL when none within 50 years.
CREATE FUNCTION animus.cron_next(spec animus.cron_spec, tz text, after timestamptz)
    RETURNS timestamptz
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.cron_next(animus.cron_spec, text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_next(animus.cron_spec, text, timestamptz) IS
    'Internal: the first run of spec in IANA zone tz strictly after `after` (NULL when none within 50 years). Real-clock specs (minute or hour field '
    'starting with *) run at every instant whose local time matches; wall-clock specs once per matching local date-time (a repeated one at its '
    'first occurrence, one in a spring-forward gap when the gap ends), as Debian cron and cronsim. Raises nothing.';

-- The canonical IANA name of a time zone, or ZA132.
CREATE FUNCTION animus.schedule_check_timezone(timezone text)
    RETURNS text
    STABLE
    SET search_path = pg_catalog, pg_temp
    -- set_config below changes TimeZone only until this function returns
    SET TimeZone = 'UTC'
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.schedule_check_timezone(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_check_timezone(text) IS
    'Internal: the canonical name of IANA zone timezone (Area/Location or UTC/GMT, case-insensitive, as the server spells it). Raises ZA001 (NULL/empty), ZA132 (not an IANA zone name).';

CREATE FUNCTION animus.cron_next_runs(
    cron      text DEFAULT NULL,
    count     integer DEFAULT 5,
    after     timestamptz DEFAULT pg_catalog.now(),
    timezone  text DEFAULT 'UTC'
)
    RETURNS TABLE (run_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) IS
    'Tries a cron expression: its next `count` runs (1-1000) strictly after `after`, evaluated in IANA zone `timezone` (DST as Debian cron: see animus.cron_next). '
    'Fewer rows when the expression has no run within 50 years. Raises ZA001 (cron or timezone NULL/empty, after not finite), ZA130, ZA131, ZA139 (bad cron), '
    'ZA132 (unknown time zone), ZA138 (count out of range).';

-- ---------------------------------------------------------------- schedules

-- The first period of a schedule strictly after `after` (interval: start_at if after < start_at).
CREATE FUNCTION animus.schedule_next(s animus.schedules, after timestamptz)
    RETURNS timestamptz
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.schedule_next(animus.schedules, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_next(animus.schedules, timestamptz) IS
    'Internal: the first period of schedule s strictly after `after` (cron: animus.cron_next; interval: start_at + k * every). Raises nothing.';

-- May role_oid (a schedule's creator) submit to queue? Its role must exist, be a producer (or
-- admin, a member of it, or a superuser) and hold a grant on the queue.
CREATE FUNCTION animus.schedule_creator_allowed(role_oid oid, queue text)
    RETURNS boolean
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT coalesce((SELECT r.rolsuper OR (pg_catalog.pg_has_role(r.oid, 'animus_producer', 'USAGE')
                        AND EXISTS (SELECT 1 FROM animus.queue_grants g
                                     WHERE g.queue_name IN (queue, '*')
                                       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles gr WHERE gr.oid = g.role_oid)
                                       AND pg_catalog.pg_has_role(r.oid, g.role_oid, 'USAGE')))
                       FROM pg_catalog.pg_roles r WHERE r.oid = role_oid), false);
$$;
REVOKE ALL ON FUNCTION animus.schedule_creator_allowed(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_creator_allowed(oid, text) IS
    'Internal: true while role role_oid exists, may submit (animus_producer privileges, or superuser) and holds a grant on queue (or ''*''). Raises nothing.';

-- The argument checks shared by create_schedule and alter_schedule (NULL = not given).
CREATE FUNCTION animus.schedule_check_args(
    work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer,
    every interval, period_key text
)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text) IS
    'Internal: raises ZA001 / ZA002 / ZA003 / ZA134 / ZA137 / ZA138 for the first bad schedule argument (NULL = not given).';

-- A schedule the caller may see, locked; ZA136 otherwise (also for a queue it may not use).
CREATE FUNCTION animus.schedule_lock(name text)
    RETURNS animus.schedules
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.schedule_lock(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_lock(text) IS
    'Internal: the schedule named name, locked FOR UPDATE, if the caller may use its queue. Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use).';

CREATE FUNCTION animus.create_schedule(
    name          text DEFAULT NULL,
    cron          text DEFAULT NULL,
    work_type     text DEFAULT NULL,
    params        jsonb DEFAULT '{}',
    queue         text DEFAULT 'work',
    timezone      text DEFAULT 'UTC',
    every         interval DEFAULT NULL,
    start_at      timestamptz DEFAULT NULL,
    catchup       text DEFAULT 'latest',
    max_catchup   integer DEFAULT 100,
    priority      integer DEFAULT 0,
    max_attempts  integer DEFAULT 5,
    period_key    text DEFAULT NULL,
    paused        boolean DEFAULT false
)
    RETURNS animus.schedules
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean) IS
    'Creates schedule `name` submitting work_type with params to queue once per period: of cron (5 fields or @macro, evaluated in IANA zone timezone, '
    'DST as Debian cron) or of every (a fixed duration; periods start_at + k * every, start_at default now()). catchup: after downtime ''latest'' submits '
    'only the most recent missed period, ''all'' every one oldest first (at most the max_catchup most recent). period_key adds the period instant to params. '
    'The ticks (animus.tick_schedules) submit with the authority of the creating role: only while it may submit to the queue. Producers and admins, on '
    'queues granted to them. Returns the new row. Raises ZA001 (name, work_type, queue NULL; blank work_type; bad period_key), ZA140 (bad name), ZA133 '
    '(both or neither of cron and every, start_at with cron), ZA130 / ZA131 / ZA139 (bad cron), ZA132 (unknown time zone), ZA134 (bad every), ZA137 '
    '(catchup), ZA138 (max_catchup not 1-10000), ZA002 (priority, max_attempts), ZA003 (params not an object), ZA109 (no grant on the queue), ZA101 '
    '(unknown queue), ZA135 (name taken).';

CREATE FUNCTION animus.alter_schedule(
    name          text DEFAULT NULL,
    cron          text DEFAULT NULL,
    every         interval DEFAULT NULL,
    start_at      timestamptz DEFAULT NULL,
    timezone      text DEFAULT NULL,
    work_type     text DEFAULT NULL,
    params        jsonb DEFAULT NULL,
    queue         text DEFAULT NULL,
    catchup       text DEFAULT NULL,
    max_catchup   integer DEFAULT NULL,
    priority      integer DEFAULT NULL,
    max_attempts  integer DEFAULT NULL,
    period_key    text DEFAULT NULL
)
    RETURNS animus.schedules
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text) IS
    'Changes the given settings of schedule `name` (NULL = unchanged; period_key '''' removes it). A new cron, every, start_at or timezone restarts the '
    'timing: next_run_at becomes the first period after now (due periods not yet submitted are dropped). The creator (whose authority ticks use) stays. '
    'Only on schedules of queues granted to the caller (and a new queue must be granted too). Returns the row. Raises ZA001 (name NULL/empty), '
    'ZA136 (no such schedule), ZA133 (cron and every both, start_at on a cron schedule), ZA130 / ZA131 / ZA139, ZA132, ZA134, ZA137, ZA138, ZA002, ZA003, '
    'ZA109, ZA101 as create_schedule.';

CREATE FUNCTION animus.pause_schedule(name text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.pause_schedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.pause_schedule(text) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.pause_schedule(text) IS
    'Stops schedule `name` from submitting until resume_schedule; true if it was running, false if already paused. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

CREATE FUNCTION animus.resume_schedule(name text DEFAULT NULL)
    RETURNS timestamptz
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.resume_schedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.resume_schedule(text) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.resume_schedule(text) IS
    'Resumes a paused schedule and returns its next run: the first period after now (periods that passed while paused are not submitted). On a running '
    'schedule it changes nothing and returns next_run_at. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

CREATE FUNCTION animus.drop_schedule(name text DEFAULT NULL, if_exists boolean DEFAULT false)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.drop_schedule(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_schedule(text, boolean) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.drop_schedule(text, boolean) IS
    'Deletes schedule `name` (items it submitted stay); true when dropped, false for a missing one with if_exists. Raises ZA001 (name NULL/empty), '
    'ZA136 (no such schedule, without if_exists).';

CREATE FUNCTION animus.list_schedules(queue text DEFAULT NULL)
    RETURNS TABLE (name text, queue_name text, work_type text, cron text, every interval, start_at timestamptz, timezone text,
                   params jsonb, priority integer, max_attempts integer, period_key text, catchup text, max_catchup integer,
                   paused boolean, next_run_at timestamptz, last_period_at timestamptz, last_work_id uuid,
                   submitted_count bigint, skipped_count bigint, last_error text, last_error_at timestamptz,
                   created_by text, created_at timestamptz, updated_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
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
REVOKE ALL ON FUNCTION animus.list_schedules(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.list_schedules(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.list_schedules(text) IS
    'The schedules of queue `queue` (NULL: every queue) that the caller may use, by name, with next_run_at, counters and last_error. Raises nothing.';

CREATE FUNCTION animus.schedule_next_runs(name text DEFAULT NULL, count integer DEFAULT 5)
    RETURNS TABLE (run_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.schedule_next_runs(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.schedule_next_runs(text, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.schedule_next_runs(text, integer) IS
    'The next `count` (1-1000) periods of schedule `name`, from next_run_at (which may be due already); for a paused schedule those after now. '
    'Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use), ZA138 (count out of range).';

CREATE FUNCTION animus.tick_schedules(now timestamptz DEFAULT pg_catalog.clock_timestamp(), max_submits integer DEFAULT 1000)
    RETURNS TABLE (schedule text, period_at timestamptz, work_id uuid)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.tick_schedules(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.tick_schedules(timestamptz, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.tick_schedules(timestamptz, integer) IS
    'Submits the due periods (<= now) of every unpaused schedule on a queue the caller may use, and advances next_run_at in the same transaction: '
    'schedule rows are locked FOR UPDATE SKIP LOCKED, so concurrent tickers never submit a period twice and a ticker that dies submits nothing. '
    'catchup ''latest'': only the most recent due period (older ones counted in skipped_count); ''all'': each due period oldest first, at most the '
    'max_catchup most recent. At most max_submits (1-100000) items per call, the rest on the next tick. Items: source ''schedule:<name>'', trigger_info '
    '{"schedule", "period_at"} (JSON text), params as configured (plus period_key). A schedule whose creator may no longer submit to its queue skips '
    'its due periods (last_error says why); one whose submit fails stays due (last_error). Returns (schedule, period_at, work_id) per submitted item. '
    'Raises ZA001 (now NULL or infinite), ZA138 (max_submits out of range).';

-- ==== change work_batch (deploy/work_batch.sql) ====
-- Deploy animus:work_batch to pg
-- requires: work_lifecycle

-- Heartbeats for many claims in one round trip (the asyncio worker holds hundreds). Unlike the
-- single form, it never raises for one item's state: each id gets a status, so one cancelled or
-- stale claim does not stop the others from being extended. A name of its own (as
-- submit_work_batch), not a uuid[] overload of heartbeat_work: with an overload, the existing
-- call heartbeat_work('<uuid literal>') would no longer resolve (42725, not unique).
CREATE FUNCTION animus.heartbeat_work_batch(work_ids uuid[], extend interval DEFAULT '30 seconds', attempts integer[] DEFAULT NULL)
    RETURNS TABLE (work_id uuid, status text, visible_until timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.heartbeat_work_batch(uuid[], interval, integer[]) IS
'Batch form of heartbeat_work: extends the claims of every running item of work_ids to now + extend (heartbeat_at recorded) in one call, and returns (work_id, status, visible_until) per input id, in input order, instead of raising for one item: status running (extended until visible_until), cancelled (cancel_work meanwhile: stop the handler), stale (attempts[i] given and the item was claimed again since), ended (no longer running: completed, dead, queued again after its claim expired, merged) or unknown (no such item, or one in a queue the caller may not use). Claim fencing: attempts[i] is the attempts read_work returned (NULL element = no check). At most 10000 ids. Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (extend not positive, attempts length differs); nothing is written when it raises.';

-- ==== change memory_lifecycle (deploy/memory_lifecycle.sql) ====
-- Deploy animus:memory_lifecycle to pg
-- requires: memory_table
-- requires: memory_store
-- requires: security_memory_rls
-- requires: security_memory_private
-- requires: column_comments

-- Lifecycle and sharing of a memory (docs/memory-lifecycle.md):
--   * expires_at: from then on the memory is out of every search; purge_expired_memories deletes it;
--   * pinned: never expires (and is never due for review);
--   * superseded_by: the newer memory that replaced this one; out of searches unless a filter says
--     {"include_superseded": true}; memory_chain lists a chain of supersessions;
--   * owner_role, visibility, share_groups: 'namespace' (every reader of the namespace, the
--     default), 'private' (the owner only) or 'groups' (the owner and members of share_groups).
--
-- The searches confine themselves through the filter predicate animus.memory_filter_match, which
-- sees (namespace, memory_type, source, metadata, created_at) of a row. So the state that hides a
-- row is mirrored, by a trigger, into the reserved metadata key "_animus" (absent while the row
-- has the defaults: no expiry, not superseded, visible to the namespace): the predicate tests one
-- key on rows without state and the searches pick the rules up unchanged. The columns are the
-- truth (indexed for retention and chains); the trigger overwrites whatever a caller puts under
-- "_animus".
ALTER TABLE animus.memories
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN pinned        boolean NOT NULL DEFAULT false,
    ADD COLUMN superseded_by bigint REFERENCES animus.memories (id) ON DELETE SET NULL,
    ADD COLUMN superseded_at timestamptz,
    ADD COLUMN owner_role    oid,
    ADD COLUMN visibility    text NOT NULL DEFAULT 'namespace' CHECK (visibility IN ('namespace', 'private', 'groups')),
    ADD COLUMN share_groups  oid[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT memories_pinned_never_expires CHECK (NOT (pinned AND expires_at IS NOT NULL)),
    ADD CONSTRAINT memories_not_self_superseded CHECK (superseded_by IS DISTINCT FROM id),
    ADD CONSTRAINT memories_private_has_owner CHECK (visibility = 'namespace' OR owner_role IS NOT NULL);
COMMENT ON COLUMN animus.memories.expires_at IS 'When the memory expires (NULL: never): from then on no search returns it; animus.purge_expired_memories deletes it.';
COMMENT ON COLUMN animus.memories.pinned IS 'A pinned memory never expires and is never due for review.';
COMMENT ON COLUMN animus.memories.superseded_by IS 'The newer memory that replaced this one (store_memory(supersedes => ...)); NULL while current. Superseded memories leave searches unless a filter has "include_superseded": true.';
COMMENT ON COLUMN animus.memories.superseded_at IS 'When the memory was superseded (NULL while current).';
COMMENT ON COLUMN animus.memories.owner_role IS 'The role (pg_roles.oid) that stored the memory; with visibility private or groups, only it (and share_groups) see the memory.';
COMMENT ON COLUMN animus.memories.visibility IS 'Who of the readers of the namespace sees the memory: namespace (all, the default), private (owner_role only), groups (owner_role and members of share_groups).';
COMMENT ON COLUMN animus.memories.share_groups IS 'With visibility groups: the roles (pg_roles.oid) whose members see the memory.';

CREATE INDEX memories_expires_at ON animus.memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_superseded_by ON animus.memories (superseded_by) WHERE superseded_by IS NOT NULL;
-- Rows that carry state: memory_state_active() probes it once per search.
CREATE INDEX memories_with_state ON animus.memories (id) WHERE metadata ? '_animus';

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA216', 'memory_expiry_invalid', 'An expiry is in the past, a TTL is not positive, both expires_at and ttl are given, or a pinned memory is given an expiry.',
     'Pass expires_at in the future or a positive ttl (one of them), and no expiry with pinned => true.'),
    ('ZA217', 'memory_supersede_invalid', 'A memory cannot supersede itself, a memory of another namespace, or a memory that (transitively) supersedes it.',
     'Supersede older memories of the same namespace only.'),
    ('ZA218', 'memory_visibility_invalid', 'visibility is not namespace, private or groups, groups are given without visibility groups (or missing with it), or a role other than the owner changes them.',
     'Use visibility => ''private'', or visibility => ''groups'' with groups => ARRAY[''role'', ...].'),
    ('ZA219', 'memory_group_unknown', 'A group named in groups is not an existing role.',
     'Name existing roles (CREATE ROLE ... NOLOGIN); their members then see the memory.');

-- The state the predicate reads, from the columns. NULL while the row has the defaults.
CREATE FUNCTION animus.memory_state_of(expires_at timestamptz, superseded_by bigint, owner_role oid, visibility text, share_groups oid[])
    RETURNS jsonb
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'expires_at', expires_at,
           'superseded_by', superseded_by,
           'visibility', CASE WHEN visibility <> 'namespace' THEN visibility END,
           'owner', CASE WHEN visibility <> 'namespace' THEN owner_role::text END,
           'groups', CASE WHEN visibility = 'groups' THEN pg_catalog.to_jsonb(share_groups::text[]) END)),
       '{}'::jsonb);
COMMENT ON FUNCTION animus.memory_state_of(timestamptz, bigint, oid, text, oid[]) IS
    'Internal: the lifecycle and sharing state of a memory as mirrored into metadata->''_animus'' (NULL for the defaults). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_of(timestamptz, bigint, oid, text, oid[]) FROM PUBLIC;

CREATE FUNCTION animus.memory_state_mirror()
    RETURNS trigger
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb := animus.memory_state_of(NEW.expires_at, NEW.superseded_by, NEW.owner_role, NEW.visibility, NEW.share_groups);
BEGIN
    NEW.metadata := CASE WHEN state IS NULL THEN NEW.metadata - '_animus'
                         ELSE NEW.metadata || pg_catalog.jsonb_build_object('_animus', state) END;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION animus.memory_state_mirror() IS
    'Trigger of animus.memories: writes the row''s lifecycle and sharing state into metadata->''_animus'' (removes the key for the defaults), '
    'overwriting anything a caller stored there. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_mirror() FROM PUBLIC;

-- WHEN keeps rows without state (the bulk of a load) free of the PL/pgSQL call.
CREATE TRIGGER memories_state_mirror
    BEFORE INSERT OR UPDATE ON animus.memories
    FOR EACH ROW
    WHEN (NEW.expires_at IS NOT NULL OR NEW.superseded_by IS NOT NULL OR NEW.visibility <> 'namespace'
          OR NEW.metadata ? '_animus')
    EXECUTE FUNCTION animus.memory_state_mirror();

-- True when some memory carries state: only then do the searches pay for the state check.
CREATE FUNCTION animus.memory_state_active()
    RETURNS boolean
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT EXISTS (SELECT 1 FROM animus.memories AS m WHERE m.metadata ? '_animus');
$$;
COMMENT ON FUNCTION animus.memory_state_active() IS
    'True when at least one memory expires, is superseded or is not visible to its whole namespace (one probe of a partial index). '
    'Runs as the owner (SECURITY DEFINER); reveals one bit about the whole table. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_active() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_state_active() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- Who is looking: NULL for callers that see every namespace (they see every memory), else the
-- caller's role OID and the OIDs of every role it is a member of (its groups).
CREATE FUNCTION animus.memory_viewer()
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_viewer() IS
    'Internal: the caller as the sharing rules see it: NULL when its read scope is every namespace (it sees every memory), else '
    '{"role": own OID, "groups": [OIDs of the roles it is a member of, itself included]}. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_viewer() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_viewer() TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The row rule of the predicate, on the mirrored state s (metadata->'_animus') and the filter's
-- "state" entry st ({"include_superseded": bool, "viewer": memory_viewer() or absent}).
CREATE FUNCTION animus.memory_state_match(st jsonb, s jsonb)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    s IS NULL
    OR ((s -> 'superseded_by' IS NULL OR (st -> 'include_superseded') = 'true'::jsonb)
        AND (s -> 'expires_at' IS NULL OR (s ->> 'expires_at')::timestamptz > pg_catalog.now())
        AND (s -> 'visibility' IS NULL OR st -> 'viewer' IS NULL
             OR s ->> 'owner' = st #>> '{viewer,role}'
             OR (s ->> 'visibility' = 'groups'
                 AND (s -> 'groups') ?| ARRAY(SELECT pg_catalog.jsonb_array_elements_text(st #> '{viewer,groups}')))));
COMMENT ON FUNCTION animus.memory_state_match(jsonb, jsonb) IS
    'Internal to memory_filter_match: true when a memory with mirrored state s (metadata->''_animus'') is live (not expired, not '
    'superseded unless st.include_superseded) and visible to st.viewer (owner, member of a share group, or visibility namespace). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_match(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_state_match(jsonb, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The one place that says whether the caller may see a row (get_memory, links, chains, reviews).
CREATE FUNCTION animus.memory_row_visible(namespace text, visibility text, owner_role oid, share_groups oid[],
                                          scope text[], viewer jsonb)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN ('*' = ANY (scope) OR namespace = ANY (scope))
   AND (visibility = 'namespace' OR viewer IS NULL
        OR owner_role::text = viewer ->> 'role'
        OR (visibility = 'groups'
            AND share_groups::text[] && ARRAY(SELECT pg_catalog.jsonb_array_elements_text(viewer -> 'groups'))));
COMMENT ON FUNCTION animus.memory_row_visible(text, text, oid, oid[], text[], jsonb) IS
    'Internal: true when a memory (namespace, visibility, owner_role, share_groups) is visible to a caller with read scope scope '
    'and viewer animus.memory_viewer(). Lifecycle state (expiry, supersession) is not considered. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_row_visible(text, text, oid, oid[], text[], jsonb) FROM PUBLIC;

-- Lifecycle of one memory, checked and applied (store_memory and update_memory_lifecycle).
CREATE FUNCTION animus.memory_apply_lifecycle(
    memory_id   bigint,
    expires_at  timestamptz,
    ttl         interval,
    pinned      boolean,
    supersedes  bigint[],
    visibility  text,
    groups      text[],
    scope       text[])
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_apply_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], text[]) IS
    'Internal to store_memory and update_memory_lifecycle: checks and sets expiry, pinning, supersession and sharing of memory memory_id '
    '(the caller''s write scope is scope). Granted to nobody. Raises ZA207, ZA215, ZA216, ZA217, ZA218, ZA219.';
REVOKE ALL ON FUNCTION animus.memory_apply_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], text[]) FROM PUBLIC;

CREATE FUNCTION animus.update_memory_lifecycle(
    id          bigint      DEFAULT NULL,
    expires_at  timestamptz DEFAULT NULL,
    ttl         interval    DEFAULT NULL,
    pinned      boolean     DEFAULT NULL,
    supersedes  bigint[]    DEFAULT NULL,
    visibility  text        DEFAULT NULL,
    groups      text[]      DEFAULT NULL,
    clear_expiry boolean    DEFAULT false)
    RETURNS SETOF animus.memories
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) IS
    'Changes the lifecycle and sharing of memory id and returns the row: expires_at or ttl (from now), clear_expiry, pinned (a pinned '
    'memory loses its expiry), supersedes (older memories of its namespace it replaces), visibility (namespace, private, groups) with groups '
    '(role names). NULL leaves a field as it is. Only memories of the caller''s write scope that it sees; runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA207 (no such memory), ZA215, ZA216 (expiry in the past, ttl <= 0, both given, pinned), ZA217 (supersede itself, '
    'another namespace, a cycle), ZA218 (visibility/groups), ZA219 (unknown group role).';
REVOKE ALL ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean) TO animus_memory_writer, animus_admin;

-- Retention: expired memories are out of every search at once; this deletes them later.
CREATE FUNCTION animus.purge_expired_memories(
    namespace  text     DEFAULT NULL,
    grace      interval DEFAULT '0',
    max_rows   integer  DEFAULT 10000)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.purge_expired_memories(text, interval, integer) IS
    'Retention: deletes up to max_rows memories that expired at least grace ago (never pinned ones), in the caller''s write scope '
    '(and namespace, when given); returns how many. Their links go with them. Skips rows locked by others; call until it returns 0. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA002 (grace < 0, max_rows outside 1..100000).';
REVOKE ALL ON FUNCTION animus.purge_expired_memories(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_expired_memories(text, interval, integer) TO animus_memory_writer, animus_admin;

-- A chain of supersessions: the current memory at its head (generation 0), then what it
-- superseded (generation 1), what those superseded, ...; cycle-safe (a cycle cannot be built,
-- but the walk does not rely on it).
CREATE FUNCTION animus.memory_chain(id bigint DEFAULT NULL)
    RETURNS TABLE (memory_id bigint, generation integer, superseded_by bigint, superseded_at timestamptz,
                   content text, created_at timestamptz, expires_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_chain(bigint) IS
    'The supersession chain of memory id: the current memory at its head (generation 0), then the memories it superseded '
    '(generation 1), theirs (2), ...; only memories the caller sees (read scope and sharing). Superseded and expired memories stay '
    'listed until deleted. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (no such memory).';
REVOKE ALL ON FUNCTION animus.memory_chain(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_chain(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_filters (deploy/memory_filters.sql) ====
-- Deploy animus:memory_filters to pg
-- requires: memory_filters@v0.6.0
-- requires: memory_lifecycle

-- Lifecycle and sharing in every search (docs/memory-lifecycle.md). The searches apply
-- animus.memory_filter_match to their candidates with the filter memory_validate_filters
-- normalised; that filter now carries a "state" entry whenever some memory has state (an
-- expiry, a supersession, a visibility other than namespace), and the predicate checks the
-- row's mirrored state (metadata->'_animus', change memory_lifecycle) against it: expired rows
-- and rows superseded (unless {"include_superseded": true}) drop out, and so do rows private to
-- another role. Rows without state cost one key test. A table with no state at all keeps the
-- filters (and the plans) of before.

-- The "state" entry of a normalised filter, or none.
CREATE FUNCTION animus.memory_filter_state(normalised jsonb, include_superseded boolean)
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_filter_state(jsonb, boolean) IS
    'Internal to memory_validate_filters: adds {"state": {"include_superseded": ..., "viewer": animus.memory_viewer()}} to a '
    'normalised filter when some memory carries lifecycle or sharing state (animus.memory_state_active()). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_state(jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_state(jsonb, boolean) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}')
    RETURNS jsonb
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_validate_filters(jsonb) IS
    'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). '
    'When some memory carries lifecycle or sharing state (animus.memory_state_active()), the result has a "state" entry '
    '({"include_superseded": bool, "viewer": animus.memory_viewer()}) by which the predicate drops expired memories, superseded ones '
    '(unless filters.include_superseded is true) and memories private to others. '
    'Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator), ZA213 (more than 100 strings in a list, or over 16384 bytes).';
REVOKE ALL ON FUNCTION animus.memory_validate_filters(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_validate_filters(jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;


CREATE OR REPLACE FUNCTION animus.memory_filter_match(
    filters      jsonb,
    namespace    text,
    memory_type  text,
    source       text,
    metadata     jsonb,
    created_at   timestamptz)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    (filters -> 'namespace' IS NULL
        OR CASE WHEN filters -> 'namespace' ? 'in'
                THEN namespace = ANY (animus.memory_filter_list(filters -> 'namespace'))
                ELSE pg_catalog.starts_with(namespace, filters -> 'namespace' ->> 'prefix') END)
    AND (filters -> 'memory_type' IS NULL
        OR CASE WHEN filters -> 'memory_type' ? 'in'
                THEN memory_type = ANY (animus.memory_filter_list(filters -> 'memory_type'))
                ELSE pg_catalog.starts_with(memory_type, filters -> 'memory_type' ->> 'prefix') END)
    AND (filters -> 'source' IS NULL
        OR CASE WHEN filters -> 'source' ? 'in'
                THEN source = ANY (animus.memory_filter_list(filters -> 'source'))
                ELSE pg_catalog.starts_with(source, filters -> 'source' ->> 'prefix') END)
    AND (filters -> 'metadata' IS NULL OR metadata @> (filters -> 'metadata'))
    AND (filters #> '{created_at,gt}' IS NULL OR created_at > (filters #>> '{created_at,gt}')::timestamptz)
    AND (filters #> '{created_at,gte}' IS NULL OR created_at >= (filters #>> '{created_at,gte}')::timestamptz)
    AND (filters #> '{created_at,lt}' IS NULL OR created_at < (filters #>> '{created_at,lt}')::timestamptz)
    AND (filters #> '{created_at,lte}' IS NULL OR created_at <= (filters #>> '{created_at,lte}')::timestamptz)
    AND (filters -> 'state' IS NULL OR NOT (metadata ? '_animus')
         OR animus.memory_state_match(filters -> 'state', metadata -> '_animus'));
COMMENT ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) IS
    'True when a memory (its namespace, memory_type, source, metadata, created_at) passes a filter normalised by '
    'animus.memory_validate_filters; with the filter''s "state" entry, also that it is live (not expired, not superseded unless '
    'include_superseded) and visible to the viewer (metadata->''_animus'', change memory_lifecycle). Inlinable SQL: call it in WHERE with a constant or parameter filter. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_filter_match(jsonb, text, text, text, jsonb, timestamptz) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_store (deploy/memory_store.sql) ====
-- Deploy animus:memory_store to pg
-- requires: memory_store@v0.6.0
-- requires: memory_lifecycle

-- Lifecycle and sharing on the write paths (docs/memory-lifecycle.md): store_memory takes
-- expires_at / ttl, pinned, supersedes, visibility and groups (a new signature: the old one is
-- dropped, an overload would make every call by name ambiguous); get_memory, update_memory,
-- delete_memory and delete_memories treat a memory private to another role as missing. The
-- caller's role becomes the owner of what store_memory creates.
DROP FUNCTION animus.store_memory(text, vector, text, text, jsonb, text);

CREATE FUNCTION animus.store_memory(
    content      text        DEFAULT NULL,
    embedding    vector      DEFAULT NULL,
    memory_type  text        DEFAULT NULL,
    source       text        DEFAULT NULL,
    metadata     jsonb       DEFAULT '{}',
    namespace    text        DEFAULT 'default',
    expires_at   timestamptz DEFAULT NULL,
    ttl          interval    DEFAULT NULL,
    pinned       boolean     DEFAULT NULL,
    supersedes   bigint[]    DEFAULT NULL,
    visibility   text        DEFAULT NULL,
    groups       text[]      DEFAULT NULL)
    RETURNS TABLE (id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) IS
    'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory '
    '(memory_type, source, metadata, embedding, updated_at) and returns created = false. '
    'Lifecycle (docs/memory-lifecycle.md): expires_at or ttl (from now; out of every search once passed), pinned (never expires), '
    'supersedes (ids of older memories of the namespace this one replaces; they leave searches), visibility (namespace, the default; '
    'private; groups, with groups => role names); the caller''s role is the owner. '
    'Only into a namespace of the caller''s write scope (animus.memory_scope(''write'')); runs as the owner (SECURITY DEFINER). '
    'Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content), '
    'ZA207 (a superseded id that does not exist), ZA211 (the content of a memory not shared with the caller), ZA214, ZA215, '
    'ZA216 (expiry in the past, ttl <= 0, both, or with pinned), ZA217 (supersede itself, another namespace, a cycle), '
    'ZA218 (visibility, groups), ZA219 (unknown group), 42501 (namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memory(text, vector, text, text, jsonb, text, timestamptz, interval, boolean, bigint[], text, text[]) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.get_memory(id bigint DEFAULT NULL)
    RETURNS SETOF animus.memories
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.get_memory(bigint) IS
    'The memory with this id, as the table row; no row if there is none, it is outside the caller''s read scope (animus.memory_scope(''read'')) or private to another role '
    '(visibility private, or groups the caller is not a member of). Expired and superseded memories are returned (see expires_at, superseded_by) until deleted. '
    'Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.get_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.get_memory(bigint) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.update_memory(
    id           bigint DEFAULT NULL,
    content      text   DEFAULT NULL,
    embedding    vector DEFAULT NULL,
    memory_type  text   DEFAULT NULL,
    source       text   DEFAULT NULL,
    metadata     jsonb  DEFAULT NULL,
    namespace    text   DEFAULT NULL)
    RETURNS SETOF animus.memories
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) IS
    'Changes the non-NULL fields of memory id (metadata is replaced, not merged) and sets updated_at; returns the new row. '
    'New content needs its embedding in the same call. Only memories (and a new namespace) of the caller''s write scope that it sees (not private to another role); '
    'runs as the owner (SECURITY DEFINER). Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory in the write scope), '
    'ZA211 (another memory of the namespace has that content), 42501 (new namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.update_memory(bigint, text, vector, text, text, jsonb, text) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.delete_memory(id bigint DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.delete_memory(bigint) IS
    'Deletes memory id; true if it existed in the caller''s write scope and was not private to another role, false otherwise. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.delete_memory(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memory(bigint) TO animus_memory_writer, animus_admin;

CREATE OR REPLACE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.delete_memories(bigint[]) IS
    'Batch form of delete_memory: deletes the memories with these ids in the caller''s write scope, returns how many there were. '
    'At most 10,000 ids a call. Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA215 (more than 10,000 ids).';
REVOKE ALL ON FUNCTION animus.delete_memories(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.delete_memories(bigint[]) TO animus_memory_writer, animus_admin;

-- ==== change memory_links (deploy/memory_links.sql) ====
-- Deploy animus:memory_links to pg
-- requires: memory_lifecycle
-- requires: memory_filters

-- Links between memories (docs/memory-lifecycle.md, "Links"): a directed, typed, weighted edge
-- from one memory to another, deleted with either memory. Only memories the caller sees can be
-- linked or reached; memory_neighbors walks them breadth-first and never revisits a memory, so
-- cycles end the walk instead of looping.
CREATE TABLE animus.memory_links (
    source_id   bigint NOT NULL REFERENCES animus.memories (id) ON DELETE CASCADE,
    target_id   bigint NOT NULL REFERENCES animus.memories (id) ON DELETE CASCADE,
    relation    text NOT NULL CHECK (relation ~ '^[a-z][a-z0-9_]{0,62}$'),
    weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <= 1000),
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, target_id, relation),
    CHECK (source_id <> target_id)
);
CREATE INDEX memory_links_target ON animus.memory_links (target_id);
COMMENT ON TABLE animus.memory_links IS 'Directed, typed, weighted links between memories; removed with either memory. Read through memory_neighbors.';
COMMENT ON COLUMN animus.memory_links.source_id IS 'The memory the link starts from.';
COMMENT ON COLUMN animus.memory_links.target_id IS 'The memory the link points to.';
COMMENT ON COLUMN animus.memory_links.relation IS 'The kind of link: a lower-case identifier such as related, cites, contradicts, part_of.';
COMMENT ON COLUMN animus.memory_links.weight IS 'Strength of the link, in (0, 1000]; memory_graph_expand multiplies scores by it.';
COMMENT ON COLUMN animus.memory_links.metadata IS 'Free JSON object about the link (who made it, why).';
COMMENT ON COLUMN animus.memory_links.created_at IS 'When the link was made (kept when link_memories is called again).';
-- Tenant roles read links through the functions only (like animus.memories).
REVOKE ALL ON animus.memory_links FROM PUBLIC;
GRANT SELECT ON animus.memory_links TO animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA220', 'memory_link_invalid', 'A link from a memory to itself, a relation that is not a lower-case identifier, a weight outside (0, 1000], or link metadata that is not an object.',
     'Link two different memories with a relation such as ''related'' and a weight such as 1.'),
    ('ZA221', 'memory_graph_bounds', 'depth of memory_neighbors / memory_graph_expand outside 1..5, or too many relations or seed ids.',
     'Walk at most 5 links deep from at most 1000 memories.');

CREATE FUNCTION animus.link_memories(
    source    bigint           DEFAULT NULL,
    target    bigint           DEFAULT NULL,
    relation  text             DEFAULT 'related',
    weight    double precision DEFAULT 1,
    metadata  jsonb            DEFAULT '{}')
    RETURNS SETOF animus.memory_links
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
COMMENT ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) IS
    'Links memory source to memory target with a relation (lower-case identifier, default related), a weight in (0, 1000] and '
    'metadata, and returns the link; again for the same (source, target, relation) updates weight and metadata. The source must be in '
    'the caller''s write scope, both memories visible to the caller. Runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA207 (unknown or invisible memory), ZA220 (self link, relation, weight, metadata).';
REVOKE ALL ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.unlink_memories(
    source    bigint DEFAULT NULL,
    target    bigint DEFAULT NULL,
    relation  text   DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.unlink_memories(bigint, bigint, text) IS
    'Removes the links from source to target (of one relation, or all when relation is NULL) whose source the caller may write; '
    'returns how many. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.unlink_memories(bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.unlink_memories(bigint, bigint, text) TO animus_memory_writer, animus_admin;

-- Breadth-first walk from seeds over links in both directions; each memory once, at its
-- shallowest depth (with the best score among its paths there); invisible, expired and
-- superseded memories are neither returned nor walked through.
CREATE FUNCTION animus.memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision)
    RETURNS TABLE (memory_id bigint, hops integer, score double precision, via bigint, relation text)
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_graph_walk(bigint[], double precision[], integer, text[], double precision) IS
    'Internal to memory_neighbors and memory_graph_expand: breadth-first over links (both directions) from seeds, each memory once at its '
    'shallowest depth; score = seed score x product of link weights x decay per step (best path at that depth). Only memories the caller '
    'sees that are live (not expired, not superseded). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_graph_walk(bigint[], double precision[], integer, text[], double precision) FROM PUBLIC;

CREATE FUNCTION animus.memory_check_graph_args(depth integer, relations text[])
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_check_graph_args(integer, text[]) IS
    'Internal: raises ZA221 unless depth is 1..5 and relations is NULL or lists 1..100 relations.';
REVOKE ALL ON FUNCTION animus.memory_check_graph_args(integer, text[]) FROM PUBLIC;

CREATE FUNCTION animus.memory_neighbors(
    id         bigint  DEFAULT NULL,
    depth      integer DEFAULT 1,
    relations  text[]  DEFAULT NULL)
    RETURNS TABLE (memory_id bigint, hops integer, via bigint, relation text, weight double precision,
                   namespace text, content text, memory_type text, metadata jsonb)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) IS
    'The memories linked to memory id (links in either direction) up to depth links away (1..5), each once at its shallowest depth: '
    'hops (links away), via (the memory it was reached from), relation, weight (product of the link weights on the best path), and the memory. '
    'Cycle-safe. Only live memories the caller sees (not expired, not superseded, not private to another role); relations NULL follows '
    'every relation. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (unknown or invisible id), ZA221 (depth, relations).';
REVOKE ALL ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The graph step proposed for hybrid_search (docs/memory-lifecycle.md, "Proposal"): the
-- neighbours of the top hits with score = hit score x link weight x decay per link.
CREATE FUNCTION animus.memory_graph_expand(
    hit_ids     bigint[]         DEFAULT NULL,
    hit_scores  double precision[] DEFAULT NULL,
    depth       integer          DEFAULT 1,
    relations   text[]           DEFAULT NULL,
    decay       double precision DEFAULT 0.5)
    RETURNS TABLE (memory_id bigint, score double precision, hops integer, via bigint, relation text)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) IS
    'The graph step for a search: the live, visible memories linked to the hits (not hits themselves) up to depth links away, '
    'score = hit score x link weight x decay per link (best path at the shallowest depth), best first. Hits the caller cannot see '
    'contribute nothing. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (decay), ZA221.';
REVOKE ALL ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_review (deploy/memory_review.sql) ====
-- Deploy animus:memory_review to pg
-- requires: memory_lifecycle

-- Review scheduling with FSRS-4.5 (docs/memory-lifecycle.md, "Review"): the Free Spaced
-- Repetition Scheduler of open-spaced-repetition (fsrs4anki v4.5, py-fsrs 3.x), with its
-- published default weights w0..w16. A memory's retention state is its stability S (days until
-- retrievability falls to 90 %), difficulty D (1..10), reps, lapses and last review:
--   R(t, S)  = (1 + 19/81 * t / S) ^ -0.5                      (t: days since the last review)
--   first review with grade G (1 again, 2 hard, 3 good, 4 easy):
--            S = w[G-1],  D = clamp(w4 - w5 * (G - 3), 1, 10)
--   later:   D' = clamp(w7 * w4 + (1 - w7) * (D - w6 * (G - 3)), 1, 10)
--            G = 1: S' = w11 * D^-w12 * ((S + 1)^w13 - 1) * e^(w14 * (1 - R))
--            else:  S' = S * (1 + e^w8 * (11 - D) * S^-w9 * (e^(w10 * (1 - R)) - 1) * (w15 if G = 2) * (w16 if G = 4))
--   next due: last review + S' / (19/81) * (r^(1/-0.5) - 1) days, r = desired_retention (0.9: S' days).
-- Days are fractional (the scheduler of an agent's memory is not bound to calendar days).
CREATE TABLE animus.memory_review_settings (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    weights            double precision[] NOT NULL CHECK (pg_catalog.cardinality(weights) = 17),
    desired_retention  double precision NOT NULL DEFAULT 0.9 CHECK (desired_retention > 0 AND desired_retention < 1),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_review_settings IS 'The FSRS-4.5 parameters of review_memory (one row): weights w0..w16 and the desired retention.';
COMMENT ON COLUMN animus.memory_review_settings.singleton IS 'Always true: the table holds one row.';
COMMENT ON COLUMN animus.memory_review_settings.weights IS 'FSRS-4.5 weights w0..w16 (default: the published defaults of FSRS-4.5).';
COMMENT ON COLUMN animus.memory_review_settings.desired_retention IS 'The retrievability at which a memory falls due (0.9: due after S days).';
COMMENT ON COLUMN animus.memory_review_settings.updated_at IS 'When the parameters last changed.';
INSERT INTO animus.memory_review_settings (weights) VALUES
    ('{0.4872, 1.4003, 3.7145, 13.8206, 5.1618, 1.2298, 0.8975, 0.031, 1.6474, 0.1367, 1.0461, 2.1072, 0.0793, 0.3246, 1.587, 0.2272, 2.8755}');
GRANT SELECT ON animus.memory_review_settings TO animus_memory_reader, animus_admin;

CREATE TABLE animus.memory_reviews (
    memory_id    bigint PRIMARY KEY REFERENCES animus.memories (id) ON DELETE CASCADE,
    stability    double precision NOT NULL CHECK (stability > 0),
    difficulty   double precision NOT NULL CHECK (difficulty BETWEEN 1 AND 10),
    reps         integer NOT NULL CHECK (reps > 0),
    lapses       integer NOT NULL DEFAULT 0 CHECK (lapses >= 0),
    last_grade   smallint NOT NULL CHECK (last_grade BETWEEN 1 AND 4),
    last_review  timestamptz NOT NULL,
    due_at       timestamptz NOT NULL
);
CREATE INDEX memory_reviews_due_at ON animus.memory_reviews (due_at);
COMMENT ON TABLE animus.memory_reviews IS 'The FSRS retention state of each reviewed memory (review_memory); removed with its memory.';
COMMENT ON COLUMN animus.memory_reviews.memory_id IS 'The memory reviewed.';
COMMENT ON COLUMN animus.memory_reviews.stability IS 'FSRS stability S in days: the time for retrievability to fall from 1 to 0.9.';
COMMENT ON COLUMN animus.memory_reviews.difficulty IS 'FSRS difficulty D, 1 (easy) to 10 (hard).';
COMMENT ON COLUMN animus.memory_reviews.reps IS 'How many reviews the memory had.';
COMMENT ON COLUMN animus.memory_reviews.lapses IS 'How many of them were graded 1 (again: forgotten).';
COMMENT ON COLUMN animus.memory_reviews.last_grade IS 'The grade of the last review: 1 again, 2 hard, 3 good, 4 easy.';
COMMENT ON COLUMN animus.memory_reviews.last_review IS 'When the memory was last reviewed.';
COMMENT ON COLUMN animus.memory_reviews.due_at IS 'When retrievability falls to the desired retention: the memory is due for review from then on.';
GRANT SELECT ON animus.memory_reviews TO animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA222', 'memory_grade_invalid', 'A review grade is outside the FSRS scale 1..4.', 'Grade 1 (again: forgotten), 2 (hard), 3 (good) or 4 (easy).'),
    ('ZA223', 'memory_review_time_invalid', 'A review time is earlier than the memory''s last review.', 'Review in time order; omit reviewed_at for now().'),
    ('ZA224', 'memory_boost_invalid', 'A weight of memory_boost is outside [0, 1], or recency_half_life is not positive.', 'Use weights in [0, 1] (0 = off) and a positive half-life such as ''30 days''.');

-- R(t, S) of FSRS-4.5.
CREATE FUNCTION animus.memory_retrievability(stability double precision, elapsed_days double precision)
    RETURNS double precision
    IMMUTABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN CASE WHEN stability IS NULL OR elapsed_days IS NULL THEN NULL
            ELSE pg_catalog.power(1 + 19.0 / 81.0 * greatest(elapsed_days, 0) / stability, -0.5) END;
COMMENT ON FUNCTION animus.memory_retrievability(double precision, double precision) IS
    'FSRS-4.5 forgetting curve: probability of recall elapsed_days after a review of a memory with stability days, '
    '(1 + 19/81 * t / S)^-0.5 (0.9 at t = S). NULL for NULL input. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_retrievability(double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_retrievability(double precision, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The FSRS-4.5 step, pure: state after a review with grade at elapsed_days.
CREATE FUNCTION animus.memory_fsrs_step(
    w double precision[], grade integer, stability double precision, difficulty double precision, elapsed_days double precision,
    OUT new_stability double precision, OUT new_difficulty double precision, OUT retrievability double precision)
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) IS
    'One FSRS-4.5 review: from (stability, difficulty) (NULL stability: first review) and a grade 1..4 after elapsed_days, the new '
    'stability and difficulty and the retrievability at review time (NULL on the first). w holds w0..w16 (w[1] is w0). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_fsrs_step(double precision[], integer, double precision, double precision, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.review_memory(
    id           bigint      DEFAULT NULL,
    grade        integer     DEFAULT NULL,
    reviewed_at  timestamptz DEFAULT now())
    RETURNS TABLE (memory_id bigint, stability double precision, difficulty double precision, retrievability double precision,
                   reps integer, lapses integer, last_review timestamptz, due_at timestamptz)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.review_memory(bigint, integer, timestamptz) IS
    'Records a review of memory id with an FSRS grade (1 again, 2 hard, 3 good, 4 easy) at reviewed_at and returns its new retention '
    'state: stability, difficulty, the retrievability it had at the review (NULL on the first), reps, lapses, last_review and due_at '
    '(when retrievability falls to animus.memory_review_settings.desired_retention). FSRS-4.5 with the weights of '
    'animus.memory_review_settings (docs/memory-lifecycle.md). Only memories of the caller''s write scope that it sees; runs as the owner '
    '(SECURITY DEFINER). Raises ZA001, ZA207 (unknown or invisible memory), ZA222 (grade outside 1..4), ZA223 (before the last review).';
REVOKE ALL ON FUNCTION animus.review_memory(bigint, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.review_memory(bigint, integer, timestamptz) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.due_memories(
    namespace  text        DEFAULT NULL,
    at         timestamptz DEFAULT now(),
    lim        integer     DEFAULT 100)
    RETURNS TABLE (memory_id bigint, memory_namespace text, content text, due_at timestamptz, stability double precision,
                   difficulty double precision, retrievability double precision, reps integer, lapses integer)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.due_memories(text, timestamptz, integer) IS
    'The reviewed memories due at at (due_at <= at), earliest first, at most lim (1..1000): their FSRS state and retrievability at at. '
    'Only live memories the caller sees (not pinned, expired, superseded or private to another role), of namespace when given. '
    'Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (lim outside 1..1000).';
REVOKE ALL ON FUNCTION animus.due_memories(text, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.due_memories(text, timestamptz, integer) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The score weighting proposed for hybrid_search (docs/memory-lifecycle.md, "Proposal"):
-- every factor is 1 when its weight is 0, so the defaults leave scores (and ranks) unchanged.
CREATE FUNCTION animus.memory_boost(
    score                  double precision DEFAULT NULL,
    retrievability         double precision DEFAULT NULL,
    age                    interval         DEFAULT NULL,
    importance             double precision DEFAULT NULL,
    retrievability_weight  double precision DEFAULT 0,
    recency_weight         double precision DEFAULT 0,
    recency_half_life      interval         DEFAULT '30 days',
    importance_weight      double precision DEFAULT 0)
    RETURNS double precision
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) IS
    'A search score weighted by retrievability (FSRS, 1 when never reviewed), recency (0.5^(age / recency_half_life)) and importance '
    '(clamped to [0, 1], 1 when unset): score x (1 - wr + wr R) x (1 - wc + wc 0.5^(age/h)) x (1 - wi + wi I). With every weight 0 '
    '(the defaults) it returns score unchanged. Raises ZA224 (a weight outside [0, 1], half-life <= 0).';
REVOKE ALL ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_boost(double precision, double precision, interval, double precision, double precision, double precision, interval, double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_models (deploy/memory_models.sql) ====
-- Deploy animus:memory_models to pg
-- requires: memory_lifecycle
-- requires: memory_admin
-- requires: work_submit
-- requires: work_queue_grants

-- Embedding models (docs/memory-lifecycle.md, "Embedding models"): a registry of models, the
-- active model of a namespace, and the model each memory's vector came from. A memory whose
-- vector is not of its namespace's active model -- the namespace switched model, or its content
-- changed without a vector of that model -- is re-embedded by the work queue:
-- memory_request_reembedding submits one item per such memory (work type memory_reembed, dedup_key
-- memory-reembed:<id>, so a burst of edits embeds once), and a worker handler computes the vector
-- with an Embedder (Python: animus.reembedding_handlers) and writes it with memory_set_embedding,
-- which keeps it only if the content is still the one embedded.
-- All vectors share the column animus.memories.embedding: a model must have its dimension
-- (another dimension: memory_begin_reembedding first).
CREATE TABLE animus.memory_models (
    name           text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$'),
    dimension      integer NOT NULL CHECK (dimension BETWEEN 1 AND 2000),
    provider       text NOT NULL DEFAULT 'unspecified',
    metadata       jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    registered_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_models IS 'Registered embedding models (register_model); a namespace uses one of them (animus.memory_namespace_models).';
COMMENT ON COLUMN animus.memory_models.name IS 'The model name, as an Embedder reports it (e.g. all-MiniLM-L6-v2).';
COMMENT ON COLUMN animus.memory_models.dimension IS 'Its vector dimension: equal to animus.memory_settings.embedding_dim.';
COMMENT ON COLUMN animus.memory_models.provider IS 'Who serves it (local, openai, ...): informative.';
COMMENT ON COLUMN animus.memory_models.metadata IS 'Free JSON object about the model (version, weights hash, ...).';
COMMENT ON COLUMN animus.memory_models.registered_at IS 'When it was registered.';

CREATE TABLE animus.memory_namespace_models (
    namespace   text PRIMARY KEY CHECK (namespace <> ''),
    model       text NOT NULL REFERENCES animus.memory_models (name),
    set_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.memory_namespace_models IS 'The active embedding model of a namespace (set_namespace_model); namespaces without a row have none.';
COMMENT ON COLUMN animus.memory_namespace_models.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_namespace_models.model IS 'Its active model: memories whose vector is of another model are re-embedded.';
COMMENT ON COLUMN animus.memory_namespace_models.set_at IS 'When the model was made active.';
GRANT SELECT ON animus.memory_models TO animus_memory_reader, animus_admin;
GRANT SELECT ON animus.memory_namespace_models TO animus_admin;

ALTER TABLE animus.memories ADD COLUMN embedding_model text;
COMMENT ON COLUMN animus.memories.embedding_model IS 'The registered model the embedding came from (memory_set_embedding); NULL: not known (stored by store_memory, or content changed since).';

-- New content makes the vector's model unknown unless the same statement sets it.
CREATE FUNCTION animus.memory_content_changed()
    RETURNS trigger
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.embedding_model IS NOT DISTINCT FROM OLD.embedding_model THEN
        NEW.embedding_model := NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION animus.memory_content_changed() IS
    'Trigger of animus.memories: when content changes and the statement does not set embedding_model, clears it (the vector''s model is no longer known). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_content_changed() FROM PUBLIC;
CREATE TRIGGER memories_content_changed
    BEFORE UPDATE OF content ON animus.memories
    FOR EACH ROW
    WHEN (OLD.content IS DISTINCT FROM NEW.content AND OLD.embedding_model IS NOT NULL)
    EXECUTE FUNCTION animus.memory_content_changed();

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA225', 'memory_model_unregistered', 'The embedding model is not registered.', 'Register it first with animus.register_model(name, dimension).'),
    ('ZA226', 'memory_model_dimension', 'A model''s dimension, or an embedding''s, does not match (animus.memory_settings.embedding_dim, the model''s dimension).',
     'Register models of the table''s dimension; change the dimension with memory_begin_reembedding.'),
    ('ZA227', 'memory_model_name_invalid', 'A model name is empty, longer than 200 characters or has characters other than letters, digits and ._:/@+-.', 'Use the name the Embedder reports, e.g. all-MiniLM-L6-v2.');

CREATE FUNCTION animus.register_model(
    name       text    DEFAULT NULL,
    dimension  integer DEFAULT NULL,
    provider   text    DEFAULT 'unspecified',
    metadata   jsonb   DEFAULT '{}')
    RETURNS animus.memory_models
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
COMMENT ON FUNCTION animus.register_model(text, integer, text, jsonb) IS
    'Registers an embedding model (again: updates provider and metadata) and returns it. Its dimension must be the table''s '
    '(animus.memory_settings.embedding_dim). Admin only (SECURITY DEFINER). Raises ZA001, ZA226 (dimension), ZA227 (name).';
REVOKE ALL ON FUNCTION animus.register_model(text, integer, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.register_model(text, integer, text, jsonb) TO animus_admin;

-- Submits one memory_reembed item per memory of the namespace(s) whose vector is not of the
-- active model, dedup_key memory-reembed:<id> (merged into an item still active for it).
CREATE FUNCTION animus.memory_request_reembedding(
    namespace  text    DEFAULT NULL,
    queue      text    DEFAULT 'work',
    max_items  integer DEFAULT 10000)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_request_reembedding(text, text, integer) IS
    'Submits to queue one work item (work_type memory_reembed, params {memory_id, model}, dedup_key memory-reembed:<id>) per memory, at '
    'most max_items, whose vector is not of its namespace''s active model; returns how many were submitted (repeats merge into the item '
    'still active). Runs as the owner; the caller needs the queue (ZA109). Raises ZA002 (max_items), ZA109 and the errors of submit_work_batch.';
REVOKE ALL ON FUNCTION animus.memory_request_reembedding(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_request_reembedding(text, text, integer) TO animus_admin;

CREATE FUNCTION animus.set_namespace_model(
    namespace  text    DEFAULT NULL,
    model      text    DEFAULT NULL,
    queue      text    DEFAULT 'work')
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.set_namespace_model(text, text, text) IS
    'Makes model (registered) the active embedding model of namespace and queues the re-embedding of its memories whose vector is of '
    'another model (memory_request_reembedding, into queue); returns how many were queued. Admin only (SECURITY DEFINER). '
    'Raises ZA001, ZA225 (model not registered), ZA109 (queue not granted).';
REVOKE ALL ON FUNCTION animus.set_namespace_model(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_namespace_model(text, text, text) TO animus_admin;

-- The write of a re-embedding handler: keeps the vector only while the content is the one embedded.
CREATE FUNCTION animus.memory_set_embedding(
    id         bigint DEFAULT NULL,
    embedding  vector DEFAULT NULL,
    model      text   DEFAULT NULL,
    content    text   DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) IS
    'Writes the vector of memory id computed by model (registered) from content, and records the model; false (nothing written) when the '
    'memory is gone, outside the caller''s write scope or its content is no longer content. updated_at does not move. '
    'Runs as the owner (SECURITY DEFINER). Raises ZA001, ZA200 (dimension), ZA202 (zero vector), ZA225 (model not registered).';
REVOKE ALL ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_set_embedding(bigint, vector, text, text) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.memory_reembedding_progress(namespace text DEFAULT NULL)
    RETURNS TABLE (memory_namespace text, model text, total bigint, current bigint, pending bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
COMMENT ON FUNCTION animus.memory_reembedding_progress(text) IS
    'Per namespace with an active model (of the caller''s read scope; one namespace when given): the model, how many memories it has, '
    'how many have a vector of that model (current) and how many wait for one (pending). Runs as the owner. Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_reembedding_progress(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_reembedding_progress(text) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_search (deploy/memory_search.sql) ====
-- Deploy animus:memory_search to pg
-- requires: memory_search@v0.6.0

-- hybrid_search gains fusion => 'rrf' | 'convex' and alpha: beside Reciprocal Rank Fusion, a
-- convex combination of normalised scores (Bruch et al., "An Analysis of Fusion Functions for
-- Hybrid Retrieval", 2023: theoretical-min-max normalisation, TM2C2). Tuned on NFCorpus dev
-- only, convex with alpha 0.3 beat RRF there (0.3279 vs 0.3273 nDCG@10), so it is the default
-- now; fusion => 'rrf' gives the former ranking. docs/memory.md has the formulas and figures.
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA228', 'memory_fusion_unknown', 'hybrid_search got an unknown fusion method, or an argument of another fusion method.',
     'Use fusion => ''rrf'' (with text_weight, vector_weight, rrf_k) or fusion => ''convex'' (with alpha).');

DROP FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer);

CREATE FUNCTION animus.hybrid_search(
    query_text       text             DEFAULT NULL,
    query_embedding  vector           DEFAULT NULL,
    k                integer          DEFAULT 10,
    filters          jsonb            DEFAULT '{}',
    text_weight      double precision DEFAULT 1,
    vector_weight    double precision DEFAULT 1,
    rrf_k            integer          DEFAULT 60,
    candidates       integer          DEFAULT NULL,
    fusion           text             DEFAULT 'convex',
    alpha            double precision DEFAULT NULL)
    RETURNS TABLE (id bigint, namespace text, content text, memory_type text, source text, metadata jsonb,
                   created_at timestamptz, updated_at timestamptz,
                   score double precision, rank bigint,
                   vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
    a double precision;
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

    RETURN QUERY
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates(query_text, f, n) AS c
         WHERE use_text
    ), fused AS (
        SELECT coalesce(vec.id, txt.id) AS id,
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
               END AS score,
               vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
          FROM vec FULL JOIN txt ON txt.id = vec.id
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
END
$$;
COMMENT ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision) IS
    'Vector and keyword search fused in one statement: each branch contributes its best candidates (default max(3k, 30), '
    'at most 1000). fusion => ''rrf'' (Reciprocal Rank Fusion): score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank); '
    'fusion => ''convex'': score = vector_weight * alpha * (2 - distance) / (2 - min distance) + text_weight * (1 - alpha) * text_score / max text_score '
    '(theoretical-min-max normalisation; 0 for a row a branch did not return; alpha default 0.3). The default is convex: it beat RRF on NFCorpus dev. '
    'A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s '
    'rank, distance and score; ties by best branch rank, then id. Only memories of the caller''s read scope (animus.memory_scope(''read'')); runs as the owner (SECURITY DEFINER). Read-only (STABLE): runs on a streaming replica. '
    'Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k, alpha out of range), ZA228 (unknown fusion, alpha without convex), ZA200, ZA202, ZA204, ZA205, ZA206, ZA213 (a filter over its size limits).';
REVOKE ALL ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.hybrid_search(text, vector, integer, jsonb, double precision, double precision, integer, integer, text, double precision)
    TO animus_memory_reader, animus_memory_writer, animus_admin;

-- ==== change memory_bm25 (deploy/memory_bm25.sql) ====
-- Deploy animus:memory_bm25 to pg
-- requires: memory_bm25@v0.6.0

-- Keyword search at 100,000 memories in 200 namespaces spent its time in per-namespace probes
-- (docs/bm25.md, "Where the time goes"). The BM25 indexes are keyed term first now, so that a
-- search over every namespace reads one index range per term; a search in some namespaces
-- probes (term, namespace), as cheap as (namespace, term) was.
DO $$
BEGIN
    -- absent during a bulk load: memory_finish_bulk_load builds it then
    IF pg_catalog.to_regclass('animus.memory_terms_impact_idx') IS NOT NULL THEN
        CREATE INDEX memory_terms_term_impact_idx ON animus.memory_terms (term, namespace, impact DESC, memory_id) INCLUDE (tf, doc_len);
        DROP INDEX animus.memory_terms_impact_idx;
        ALTER INDEX animus.memory_terms_term_impact_idx RENAME TO memory_terms_impact_idx;
    END IF;
END $$;

ALTER TABLE animus.memory_bm25_term_stats DROP CONSTRAINT memory_bm25_term_stats_pkey;
ALTER TABLE animus.memory_bm25_term_stats ADD CONSTRAINT memory_bm25_term_stats_pkey PRIMARY KEY (term, namespace) INCLUDE (df);   -- index-only sums

DROP INDEX IF EXISTS animus.memory_bm25_deltas_key_idx;   -- absent during a bulk load
CREATE INDEX memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (term, namespace);

-- The BM25 top-k, faster where the time went (docs/bm25.md, "Where the time goes"):
--   * statistics: each query term's document frequency is summed ONCE (a scalar subquery in the
--     select list ran three times per term: sort key, filter, aggregate) and, for a search over
--     every namespace, read as one index range per term (term_stats and deltas are keyed term
--     first now) instead of one probe per namespace;
--   * whole posting lists: one index range per term over every namespace (memory_terms_impact_idx
--     is (term, namespace, impact DESC, memory_id) now); a namespace list probes (term, namespace);
--   * the filter predicate memory_filter_match is applied to every result: with a filter beyond
--     the namespace, to the candidates before rescoring (as before); without one, lazily to the
--     final rows (about lim probes), so conditions that memory_filter_match adds apply to every
--     search; when it drops rows, the exhaustive filtered fallback fills the top-k.
--   * plan_cache_mode = force_generic_plan: each statement is planned once per session (planning
--     the main statement with the actual values cost more than running it in a filtered search);
--     where all namespaces and a namespace list need different index conditions, the statement
--     has one branch for each, the other skipped at run time (a one-time filter).
CREATE OR REPLACE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 10,
                                                   budget integer DEFAULT NULL)
RETURNS TABLE (id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
LANGUAGE plpgsql
AS $function$
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
    must_filter := f - 'namespace' <> '{}'::jsonb;
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

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term)
      INTO q_terms, q_df
      FROM (SELECT u.lexeme AS term, st.df::double precision AS df
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u
             CROSS JOIN LATERAL (   -- once per term (a scalar subquery here ran three times per term)
                   SELECT coalesce(sum(x.df), 0) AS df FROM (
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts WHERE all_spaces AND ts.term = u.lexeme
                        UNION ALL
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts
                         WHERE NOT all_spaces AND ts.term = u.lexeme AND ts.namespace = ANY (spaces)
                        UNION ALL
                        SELECT d.df FROM animus.memory_bm25_deltas d
                         WHERE d.term = u.lexeme AND (all_spaces OR d.namespace = ANY (spaces))) x) st) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);

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
        rescore := CASE WHEN cutting THEN lim + s.rescore_extra ELSE lim END;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.cap FROM unnest(q_terms, q_idf, q_cap) WITH ORDINALITY AS x(term, idf, cap, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            -- (two branches, one skipped at run time: each keeps its own index condition in the
            -- cached generic plan)
            SELECT mt.memory_id, q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
            UNION ALL
            SELECT mt.memory_id, q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE NOT all_spaces AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL)) AND mt.namespace = ANY (spaces)
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.idf * animus.bm25_tf_weight(p.tf, p.doc_len, avgdl, s.k1, s.b) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL AND seeded
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term
            SELECT l.o, max(q.idf * l.last_impact) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n, min(c.impact) AS last_impact
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
            UNION ALL
            -- not seeded: any tf-weight is below k1 + 1
            SELECT q.o, q.idf * (s.k1 + 1) FROM q WHERE q.cap IS NOT NULL AND NOT seeded
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            SELECT c.memory_id, c.lb, c.lb_full FROM cand c
             ORDER BY c.lb DESC, c.memory_id
             LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END
        ), top AS MATERIALIZED (
            SELECT c.memory_id, c.lb, c.lb_full FROM ranked c
             WHERE NOT must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             ORDER BY c.lb DESC, c.memory_id
             LIMIT rescore + 1
        ), completed AS (
            -- exact scores of the best `rescore` candidates: add their postings of the cut terms
            -- (index-only probes on (memory_id, term))
            SELECT t.memory_id, t.lb_full + coalesce(x.extra, 0) AS score
              FROM (SELECT * FROM top ORDER BY top.lb DESC, top.memory_id LIMIT rescore) t
              LEFT JOIN LATERAL (
                   SELECT sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b)) AS extra
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
$function$;

COMMENT ON FUNCTION animus.memory_bm25_topk(text, jsonb, integer, integer) IS
    'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): '
    '(id, score, exact, postings_read, budget_used), score descending, ties by id; every row passes animus.memory_filter_match. '
    'exact = the result is proven equal to exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). '
    'Read-only (STABLE). Raises nothing.';

-- Writes: the postings of a batch without one statement per memory for its length.
CREATE OR REPLACE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[])
RETURNS void
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql
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
        RETURNING namespace, term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT p.namespace, p.term, count(*), 0 FROM postings p GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len) FROM docs d GROUP BY d.namespace;

    -- Past refresh_after pending rows a write folds them, unless a refresh is running; past four
    -- times that it waits for the running one and folds, so the backlog (which every search adds
    -- up) stays bounded even while refreshes keep colliding.
    IF s.refresh_after > 0 THEN
        backlog := (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through;
        IF backlog >= 4 * s.refresh_after::bigint THEN
            PERFORM animus.memory_bm25_refresh(wait => true);
        ELSIF backlog >= s.refresh_after THEN
            PERFORM animus.memory_bm25_refresh(wait => false);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_bm25_index(bigint[], text[], tsvector[]) IS
    'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas; folds them (memory_bm25_refresh) past refresh_after pending rows, waiting for a running refresh past four times that. Raises nothing.';

-- ==== change memory_admin (deploy/memory_admin.sql) ====
-- Deploy animus:memory_admin to pg
-- requires: memory_admin@v0.6.0
-- requires: memory_bm25

-- memory_finish_bulk_load rebuilds the BM25 postings and deltas indexes with the keys change
-- memory_bm25 gave them (term first: docs/bm25.md, "Where the time goes"); the rest is unchanged.
CREATE OR REPLACE FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text DEFAULT '1GB', parallel_workers integer DEFAULT 2)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    vector_schema name;
    old_mem text := pg_catalog.current_setting('maintenance_work_mem');
    old_workers text := pg_catalog.current_setting('max_parallel_maintenance_workers');
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
    -- (~2 kB per 384-d memory); pgvector builds it in parallel since 0.6.
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_finish_bulk_load.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_finish_bulk_load.parallel_workers::text, true);
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'no bulk load is in progress (the HNSW index exists)',
            HINT = 'Start one with animus.memory_begin_bulk_load().';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
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
COMMENT ON FUNCTION animus.memory_finish_bulk_load(text, integer) IS
    'Ends a bulk load: rebuilds the HNSW index (in parallel with parallel_workers workers and maintenance_work_mem, '
    'both set for these builds only), the fts / metadata GIN indexes, the two BM25 postings btree indexes and the BM25 deltas index; returns the number of memories. '
    'Raises ZA001, ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem), ZA212 (no bulk load in progress).';

-- ==== change work_pause (deploy/work_pause.sql) ====
-- Deploy animus:work_pause to pg
-- requires: work_queues
-- requires: work_queue_grants
-- requires: column_comments

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

-- ==== change work_lifecycle (deploy/work_lifecycle.sql) ====
-- Deploy animus:work_lifecycle to pg
-- requires: work_lifecycle@v0.6.0
-- requires: work_pause

-- Queue pause: read_work reads the queue's row once (existence and paused_at together) and
-- returns nothing from a paused queue, before it claims any message. Messages of ended items are
-- settled through animus.work_queue_archive (deleted, or archived with archive_messages); a stray
-- message without a work item (a stock pgmq client's) still goes to pgmq's archive.
-- Cheaper per item: an item without a dedup_key can have neither merged submissions nor a
-- replace-mode follow-up, so read_work skips the two requester probes and complete_work the
-- follow-up probe for it.
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
REVOKE ALL ON FUNCTION animus.read_work(text, interval, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.read_work(text, interval, integer, text[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.read_work(text, interval, integer, text[]) IS
'Claims up to qty visible work items of queue `queue` for vt (pgmq visibility timeout, an interval: vt => ''30 seconds'' or vt => 30 * interval ''1 second''; an integer vt matches no function, 42883): higher priority first, then earliest due. work_types (at most 100; NULL = every type) claims only items of those types: the others stay queued for a worker that handles them and count in queue_stats. Claimed items become running and count an attempt; an item whose last attempt timed out (worker died) becomes dead instead; messages of cancelled or ended items are archived and never returned. Items with a concurrency key are returned only within their key''s limits (animus.set_concurrency_limit): over max_running they are held until an item of the key leaves running, over the rate they become visible at the next window; a re-claim of a timed-out running item keeps its slot. Returns the items with their trace_context, requesters (the canonical submission and the first 99 merged ones, oldest first: work_id, source, trigger_info, trace_context, submitted_at) and requesters_total (all of them; animus.get_work_submissions pages through every one). May return fewer than qty; returns nothing from a paused queue (animus.pause_queue) after checking the arguments. Only on a queue the caller has a grant on. Raises ZA001 (queue NULL, work_types empty or with a NULL), ZA109 (no grant on the queue), ZA101 (unknown queue), ZA002 (vt not positive, qty not 1..10000), ZA110 (more than 100 work_types).';

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
REVOKE ALL ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid[], jsonb[], integer[]) IS
'Batch form for consumers: completes every running item of work_ids (outcomes[i] stored as outcome of work_ids[i]) and settles their messages (deleted; archived on a queue with archive_messages) in one call; returns (work_id, completed) per input id, completed = false for an item that was not running (cancelled, already ended, timed out and requeued), which is left unchanged. Merged duplicates resolve with their canonical item; held items of the completed items'' concurrency keys are woken (animus.work_key_wake). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else the item was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on (others are unknown to it). Raises ZA001 (work_ids NULL or with a NULL), ZA110 (more than 10000 ids), ZA002 (outcomes or attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';

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
REVOKE ALL ON FUNCTION animus.complete_work(uuid, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.complete_work(uuid, jsonb, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.complete_work(uuid, jsonb, integer) IS
'Completes a running work item: state completed, outcome and duration_ms stored, its pgmq message settled (deleted; archived on a queue with archive_messages); its merged duplicates resolve with it (get_work shows their canonical state), a replace-mode follow-up waiting for it becomes visible, and held items of its concurrency key are woken. Returns true. Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended: a stale second completion, or cancelled meanwhile, or a merged duplicate).';



-- fail_work and cancel_work settle messages through animus.work_queue_archive too: their contracts say so.
COMMENT ON FUNCTION animus.fail_work(uuid[], text, boolean, integer[]) IS
'Batch form: fails every running item of work_ids with `error`. An item with attempts left and retryable goes back to queued and becomes visible after the queue''s backoff: min(backoff_cap, backoff_base * backoff_factor^(attempts-1)) * (1 +/- backoff_jitter) (defaults 2 s * 2^(n-1), cap 5 min, +/-25 %); otherwise it is dead (dead-lettered: kept with its error, message settled: deleted, or archived on a queue with archive_messages). Held items of the failed items'' concurrency keys are woken. Returns (work_id, failed, state, retry_at) per input id; failed = false for an item that was not running (left unchanged). Claim fencing: attempts[i] (the attempts read_work returned; NULL element = no check) must still be the item''s attempt count, else it was claimed again since and the call raises ZA108. At most 10000 ids; only items of queues the caller has a grant on. Raises ZA001 (work_ids NULL or with a NULL, error NULL or empty, retryable NULL), ZA110 (more than 10000 ids), ZA002 (attempts length differs), ZA102 (an unknown id, or one in a queue the caller may not use), ZA108 (a stale claim); nothing is written when it raises.';
COMMENT ON FUNCTION animus.cancel_work(uuid) IS
'Cancels a queued or running work item: state cancelled, message settled: deleted, or archived on a queue with archive_messages (it is never returned by read_work); a running worker learns it from heartbeat_work and its complete_work then raises ZA104. A cancelled running item frees its concurrency key''s slot (held items are woken). Returns true, or false if it was already cancelled. Only items of queues the caller has a grant on. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA104 (completed, dead or a merged submission).';
COMMENT ON FUNCTION animus.fail_work(uuid, text, boolean, integer) IS
'Fails a running work item: back to queued after the queue''s exponential backoff with jitter while attempts < max_attempts and retryable, else dead (kept with its error, message settled: deleted, or archived on a queue with archive_messages). Returns (state, retry_at). Claim fencing: with attempt (the attempts read_work returned) the item must still be at that attempt. Only items of queues the caller has a grant on. Raises ZA001 (work_id/error/retryable NULL, error empty), ZA102 (unknown work item, or one in a queue the caller may not use), ZA108 (attempt given and the item was claimed again since: a stale claim), ZA103 (queued, not running), ZA104 (already ended, cancelled or merged).';

-- ==== change work_status (deploy/work_status.sql) ====
-- Deploy animus:work_status to pg
-- requires: work_status@v0.6.0
-- requires: work_pause

-- queue_stats shows whether each queue is paused (animus.pause_queue) and since when: two result
-- columns more, so the function is dropped and created again.
DROP FUNCTION animus.queue_stats(text);
CREATE FUNCTION animus.queue_stats(queue text DEFAULT NULL)
    RETURNS TABLE (
        queue_name               text,
        state                    text,
        items                    bigint,
        queue_length             bigint,
        queue_visible_length     bigint,
        oldest_visible_age_sec   double precision,
        oldest_msg_age_sec       integer,
        total_messages           bigint,
        paused                   boolean,
        paused_at                timestamptz
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.queue_stats(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_stats(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_stats(text) IS
'Statistics per queue (NULL = every queue) and work item state: items in that state, and per queue from pgmq: queue_length (messages), queue_visible_length (claimable now), oldest_visible_age_sec (how long the oldest claimable message has waited since it became visible), oldest_msg_age_sec, total_messages ever sent; paused and paused_at (animus.pause_queue: a paused queue accepts submissions, read_work hands out nothing). Counting items scans the queue''s work items. Only queues the caller has a grant on (NULL: every such queue). Raises ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- Retention in batches: each call deletes at most batch_size ended items per queue (with their
-- merged submissions and steps) and at most batch_size archived messages, oldest first, skipping
-- rows another session holds locked; run it again until it returns zeros (or on a timer). Short
-- transactions: no long lock, and VACUUM reclaims what the last batch freed while the next runs.
-- The children of a purged parent are found through work_items_parent_id (the v0.4.0 form scanned
-- every item with a parent).
DROP FUNCTION animus.purge_work(interval, text);
CREATE FUNCTION animus.purge_work(older_than interval DEFAULT '7 days', queue text DEFAULT NULL, batch_size integer DEFAULT 10000)
    RETURNS TABLE (queue_name text, items_deleted bigint, archived_messages_deleted bigint)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET enable_seqscan = off
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q        text;
    cutoff   timestamptz;
    ids      uuid[];
    n_merged bigint;
    n_arch   bigint;
    scope    text[] := animus.work_queue_scope();
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
        -- oldest ended first, from the index work_items_resolved_at (merged rows carry a resolved_at
        -- too: they go with their canonical item)
        SELECT pg_catalog.array_agg(e.id) INTO ids
          FROM (SELECT w.id FROM animus.work_items w
                 WHERE w.resolved_at < cutoff AND w.queue_name = q AND w.state IN ('completed', 'dead', 'cancelled')
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
        END IF;
        -- pgmq has no retention function for archives: delete the oldest archive rows directly
        -- (index archived_at_idx_<queue>). Queues that delete settled messages have none.
        EXECUTE pg_catalog.format('WITH d AS (DELETE FROM pgmq.%1$I a WHERE a.msg_id IN
                (SELECT o.msg_id FROM pgmq.%1$I o WHERE o.archived_at < $1 ORDER BY o.archived_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING 1) SELECT count(*) FROM d', 'a_' || q)
           INTO n_arch USING cutoff, purge_work.batch_size;
        RETURN QUERY SELECT q, pg_catalog.cardinality(ids) + n_merged, n_arch;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.purge_work(interval, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.purge_work(interval, text, integer) TO animus_admin;
COMMENT ON FUNCTION animus.purge_work(interval, text, integer) IS
'Retention, in batches: per queue (NULL = every queue the caller has a grant on) deletes at most batch_size work items that ended (completed, dead, cancelled) more than older_than ago, oldest first, with their merged submissions and steps, and at most batch_size pgmq archive rows archived more than older_than ago; rows another session holds locked are skipped. Children of a purged parent keep parent_id NULL. Each call is one short transaction: call it again until it returns zeros (or on a timer) to purge a backlog without long locks. Returns (queue_name, items_deleted, archived_messages_deleted). Raises ZA002 (older_than NULL or negative, batch_size not 1..1000000), ZA109 (no grant on the queue), ZA101 (unknown queue).';

-- ==== change ops_dead_letters (deploy/ops_dead_letters.sql) ====
-- Deploy animus:ops_dead_letters to pg
-- requires: work_status
-- requires: work_submit
-- requires: work_queue_grants
-- requires: column_comments

-- Dead letters for operators: list the dead items, retry one (a new submission carrying the dead
-- item's work, its provenance kept), or discard it (acknowledged: it leaves the list and the
-- health check's dead count; purge_work removes the row after its retention as for every ended
-- item). A dead item stays dead: work_state_transitions has no way out of dead, and a retry that
-- resubmits keeps the failed attempts' history (error, attempts, steps) readable under the old id.
-- What happened to a dead item is recorded in animus.dead_work_actions, one row per item.
CREATE TABLE animus.dead_work_actions (
    work_id    uuid        PRIMARY KEY,
    queue_name text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('retried', 'discarded')),
    retried_as uuid,
    acted_by   name        NOT NULL,
    acted_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    CHECK ((action = 'retried') = (retried_as IS NOT NULL))
);
COMMENT ON TABLE animus.dead_work_actions IS
'What an operator did with a dead work item (retry_dead_work, discard_dead_work): one row per item; list_dead_work and health() skip acted-on items. Rows whose item was purged are removed by the next retry/discard.';
COMMENT ON COLUMN animus.dead_work_actions.work_id IS 'The dead work item (animus.work_items.id).';
COMMENT ON COLUMN animus.dead_work_actions.queue_name IS 'Its queue (kept for per-queue authorisation after the item is purged).';
COMMENT ON COLUMN animus.dead_work_actions.action IS 'retried (resubmitted as retried_as) or discarded (acknowledged, left for purge_work).';
COMMENT ON COLUMN animus.dead_work_actions.retried_as IS 'action retried: the work item the retry submitted (or the active item it merged into).';
COMMENT ON COLUMN animus.dead_work_actions.acted_by IS 'The role that retried or discarded it (animus.work_caller()).';
COMMENT ON COLUMN animus.dead_work_actions.acted_at IS 'When.';
REVOKE ALL ON animus.dead_work_actions FROM PUBLIC;
GRANT SELECT ON animus.dead_work_actions TO animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA165', 'work_not_dead', 'retry_dead_work / discard_dead_work was given a work item that is not dead (queued, running, completed, cancelled, or a merged submission).',
     'Only dead items can be retried or discarded: list them with animus.list_dead_work(); cancel_work stops a queued or running item.'),
    ('ZA166', 'dead_work_already_handled', 'The dead item was retried or discarded already (animus.dead_work_actions).',
     'Look at animus.dead_work_actions for what was done; a retried item''s new id is in retried_as (retry that one if it died too).'),
    ('ZA167', 'ops_bad_page', 'A listing argument is out of range: page_size must be 1-1000.',
     'Pass page_size between 1 and 1000 and page with before => the last dead_at of a page.');

-- Raises ZA101 / ZA109 for a queue argument that names no queue or one the caller may not use.
CREATE FUNCTION animus.ops_check_queue(queue text)
    RETURNS void
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.ops_check_queue(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.ops_check_queue(text) IS
'Internal: raises ZA109 when the caller has no grant on queue, ZA101 when no such queue exists; returns nothing otherwise.';

CREATE FUNCTION animus.list_dead_work(queue text DEFAULT NULL, page_size integer DEFAULT 100, before timestamptz DEFAULT NULL)
    RETURNS TABLE (
        work_id       uuid,
        queue_name    text,
        work_type     text,
        source        text,
        trigger_info  text,
        params        jsonb,
        attempts      integer,
        max_attempts  integer,
        error         text,
        dead_at       timestamptz,
        created_at    timestamptz,
        trace_context jsonb
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.list_dead_work(text, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.list_dead_work(text, integer, timestamptz) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.list_dead_work(text, integer, timestamptz) IS
'The dead work items not yet retried or discarded, newest death first (dead_at = resolved_at), of queue (NULL: every queue the caller has a grant on): id, provenance, params, attempts, the last error, trace_context. At most page_size (1-1000, default 100); the next page: before => the last dead_at. Scans the dead items (no index of its own: the work tables stay write-lean). Raises ZA167 (page_size), ZA109 (no grant on queue), ZA101 (no such queue).';

-- Locks the dead item and checks it may be acted on; returns it.
CREATE FUNCTION animus.ops_lock_dead(work_id uuid, operation text)
    RETURNS animus.work_items
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.ops_lock_dead(uuid, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.ops_lock_dead(uuid, text) IS
'Internal: locks dead work item work_id (FOR UPDATE) and returns it. Raises ZA001 (NULL), ZA102 (unknown, or a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already).';

CREATE FUNCTION animus.retry_dead_work(work_id uuid, delay interval DEFAULT '0 seconds')
    RETURNS TABLE (retried_as uuid, status text, canonical_id uuid)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.retry_dead_work(uuid, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.retry_dead_work(uuid, interval) TO animus_admin;
COMMENT ON FUNCTION animus.retry_dead_work(uuid, interval) IS
'Retries dead work item work_id: submits the same work again (queue, work_type, dedup_key, params, priority, max_attempts, concurrency_key, cost, trace_context; source kept, trigger_info ''retry of dead <id> by <role>'') visible after delay, and records it in animus.dead_work_actions. The dead item stays dead with its history. Returns retried_as (the new item), status (queued, or merged when an active item holds the dedup key) and canonical_id. animus_admin only. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already), ZA002 (delay NULL or negative), and what submit_work raises.';

CREATE FUNCTION animus.discard_dead_work(work_id uuid)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.discard_dead_work(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.discard_dead_work(uuid) TO animus_admin;
COMMENT ON FUNCTION animus.discard_dead_work(uuid) IS
'Discards dead work item work_id: records it as handled in animus.dead_work_actions, so it leaves list_dead_work and the health check''s dead count; the row stays readable (get_work) until purge_work removes it. Returns true. animus_admin only. Raises ZA001 (work_id NULL), ZA102 (unknown item, or one in a queue the caller may not use), ZA165 (not dead), ZA166 (retried or discarded already).';

-- ==== change ops_health (deploy/ops_health.sql) ====
-- Deploy animus:ops_health to pg
-- requires: ops_dead_letters
-- requires: work_status
-- requires: memory_bm25
-- requires: column_comments
-- requires: work_pause

-- animus.health(): one row per check with a status against thresholds an admin may change per
-- queue (animus.health_thresholds). Read-only (it runs on a hot standby too), one scan of the
-- active and dead work items for every queue, one probe of each pgmq queue table.

CREATE TABLE animus.health_thresholds (
    check_name text NOT NULL,
    queue_name text NOT NULL DEFAULT '*',
    warn_at    double precision CHECK (warn_at >= 0),
    fail_at    double precision CHECK (fail_at >= 0),
    unit       text NOT NULL,
    meaning    text NOT NULL,
    PRIMARY KEY (check_name, queue_name),
    CHECK (warn_at IS NULL OR fail_at IS NULL OR warn_at <= fail_at)
);
COMMENT ON TABLE animus.health_thresholds IS
'Thresholds of animus.health(): a check''s status is fail when its value is >= fail_at, warn when >= warn_at, else ok (NULL: that level is never reached). Rows with queue_name ''*'' are the defaults; a row naming a queue overrides them for it (animus.set_health_threshold).';
COMMENT ON COLUMN animus.health_thresholds.check_name IS 'The check (health()''s check_name), e.g. oldest_age_sec.';
COMMENT ON COLUMN animus.health_thresholds.queue_name IS '''*'' for the default of every queue (and for the checks that are not per queue), else the queue it applies to.';
COMMENT ON COLUMN animus.health_thresholds.warn_at IS 'Value from which the check is warn (NULL: never warn).';
COMMENT ON COLUMN animus.health_thresholds.fail_at IS 'Value from which the check is fail (NULL: never fail).';
COMMENT ON COLUMN animus.health_thresholds.unit IS 'Unit of the value: items, s, rows, bool (1 or 0).';
COMMENT ON COLUMN animus.health_thresholds.meaning IS 'What the check measures.';
REVOKE ALL ON animus.health_thresholds FROM PUBLIC;
GRANT SELECT ON animus.health_thresholds TO animus_producer, animus_worker, animus_admin;

INSERT INTO animus.health_thresholds (check_name, queue_name, warn_at, fail_at, unit, meaning) VALUES
    ('backlog',             '*', 1000, 10000, 'items', 'queued items (visible now or later) of the queue'),
    ('oldest_age_sec',      '*', 300,  1800,  's',     'how long the oldest claimable message of the queue has waited since it became visible'),
    ('running',             '*', NULL, NULL,  'items', 'items being processed (claimed) now'),
    ('dead',                '*', 1,    NULL,  'items', 'dead items not yet retried or discarded (animus.list_dead_work)'),
    ('stuck',               '*', 1,    10,    'items', 'running items whose claim passed its deadline (a worker died or hangs without heartbeats) and nobody claimed again yet'),
    ('bm25_backlog',        '*', 40000, 80000, 'rows', 'BM25 statistics deltas not yet folded (searches add them up; writes refresh past refresh_after)'),
    ('paused',              '*', NULL, NULL,  'bool',  '1 while the queue is paused (animus.pause_queue): it accepts submissions and hands out nothing'),
    ('replication_lag_sec', '*', 30,   300,   's',     'on a hot standby: time since the last replayed transaction was committed on the primary');

-- Single-file installs (sql/animus.sql, no Sqitch registry) record what they installed here.
CREATE TABLE animus.installed_version (
    version      text        NOT NULL,
    last_change  text        NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE animus.installed_version IS
'Written by the single-file install (sql/animus.sql): the plan''s last tag and change it installed. Empty on Sqitch deployments (health() reads the Sqitch registry).';
COMMENT ON COLUMN animus.installed_version.version IS 'The last tag of sqitch.plan the install holds, plus changes after it (e.g. @v0.6.0+ops_health).';
COMMENT ON COLUMN animus.installed_version.last_change IS 'The last change of sqitch.plan the install holds.';
COMMENT ON COLUMN animus.installed_version.installed_at IS 'When it was installed.';
REVOKE ALL ON animus.installed_version FROM PUBLIC;
GRANT SELECT ON animus.installed_version TO animus_producer, animus_worker, animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA163', 'unknown_health_check', 'set_health_threshold was given a check name that health() does not have.',
     'Use one of the check names of animus.health_thresholds (backlog, oldest_age_sec, running, dead, stuck, paused, bm25_backlog, replication_lag_sec).'),
    ('ZA164', 'invalid_health_threshold', 'A health threshold is negative, not a number, or warn_at is above fail_at.',
     'Pass warn_at <= fail_at, both >= 0 (NULL: that level is never reached).');

-- The deployed version: the Sqitch registry of this database when present (last tag, and the
-- changes deployed after it), else what a single-file install recorded, else 'unknown'.
CREATE FUNCTION animus.deployed_version()
    RETURNS text
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.deployed_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.deployed_version() TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.deployed_version() IS
'The animus version deployed in this database: from the Sqitch registry (schema sqitch) when present, the last tag and the number of changes deployed after it with the last one, e.g. ''@v0.6.0+2 (ops_health)''; else the version a single-file install recorded in animus.installed_version; else ''unknown''. Raises nothing.';

-- ok / warn / fail of a value against its thresholds.
CREATE FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision)
    RETURNS text
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT CASE WHEN value IS NULL THEN 'ok'
                WHEN fail_at IS NOT NULL AND value >= fail_at THEN 'fail'
                WHEN warn_at IS NOT NULL AND value >= warn_at THEN 'warn'
                ELSE 'ok' END;
$$;
REVOKE ALL ON FUNCTION animus.health_level(double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.health_level(double precision, double precision, double precision) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.health_level(double precision, double precision, double precision) IS
'fail when value >= fail_at, warn when value >= warn_at, else ok (a NULL value or threshold is never reached). Raises nothing.';

CREATE FUNCTION animus.health()
    RETURNS TABLE (
        component  text,
        queue_name text,
        check_name text,
        value      double precision,
        unit       text,
        status     text,
        warn_at    double precision,
        fail_at    double precision,
        detail     text
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.health() TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.health() IS
'Health checks, one row each: component database (reachable: always ok when the call returns; version: animus.deployed_version(); replication_lag_sec: only on a hot standby), queue (per queue the caller has a grant on: backlog = queued items, oldest_age_sec = wait of the oldest claimable message, running, dead = dead items not yet retried or discarded, stuck = running items past their claim deadline, paused = 1 while paused), memory (bm25_backlog = BM25 statistics deltas not yet folded). status is ok, warn or fail against animus.health_thresholds (a queue''s own row, else the ''*'' default): fail when value >= fail_at, warn when >= warn_at. Read-only: runs on a hot standby. Cost: one scan of the queued, running and dead work items, and per queue one probe of its pgmq table. Raises nothing of its own.';

CREATE FUNCTION animus.set_health_threshold(check_name text, warn_at double precision DEFAULT NULL,
                                            fail_at double precision DEFAULT NULL, queue text DEFAULT '*')
    RETURNS animus.health_thresholds
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) TO animus_admin;
COMMENT ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) IS
'Sets the thresholds of health check check_name: for every queue (queue ''*'', the default) or for one queue (overriding the default); NULL warn_at / fail_at: that level is never reached. Returns the row. animus_admin only. Raises ZA163 (unknown check, or a per-queue threshold of a database/memory check), ZA164 (negative, NaN or infinite threshold, or warn_at > fail_at), ZA001 (queue NULL), ZA109 (no grant on queue), ZA101 (no such queue).';

-- ==== change ops_insights (deploy/ops_insights.sql) ====
-- Deploy animus:ops_insights to pg
-- requires: ops_dead_letters
-- requires: work_status
-- requires: security_memory_private
-- requires: column_comments

-- What the dashboard and `animus status` / `animus memory stats` show beside health(): the
-- depth of each queue over time, recomputed from the items' own timestamps (no sampler to run),
-- submissions and ends per minute, and the memory namespaces with their counts.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA168', 'ops_bad_window', 'A time window argument is out of range: since must be between 1 second and 31 days, buckets 1-1000.',
     'Pass since => ''1 hour'' (1 second to 31 days) and buckets between 1 and 1000.');

CREATE FUNCTION animus.queue_depth_history(queue text DEFAULT NULL, since interval DEFAULT '1 hour', buckets integer DEFAULT 60)
    RETURNS TABLE (queue_name text, bucket_end timestamptz, depth bigint, submitted bigint, ended bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.queue_depth_history(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_depth_history(text, interval, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_depth_history(text, interval, integer) IS
'Depth of each queue (queue; NULL: every queue the caller has a grant on) over the last since (1 second to 31 days, default 1 hour), in buckets (1-1000, default 60) of equal width: per bucket its end time, depth = open items (queued or running) at that time, submitted and ended = items created and ended within the bucket (merged duplicates are not counted). Recomputed from the items'' created_at and resolved_at: exact while the ended items are kept (purge_work removes them after their retention). Cost: one scan of the items not ended before the window. Raises ZA168 (since or buckets out of range), ZA109 (no grant on queue), ZA101 (no such queue).';

CREATE FUNCTION animus.memory_namespace_stats()
    RETURNS TABLE (namespace text, memories bigint, embedded bigint, content_bytes bigint,
                   oldest timestamptz, newest timestamptz, last_updated timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.memory_namespace_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_namespace_stats() TO animus_memory_reader, animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_namespace_stats() IS
'Per memory namespace in the caller''s read scope (animus.memory_scope(''read'')): memories, embedded (with an embedding), content_bytes (UTF-8 bytes of content), oldest and newest created_at, last_updated. Cost: one scan of the memories in scope. Raises nothing of its own.';

-- ==== change work_queues (deploy/work_queues.sql) ====
-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.6.0

-- Queues that stay small (docs/work-queue.md, "What an item costs"):
-- * a settled item's pgmq message is deleted instead of archived (animus.work_items keeps the
--   outcome): one insert (the archive row and its two index entries) less per item, and nothing
--   for retention to remove. animus.queues.archive_messages (configure_queue) keeps pgmq's archive.
-- * the hot tables (animus.work_items, each pgmq.q_<queue>) get per-table autovacuum settings:
--   vacuumed after a few thousand dead rows instead of 20 % of the table, without cost delay; the
--   work item table leaves room on each page (fillfactor) so updates that change no indexed column
--   (heartbeats, steps, outcome of a merged duplicate) stay HOT.
ALTER TABLE animus.queues ADD COLUMN archive_messages boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN animus.queues.archive_messages IS 'Whether settled messages (completed, dead, cancelled items) move to pgmq''s archive pgmq.a_<queue> (true) or are deleted (false, the default: animus.work_items keeps the outcome).';

ALTER TABLE animus.work_items SET (fillfactor = 85, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000,
                                  autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05,
                                  autovacuum_vacuum_cost_delay = 0);

CREATE FUNCTION animus.work_tune_queue_table(queue text)
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    -- The queue table holds only live messages: it is small, every row dies within a claim or two,
    -- so a fixed threshold (not a fraction) and no cost delay keep it a few pages long.
    EXECUTE pg_catalog.format('ALTER TABLE pgmq.%I SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 5000, autovacuum_vacuum_cost_delay = 0)', 'q_' || queue);
END;
$$;
REVOKE ALL ON FUNCTION animus.work_tune_queue_table(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.work_tune_queue_table(text) IS
'Internal: per-table autovacuum settings of pgmq.q_<queue> (vacuum after 1000 dead rows, analyze after 5000 changes, no cost delay); called by create_queue. Raises nothing of its own.';
DO $$
DECLARE
    q text;
BEGIN
    FOR q IN SELECT qq.queue_name FROM animus.queues qq LOOP
        PERFORM animus.work_tune_queue_table(q);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION animus.work_generate_queue_functions()
    RETURNS void
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $gen$
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
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN ('queued', 'running') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
            ON CONFLICT (queue_name, work_type, dedup_key) WHERE state IN (''queued'', ''running'') AND waits_for IS NULL AND dedup_key IS NOT NULL
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
$gen$;
REVOKE ALL ON FUNCTION animus.work_generate_queue_functions() FROM PUBLIC;
COMMENT ON FUNCTION animus.work_generate_queue_functions() IS
'Internal: regenerates animus.work_queue_send / _create_item / _claim / _archive / _set_vt with one static-SQL branch per queue in animus.queues (called by create_queue, drop_queue and configure_queue when concurrency_param or archive_messages changes). Raises nothing of its own.';
DO $$ BEGIN PERFORM animus.work_generate_queue_functions(); END $$;

CREATE OR REPLACE FUNCTION animus.create_queue(
    queue            text,
    backoff_base     interval DEFAULT '2 seconds',
    backoff_factor   double precision DEFAULT 2,
    backoff_cap      interval DEFAULT '5 minutes',
    backoff_jitter   double precision DEFAULT 0.25,
    notify           boolean DEFAULT true,
    notify_throttle  interval DEFAULT '250 milliseconds',
    if_not_exists    boolean DEFAULT false,
    concurrency_param text DEFAULT NULL
)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
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
$$;
REVOKE ALL ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) TO animus_admin;
COMMENT ON FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean, text) IS
'Creates work queue `queue` (a pgmq queue of the same name plus a priority index on its table) with its retry backoff (delay = min(backoff_cap, backoff_base * backoff_factor^(attempt-1)) * (1 +/- backoff_jitter)); its pgmq table gets per-table autovacuum settings (animus.work_tune_queue_table); settled messages are deleted (animus.configure_queue(archive_messages => true) keeps them in pgmq''s archive) and worker wake-up settings (NOTIFY animus_work, at most once per notify_throttle). concurrency_param: the params key whose value is the concurrency key of an item submitted without one (animus.set_concurrency_limit). Returns true when created, false when it existed and if_not_exists. Who may use the queue: animus.grant_queue (the group roles hold ''*'' until an admin revokes it). Raises ZA001 (queue or a setting NULL/empty, each named), ZA107 (invalid name), ZA002 (a setting out of range, named: backoff_base, backoff_cap, notify_throttle >= 0; backoff_factor >= 1; 0 <= backoff_jitter < 1), ZA106 (exists), ZA129 (concurrency_param empty, only white space or over 200 characters).';

DROP FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text);
CREATE FUNCTION animus.configure_queue(
    queue            text,
    backoff_base     interval DEFAULT NULL,
    backoff_factor   double precision DEFAULT NULL,
    backoff_cap      interval DEFAULT NULL,
    backoff_jitter   double precision DEFAULT NULL,
    notify           boolean DEFAULT NULL,
    notify_throttle  interval DEFAULT NULL,
    concurrency_param text DEFAULT NULL,
    archive_messages boolean DEFAULT NULL
)
    RETURNS animus.queues
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
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
REVOKE ALL ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text, boolean) TO animus_admin;
COMMENT ON FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval, text, boolean) IS
'Changes the retry backoff or wake-up settings of an existing queue (NULL keeps a setting; concurrency_param => '''' clears the derived key; archive_messages => true moves settled messages to pgmq''s archive instead of deleting them) and returns its row. Raises ZA001 (queue NULL or empty), ZA101 (unknown queue), ZA002 (a setting out of range, named), ZA129 (concurrency_param only white space or over 200 characters).';

-- ==== what this file installed (animus.deployed_version) ====
INSERT INTO animus.installed_version (version, last_change) VALUES ('@v0.7.0', 'work_queues');

COMMIT;
