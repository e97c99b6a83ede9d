-- Verify animus:work_lifecycle on pg

BEGIN;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['animus.read_work(text, interval, integer)', 'animus.complete_work(uuid[], jsonb[], integer[])',
                             'animus.complete_work(uuid, jsonb, integer)', 'animus.fail_work(uuid[], text, boolean, integer[])',
                             'animus.fail_work(uuid, text, boolean, integer)', 'animus.heartbeat_work(uuid, interval, integer)',
                             'animus.cancel_work(uuid)', 'animus.archive_work(text, bigint)', 'animus.delete_work(text, bigint)']
    LOOP
        ASSERT has_function_privilege('animus_worker', f, 'EXECUTE'), format('animus_worker cannot execute %s', f);
    END LOOP;
    ASSERT NOT has_function_privilege('animus_producer', 'animus.read_work(text, interval, integer)', 'EXECUTE'),
        'animus_producer must not read work';
    ASSERT to_regprocedure('animus.work_release_followups(uuid[])') IS NOT NULL, 'animus.work_release_followups is missing';
    ASSERT to_regprocedure('animus.work_raise_not_running(uuid, text, integer)') IS NOT NULL, 'animus.work_raise_not_running is missing';
    ASSERT to_regprocedure('animus.work_raise_stale_claim(uuid, text, integer, integer, text)') IS NOT NULL, 'animus.work_raise_stale_claim is missing';
END $$;

ROLLBACK;
