-- Revert animus:memory_store from pg (back to memory_store@v0.7.0)

BEGIN;

-- store_memories without lifecycle keys: the v0.4.0 body, with the search_path change
-- security_search_path gave it.
CREATE OR REPLACE FUNCTION animus.store_memories(
    memories   jsonb DEFAULT NULL,
    namespace  text  DEFAULT 'default')
    RETURNS TABLE (ordinal integer, id bigint, created boolean)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT b.ordinal, b.id, b.created
                   FROM animus.memory_store_batch(store_memories.memories, store_memories.namespace) AS b;
END
$$;
COMMENT ON FUNCTION animus.store_memories(jsonb, text) IS
    'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, '
    'namespace?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; namespace is the default for elements '
    'without one. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. '
    'Nothing is written if one element is bad. Only into namespaces of the caller''s write scope; runs as the owner (SECURITY DEFINER). '
    'Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), '
    'ZA208 (malformed element), 42501 (a namespace outside the write scope).';
REVOKE ALL ON FUNCTION animus.store_memories(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.store_memories(jsonb, text) TO animus_memory_writer, animus_admin;

DROP FUNCTION animus.memory_is_timestamptz(jsonb);
DROP FUNCTION animus.memory_is_interval(jsonb);

COMMIT;
