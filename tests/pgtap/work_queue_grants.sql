-- Per-queue authorisation: a producer submits, reads and cancels only on the queues granted to
-- it, a worker claims and settles only there; everything else behaves as if the queue or item did
-- not exist (ZA109 for a named queue, ZA102 for an item) and writes nothing. Grants are keyed by
-- role OID: a role dropped and created again under the same name has none. Each attack runs as a
-- role that is a member of the animus role it attacks with (SET ROLE), as a deployment grants them.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(41);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

SELECT has_function('animus', 'grant_queue', ARRAY['text', 'text'], 'grant_queue exists');
SELECT has_function('animus', 'revoke_queue', ARRAY['text', 'text'], 'revoke_queue exists');
SELECT is((SELECT count(*)::int FROM animus.queue_grants
            WHERE queue_name = '*' AND role_oid IN ('animus_producer'::regrole, 'animus_worker'::regrole, 'animus_admin'::regrole)),
          3, 'the group roles hold every queue (*) after deploy, so deployments keep working');

SELECT animus.create_queue('tq_a');
SELECT animus.create_queue('tq_b');
CREATE ROLE animus_test_qg_prod_a NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_qg_prod_b NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_qg_work_a NOLOGIN IN ROLE animus_worker;
CREATE ROLE animus_test_qg_work_b NOLOGIN IN ROLE animus_worker;
CREATE ROLE animus_test_qg_again  NOLOGIN IN ROLE animus_producer;
CREATE ROLE animus_test_qg_group  NOLOGIN;
CREATE ROLE animus_test_qg_member NOLOGIN IN ROLE animus_test_qg_group, animus_producer;
-- Confine: the '*' grants of the group roles go, each tenant gets its queue.
SELECT animus.revoke_queue('animus_producer', '*');
SELECT animus.revoke_queue('animus_worker', '*');
SELECT animus.grant_queue('animus_test_qg_prod_a', 'tq_a');
SELECT animus.grant_queue('animus_test_qg_work_a', 'tq_a');
SELECT animus.grant_queue('animus_test_qg_prod_b', 'tq_b');
SELECT animus.grant_queue('animus_test_qg_work_b', 'tq_b');
SELECT animus.grant_queue('animus_test_qg_again', 'tq_a');
SELECT animus.grant_queue('animus_test_qg_group', 'tq_a');

SELECT throws_ok($$SELECT animus.grant_queue('animus_test_qg_nobody', 'tq_a')$$, 'ZA340', NULL, 'a grant to a role that does not exist raises ZA340');
SELECT throws_ok($$SELECT animus.grant_queue('animus_test_qg_prod_a', 'no_such_queue')$$, 'ZA341', NULL, 'a grant of a queue that does not exist raises ZA341');
SELECT is(animus.grant_queue('animus_test_qg_prod_a', 'tq_a'), false, 'granting again changes nothing and says so');

-- Tenant A's items: a parent and a child, claimed by A's worker.
SET LOCAL ROLE animus_test_qg_prod_a;
SELECT work_id AS a_item FROM animus.submit_work('engage', 'tenant-a', queue => 'tq_a', dedup_key => 'k') \gset
SELECT work_id AS a_merged FROM animus.submit_work('engage', 'tenant-a', queue => 'tq_a', dedup_key => 'k') \gset
SELECT work_id AS a_child FROM animus.submit_work('child', 'tenant-a', queue => 'tq_a', parent_id => :'a_item') \gset
RESET ROLE;
SET LOCAL ROLE animus_test_qg_work_a;
SELECT is((SELECT count(*)::int FROM animus.read_work('tq_a', qty => 1, work_types => ARRAY['engage'])), 1, 'the worker of tenant A claims on its queue');
RESET ROLE;
SELECT msg_id AS a_msg FROM animus.work_items WHERE id = :'a_item' \gset

-- Producer of tenant B.
SET LOCAL ROLE animus_test_qg_prod_b;
SELECT throws_ok($$SELECT animus.submit_work('engage', 'b', queue => 'tq_a')$$, 'ZA109', NULL, 'producer B cannot submit to queue A (ZA109)');
SELECT throws_ok($$SELECT animus.submit_work_batch('[{"work_type": "engage", "source": "b"}]', queue => 'tq_a')$$, 'ZA109', NULL,
    'producer B cannot batch-submit to queue A (ZA109)');
SELECT throws_ok($$SELECT animus.submit_work('engage', 'b', queue => 'no_such_queue')$$, 'ZA109', NULL,
    'producer B does not learn whether an ungranted queue exists (ZA109, not ZA101)');
SELECT throws_ok(format($$SELECT animus.submit_work('engage', 'b', queue => 'tq_b', parent_id => %L)$$, :'a_item'), 'ZA102', NULL,
    'producer B cannot name an item of queue A as parent (ZA102: unknown to it)');
SELECT throws_ok(format($$SELECT * FROM animus.get_work(%L)$$, :'a_item'), 'ZA102', NULL, 'producer B cannot read an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.get_work(%L)$$, :'a_merged'), 'ZA102', NULL, 'producer B cannot read a merged submission of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.get_work_submissions(%L)$$, :'a_item'), 'ZA102', NULL, 'producer B cannot page the submissions of an item of queue A');
SELECT throws_ok(format($$SELECT * FROM animus.work_children(%L)$$, :'a_item'), 'ZA102', NULL, 'producer B cannot list the children of an item of queue A');
SELECT throws_ok(format($$SELECT animus.cancel_work(%L)$$, :'a_item'), 'ZA102', NULL, 'producer B cannot cancel an item of queue A (ZA102)');
SELECT throws_ok($$SELECT * FROM animus.queue_stats('tq_a')$$, 'ZA109', NULL, 'producer B gets no statistics of queue A (ZA109)');
SELECT is((SELECT array_agg(DISTINCT queue_name) FROM animus.queue_stats()), ARRAY['tq_b'], 'queue_stats() lists only the queues granted to producer B');
SELECT lives_ok($$SELECT animus.submit_work('engage', 'b', queue => 'tq_b')$$, 'producer B submits to its own queue');
RESET ROLE;

