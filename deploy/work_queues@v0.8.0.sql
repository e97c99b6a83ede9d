-- Deploy animus:work_queues to pg
-- requires: work_queues@v0.7.0
-- requires: work_hot_columns

BEGIN;

-- The generated create_item inserts with ON CONFLICT on the index work_items_active_key (on the
-- generated column active_key, not on state).

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
$gen$;

DO $$ BEGIN PERFORM animus.work_generate_queue_functions(); END $$;

COMMIT;
