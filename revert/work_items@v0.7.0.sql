-- Revert animus:work_items from pg

BEGIN;

-- Back to the v0.5.0 trigger function (no notification), with the search_path
-- security_search_path gave it.
CREATE OR REPLACE FUNCTION animus.work_items_check_transition()
    RETURNS trigger
    VOLATILE
    SET search_path = pg_catalog, pg_temp
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
COMMENT ON FUNCTION animus.work_items_check_transition() IS 'Trigger: refuses state changes not listed in animus.work_state_transitions. Raises ZA105.';

COMMIT;
