-- Revert animus:work_submit from pg

BEGIN;

DROP FUNCTION animus.submit_work_batch(jsonb, text, text, jsonb);
DROP FUNCTION animus.submit_work(text, text, jsonb, text, text, integer, uuid, integer, text, interval, timestamptz, text, jsonb);
DROP TYPE animus.work_submission;
DROP FUNCTION animus.work_check_submit_args(text, text, jsonb, text, integer, integer, interval, text, jsonb);
DROP FUNCTION animus.work_send_messages(text, animus.work_items[], timestamptz);
DROP FUNCTION animus.work_message_headers(integer, jsonb);

COMMIT;
