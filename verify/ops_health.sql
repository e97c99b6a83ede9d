-- Verify animus:ops_health on pg

BEGIN;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['animus.health()', 'animus.deployed_version()', 'animus.health_level(double precision, double precision, double precision)',
                             'animus.set_health_threshold(text, double precision, double precision, text)'] LOOP
        IF to_regprocedure(f) IS NULL THEN
            RAISE EXCEPTION '% is missing', f;
        END IF;
    END LOOP;
    IF to_regclass('animus.health_thresholds') IS NULL OR to_regclass('animus.installed_version') IS NULL THEN
        RAISE EXCEPTION 'animus.health_thresholds or animus.installed_version is missing';
    END IF;
    IF (SELECT count(*) FROM animus.health_thresholds WHERE queue_name = '*') < 7 THEN
        RAISE EXCEPTION 'the default health thresholds are missing';
    END IF;
    IF NOT has_function_privilege('animus_worker', 'animus.health()', 'EXECUTE')
       OR has_function_privilege('animus_worker', 'animus.set_health_threshold(text, double precision, double precision, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'health() must be executable by the animus roles, set_health_threshold by animus_admin only';
    END IF;
    IF (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA163', 'ZA164')) <> 2 THEN
        RAISE EXCEPTION 'SQLSTATEs ZA163-ZA164 are not registered';
    END IF;
END $$;

ROLLBACK;
