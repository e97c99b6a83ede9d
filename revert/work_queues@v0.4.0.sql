-- Revert animus:work_queues from pg

BEGIN;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM animus.queues WHERE queue_name = 'work') THEN
        PERFORM animus.drop_queue('work');
    END IF;
END $$;
DROP FUNCTION animus.drop_queue(text);
DROP FUNCTION animus.work_queue_set_vt(text, bigint[], timestamptz[]);
DROP FUNCTION animus.work_queue_archive(text, bigint[]);
DROP FUNCTION animus.work_queue_claim(text, integer, timestamptz);
DROP FUNCTION animus.work_queue_create_item(text, uuid, text, text, text, text, jsonb, integer, uuid, integer, timestamptz, jsonb, jsonb);
DROP FUNCTION animus.work_queue_send(text, bigint[], timestamptz[], jsonb[], jsonb[]);
DROP FUNCTION animus.work_generate_queue_functions();
DROP FUNCTION animus.work_wake(text);
DROP FUNCTION animus.configure_queue(text, interval, double precision, interval, double precision, boolean, interval);
DROP FUNCTION animus.create_queue(text, interval, double precision, interval, double precision, boolean, interval, boolean);

COMMIT;
