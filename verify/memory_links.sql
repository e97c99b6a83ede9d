-- Verify animus:memory_links on pg

BEGIN;

DO $$
BEGIN
    PERFORM source_id, target_id, relation, weight, metadata, created_at FROM animus.memory_links WHERE false;
    IF NOT has_function_privilege('animus_memory_writer', 'animus.link_memories(bigint, bigint, text, double precision, jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_writer cannot execute animus.link_memories';
    END IF;
    IF NOT has_function_privilege('animus_memory_reader', 'animus.memory_neighbors(bigint, integer, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_reader cannot execute animus.memory_neighbors';
    END IF;
    IF has_table_privilege('animus_memory_reader', 'animus.memory_links', 'SELECT') THEN
        RAISE EXCEPTION 'animus_memory_reader must not read animus.memory_links directly';
    END IF;
END $$;

ROLLBACK;
