-- Revert animus:memory_lifecycle from pg

BEGIN;

DROP FUNCTION animus.memory_chain(bigint);
DROP FUNCTION animus.purge_expired_memories(text, interval, integer);
DROP FUNCTION animus.update_memory_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], boolean);
DROP FUNCTION animus.memory_apply_lifecycle(bigint, timestamptz, interval, boolean, bigint[], text, text[], text[]);
DROP FUNCTION animus.memory_row_visible(text, text, oid, oid[], text[], jsonb);
DROP FUNCTION animus.memory_state_match(jsonb, jsonb);
DROP FUNCTION animus.memory_viewer();
DROP FUNCTION animus.memory_state_active();
DROP TRIGGER memories_state_mirror ON animus.memories;
DROP FUNCTION animus.memory_state_mirror();
DROP FUNCTION animus.memory_state_of(timestamptz, bigint, oid, text, oid[]);
-- the mirrored state leaves metadata with the columns
UPDATE animus.memories SET metadata = metadata - '_animus' WHERE metadata ? '_animus';
DROP INDEX animus.memories_with_state;
ALTER TABLE animus.memories
    DROP COLUMN expires_at,
    DROP COLUMN pinned,
    DROP COLUMN superseded_by,
    DROP COLUMN superseded_at,
    DROP COLUMN owner_role,
    DROP COLUMN visibility,
    DROP COLUMN share_groups;
DELETE FROM animus.error_codes WHERE sqlstate IN ('ZA216', 'ZA217', 'ZA218', 'ZA219');

COMMIT;
