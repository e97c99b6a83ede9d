-- Verify animus:memory_vector_index on pg

BEGIN;

SELECT singleton, kind, lists, probes, ef_search, halfvec, m, ef_construction, built_halfvec, built_dim, built_lists, trained_rows, built_at, updated_at
  FROM animus.memory_vector_index_settings WHERE false;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM animus.memory_vector_index_settings) = 1, 'animus.memory_vector_index_settings must have one row';
    ASSERT has_function_privilege('animus_admin', 'animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer)', 'EXECUTE'),
        'animus_admin cannot execute animus.memory_configure_vector_index';
    ASSERT NOT has_function_privilege('animus_memory_writer', 'animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer)', 'EXECUTE'),
        'animus_memory_writer must not execute animus.memory_configure_vector_index';
    ASSERT has_function_privilege('animus_memory_reader', 'animus.memory_vector_index_status()', 'EXECUTE'),
        'animus_memory_reader cannot execute animus.memory_vector_index_status';
    ASSERT NOT has_function_privilege('animus_admin', 'animus.memory_build_vector_index(text, integer)', 'EXECUTE'),
        'animus.memory_build_vector_index must be granted to nobody';
    ASSERT (SELECT count(*) FROM animus.error_codes WHERE sqlstate IN ('ZA350', 'ZA351')) = 2, 'error codes ZA350-ZA351 are missing';
END $$;

ROLLBACK;
