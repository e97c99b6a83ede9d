-- Deploy animus:column_comments to pg
-- requires: security_memory_private
-- requires: work_release
-- requires: work_limits

BEGIN;

-- The columns that had no comment: with these, \d+ on any animus table documents every column.
-- (Columns added later carry their comment in the change that adds them.)
COMMENT ON COLUMN animus.error_codes.sqlstate IS 'The SQLSTATE (class ZA) an animus function raises; catch it by this code, never by message text.';
COMMENT ON COLUMN animus.error_codes.name IS 'A short condition name for the code (the Python client''s exception classes follow it).';
COMMENT ON COLUMN animus.error_codes.meaning IS 'What went wrong, in one sentence.';
COMMENT ON COLUMN animus.error_codes.hint IS 'What to do about it (each raise also carries a HINT of its own).';

COMMENT ON COLUMN animus.installed_extensions.extname IS 'pgvector (vector) or pgmq.';
COMMENT ON COLUMN animus.installed_extensions.created IS 'true when the animus deploy created the extension; a revert drops only those, never one the database already had.';
COMMENT ON COLUMN animus.installed_extensions.recorded_at IS 'When the deploy checked the extension.';

COMMENT ON COLUMN animus.queues.queue_name IS 'The queue''s name, also the name of its pgmq queue (pgmq.q_<name>, pgmq.a_<name>): 1-40 characters of [a-z0-9_], starting with a letter.';
COMMENT ON COLUMN animus.queues.backoff_base IS 'Retry delay after the first failed attempt; attempt n waits backoff_base * backoff_factor^(n-1).';
COMMENT ON COLUMN animus.queues.backoff_factor IS 'Growth of the retry delay per attempt (>= 1).';
COMMENT ON COLUMN animus.queues.backoff_cap IS 'Longest retry delay, before jitter.';
COMMENT ON COLUMN animus.queues.backoff_jitter IS 'Random spread of each retry delay, as a fraction (0.25 = +/- 25 %), so that failures of many items do not retry in step.';
COMMENT ON COLUMN animus.queues.notify IS 'Whether submits wake workers with NOTIFY animus_work (payload: the queue name).';
COMMENT ON COLUMN animus.queues.notify_throttle IS 'At most one wake-up NOTIFY per queue per this interval.';
COMMENT ON COLUMN animus.queues.last_notified_at IS 'When the last wake-up NOTIFY was sent for the queue (the throttle''s clock).';
COMMENT ON COLUMN animus.queues.created_at IS 'When the queue was created.';

COMMENT ON COLUMN animus.work_items.id IS 'The work item id (UUIDv7 on PostgreSQL 18: time-ordered), returned by submit_work as work_id.';
COMMENT ON COLUMN animus.work_items.queue_name IS 'The queue the item was submitted to (animus.queues).';
COMMENT ON COLUMN animus.work_items.work_type IS 'What kind of work: workers pick the handler by it. Part of the dedup key.';
COMMENT ON COLUMN animus.work_items.dedup_key IS 'With queue_name and work_type, the structural dedup key: a second submission with the same key while the first is queued or running is merged into it. NULL: never deduplicated.';
COMMENT ON COLUMN animus.work_items.source IS 'Who asked for the work (a scheduler, an agent, a person): provenance, kept for merged submissions too.';
COMMENT ON COLUMN animus.work_items.trigger_info IS 'Why the work was asked for (free text, e.g. ''every 4h'', ''new mail'').';
COMMENT ON COLUMN animus.work_items.params IS 'The work''s parameters (a JSON object) handed to the worker.';
COMMENT ON COLUMN animus.work_items.priority IS 'Higher is claimed first within a queue; 0 is the default.';
COMMENT ON COLUMN animus.work_items.state IS 'queued, running, completed, dead, cancelled, or merged (a duplicate submission); changes are checked against animus.work_state_transitions.';
COMMENT ON COLUMN animus.work_items.max_attempts IS 'Claims that may count against the item before it goes dead (released claims do not count).';
COMMENT ON COLUMN animus.work_items.run_at IS 'When the item becomes visible to read_work (submit time, a delayed start, or the next retry after backoff).';
COMMENT ON COLUMN animus.work_items.outcome IS 'The result a worker passed to complete_work (JSON).';
COMMENT ON COLUMN animus.work_items.error IS 'The last error a worker passed to fail_work, or why the item went dead.';
COMMENT ON COLUMN animus.work_items.duration_ms IS 'How long the last attempt ran, from its claim to its settle, in milliseconds.';
COMMENT ON COLUMN animus.work_items.trace_context IS 'The W3C trace context (traceparent, tracestate) of the submission, so the worker''s span links to the requester''s trace.';
COMMENT ON COLUMN animus.work_items.created_at IS 'When the submission was made.';
COMMENT ON COLUMN animus.work_items.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN animus.work_items.started_at IS 'When the current (or last) claim began.';
COMMENT ON COLUMN animus.work_items.heartbeat_at IS 'The last heartbeat_work of the current claim.';
COMMENT ON COLUMN animus.work_items.resolved_at IS 'When the item ended (completed, dead, cancelled) or was merged: retention (purge_work) counts from here.';

COMMENT ON COLUMN animus.work_state_transitions.from_state IS 'The state an item is in.';
COMMENT ON COLUMN animus.work_state_transitions.to_state IS 'A state it may move to.';
COMMENT ON COLUMN animus.work_state_transitions.why IS 'Which call makes that move.';

