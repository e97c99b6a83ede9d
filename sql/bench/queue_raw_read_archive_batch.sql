-- baseline: raw batched consumer, pgmq.read of 100 messages then one pgmq.archive of all of them
SELECT array_agg(msg_id) AS ids FROM pgmq.read('rawq', 30, 100) \gset
SELECT count(*) FROM pgmq.archive('rawq'::text, CAST(:ids AS bigint[]));
