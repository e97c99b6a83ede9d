-- Deploy animus:memory_links to pg
-- requires: memory_lifecycle
-- requires: memory_filters

BEGIN;

-- Links between memories (docs/memory-lifecycle.md, "Links"): a directed, typed, weighted edge
-- from one memory to another, deleted with either memory. Only memories the caller sees can be
-- linked or reached; memory_neighbors walks them breadth-first and never revisits a memory, so
-- cycles end the walk instead of looping.
CREATE TABLE animus.memory_links (
    source_id   bigint NOT NULL REFERENCES animus.memories (id) ON DELETE CASCADE,
    target_id   bigint NOT NULL REFERENCES animus.memories (id) ON DELETE CASCADE,
    relation    text NOT NULL CHECK (relation ~ '^[a-z][a-z0-9_]{0,62}$'),
    weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <= 1000),
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, target_id, relation),
    CHECK (source_id <> target_id)
);
CREATE INDEX memory_links_target ON animus.memory_links (target_id);
COMMENT ON TABLE animus.memory_links IS 'Directed, typed, weighted links between memories; removed with either memory. Read through memory_neighbors.';
COMMENT ON COLUMN animus.memory_links.source_id IS 'The memory the link starts from.';
COMMENT ON COLUMN animus.memory_links.target_id IS 'The memory the link points to.';
COMMENT ON COLUMN animus.memory_links.relation IS 'The kind of link: a lower-case identifier such as related, cites, contradicts, part_of.';
COMMENT ON COLUMN animus.memory_links.weight IS 'Strength of the link, in (0, 1000]; memory_graph_expand multiplies scores by it.';
COMMENT ON COLUMN animus.memory_links.metadata IS 'Free JSON object about the link (who made it, why).';
COMMENT ON COLUMN animus.memory_links.created_at IS 'When the link was made (kept when link_memories is called again).';
-- Tenant roles read links through the functions only (like animus.memories).
REVOKE ALL ON animus.memory_links FROM PUBLIC;
GRANT SELECT ON animus.memory_links TO animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA220', 'memory_link_invalid', 'A link from a memory to itself, a relation that is not a lower-case identifier, a weight outside (0, 1000], or link metadata that is not an object.',
     'Link two different memories with a relation such as ''related'' and a weight such as 1.'),
    ('ZA221', 'memory_graph_bounds', 'depth of memory_neighbors / memory_graph_expand outside 1..5, or too many relations or seed ids.',
     'Walk at most 5 links deep from at most 1000 memories.');

CREATE FUNCTION animus.link_memories(
    source    bigint           DEFAULT NULL,
    target    bigint           DEFAULT NULL,
    relation  text             DEFAULT 'related',
    weight    double precision DEFAULT 1,
    metadata  jsonb            DEFAULT '{}')
    RETURNS SETOF animus.memory_links
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF link_memories.source IS NULL OR link_memories.target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'source and target must not be NULL',
            HINT = 'Pass the ids of the two memories to link.';
    END IF;
    IF link_memories.source = link_memories.target THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'source and target must be different memories',
            DETAIL = pg_catalog.format('source = target = %s', link_memories.source), HINT = 'Link two different memories.';
    END IF;
    IF link_memories.relation IS NULL OR link_memories.relation !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'relation must be a lower-case identifier (a-z, 0-9, _; at most 63 characters)',
            DETAIL = pg_catalog.format('relation = %L', pg_catalog.left(link_memories.relation, 80)),
            HINT = 'Use e.g. ''related'', ''cites'', ''contradicts'', ''part_of''.';
    END IF;
    IF link_memories.weight IS NULL OR NOT (link_memories.weight > 0 AND link_memories.weight <= 1000) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'weight must be a number in (0, 1000]',
            DETAIL = pg_catalog.format('weight = %s', link_memories.weight), HINT = 'The usual weight is 1.';
    END IF;
    IF link_memories.metadata IS NULL OR pg_catalog.jsonb_typeof(link_memories.metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA220', MESSAGE = 'metadata must be a JSON object',
            DETAIL = pg_catalog.format('metadata = %s', pg_catalog.left(link_memories.metadata::text, 200)),
            HINT = 'Pass an object such as {"by": "agent-1"}, or omit it.';
    END IF;
    -- the source in the write scope, both visible to the caller; anything else is "not found"
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = link_memories.source AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s (source)', link_memories.source),
            HINT = 'Link from a memory of a namespace you may write.';
    END IF;
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = link_memories.target
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s (target)', link_memories.target),
            HINT = 'Link to a memory you can read.';
    END IF;
    RETURN QUERY
    INSERT INTO animus.memory_links AS l (source_id, target_id, relation, weight, metadata)
    VALUES (link_memories.source, link_memories.target, link_memories.relation, link_memories.weight, link_memories.metadata)
    ON CONFLICT ON CONSTRAINT memory_links_pkey DO UPDATE
       SET weight = EXCLUDED.weight, metadata = EXCLUDED.metadata
    RETURNING l.*;
END
$$;
COMMENT ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) IS
    'Links memory source to memory target with a relation (lower-case identifier, default related), a weight in (0, 1000] and '
    'metadata, and returns the link; again for the same (source, target, relation) updates weight and metadata. The source must be in '
    'the caller''s write scope, both memories visible to the caller. Runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA207 (unknown or invisible memory), ZA220 (self link, relation, weight, metadata).';
