-- Verify animus:work_queues on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_admin', 'animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean)', 'EXECUTE'),
        'animus_admin cannot execute animus.create_queue';
    ASSERT has_function_privilege('animus_admin', 'animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval)', 'EXECUTE'),
        'animus_admin cannot execute animus.configure_queue';
    ASSERT has_function_privilege('animus_admin', 'animus.drop_queue(text)', 'EXECUTE'),
        'animus_admin cannot execute animus.drop_queue';
    ASSERT EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 'work'), 'the default queue work is missing';
    ASSERT to_regprocedure('animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[])') IS NOT NULL, 'animus.work_queue_send is missing';
    ASSERT to_regprocedure('animus.work_queue_claim(text, integer, timestamptz)') IS NOT NULL, 'animus.work_queue_claim is missing';
    ASSERT to_regprocedure('animus.work_wake(text)') IS NOT NULL, 'animus.work_wake is missing';
    ASSERT to_regprocedure('animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb)') IS NOT NULL, 'animus.work_queue_create_item is missing';
    ASSERT to_regprocedure('animus.work_queue_archive(text, bigint[])') IS NOT NULL, 'animus.work_queue_archive is missing';
    ASSERT to_regprocedure('animus.work_queue_set_vt(text, bigint[], timestamptz[])') IS NOT NULL, 'animus.work_queue_set_vt is missing';
    ASSERT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 'work'), 'the pgmq queue work is missing';
END $$;

ROLLBACK;
