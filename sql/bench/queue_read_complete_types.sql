-- animus consumer cycle as the Python Worker runs it: read_work of one item filtered by the work
-- types the worker handles, then complete_work (two transactions)
SELECT work_id AS w FROM animus.read_work(queue => 'bench', vt => '30 seconds', qty => 1, work_types => ARRAY['bench', 'other']) \gset
SELECT animus.complete_work(work_id => CAST(:w AS uuid));
