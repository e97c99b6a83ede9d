-- Deploy animus:work_limits to pg
-- requires: work_queue_grants

BEGIN;

-- What one call may carry is bounded (docs/work-queue.md, "Limits"): a batch of submissions, the
-- ids of a many-id settle, the work types of a claim filter; read_work and get_work return the
-- first 100 requesters of an item and their total, work_submissions pages through all of them.
INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA110', 'list_too_long',      'A list argument (batch items, work ids, work types) has more elements than its documented limit.',
     'Split the call into several, each within the limit named in the message.'),
    ('ZA111', 'unknown_batch_key',  'An element of submit_work_batch''s items has a key submit_work_batch does not know (e.g. a misspelt dedup_key).',
     'Use only the keys listed in the HINT of the error; fix the spelling of the one named in the message.'),
    ('ZA112', 'not_an_integer',     'A JSON number that must be an integer (priority, max_attempts) has a fraction.',
     'Pass a whole number; nothing is rounded.');

-- The first requesters of an item in submission order come from this index without sorting every
-- merged row (a hot key can have millions); it replaces the (merged_into) index it extends.
CREATE INDEX work_items_merged_into_order ON animus.work_items (merged_into, created_at, id) WHERE merged_into IS NOT NULL;
DROP INDEX animus.work_items_merged_into;

COMMIT;
