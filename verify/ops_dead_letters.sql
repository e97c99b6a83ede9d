-- Verify animus:ops_dead_letters on pg

BEGIN;

DO $$
DECLARE
    f text;
BEGIN
    IF to_regclass('animus.dead_work_actions') IS NULL THEN
        RAISE EXCEPTION 'table animus.dead_work_actions is missing';
    END IF;
    FOREACH f IN ARRAY ARRAY['animus.list_dead_work(text, integer, timestamptz)', 'animus.retry_dead_work(uuid, interval)',
                             'animus.discard_dead_work(uuid)', 'animus.ops_lock_dead(uuid, text)', 'animus.ops_check_queue(text)'] LOOP
        IF to_regprocedure(f) IS NULL THEN
            RAISE EXCEPTION '% is missing', f;
        END IF;
    END LOOP;
    IF NOT has_function_privilege('animus_admin', 'animus.retry_dead_work(uuid, interval)', 'EXECUTE')
       OR has_function_privilege('animus_worker', 'animus.retry_dead_work(uuid, interval)', 'EXECUTE')
       OR has_function_privilege('animus_producer', 'animus.discard_dead_work(uuid)', 'EXECUTE') THEN
        RAISE EXCEPTION 'retry_dead_work / discard_dead_work must be executable by animus_admin only';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA165', 'ZA166', 'ZA167')) <> 3 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA165-ZA167 are not registered in animus.error_codes';
    END IF;
END $$;

ROLLBACK;
