-- animus.submit_work with a unique dedup key per call (every call creates an item)
SELECT msg_id FROM animus.submit_work(work_type => 'bench', source => 'pgbench', queue => 'bench',
                                      dedup_key => gen_random_uuid()::text);
