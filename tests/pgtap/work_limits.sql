-- What one call carries is bounded: read_work and get_work return the first 100 requesters of an
-- item and their total, get_work the first 100 merged submissions and their total, and
-- get_work_submissions pages through every one; list arguments have documented limits (ZA110).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(17);

SELECT animus.create_queue('tlim');
-- one item, 150 more submissions of the same key merged into it
SELECT work_id AS item FROM animus.submit_work('hot', 'first', queue => 'tlim', dedup_key => 'k') \gset
SELECT count(*) FROM animus.submit_work_batch(
    (SELECT jsonb_agg(jsonb_build_object('work_type', 'hot', 'source', 's' || g, 'dedup_key', 'k')) FROM generate_series(1, 150) g),
    queue => 'tlim');

SELECT results_eq(format($$SELECT jsonb_array_length(requesters), requesters_total, jsonb_array_length(merged_submissions), merged_total
                             FROM animus.get_work(%L)$$, :'item'),
    $$VALUES (100, 151::bigint, 100, 150::bigint)$$, 'get_work: the first 100 requesters and merged submissions, and the totals');
SELECT is((SELECT requesters -> 0 ->> 'source' FROM animus.get_work(:'item')), 'first', 'the canonical submission comes first');
SELECT is((SELECT requesters -> 99 ->> 'source' FROM animus.get_work(:'item')), 's99', 'then the merged ones in submission order');

-- paging
CREATE TEMP TABLE pages AS SELECT 1 AS page, s.* FROM animus.get_work_submissions(:'item', page_size => 100) s;
SELECT id AS last FROM pages ORDER BY submitted_at DESC, id DESC LIMIT 1 \gset
INSERT INTO pages SELECT 2, s.* FROM animus.get_work_submissions(:'item', after => :'last', page_size => 100) s;
SELECT results_eq($$SELECT page, count(*) FROM pages GROUP BY page ORDER BY page$$, $$VALUES (1, 100::bigint), (2, 50::bigint)$$,
    'get_work_submissions pages through all 150 merged submissions, 100 at a time');
SELECT is((SELECT count(DISTINCT id)::int FROM pages), 150, 'no submission is on two pages');
SELECT id AS last2 FROM pages WHERE page = 2 ORDER BY submitted_at DESC, id DESC LIMIT 1 \gset
SELECT is_empty(format($$SELECT * FROM animus.get_work_submissions(%L, after => %L)$$, :'item', :'last2'), 'the page after the last is empty');
SELECT throws_ok(format($$SELECT * FROM animus.get_work_submissions(%L, page_size => 1001)$$, :'item'), 'ZA002', NULL, 'page_size over 1000 raises ZA002');
SELECT throws_ok(format($$SELECT * FROM animus.get_work_submissions(%L, after => %L)$$, :'item', :'item'), 'ZA102', NULL,
    'after must be a submission merged into the item (ZA102)');

-- read_work carries the same cap
SELECT results_eq($$SELECT jsonb_array_length(requesters), requesters_total FROM animus.read_work('tlim')$$,
    $$VALUES (100, 151::bigint)$$, 'read_work: the first 100 requesters and their total');

-- list limits
SELECT throws_ok($$SELECT * FROM animus.submit_work_batch(
                     (SELECT jsonb_agg(jsonb_build_object('work_type', 't', 'source', 's')) FROM generate_series(1, 10001)), queue => 'tlim')$$,
    'ZA110', 'argument items has more than 10000 elements', 'a batch of 10001 items raises ZA110');
SELECT lives_ok($$SELECT * FROM animus.submit_work_batch(
                     (SELECT jsonb_agg(jsonb_build_object('work_type', 't', 'source', 's')) FROM generate_series(1, 10000)), queue => 'tlim')$$,
    'a batch of 10000 items is accepted');
SELECT throws_ok($$SELECT * FROM animus.complete_work((SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 10001)))$$,
    'ZA110', NULL, 'complete_work of 10001 ids raises ZA110');
SELECT throws_ok($$SELECT * FROM animus.fail_work((SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 10001)), 'x')$$,
    'ZA110', NULL, 'fail_work of 10001 ids raises ZA110');
SELECT throws_ok($$SELECT * FROM animus.read_work('tlim', work_types => (SELECT array_agg('t' || g) FROM generate_series(1, 101) g))$$,
    'ZA110', NULL, 'read_work with 101 work types raises ZA110');
SELECT throws_ok($$SELECT * FROM animus.read_work('tlim', work_types => '{}')$$, 'ZA001', NULL, 'read_work with an empty work_types raises ZA001');
SELECT throws_ok($$SELECT * FROM animus.read_work('tlim', work_types => ARRAY['t', NULL])$$, 'ZA001', NULL, 'read_work with a NULL work type raises ZA001');
SELECT ok((SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA110', 'ZA111', 'ZA112')) = 3, 'ZA110-ZA112 are in the error table');

SELECT * FROM finish();
ROLLBACK;