REVOKE ALL ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.link_memories(bigint, bigint, text, double precision, jsonb) TO animus_memory_writer, animus_admin;

CREATE FUNCTION animus.unlink_memories(
    source    bigint DEFAULT NULL,
    target    bigint DEFAULT NULL,
    relation  text   DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    wscope text[] := animus.memory_write_scope();
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    n bigint;
BEGIN
    IF unlink_memories.source IS NULL OR unlink_memories.target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'source and target must not be NULL',
            HINT = 'Pass the ids of the two linked memories (relation NULL removes every relation between them).';
    END IF;
    DELETE FROM animus.memory_links AS l
     USING animus.memories AS m
     WHERE l.source_id = unlink_memories.source AND l.target_id = unlink_memories.target
       AND (unlink_memories.relation IS NULL OR l.relation = unlink_memories.relation)
       AND m.id = l.source_id AND ('*' = ANY (wscope) OR m.namespace = ANY (wscope))
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.unlink_memories(bigint, bigint, text) IS
    'Removes the links from source to target (of one relation, or all when relation is NULL) whose source the caller may write; '
    'returns how many. Runs as the owner (SECURITY DEFINER). Raises ZA001.';
REVOKE ALL ON FUNCTION animus.unlink_memories(bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.unlink_memories(bigint, bigint, text) TO animus_memory_writer, animus_admin;

-- Breadth-first walk from seeds over links in both directions; each memory once, at its
-- shallowest depth (with the best score among its paths there); invisible, expired and
-- superseded memories are neither returned nor walked through.
CREATE FUNCTION animus.memory_graph_walk(seeds bigint[], seed_scores double precision[], depth integer, relations text[], decay double precision)
    RETURNS TABLE (memory_id bigint, hops integer, score double precision, via bigint, relation text)
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
    st jsonb := jsonb_strip_nulls(jsonb_build_object('include_superseded', false, 'viewer', viewer));
    frontier bigint[] := seeds;
    frontier_scores double precision[] := seed_scores;
    seen bigint[] := seeds;
    n_via bigint[];
    n_rel text[];
    r_ids bigint[] := '{}';
    r_depth integer[] := '{}';
    r_scores double precision[] := '{}';
    r_via bigint[] := '{}';
    r_rel text[] := '{}';
    d integer := 0;
BEGIN
    WHILE d < depth AND cardinality(frontier) > 0 LOOP
        d := d + 1;
        SELECT coalesce(array_agg(x.other ORDER BY x.other), '{}'), coalesce(array_agg(x.s ORDER BY x.other), '{}'),
               coalesce(array_agg(x.via ORDER BY x.other), '{}'), coalesce(array_agg(x.relation ORDER BY x.other), '{}')
          INTO frontier, frontier_scores, n_via, n_rel
          FROM (SELECT DISTINCT ON (e.other) e.other, e.s, e.via, e.relation
                  FROM (SELECT l.target_id AS other, f.score * l.weight * decay AS s, l.source_id AS via, l.relation
                          FROM unnest(frontier, frontier_scores) AS f(id, score)
                          JOIN animus.memory_links AS l ON l.source_id = f.id
                         WHERE relations IS NULL OR l.relation = ANY (relations)
                        UNION ALL
                        SELECT l.source_id, f.score * l.weight * decay, l.target_id, l.relation
                          FROM unnest(frontier, frontier_scores) AS f(id, score)
                          JOIN animus.memory_links AS l ON l.target_id = f.id
                         WHERE relations IS NULL OR l.relation = ANY (relations)) AS e
                  JOIN animus.memories AS m ON m.id = e.other
                 WHERE NOT e.other = ANY (seen)
                   AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer)
                   AND animus.memory_state_match(st, m.metadata -> '_animus')
                 ORDER BY e.other, e.s DESC, e.via, e.relation) AS x;
        seen := seen || frontier;
        r_ids := r_ids || frontier;
        r_depth := r_depth || array_fill(d, ARRAY[cardinality(frontier)]);
        r_scores := r_scores || frontier_scores;
        r_via := r_via || n_via;
        r_rel := r_rel || n_rel;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(r_ids, r_depth, r_scores, r_via, r_rel);
END
$$;
COMMENT ON FUNCTION animus.memory_graph_walk(bigint[], double precision[], integer, text[], double precision) IS
    'Internal to memory_neighbors and memory_graph_expand: breadth-first over links (both directions) from seeds, each memory once at its '
    'shallowest depth; score = seed score x product of link weights x decay per step (best path at that depth). Only memories the caller '
    'sees that are live (not expired, not superseded). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_graph_walk(bigint[], double precision[], integer, text[], double precision) FROM PUBLIC;

CREATE FUNCTION animus.memory_check_graph_args(depth integer, relations text[])
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF depth IS NULL OR depth < 1 OR depth > 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'depth must be between 1 and 5',
            DETAIL = format('depth = %s', depth), HINT = 'depth 1: direct neighbours; 2: their neighbours too.';
    END IF;
    IF relations IS NOT NULL AND (cardinality(relations) = 0 OR cardinality(relations) > 100) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'relations must list 1 to 100 relations, or be NULL for all',
            DETAIL = format('relations has %s entries', cardinality(relations)), HINT = 'Omit it to follow every relation.';
    END IF;
END
$$;
COMMENT ON FUNCTION animus.memory_check_graph_args(integer, text[]) IS
    'Internal: raises ZA221 unless depth is 1..5 and relations is NULL or lists 1..100 relations.';
REVOKE ALL ON FUNCTION animus.memory_check_graph_args(integer, text[]) FROM PUBLIC;

CREATE FUNCTION animus.memory_neighbors(
    id         bigint  DEFAULT NULL,
    depth      integer DEFAULT 1,
    relations  text[]  DEFAULT NULL)
    RETURNS TABLE (memory_id bigint, hops integer, via bigint, relation text, weight double precision,
                   namespace text, content text, memory_type text, metadata jsonb)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    rscope text[] := animus.memory_scope('read');
    viewer jsonb := animus.memory_viewer();
BEGIN
    IF memory_neighbors.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id of the memory to start from.';
    END IF;
    PERFORM animus.memory_check_graph_args(memory_neighbors.depth, memory_neighbors.relations);
    PERFORM 1 FROM animus.memories AS m
     WHERE m.id = memory_neighbors.id
       AND animus.memory_row_visible(m.namespace, m.visibility, m.owner_role, m.share_groups, rscope, viewer);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = pg_catalog.format('no memory has id %s', memory_neighbors.id),
            HINT = 'Check the id; the memory may have been deleted.';
    END IF;
    RETURN QUERY
    SELECT w.memory_id, w.hops, w.via, w.relation, w.score, m.namespace, m.content, m.memory_type, m.metadata
      FROM animus.memory_graph_walk(ARRAY[memory_neighbors.id], ARRAY[1::double precision], memory_neighbors.depth,
                                    memory_neighbors.relations, 1) AS w
      JOIN animus.memories AS m ON m.id = w.memory_id
     ORDER BY w.hops, w.score DESC, w.memory_id;
END
$$;
COMMENT ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) IS
    'The memories linked to memory id (links in either direction) up to depth links away (1..5), each once at its shallowest depth: '
    'hops (links away), via (the memory it was reached from), relation, weight (product of the link weights on the best path), and the memory. '
    'Cycle-safe. Only live memories the caller sees (not expired, not superseded, not private to another role); relations NULL follows '
    'every relation. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA207 (unknown or invisible id), ZA221 (depth, relations).';
