-- Verify animus:work_release on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('animus_worker', 'animus.release_work(uuid, integer, interval)', 'EXECUTE'), 'animus_worker cannot execute animus.release_work';
    ASSERT has_function_privilege('animus_admin', 'animus.release_work(uuid, integer, interval)', 'EXECUTE'), 'animus_admin cannot execute animus.release_work';
    ASSERT NOT has_function_privilege('animus_producer', 'animus.release_work(uuid, integer, interval)', 'EXECUTE'), 'animus_producer must not release work';
    ASSERT (SELECT p.prosecdef AND p.proconfig && ARRAY['search_path=""', 'search_path=pg_catalog, pg_temp']
              FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.release_work(uuid, integer, interval)'::pg_catalog.regprocedure),
        'animus.release_work must be SECURITY DEFINER with search_path pinned to empty';
END $$;

ROLLBACK;
