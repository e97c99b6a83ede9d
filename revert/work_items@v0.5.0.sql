-- Revert animus:work_items from pg

BEGIN;

-- Queues created after deploy (animus.create_queue) are dropped with their pgmq tables.
DO $$
DECLARE
    q text;
BEGIN
    FOR q IN SELECT queue_name FROM animus.queues ORDER BY queue_name LOOP
        IF EXISTS (SELECT 1 FROM pgmq.meta m WHERE m.queue_name = q) THEN
            PERFORM pgmq.drop_queue(q);
        END IF;
    END LOOP;
END $$;

DROP TABLE animus.work_items;
DROP FUNCTION animus.work_new_id();
DROP FUNCTION animus.work_items_check_transition();
DROP TABLE animus.work_state_transitions;
DROP TABLE animus.queues;
DELETE FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA100' AND 'ZA199';

COMMIT;
