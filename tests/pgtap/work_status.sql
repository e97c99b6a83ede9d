-- get_work (provenance), work_children, queue_stats, purge_work (retention).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(32);

SELECT has_function('animus', 'get_work', ARRAY['uuid'], 'get_work exists');
SELECT volatility_is('animus', 'get_work', ARRAY['uuid'], 'stable', 'get_work is stable');
SELECT has_function('animus', 'work_children', ARRAY['uuid'], 'work_children exists');
SELECT has_function('animus', 'queue_stats', ARRAY['text'], 'queue_stats exists');
SELECT volatility_is('animus', 'queue_stats', ARRAY['text'], 'stable', 'queue_stats is stable');
SELECT has_function('animus', 'purge_work', ARRAY['interval', 'text', 'integer'], 'purge_work(older_than, queue, batch_size) exists');
SELECT volatility_is('animus', 'purge_work', ARRAY['interval', 'text', 'integer'], 'volatile', 'purge_work is volatile');

SELECT animus.create_queue('t_status') AS created \gset
SELECT work_id AS parent FROM animus.submit_work('plan', 'agent', dedup_key => 'p', queue => 't_status',
    trace_context => '{"traceparent": "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01"}') \gset
SELECT work_id AS dup FROM animus.submit_work('plan', 'human', params => '{"x": 1}', trigger_info => 'button', dedup_key => 'p', queue => 't_status') \gset
SELECT work_id AS child1 FROM animus.submit_work('step', 'agent', parent_id => :'parent', queue => 't_status') \gset
SELECT work_id AS child2 FROM animus.submit_work('step', 'agent', parent_id => :'parent', queue => 't_status') \gset

CREATE TEMP TABLE g AS SELECT * FROM animus.get_work(:'parent');
SELECT row_eq('SELECT state, canonical_id, resolution, children FROM g', ROW('queued'::text, :'parent'::uuid, 'queued'::text, 2::bigint),
    'get_work of a canonical item: its state, itself as canonical, its number of children');
SELECT is((SELECT jsonb_array_length(merged_submissions) FROM g), 1, 'get_work lists the merged submissions');
SELECT is((SELECT merged_submissions -> 0 FROM g) - 'submitted_at',
    jsonb_build_object('work_id', :'dup', 'source', 'human', 'trigger_info', 'button', 'params', '{"x": 1}'::jsonb, 'priority', 0, 'trace_context', NULL),
    'each merged submission keeps its own provenance');
SELECT is((SELECT ARRAY(SELECT r ->> 'work_id' FROM jsonb_array_elements(requesters) r) FROM g), ARRAY[:'parent', :'dup'],
    'requesters: the canonical submission first, then the merged ones');
SELECT row_eq(format('SELECT state, canonical_id, resolution, jsonb_array_length(requesters) FROM animus.get_work(%L)', :'dup'),
    ROW('merged'::text, :'parent'::uuid, 'queued'::text, 2), 'get_work of a merged submission shows its canonical item and resolution');
SELECT throws_ok($$SELECT * FROM animus.get_work(gen_random_uuid())$$, 'ZA102', NULL, 'get_work of an unknown id raises ZA102');
SELECT throws_ok($$SELECT * FROM animus.get_work(NULL)$$, 'ZA001', NULL, 'get_work(NULL) raises ZA001');

SELECT results_eq(format('SELECT work_id FROM animus.work_children(%L)', :'parent'), format('VALUES (%L::uuid), (%L::uuid)', :'child1', :'child2'),
    'work_children lists the children, oldest first');
SELECT throws_ok($$SELECT * FROM animus.work_children(gen_random_uuid())$$, 'ZA102', NULL, 'work_children of an unknown parent raises ZA102');

SELECT results_eq($$SELECT state, items, queue_length, queue_visible_length FROM animus.queue_stats('t_status')$$,
    $$VALUES ('queued'::text, 3::bigint, 3::bigint, 3::bigint), ('running', 0, 3, 3), ('completed', 0, 3, 3), ('dead', 0, 3, 3),
             ('cancelled', 0, 3, 3), ('merged', 1, 3, 3)$$,
    'queue_stats: items per state, with the pgmq depth and visible length of the queue');
SELECT ok((SELECT bool_and(oldest_visible_age_sec >= 0) FROM animus.queue_stats('t_status')), 'queue_stats reports the oldest visible age');
SELECT throws_ok($$SELECT * FROM animus.queue_stats('no_such_queue')$$, 'ZA101', NULL, 'queue_stats of an unknown queue raises ZA101');

