-- Verify animus:work_concurrency on pg

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = 'animus.work_items'::pg_catalog.regclass AND a.attname = 'concurrency_key' AND NOT a.attisdropped)
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = 'animus.work_items'::pg_catalog.regclass AND a.attname = 'cost' AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'animus.work_items has no concurrency_key or cost column';
    END IF;
    IF pg_catalog.to_regclass('animus.concurrency_limits') IS NULL OR pg_catalog.to_regclass('animus.concurrency_keys') IS NULL
       OR pg_catalog.to_regclass('animus.concurrency_held') IS NULL THEN
        RAISE EXCEPTION 'a concurrency table is missing';
    END IF;
    IF NOT pg_catalog.has_function_privilege('animus_admin', 'animus.set_concurrency_limit(text, text, integer, integer, interval)', 'EXECUTE')
       OR pg_catalog.has_function_privilege('animus_worker', 'animus.set_concurrency_limit(text, text, integer, integer, interval)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_admin', 'animus.drop_concurrency_limit(text, text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_worker', 'animus.sweep_concurrency_keys(text)', 'EXECUTE')
       OR NOT pg_catalog.has_function_privilege('animus_producer', 'animus.concurrency_stats(text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'the concurrency functions do not have the expected grants';
    END IF;
    IF pg_catalog.to_regprocedure('animus.work_key_wake(text, text[])') IS NULL THEN
        RAISE EXCEPTION 'animus.work_key_wake(text, text[]) is missing';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA125', 'ZA126', 'ZA127', 'ZA128', 'ZA129')) <> 5 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA125-ZA129 are not registered';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = 'animus.work_key_wake(text, text[])'::pg_catalog.regprocedure AND p.prosrc ~ 'running_key') THEN
        RAISE EXCEPTION 'work_key_wake does not count running items through running_key';
    END IF;
END $$;

ROLLBACK;
