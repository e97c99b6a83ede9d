-- HOT claims: no index of animus.work_items names a column a claim changes, so claiming an item
-- (and ending one without a dedup_key or concurrency key) writes no index entry.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(12);

SELECT is(
    (SELECT count(*)::integer FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid
      WHERE i.indrelid = 'animus.work_items'::regclass
        AND a.attname IN ('state', 'attempts', 'msg_id', 'started_at', 'heartbeat_at', 'updated_at')
        AND (a.attnum = ANY (i.indkey::smallint[])
             OR pg_catalog.pg_get_expr(i.indpred, i.indrelid) ~ ('\m' || a.attname || '\M')
             OR pg_catalog.pg_get_expr(i.indexprs, i.indrelid) ~ ('\m' || a.attname || '\M'))),
    0, 'no index of animus.work_items names a column a claim changes (state, attempts, msg_id, started_at, heartbeat_at, updated_at)');
SELECT is((SELECT attgenerated::text FROM pg_catalog.pg_attribute WHERE attrelid = 'animus.work_items'::regclass AND attname = 'active_key'),
          's', 'active_key is a stored generated column');
SELECT is((SELECT attgenerated::text FROM pg_catalog.pg_attribute WHERE attrelid = 'animus.work_items'::regclass AND attname = 'running_key'),
          's', 'running_key is a stored generated column');

SELECT animus.create_queue('t_hot') AS created \gset
SELECT work_id AS k1 FROM animus.submit_work('t', 'test', dedup_key => 'k', queue => 't_hot', concurrency_key => 'c') \gset
SELECT work_id AS m1 FROM animus.submit_work('t', 'test', dedup_key => 'k', queue => 't_hot') \gset
SELECT results_eq(format($$SELECT state, active_key, running_key FROM animus.work_items WHERE id IN (%L, %L) ORDER BY state DESC$$, :'k1', :'m1'),
    $$VALUES ('queued'::text, 'k'::text, NULL::text), ('merged', NULL, NULL)$$,
    'a queued item carries its dedup_key as active_key; a merged submission carries none');

-- A keyless item: its claim and its completion are HOT updates (counted in this transaction).
SELECT work_id AS p1 FROM animus.submit_work('t', 'test', queue => 't_hot') \gset
SELECT n_tup_upd AS upd0, n_tup_hot_upd AS hot0 FROM pg_catalog.pg_stat_xact_all_tables WHERE relid = 'animus.work_items'::regclass \gset
SELECT is((SELECT count(*)::integer FROM animus.read_work('t_hot', qty => 10)), 2, 'read_work claims both visible items');
SELECT results_eq(format($$SELECT state, active_key, running_key FROM animus.work_items WHERE id = %L$$, :'k1'),
    $$VALUES ('running'::text, 'k'::text, 'c'::text)$$, 'a running item keeps its active_key and carries its concurrency key as running_key');
SELECT ok((SELECT n_tup_hot_upd - :hot0 FROM pg_catalog.pg_stat_xact_all_tables WHERE relid = 'animus.work_items'::regclass) >= 1,
    'the claim of the keyless item was a HOT update');
SELECT ok(animus.complete_work(:'p1'::uuid), 'the keyless item completes');
SELECT ok(animus.complete_work(:'k1'::uuid), 'the keyed item completes');
SELECT results_eq(format($$SELECT state, active_key, running_key FROM animus.work_items WHERE id = %L$$, :'k1'),
    $$VALUES ('completed'::text, NULL::text, NULL::text)$$, 'an ended item has neither active_key nor running_key');
-- the key is free again: a new submission creates an item
SELECT is((SELECT status FROM animus.submit_work('t', 'test', dedup_key => 'k', queue => 't_hot')), 'created',
    'after its holder ended, the key creates a new item');
SELECT throws_ok($$INSERT INTO animus.work_items (id, queue_name, work_type, source, state, run_at, active_key)
                   VALUES (gen_random_uuid(), 't_hot', 't', 'x', 'queued', now(), 'k')$$, '428C9', NULL,
    'active_key cannot be written (generated)');

SELECT * FROM finish();
ROLLBACK;