-- Worker of tenant B.
SET LOCAL ROLE animus_test_qg_work_b;
SELECT throws_ok($$SELECT * FROM animus.read_work('tq_a')$$, 'ZA109', NULL, 'worker B cannot claim on queue A (ZA109)');
SELECT throws_ok(format($$SELECT animus.complete_work(%L::uuid)$$, :'a_item'), 'ZA102', NULL, 'worker B cannot complete an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.complete_work(ARRAY[%L]::uuid[])$$, :'a_item'), 'ZA102', NULL, 'worker B cannot batch-complete an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.fail_work(%L::uuid, 'x', false)$$, :'a_item'), 'ZA102', NULL, 'worker B cannot fail an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.fail_work(ARRAY[%L]::uuid[], 'x', false)$$, :'a_item'), 'ZA102', NULL, 'worker B cannot batch-fail an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT * FROM animus.heartbeat_work(%L)$$, :'a_item'), 'ZA102', NULL, 'worker B cannot heartbeat an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT animus.release_work(%L)$$, :'a_item'), 'ZA102', NULL, 'worker B cannot release an item of queue A (ZA102)');
SELECT throws_ok(format($$SELECT animus.archive_work('tq_a', %s)$$, :a_msg), 'ZA109', NULL, 'worker B cannot archive a raw message of queue A (ZA109)');
SELECT throws_ok(format($$SELECT animus.delete_work('tq_a', %s)$$, :a_msg), 'ZA109', NULL, 'worker B cannot delete a raw message of queue A (ZA109)');
RESET ROLE;
SELECT results_eq(format($$SELECT state, attempts, (SELECT count(*) FROM pgmq.q_tq_a WHERE msg_id = %s) FROM animus.work_items WHERE id = %L$$, :a_msg, :'a_item'),
    $$VALUES ('running'::text, 1, 1::bigint)$$, 'after every attack the item of queue A is still running at attempt 1 with its message: nothing was written');

-- Grants follow the role, not its name.
DROP ROLE animus_test_qg_again;
CREATE ROLE animus_test_qg_again NOLOGIN IN ROLE animus_producer;
SET LOCAL ROLE animus_test_qg_again;
SELECT throws_ok($$SELECT animus.submit_work('engage', 'again', queue => 'tq_a')$$, 'ZA109', NULL,
    'a role dropped and created again under the same name inherits none of the old grants');
RESET ROLE;
SELECT animus.grant_queue('animus_test_qg_again', 'tq_b');
SELECT is((SELECT count(*)::int FROM animus.queue_grants g WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = g.role_oid)), 0,
    'the next grant deletes the grants of dropped roles');
-- A grant to a group counts for its members.
SET LOCAL ROLE animus_test_qg_member;
SELECT lives_ok($$SELECT animus.submit_work('engage', 'member', queue => 'tq_a')$$, 'a member of a granted group role submits to its queue');
RESET ROLE;
-- Revoking ends it.
SELECT is(animus.revoke_queue('animus_test_qg_prod_a', 'tq_a'), true, 'revoke_queue says it removed a grant');
SET LOCAL ROLE animus_test_qg_prod_a;
SELECT throws_ok($$SELECT animus.submit_work('engage', 'a', queue => 'tq_a')$$, 'ZA109', NULL, 'after revoke_queue producer A can no longer submit');
SELECT throws_ok($$SELECT animus.grant_queue('animus_test_qg_prod_a', 'tq_a')$$, '42501', NULL, 'a producer cannot grant itself a queue');
RESET ROLE;
SELECT ok((SELECT count(DISTINCT queue_name) FROM animus.queue_stats() WHERE queue_name IN ('tq_a', 'tq_b')) = 2, 'a superuser sees every queue');
-- Pausing is per queue too: an admin confined to queue A pauses A, not B.
CREATE ROLE animus_test_qg_admin_a NOLOGIN IN ROLE animus_admin;
SELECT animus.revoke_queue('animus_admin', '*');
SELECT animus.grant_queue('animus_test_qg_admin_a', 'tq_a');
SET LOCAL ROLE animus_test_qg_admin_a;
SELECT is(animus.pause_queue('tq_a'), true, 'an admin pauses a queue it has a grant on');
SELECT throws_ok($$SELECT animus.pause_queue('tq_b')$$, 'ZA109', NULL, 'an admin without a grant on queue B cannot pause it (ZA109)');
SELECT throws_ok($$SELECT animus.resume_queue('tq_b')$$, 'ZA109', NULL, 'nor resume it (ZA109)');
RESET ROLE;
SELECT is((SELECT paused_at FROM animus.queues WHERE queue_name = 'tq_b'), NULL, 'the refused pause wrote nothing');
SELECT animus.drop_queue('tq_b');
SELECT is((SELECT count(*)::int FROM animus.queue_grants WHERE queue_name = 'tq_b'), 0, 'drop_queue removes the grants of the queue');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