REVOKE ALL ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_neighbors(bigint, integer, text[]) TO animus_memory_reader, animus_memory_writer, animus_admin;

-- The graph step proposed for hybrid_search (docs/memory-lifecycle.md, "Proposal"): the
-- neighbours of the top hits with score = hit score x link weight x decay per link.
CREATE FUNCTION animus.memory_graph_expand(
    hit_ids     bigint[]         DEFAULT NULL,
    hit_scores  double precision[] DEFAULT NULL,
    depth       integer          DEFAULT 1,
    relations   text[]           DEFAULT NULL,
    decay       double precision DEFAULT 0.5)
    RETURNS TABLE (memory_id bigint, score double precision, hops integer, via bigint, relation text)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF hit_ids IS NULL OR hit_scores IS NULL OR cardinality(hit_ids) <> cardinality(hit_scores) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'hit_ids and hit_scores must be arrays of the same length',
            HINT = 'Pass the ids and scores of the top hits of a search.';
    END IF;
    IF cardinality(hit_ids) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA221', MESSAGE = 'hit_ids must hold at most 1000 ids',
            DETAIL = format('hit_ids holds %s', cardinality(hit_ids)), HINT = 'Expand the top hits only.';
    END IF;
    IF decay IS NULL OR NOT (decay > 0 AND decay <= 1) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'decay must be in (0, 1]',
            DETAIL = format('decay = %s', decay), HINT = 'The default 0.5 halves a score per link.';
    END IF;
    PERFORM animus.memory_check_graph_args(memory_graph_expand.depth, memory_graph_expand.relations);
    RETURN QUERY
    SELECT w.memory_id, w.score, w.hops, w.via, w.relation
      FROM animus.memory_graph_walk(hit_ids, hit_scores, memory_graph_expand.depth, memory_graph_expand.relations, decay) AS w
     ORDER BY w.score DESC, w.memory_id;
END
$$;
COMMENT ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) IS
    'The graph step for a search: the live, visible memories linked to the hits (not hits themselves) up to depth links away, '
    'score = hit score x link weight x decay per link (best path at the shallowest depth), best first. Hits the caller cannot see '
    'contribute nothing. Runs as the owner (SECURITY DEFINER). Read-only (STABLE). Raises ZA001, ZA002 (decay), ZA221.';
REVOKE ALL ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_graph_expand(bigint[], double precision[], integer, text[], double precision) TO animus_memory_reader, animus_memory_writer, animus_admin;

COMMIT;