COMMENT ON COLUMN animus.memories.id IS 'The memory id, returned by store_memory.';
COMMENT ON COLUMN animus.memories.content IS 'The remembered text: what keyword search ranks and what the embedding was computed from.';
COMMENT ON COLUMN animus.memories.memory_type IS 'What kind of memory (''fact'', ''episode'', ''preference'', ...): a search filter.';
COMMENT ON COLUMN animus.memories.source IS 'Where the memory came from (an agent, a conversation, an import): a search filter.';
COMMENT ON COLUMN animus.memories.metadata IS 'Free JSON object; searches filter on it by containment.';
COMMENT ON COLUMN animus.memories.embedding IS 'The embedding of content, of the dimension and model in animus.memory_settings; cosine HNSW index.';
COMMENT ON COLUMN animus.memories.created_at IS 'When the memory was first stored.';
COMMENT ON COLUMN animus.memories.updated_at IS 'When it was last stored again or updated.';

COMMENT ON COLUMN animus.memory_settings.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN animus.memory_settings.embedding_dim IS 'Dimension of animus.memories.embedding (deploy variable embedding_dim; changed with memory_begin_reembedding).';
COMMENT ON COLUMN animus.memory_settings.embedding_model IS 'Name of the model the embeddings come from (deploy variable embedding_model).';
COMMENT ON COLUMN animus.memory_settings.state IS '''ready'', or ''reembedding'' between memory_begin_reembedding and memory_finish_reembedding.';
COMMENT ON COLUMN animus.memory_settings.updated_at IS 'When the model, dimension or state last changed.';

COMMENT ON COLUMN animus.memory_bm25_settings.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN animus.memory_bm25_settings.k1 IS 'BM25 term-frequency saturation (default 1.2).';
COMMENT ON COLUMN animus.memory_bm25_settings.b IS 'BM25 length normalisation (default 0.75).';
COMMENT ON COLUMN animus.memory_bm25_settings.postings_budget IS 'Postings of whole lists a keyword query reads, rarest terms first (default 16000).';
COMMENT ON COLUMN animus.memory_bm25_settings.max_postings_budget IS 'When above postings_budget: a query whose top-k is not proven exact retries with 4x the budget, up to this.';
COMMENT ON COLUMN animus.memory_bm25_settings.rescore_extra IS 'Candidates beyond the limit whose scores are completed exactly before the final ranking (default 190).';
COMMENT ON COLUMN animus.memory_bm25_settings.refresh_after IS 'Pending statistic rows (animus.memory_bm25_deltas) after which a write folds them into the statistics (0: only explicit refreshes).';
COMMENT ON COLUMN animus.memory_bm25_settings.refreshed_through IS 'The last memory_bm25_deltas id folded into the statistics.';

COMMENT ON COLUMN animus.memory_terms.memory_id IS 'The memory (animus.memories.id) the posting belongs to.';
COMMENT ON COLUMN animus.memory_terms.namespace IS 'The memory''s namespace (postings are ranked within a namespace).';
COMMENT ON COLUMN animus.memory_terms.term IS 'An English-stemmed lexeme of the memory''s content.';
COMMENT ON COLUMN animus.memory_terms.tf IS 'How often the term occurs in the memory.';
COMMENT ON COLUMN animus.memory_terms.doc_len IS 'The memory''s length in lexemes.';
COMMENT ON COLUMN animus.memory_terms.impact IS 'The BM25 term weight of this posting under the statistics at write time: the order the budgeted top-k reads postings in.';

COMMENT ON COLUMN animus.memory_bm25_namespace_stats.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_bm25_namespace_stats.docs IS 'Memories in the namespace as of the last refresh.';
COMMENT ON COLUMN animus.memory_bm25_namespace_stats.total_len IS 'Sum of their lengths in lexemes (average length = total_len / docs).';
COMMENT ON COLUMN animus.memory_bm25_term_stats.namespace IS 'The namespace.';
COMMENT ON COLUMN animus.memory_bm25_term_stats.term IS 'A lexeme.';
COMMENT ON COLUMN animus.memory_bm25_term_stats.df IS 'Memories of the namespace containing the term, as of the last refresh.';
COMMENT ON COLUMN animus.memory_bm25_deltas.id IS 'Append order; memory_bm25_settings.refreshed_through marks what has been folded.';
COMMENT ON COLUMN animus.memory_bm25_deltas.namespace IS 'The namespace the change belongs to.';
COMMENT ON COLUMN animus.memory_bm25_deltas.term IS 'NULL: a change of documents and total length; else the term whose document frequency changed.';
COMMENT ON COLUMN animus.memory_bm25_deltas.df IS 'Change of the document count (term NULL) or of the term''s document frequency.';
COMMENT ON COLUMN animus.memory_bm25_deltas.total_len IS 'Change of the total length (term NULL rows).';

COMMENT ON COLUMN animus.memory_namespace_grants.namespace IS 'The namespace the role may read (and write, with can_write); ''*'' = every namespace.';
COMMENT ON COLUMN animus.memory_namespace_grants.can_write IS 'Whether the role may also store, update and delete memories of the namespace.';
COMMENT ON COLUMN animus.memory_namespace_grants.granted_at IS 'When the grant was made or last changed.';
COMMENT ON COLUMN animus.memory_namespace_grants.granted_by IS 'The session user who made it.';
COMMENT ON COLUMN animus.queue_grants.granted_at IS 'When the grant was made.';
COMMENT ON COLUMN animus.queue_grants.granted_by IS 'The session user who made it.';

COMMIT;
