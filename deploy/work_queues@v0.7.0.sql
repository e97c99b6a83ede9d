-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.6.0

BEGIN;

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

COMMIT;
