-- Verify animus:memory_lifecycle on pg

BEGIN;

DO $$
DECLARE
    fn text;
BEGIN
    PERFORM expires_at, pinned, superseded_by, superseded_at, owner_role, visibility, share_groups
       FROM animus.memories WHERE false;
    FOREACH fn IN ARRAY ARRAY[
        'animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean)',
        'animus.purge_expired_memories(text, interval, integer)'] LOOP
        IF NOT has_function_privilege('animus_memory_writer', fn, 'EXECUTE') THEN
            RAISE EXCEPTION 'animus_memory_writer cannot execute %', fn;
        END IF;
    END LOOP;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.memory_chain(bigint)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.memory_chain(bigint)';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = 'memories_state_mirror'
                      AND tgrelid = 'animus.memories'::regclass) THEN
        RAISE EXCEPTION 'trigger memories_state_mirror is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA216', 'ZA217', 'ZA218', 'ZA219')) <> 4 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA216-ZA219 are not registered';
    END IF;
END $$;

ROLLBACK;
