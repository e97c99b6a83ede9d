-- Revert animus:memory_admin from pg (back to memory_admin@v0.6.0)

BEGIN;

-- memory_finish_bulk_load as v0.6.0 had it (BM25 indexes namespace first), search_path as change
-- security_search_path pinned it.
CREATE OR REPLACE FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text DEFAULT '1GB', parallel_workers integer DEFAULT 2)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    vector_schema name;
    old_mem text := pg_catalog.current_setting('maintenance_work_mem');
    old_workers text := pg_catalog.current_setting('max_parallel_maintenance_workers');
    n bigint;
BEGIN
    IF memory_finish_bulk_load.maintenance_work_mem IS NULL OR memory_finish_bulk_load.parallel_workers IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'maintenance_work_mem and parallel_workers must not be NULL',
            HINT = 'Omit them for ''1GB'' and 2.';
    END IF;
    IF memory_finish_bulk_load.parallel_workers NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'parallel_workers must be between 0 and 64',
            DETAIL = pg_catalog.format('parallel_workers = %s', memory_finish_bulk_load.parallel_workers),
            HINT = 'Use about the number of idle cores minus one (the leader builds too); 0 builds serially.';
    END IF;
    -- Only for this function's index builds: restored below (an error rolls them back with the
    -- transaction). The HNSW graph builds fastest when it fits in maintenance_work_mem
    -- (~2 kB per 384-d memory); pgvector builds it in parallel since 0.6.
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_finish_bulk_load.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_finish_bulk_load.parallel_workers::text, true);
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'no bulk load is in progress (the HNSW index exists)',
            HINT = 'Start one with animus.memory_begin_bulk_load().';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    CREATE INDEX IF NOT EXISTS memories_fts_gin ON animus.memories USING gin (fts);
    CREATE INDEX IF NOT EXISTS memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
    CREATE INDEX IF NOT EXISTS memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_terms_impact_idx ON animus.memory_terms (namespace, term, impact DESC, memory_id) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (namespace, term);
    PERFORM pg_catalog.set_config('maintenance_work_mem', old_mem, true);
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', old_workers, true);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_bulk_load(text, integer) IS
    'Ends a bulk load: rebuilds the HNSW index (in parallel with parallel_workers workers and maintenance_work_mem, '
    'both set for these builds only), the fts / metadata GIN indexes, the two BM25 postings btree indexes and the BM25 deltas index; returns the number of memories. '
    'Raises ZA001, ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem), ZA212 (no bulk load in progress).';

COMMIT;
