-- Revert animus:memory_lifecycle from pg (back to memory_lifecycle@v0.8.0)

BEGIN;

CREATE OR REPLACE FUNCTION animus.memory_state_match(st jsonb, s jsonb)
    RETURNS boolean
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
RETURN
    s IS NULL
    OR ((s -> 'superseded_by' IS NULL OR (st -> 'include_superseded') = 'true'::jsonb)
        AND (s -> 'expires_at' IS NULL OR (s ->> 'expires_at')::timestamptz > pg_catalog.now())
        AND (s -> 'visibility' IS NULL OR st -> 'viewer' IS NULL
             OR s ->> 'owner' = st #>> '{viewer,role}'
             OR (s ->> 'visibility' = 'groups'
                 AND (s -> 'groups') ?| ARRAY(SELECT pg_catalog.jsonb_array_elements_text(st #> '{viewer,groups}')))));
COMMENT ON FUNCTION animus.memory_state_match(jsonb, jsonb) IS
    'Internal to memory_filter_match: true when a memory with mirrored state s (metadata->''_animus'') is live (not expired, not '
    'superseded unless st.include_superseded) and visible to st.viewer (owner, member of a share group, or visibility namespace). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_state_match(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_state_match(jsonb, jsonb) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
