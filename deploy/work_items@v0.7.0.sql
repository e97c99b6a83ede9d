-- Deploy animus:work_items to pg
-- requires: work_items@v0.5.0
-- requires: work_wait

BEGIN;

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

COMMIT;