-- purge: ended items older than the retention, with their merged rows and archives
SELECT animus.complete_work(work_id) AS c FROM animus.read_work('t_status', qty => 10) WHERE work_id = :'parent' \gset
SELECT row_eq($$SELECT items_deleted, archived_messages_deleted FROM animus.purge_work(older_than => '1 hour', queue => 't_status')$$,
    ROW(0::bigint, 0::bigint), 'nothing ended more than an hour ago: nothing is purged');
UPDATE animus.work_items SET resolved_at = resolved_at - interval '2 hours' WHERE id = :'parent';
SELECT pgmq.send('t_status', '{"stray": 1}') AS stray \gset
SELECT pgmq.archive('t_status', :stray);
UPDATE pgmq.a_t_status SET archived_at = archived_at - interval '2 hours';
SELECT row_eq($$SELECT items_deleted, archived_messages_deleted FROM animus.purge_work(older_than => '1 hour', queue => 't_status')$$,
    ROW(2::bigint, 1::bigint), 'the old completed item, its merged submission and an old archived message are purged');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.work_items WHERE id IN (:'parent', :'dup')), 'the canonical item and its merged row are gone');
SELECT is((SELECT count(*) FROM animus.work_items WHERE id IN (:'child1', :'child2') AND parent_id IS NULL), 2::bigint,
    'the children stay, with parent_id set to NULL');
SELECT is_empty($$SELECT w.id FROM animus.work_items w
                  WHERE (w.merged_into IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.work_items c WHERE c.id = w.merged_into))
                     OR (w.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM animus.work_items p WHERE p.id = w.parent_id))$$,
    'no merged_into or parent_id reference dangles');
SELECT throws_ok($$SELECT * FROM animus.purge_work(older_than => '-1 day')$$, 'ZA002', NULL, 'a negative retention raises ZA002');
SELECT throws_ok($$SELECT * FROM animus.purge_work(queue => 'no_such_queue')$$, 'ZA101', NULL, 'purging an unknown queue raises ZA101');

-- batches: at most batch_size items (and archived messages) per call, oldest first; again until zeros
SELECT work_id AS b1 FROM animus.submit_work('b', 's', queue => 't_status') \gset
SELECT work_id AS b2 FROM animus.submit_work('b', 's', queue => 't_status') \gset
SELECT work_id AS b3 FROM animus.submit_work('b', 's', queue => 't_status') \gset
SELECT count(*) AS n FROM animus.read_work('t_status', qty => 10, work_types => ARRAY['b']) r, animus.complete_work(r.work_id) c \gset
UPDATE animus.work_items SET resolved_at = clock_timestamp() - interval '3 hours' + (CASE id WHEN :'b1' THEN 1 WHEN :'b2' THEN 2 ELSE 3 END) * interval '1 second'
 WHERE id IN (:'b1', :'b2', :'b3');
-- this session purged the canonical item above, which ended 2 hours ago: its next call resumes
-- after it, and b1-b3 ended before it (their end times were moved back by hand)
SELECT row_eq($$SELECT items_deleted, archived_messages_deleted FROM animus.purge_work(older_than => '1 hour', queue => 't_status', batch_size => 2)$$,
    ROW(0::bigint, 0::bigint), 'a session resumes after the last item it purged: items that ended before it wait for the next pass');
SELECT is(current_setting('animus_purge.i' || md5('t_status')), '', 'a call that purged nothing forgets where the session stopped');
SELECT row_eq($$SELECT items_deleted FROM animus.purge_work(older_than => '1 hour', queue => 't_status', batch_size => 2)$$,
    ROW(2::bigint), 'batch_size => 2 deletes two items');
SELECT is((SELECT array_agg(id) FROM animus.work_items WHERE id IN (:'b1', :'b2', :'b3')), ARRAY[:'b3'::uuid], 'the oldest ended first');
SELECT row_eq($$SELECT items_deleted FROM animus.purge_work(older_than => '1 hour', queue => 't_status', batch_size => 2)$$,
    ROW(1::bigint), 'the next call deletes the rest');
SELECT throws_ok($$SELECT * FROM animus.purge_work(batch_size => 0)$$, 'ZA002', NULL, 'batch_size 0 raises ZA002');
SELECT * FROM finish();
ROLLBACK;
