-- Deploy animus:memory_lifecycle to pg
-- requires: memory_lifecycle@v0.8.0

BEGIN;

-- memory_state_match decides, per memory with lifecycle or sharing state, whether a search keeps
-- it. Until v0.8.0 its share-group test was `groups ?| ARRAY(SELECT jsonb_array_elements_text(...))`:
-- a sub-select, which stops the planner from inlining a SQL function, so every row with state
-- made a call of a SQL function (the exact vector search over a namespace with state on a fifth of
-- its rows: p95 3.8 ms against 2.2 ms, docs/memory-lifecycle.md). The same test as a jsonpath
-- (any element of the memory's groups equal to any of the viewer's) keeps it one expression.
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
                 AND pg_catalog.jsonb_path_exists(s, '$.groups[*] ? (@ == $g[*])',
                                                  pg_catalog.jsonb_build_object('g', st #> '{viewer,groups}')))));
COMMENT ON FUNCTION animus.memory_state_match(jsonb, jsonb) IS
    'Internal to memory_filter_match: true when a memory with mirrored state s (metadata->''_animus'') is live (not expired, not '
    'superseded unless st.include_superseded) and visible to st.viewer (owner, member of a share group, or visibility namespace). '
    'One expression without a sub-select, so that the planner inlines it into the searches'' filter. Raises nothing.';

COMMIT;
