-- Verify animus:work_submit on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_producer', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)', 'EXECUTE'),
        'animus_producer cannot execute animus.submit_work';
    ASSERT has_function_privilege('animus_producer', 'animus.submit_work_batch(jsonb, text, text, jsonb)', 'EXECUTE'),
        'animus_producer cannot execute animus.submit_work_batch';
    ASSERT NOT has_function_privilege('animus_worker', 'animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb)', 'EXECUTE'),
        'animus_worker must not submit work';
    ASSERT to_regprocedure('animus.work_send_messages(text, animus.work_items[], timestamptz)') IS NOT NULL, 'animus.work_send_messages is missing';
END $$;

ROLLBACK;
