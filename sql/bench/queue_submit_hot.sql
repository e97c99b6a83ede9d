-- animus.submit_work on 100 hot keys: after the first 100 calls nearly every call is merged
\set k random(1, 100)
SELECT msg_id FROM animus.submit_work(work_type => 'bench', source => 'pgbench', queue => 'bench',
                                      dedup_key => 'hot-' || :k);
