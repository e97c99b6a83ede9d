-- baseline: a raw consumer cycle, pgmq.read of one message then pgmq.archive (two transactions)
SELECT msg_id AS m FROM pgmq.read('rawq', 30, 1) \gset
SELECT pgmq.archive('rawq'::text, CAST(:m AS bigint));
