-- submit_work on_duplicate => 'replace' (debounce): queued item replaced; running item gets one
-- waiting follow-up ("one running plus one queued") that runs after it ends.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(22);

SELECT animus.create_queue('t_replace') AS created \gset

SELECT work_id AS c, msg_id AS c_msg FROM animus.submit_work('digest', 'a', params => '{"v": 1}', dedup_key => 'd', queue => 't_replace') \gset
SELECT work_id AS r1, status AS r1_status, canonical_id AS r1_canon
  FROM animus.submit_work('digest', 'b', params => '{"v": 2}', dedup_key => 'd', priority => 5, delay => '10 minutes',
                          on_duplicate => 'replace', queue => 't_replace') \gset
SELECT is(:'r1_status'::text, 'replaced', 'replace on a queued item returns status replaced');
SELECT is(:'r1_canon'::text, :'c'::text, 'the canonical item is the queued one');
SELECT row_eq(format('SELECT params, priority, state FROM animus.work_items WHERE id = %L', :'c'),
    ROW('{"v": 2}'::jsonb, 5, 'queued'::text), 'the queued item got the new params and priority');
SELECT ok((SELECT run_at FROM animus.work_items WHERE id = :'c') > now() + interval '9 minutes',
    'the queued item got the new run time');
SELECT ok((SELECT vt FROM pgmq.q_t_replace WHERE msg_id = :'c_msg') > now() + interval '9 minutes'
          AND (SELECT headers -> 'animus_priority' FROM pgmq.q_t_replace WHERE msg_id = :'c_msg') = '5',
    'its pgmq message got the new visibility time and priority');
SELECT row_eq(format('SELECT state, merged_into, source, params FROM animus.work_items WHERE id = %L', :'r1'),
    ROW('merged'::text, :'c'::uuid, 'b'::text, '{"v": 2}'::jsonb), 'the replacing submission is recorded with its provenance');
SELECT is((SELECT count(*) FROM pgmq.q_t_replace), 1::bigint, 'replace sends no second message');

-- make it due and claim it: now it is running
UPDATE pgmq.q_t_replace SET vt = now() - interval '1 second' WHERE msg_id = :'c_msg';
SELECT is((SELECT work_id FROM animus.read_work('t_replace')), :'c'::uuid, 'the replaced item is read');

SELECT work_id AS f, status AS f_status, canonical_id AS f_canon, msg_id AS f_msg
  FROM animus.submit_work('digest', 'c', params => '{"v": 3}', dedup_key => 'd', on_duplicate => 'replace', queue => 't_replace') \gset
SELECT is(:'f_status'::text, 'created', 'replace while the item runs creates a follow-up item');
SELECT row_eq(format('SELECT state, waits_for, params FROM animus.work_items WHERE id = %L', :'f'),
    ROW('queued'::text, :'c'::uuid, '{"v": 3}'::jsonb), 'the follow-up is queued and waits for the running item');
SELECT is((SELECT vt FROM pgmq.q_t_replace WHERE msg_id = :'f_msg'), 'infinity'::timestamptz,
    'the follow-up''s message stays invisible while the item runs');
SELECT is_empty($$SELECT * FROM animus.read_work('t_replace', qty => 10)$$, 'no reader gets the follow-up while the first item runs');

SELECT work_id AS f2, status AS f2_status, canonical_id AS f2_canon
  FROM animus.submit_work('digest', 'd', params => '{"v": 4}', dedup_key => 'd', on_duplicate => 'replace', queue => 't_replace') \gset
SELECT is(:'f2_status'::text, 'replaced', 'a further replace while running replaces the follow-up');
SELECT is(:'f2_canon'::text, :'f'::text, 'its canonical item is the follow-up');
SELECT is((SELECT params FROM animus.work_items WHERE id = :'f'), '{"v": 4}'::jsonb, 'the follow-up got the newest params');
SELECT is((SELECT canonical_id FROM animus.submit_work('digest', 'e', dedup_key => 'd', queue => 't_replace')), :'f'::uuid,
    'a merge while running plus follow-up merges into the follow-up (it runs after the new request)');
SELECT is((SELECT count(*) FROM animus.work_items WHERE dedup_key = 'd' AND queue_name = 't_replace' AND state IN ('queued', 'running')), 2::bigint,
    'at most one running plus one queued item for the key');

SELECT ok(animus.complete_work(:'c'::uuid), 'the running item completes');
SELECT row_eq(format('SELECT state, waits_for FROM animus.work_items WHERE id = %L', :'f'), ROW('queued'::text, NULL::uuid),
    'after it ended, the follow-up holds the key');
SELECT ok((SELECT vt FROM pgmq.q_t_replace WHERE msg_id = :'f_msg') <= clock_timestamp(), 'and its message became visible');
SELECT is((SELECT work_id FROM animus.read_work('t_replace')), :'f'::uuid, 'the follow-up is read next');
SELECT is((SELECT status FROM animus.submit_work('digest', 'f', dedup_key => 'd', on_duplicate => 'replace', queue => 't_replace')), 'created',
    'replace while the follow-up runs creates the next follow-up');

SELECT * FROM finish();
ROLLBACK;
