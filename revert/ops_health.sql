-- Revert animus:ops_health from pg

BEGIN;

DROP FUNCTION animus.set_health_threshold(text, double precision, double precision, text);
DROP FUNCTION animus.health();
DROP FUNCTION animus.health_level(double precision, double precision, double precision);
DROP FUNCTION animus.deployed_version();
DROP TABLE animus.installed_version;
DROP TABLE animus.health_thresholds;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA163', 'ZA164');

COMMIT;
