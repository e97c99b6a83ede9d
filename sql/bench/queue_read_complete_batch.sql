-- animus batched consumer: read_work of 100 items then one complete_work of all of them
SELECT array_agg(work_id) AS ids FROM animus.read_work(queue => 'bench', vt => '30 seconds', qty => 100) \gset
SELECT count(*) FROM animus.complete_work(work_ids => CAST(:ids AS uuid[]));
