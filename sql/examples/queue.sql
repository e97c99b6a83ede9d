-- animus work queue in one psql session:  psql -X -f sql/examples/queue.sql "$DATABASE_URL"
-- Submit the same work twice (the second is merged), claim it, complete it, look at its provenance.
\set ON_ERROR_STOP on
\pset footer off
SELECT animus.create_queue(queue => 'demo', if_not_exists => true) AS demo_queue_created;

\echo '-- 1. the scheduler asks to engage with Kelly'
SELECT work_id AS first_id, status, canonical_id, msg_id
  FROM animus.submit_work(work_type => 'engage', source => 'scheduler', queue => 'demo',
                          params => '{"person": "kelly"}', dedup_key => 'person=kelly',
                          trigger_info => 'every 4h',
                          trace_context => '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}') \gset
SELECT :'first_id' AS work_id, :'status' AS status;

\echo '-- 2. a person asks for the same thing while it is still queued: merged, not run twice'
SELECT work_id, status, canonical_id = :'first_id' AS same_canonical, msg_id
  FROM animus.submit_work(work_type => 'engage', source => 'human:alice', queue => 'demo',
                          params => '{"person": "kelly", "note": "she wrote back"}', dedup_key => 'person=kelly',
                          trigger_info => 'chat message',
                          trace_context => '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}');

\echo '-- 3. a worker claims it (30 s visibility timeout); requesters carries both trace contexts'
SELECT work_id = :'first_id' AS is_first, work_type, params, attempts,
       jsonb_path_query_array(requesters, '$[*].source') AS requested_by,
       jsonb_path_query_array(requesters, '$[*].trace_context.traceparent') AS traceparents
  FROM animus.read_work(queue => 'demo', vt => '30 seconds', qty => 1);

\echo '-- 4. the worker completes it'
SELECT animus.complete_work(work_id => :'first_id', outcome => '{"message_sent": true}') AS completed;

\echo '-- 5. its status and provenance'
SELECT state, attempts, outcome, round(duration_ms) >= 0 AS timed,
       jsonb_array_length(merged_submissions) AS merged,
       merged_submissions -> 0 ->> 'source' AS merged_from, merged_submissions -> 0 -> 'params' AS merged_params
  FROM animus.get_work(:'first_id');

\echo '-- 6. the key is free again: the next submission is created'
SELECT work_id AS next_id, status FROM animus.submit_work(work_type => 'engage', source => 'scheduler', queue => 'demo',
                                                           dedup_key => 'person=kelly') \gset
SELECT :'status' AS status;
SELECT state, items FROM animus.queue_stats(queue => 'demo') WHERE items > 0;

\echo '-- 7. cancelled: a cancelled item is never read (and the demo can run again)'
SELECT animus.cancel_work(work_id => :'next_id') AS cancelled;
