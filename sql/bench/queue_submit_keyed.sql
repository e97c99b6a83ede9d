-- animus.submit_work with a concurrency key (one of 10,000) and a unique dedup key: the keyed twin of
-- queue_submit_unique.sql, into queue benchk
SELECT msg_id FROM animus.submit_work(work_type => 'bench', source => 'pgbench', queue => 'benchk',
                                      dedup_key => gen_random_uuid()::text,
                                      concurrency_key => 'k' || (random() * 10000)::int::text);
