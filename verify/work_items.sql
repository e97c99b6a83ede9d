-- Verify animus:work_items on pg

BEGIN;

DO $$
BEGIN
    IF (SELECT p.prosrc FROM pg_catalog.pg_proc p
         WHERE p.oid = 'animus.work_items_check_transition()'::pg_catalog.regprocedure) NOT LIKE '%animus_work_done%' THEN
        RAISE EXCEPTION 'work_items_check_transition does not notify animus_work_done';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'animus.work_items'::regclass
            AND tgname = 'work_items_state_transition') <> 1 THEN
        RAISE EXCEPTION 'state transition trigger is missing';
    END IF;
    IF (SELECT p.proconfig FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.work_items_check_transition()'::pg_catalog.regprocedure) IS NOT NULL THEN
        RAISE EXCEPTION 'the state trigger function still sets a configuration of its own';
    END IF;
END $$;

ROLLBACK;
