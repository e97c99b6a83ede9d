-- Verify animus:work_queue_grants on pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.to_regclass('animus.queue_grants') IS NULL THEN
        RAISE EXCEPTION 'animus.queue_grants is missing';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_admin', 'animus.grant_queue(text, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.revoke_queue(text, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin cannot execute animus.grant_queue / animus.revoke_queue';
    END IF;
    IF pg_catalog.has_function_privilege('animus_producer', 'animus.grant_queue(text, text)', 'EXECUTE')
       OR pg_catalog.has_function_privilege('animus_worker', 'animus.work_queue_scope()', 'EXECUTE') THEN
        RAISE EXCEPTION 'a producer or worker may execute a queue grant function';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_queue_allowed(text)') IS NULL THEN
        RAISE EXCEPTION 'animus.work_queue_allowed is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA109', 'ZA340', 'ZA341')) <> 3 THEN
        RAISE EXCEPTION 'error codes ZA109, ZA340, ZA341 are missing';
    END IF;
END $$;

ROLLBACK;
