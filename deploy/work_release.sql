-- Deploy animus:work_release to pg
-- requires: work_release@v0.5.0
-- requires: work_concurrency
-- requires: work_lifecycle

BEGIN;

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

COMMIT;
