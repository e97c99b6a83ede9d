-- Verify animus:work_status on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_producer', 'animus.get_work(uuid)', 'EXECUTE'), 'animus_producer cannot execute animus.get_work';
    ASSERT has_function_privilege('animus_producer', 'animus.work_children(uuid)', 'EXECUTE'), 'animus_producer cannot execute animus.work_children';
    ASSERT has_function_privilege('animus_producer', 'animus.queue_stats(text)', 'EXECUTE'), 'animus_producer cannot execute animus.queue_stats';
    ASSERT has_function_privilege('animus_admin', 'animus.purge_work(interval, text)', 'EXECUTE'), 'animus_admin cannot execute animus.purge_work';
    ASSERT NOT has_function_privilege('animus_producer', 'animus.purge_work(interval, text)', 'EXECUTE'), 'animus_producer must not purge';
END $$;

ROLLBACK;
