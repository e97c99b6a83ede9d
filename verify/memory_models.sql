-- Verify animus:memory_models on pg

BEGIN;

DO $$
BEGIN
    PERFORM name, dimension, provider, metadata, registered_at FROM animus.memory_models WHERE false;
    PERFORM namespace, model, set_at FROM animus.memory_namespace_models WHERE false;
    PERFORM embedding_model FROM animus.memories WHERE false;
    IF NOT has_function_privilege('animus_admin', 'animus.set_namespace_model(text, text, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_admin cannot execute animus.set_namespace_model';
    END IF;
    IF has_function_privilege('animus_memory_writer', 'animus.register_model(text, integer, text, jsonb)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_writer must not register models';
    END IF;
    IF NOT has_function_privilege('animus_memory_writer', 'animus.memory_set_embedding(bigint, vector, text, text)', 'EXECUTE') THEN
        RAISE EXCEPTION 'animus_memory_writer cannot execute animus.memory_set_embedding';
    END IF;
END $$;

ROLLBACK;
