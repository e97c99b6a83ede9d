-- Deploy animus:ops_dead_letters to pg
-- requires: work_status
-- requires: work_submit
-- requires: work_queue_grants
-- requires: column_comments

BEGIN;

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

COMMIT;
