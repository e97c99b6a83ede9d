-- complete_work (single and batch): completed, outcome stored, message archived, merged resolve with it; errors.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(28);

SELECT has_function('animus', 'complete_work', ARRAY['uuid', 'jsonb', 'integer'], 'complete_work(work_id, outcome) exists');
SELECT has_function('animus', 'complete_work', ARRAY['uuid[]', 'jsonb[]', 'integer[]'], 'complete_work(work_ids, outcomes) exists (batch form)');
SELECT function_returns('animus', 'complete_work', ARRAY['uuid', 'jsonb', 'integer'], 'boolean', 'the single form returns boolean');
SELECT function_returns('animus', 'complete_work', ARRAY['uuid[]', 'jsonb[]', 'integer[]'], 'setof record', 'the batch form returns one row per id');
SELECT volatility_is('animus', 'complete_work', ARRAY['uuid', 'jsonb', 'integer'], 'volatile', 'complete_work is volatile');
SELECT is_definer('animus', 'complete_work', ARRAY['uuid', 'jsonb', 'integer'], 'complete_work is SECURITY DEFINER');

SELECT animus.create_queue('t_complete') AS created \gset
SELECT work_id AS a, msg_id AS a_msg FROM animus.submit_work('t', 'first', dedup_key => 'k', queue => 't_complete') \gset
SELECT work_id AS a_dup FROM animus.submit_work('t', 'second', dedup_key => 'k', queue => 't_complete') \gset
SELECT work_id AS queued FROM animus.submit_work('t', 'x', delay => '1 hour', queue => 't_complete') \gset
SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid)', :'queued'), 'ZA103', NULL, 'completing a queued (not running) item raises ZA103');
SELECT is((SELECT work_id FROM animus.read_work('t_complete')), :'a'::uuid, 'the item is claimed');

SELECT ok(animus.complete_work(work_id => :'a', outcome => '{"sent": 3}'), 'complete_work returns true');
SELECT row_eq(format('SELECT state, outcome, resolved_at IS NOT NULL, duration_ms >= 0 FROM animus.work_items WHERE id = %L', :'a'),
    ROW('completed'::text, '{"sent": 3}'::jsonb, true, true), 'the item is completed with its outcome, resolved_at and duration');
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.q_t_complete WHERE msg_id = :'a_msg') AND NOT EXISTS (SELECT 1 FROM pgmq.a_t_complete WHERE msg_id = :'a_msg'),
    'its message was deleted, not archived (the item keeps the outcome)');
SELECT row_eq(format('SELECT state, resolution, outcome FROM animus.get_work(%L)', :'a_dup'),
    ROW('merged'::text, 'completed'::text, '{"sent": 3}'::jsonb), 'the merged duplicate resolves with its canonical item (state and outcome)');
SELECT is((SELECT status FROM animus.submit_work('t', 'third', dedup_key => 'k', queue => 't_complete')), 'created',
    'after completion the key is free again');

SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid)', :'a'), 'ZA104', NULL, 'a stale second completion raises ZA104');
SELECT throws_ok(format('SELECT animus.complete_work(%L::uuid)', :'a_dup'), 'ZA104', NULL, 'completing a merged duplicate raises ZA104');
SELECT throws_ok($$SELECT animus.complete_work(gen_random_uuid())$$, 'ZA102', NULL, 'an unknown work id raises ZA102');
SELECT throws_ok($$SELECT animus.complete_work(NULL::uuid)$$, 'ZA001', NULL, 'a NULL work id raises ZA001');
SELECT is((SELECT outcome FROM animus.work_items WHERE id = :'a'), '{"sent": 3}'::jsonb, 'the failed calls changed nothing');

-- batch form
SELECT array_agg(work_id ORDER BY work_id) AS ids FROM animus.submit_work_batch(
    '[{"work_type": "b", "source": "s"}, {"work_type": "b", "source": "s"}, {"work_type": "b", "source": "s"}]', queue => 't_complete') \gset
SELECT is((SELECT count(*) FROM animus.read_work('t_complete', qty => 10)), 4::bigint, 'the batch items (and the re-submitted key) are claimed');
SELECT ok(animus.cancel_work((:'ids'::uuid[])[3]), 'one claimed item is cancelled meanwhile');
SELECT results_eq(format('SELECT work_id, completed FROM animus.complete_work(work_ids => %L::uuid[], outcomes => ARRAY[''{"n": 1}'', ''{"n": 2}'', ''{"n": 3}'']::jsonb[])', :'ids'),
    format('VALUES (%L::uuid, true), (%L::uuid, true), (%L::uuid, false)', (:'ids'::uuid[])[1], (:'ids'::uuid[])[2], (:'ids'::uuid[])[3]),
    'the batch form completes the running items and reports the cancelled one as not completed');
SELECT results_eq(format('SELECT state, outcome FROM animus.work_items WHERE id = ANY (%L::uuid[]) ORDER BY id', :'ids'),
    $$VALUES ('completed'::text, '{"n": 1}'::jsonb), ('completed', '{"n": 2}'), ('cancelled', NULL)$$,
    'each completed item got its own outcome; the cancelled one is unchanged');
SELECT is((SELECT count(*) FROM pgmq.q_t_complete WHERE message ->> 'work_id' = ANY (:'ids'::text[]))
          + (SELECT count(*) FROM pgmq.a_t_complete WHERE message ->> 'work_id' = ANY (:'ids'::text[])), 0::bigint,
    'the batch''s messages are deleted (two completed, one cancelled)');
-- a queue with archive_messages keeps pgmq's archive
SELECT (animus.configure_queue(queue => 't_complete', archive_messages => true)).archive_messages AS arch \gset
SELECT work_id AS ar, msg_id AS ar_msg FROM animus.submit_work('arch', 's', queue => 't_complete') \gset
SELECT ok(animus.complete_work(work_id) AND work_id = :'ar') FROM animus.read_work('t_complete', work_types => ARRAY['arch']);
SELECT ok(NOT EXISTS (SELECT 1 FROM pgmq.q_t_complete WHERE msg_id = :'ar_msg') AND EXISTS (SELECT 1 FROM pgmq.a_t_complete WHERE msg_id = :'ar_msg'),
    'with configure_queue(archive_messages => true) the message is moved to pgmq''s archive');
SELECT throws_ok($$SELECT * FROM animus.complete_work(work_ids => ARRAY[gen_random_uuid()])$$, 'ZA102', NULL, 'an unknown id in the batch raises ZA102');
SELECT throws_ok($$SELECT * FROM animus.complete_work(work_ids => ARRAY[NULL]::uuid[])$$, 'ZA001', NULL, 'a NULL id in the batch raises ZA001');
SELECT throws_ok(format('SELECT * FROM animus.complete_work(work_ids => %L::uuid[], outcomes => ARRAY[NULL]::jsonb[])', :'ids'), 'ZA002', NULL,
    'outcomes of another length than work_ids raises ZA002');

SELECT * FROM finish();
ROLLBACK;
