-- read_work(work_types => ...) claims only items of those types: an item no worker handles stays
-- queued (never claimed, never dead-lettered) and shows in queue_stats; priority order holds
-- within the filter; NULL claims every type as before.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(8);

SELECT animus.create_queue('ttypes');
SELECT work_id AS a1 FROM animus.submit_work('a', 's', queue => 'ttypes') \gset
SELECT work_id AS b1 FROM animus.submit_work('b', 's', queue => 'ttypes', priority => 5) \gset
SELECT work_id AS a2 FROM animus.submit_work('a', 's', queue => 'ttypes', priority => 3) \gset
SELECT work_id AS c1 FROM animus.submit_work('c', 's', queue => 'ttypes', priority => -2) \gset

SELECT results_eq($$SELECT work_id FROM animus.read_work('ttypes', qty => 10, work_types => ARRAY['a'])$$,
    format($$VALUES (%L::uuid), (%L::uuid)$$, :'a2', :'a1'), 'work_types => {a} claims only the a items, higher priority first');
SELECT is_empty($$SELECT * FROM animus.read_work('ttypes', qty => 10, work_types => ARRAY['a', 'z'])$$, 'nothing more of type a (or z) to claim');
SELECT results_eq(format($$SELECT state FROM animus.work_items WHERE id IN (%L, %L) ORDER BY priority$$, :'c1', :'b1'),
    $$VALUES ('queued'::text), ('queued'::text)$$, 'the items of other types stay queued');
SELECT is((SELECT items FROM animus.queue_stats('ttypes') WHERE state = 'queued'), 2::bigint, 'queue_stats counts them as queued');
SELECT is((SELECT queue_visible_length FROM animus.queue_stats('ttypes') LIMIT 1), 2::bigint, 'and their messages as claimable');
SELECT results_eq($$SELECT work_id FROM animus.read_work('ttypes', qty => 10, work_types => ARRAY['c'])$$,
    format($$VALUES (%L::uuid)$$, :'c1'), 'a negative-priority item is claimed through its band');
SELECT results_eq($$SELECT work_id FROM animus.read_work('ttypes', qty => 10)$$,
    format($$VALUES (%L::uuid)$$, :'b1'), 'work_types NULL claims every type');
-- a queue created after deploy gets the filter too (its claim is generated when it is created)
SELECT animus.create_queue('ttypes_late');
SELECT animus.submit_work('x', 's', queue => 'ttypes_late');
SELECT animus.submit_work('y', 's', queue => 'ttypes_late');
SELECT is((SELECT array_agg(work_type) FROM animus.read_work('ttypes_late', qty => 10, work_types => ARRAY['y'])), ARRAY['y'],
    'a queue created later claims with the filter');

SELECT * FROM finish();
ROLLBACK;
