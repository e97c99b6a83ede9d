-- Verify animus:memory_lifecycle on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.strpos(pg_catalog.pg_get_functiondef('animus.memory_state_match(jsonb, jsonb)'::regprocedure), 'jsonb_path_exists') = 0 THEN
        RAISE EXCEPTION 'animus.memory_state_match still has its sub-select (memory_lifecycle@v0.8.0): this change is not deployed';
    END IF;
END $$;

ROLLBACK;
