-- animus.submit_work_batch with 100 items (unique keys) per call
SELECT count(*) FROM animus.submit_work_batch(
    (SELECT jsonb_agg(jsonb_build_object('work_type', 'bench', 'source', 'pgbench', 'dedup_key', gen_random_uuid()))
       FROM generate_series(1, 100)),
    queue => 'bench');
