-- baseline: one raw pgmq.send per transaction
SELECT pgmq.send('rawq', jsonb_build_object('work_id', gen_random_uuid(), 'work_type', 'bench'));
