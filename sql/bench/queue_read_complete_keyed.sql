-- animus consumer cycle on keyed items (queue benchk: 10,000 keys, each under a max_running and a rate
-- limit that never binds, so every claim runs the whole admission: key lock, running count, rate
-- window update): read_work of one item then complete_work (which wakes the key), two transactions.
-- A claim whose key another client holds locked returns nothing (the item goes back): n = 0.
SELECT count(*) AS n, coalesce(max(work_id::text), '') AS w
  FROM animus.read_work(queue => 'benchk', vt => '30 seconds', qty => 1) \gset
\if :n
SELECT animus.complete_work(work_id => CAST(:w AS uuid));
\endif
