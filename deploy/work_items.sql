-- Deploy animus:work_items to pg
-- requires: work_items@v0.7.0

BEGIN;

-- The state trigger runs without a SET search_path of its own: a function-level SET saves and
-- restores the setting on every call (~5 us per state change, twice per item). It is no SECURITY
-- DEFINER function, every name in it is qualified, and the SECURITY DEFINER functions that change
-- state pin search_path = pg_catalog, pg_temp already.

CREATE OR REPLACE FUNCTION animus.work_items_check_transition()
    RETURNS trigger
    VOLATILE
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


COMMIT;
