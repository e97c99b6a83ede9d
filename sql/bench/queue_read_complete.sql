-- animus consumer cycle: read_work of one item then complete_work (two transactions)
SELECT work_id AS w FROM animus.read_work(queue => 'bench', vt => '30 seconds', qty => 1) \gset
SELECT animus.complete_work(work_id => CAST(:w AS uuid));
