-- Revert animus:work_schedules from pg

BEGIN;

DROP FUNCTION animus.tick_schedules(timestamptz, integer);
DROP FUNCTION animus.schedule_next_runs(text, integer);
DROP FUNCTION animus.list_schedules(text);
DROP FUNCTION animus.drop_schedule(text, boolean);
DROP FUNCTION animus.resume_schedule(text);
DROP FUNCTION animus.pause_schedule(text);
DROP FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text);
DROP FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean);
DROP FUNCTION animus.schedule_lock(text);
DROP FUNCTION animus.schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text);
DROP FUNCTION animus.schedule_creator_allowed(oid, text);
DROP FUNCTION animus.schedule_next(animus.schedules, timestamptz);
DROP FUNCTION animus.cron_next_runs(text, integer, timestamptz, text);
DROP FUNCTION animus.schedule_check_timezone(text);
DROP FUNCTION animus.cron_next(animus.cron_spec, text, timestamptz);
DROP FUNCTION animus.tz_instants(text, timestamp);
DROP FUNCTION animus.tz_transition(text, timestamptz, timestamptz);
DROP FUNCTION animus.tz_offset(text, timestamptz);
DROP FUNCTION animus.cron_next_local(animus.cron_spec, timestamp);
DROP FUNCTION animus.cron_parse(text);
DROP FUNCTION animus.cron_parse_field(integer, text);
DROP TABLE animus.schedules;
DROP TYPE animus.cron_spec;
DELETE FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA130' AND 'ZA140';

COMMIT;
