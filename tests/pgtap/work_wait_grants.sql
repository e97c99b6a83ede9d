-- Waiting respects per-queue authorisation: an item of a queue the caller has no grant on is
-- unknown to it: watch_work gives state NULL and marks nothing, wait_work raises ZA102; on its own
-- queue the same role watches and waits.
BEGIN;
-- This file creates throwaway roles (rolled back): a runner without CREATEROLE skips it, visibly.
SELECT rolsuper OR rolcreaterole AS can_create_roles FROM pg_catalog.pg_roles WHERE rolname = current_user \gset
\if :can_create_roles
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(6);
GRANT ALL ON TABLE __tcache__ TO PUBLIC;
GRANT ALL ON SEQUENCE __tcache___id_seq TO PUBLIC;

SELECT animus.create_queue('tw_a') AS a \gset
SELECT animus.create_queue('tw_b') AS b \gset
CREATE ROLE animus_test_ww_prod_a NOLOGIN IN ROLE animus_producer;
SELECT animus.revoke_queue('animus_producer', '*') AS revoked \gset
SELECT animus.grant_queue('animus_test_ww_prod_a', 'tw_a') AS granted \gset
SELECT work_id AS mine FROM animus.submit_work('t', 's', queue => 'tw_a') \gset
SELECT work_id AS theirs FROM animus.submit_work('t', 's', queue => 'tw_b') \gset

SET LOCAL ROLE animus_test_ww_prod_a;
SELECT results_eq(format($$SELECT state, ended, watching FROM animus.watch_work(ARRAY[%L, %L]::uuid[])$$, :'mine', :'theirs'),
    $$VALUES ('queued'::text, false, true), (NULL::text, false, false)$$,
    'producer A watches its own item; an item of queue B is unknown to it (state NULL)');
SELECT throws_ok(format($$SELECT * FROM animus.wait_work(%L, '0')$$, :'theirs'), 'ZA102', NULL,
    'wait_work on an item of a queue without a grant raises ZA102, as for an unknown id');
SELECT is((SELECT timed_out FROM animus.wait_work(:'mine'::uuid, '0')), true, 'wait_work on its own item works');
SELECT throws_ok($$SELECT * FROM animus.work_awaited$$, '42501', NULL, 'the marks are not readable by the role');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM animus.work_awaited WHERE work_id = :'mine'), 'its own item is marked');
SELECT ok(NOT EXISTS (SELECT 1 FROM animus.work_awaited WHERE work_id = :'theirs'), 'the item of the other queue is not marked');

SELECT * FROM finish();
\else
SELECT '1..0 # SKIP creates roles (rolled back) and the role running the tests lacks CREATEROLE: see README, "Testing your own deployment"';
\endif
ROLLBACK;
