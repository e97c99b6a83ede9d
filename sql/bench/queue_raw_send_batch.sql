-- baseline: raw pgmq.send_batch with 100 messages per call
SELECT count(*) FROM pgmq.send_batch('rawq',
    (SELECT array_agg(jsonb_build_object('work_id', gen_random_uuid(), 'work_type', 'bench')) FROM generate_series(1, 100)));
