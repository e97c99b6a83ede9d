-- Verify animus:work_items on pg

BEGIN;

SELECT queue_name, backoff_base, backoff_factor, backoff_cap, backoff_jitter, notify, notify_throttle,
       last_notified_at, created_at
  FROM animus.queues WHERE false;
SELECT id, queue_name, work_type, dedup_key, source, trigger_info, params, priority, state, merged_into,
       waits_for, parent_id, attempts, max_attempts, msg_id, run_at, outcome, error, duration_ms,
       trace_context, created_at, updated_at, started_at, heartbeat_at, resolved_at, released
  FROM animus.work_items WHERE false;
SELECT from_state, to_state, why FROM animus.work_state_transitions WHERE false;
SELECT animus.work_new_id() WHERE false;

DO $$
BEGIN
    ASSERT to_regclass('animus.work_items_dedup_active') IS NOT NULL, 'dedup index work_items_dedup_active is missing';
    ASSERT (SELECT indisunique FROM pg_catalog.pg_index WHERE indexrelid = 'animus.work_items_dedup_active'::regclass),
        'work_items_dedup_active is not unique';
    ASSERT (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'animus.work_items'::regclass
            AND tgname = 'work_items_state_transition') = 1,
        'state transition trigger is missing';
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate BETWEEN 'ZA101' AND 'ZA108') = 8,
        'work queue SQLSTATEs ZA101-ZA108 are missing';
END $$;

ROLLBACK;
