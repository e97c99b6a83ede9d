-- Revert animus:work_steps from pg

BEGIN;

DROP FUNCTION animus.purge_events(interval, text);
DROP FUNCTION animus.get_event(text, text);
DROP FUNCTION animus.emit_event(text, jsonb, text);
DROP FUNCTION animus.await_event(uuid, integer, text, interval, text, integer);
DROP FUNCTION animus.work_check_event(text, jsonb);
DROP FUNCTION animus.sleep_work(uuid, integer, timestamptz, text, integer, interval);
DROP FUNCTION animus.finish_step(uuid, text, integer, jsonb, integer, text);
DROP FUNCTION animus.start_step(uuid, text, integer, integer, text);
DROP FUNCTION animus.work_raise_step_reused(animus.work_steps, text, text, text);
DROP FUNCTION animus.work_check_step(uuid, integer, text, integer, text);
DROP FUNCTION animus.work_suspend(uuid, text, bigint, timestamptz);
DROP TABLE animus.work_events;
DROP TABLE animus.work_steps;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA113', 'ZA114', 'ZA115', 'ZA116', 'ZA117', 'ZA118', 'ZA119');

COMMIT;
