-- Revert animus:work_pause from pg

BEGIN;

DROP FUNCTION animus.resume_queue(text);
DROP FUNCTION animus.pause_queue(text);
ALTER TABLE animus.queues DROP COLUMN paused_at;

COMMIT;
