-- Deploy animus:memory_admin to pg
-- requires: memory_admin@v0.8.0
-- requires: memory_vector_index

BEGIN;

-- The vector index is HNSW (memories_embedding_hnsw) or IVFFlat (memories_embedding_ivfflat), as
-- animus.memory_vector_index_settings says (change memory_vector_index). A bulk load and a
-- re-embedding drop whichever exists; their finish builds the configured kind through
-- animus.memory_build_vector_index (IVFFlat lists from the rows loaded, so the lists are trained
-- on the whole table). Otherwise as in v0.8.0.
CREATE OR REPLACE FUNCTION animus.memory_begin_bulk_load()
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'a bulk load cannot start while re-embedding is in progress',
            HINT = 'Finish re-embedding with animus.memory_finish_reembedding() first (it has no vector index to drop).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL
       AND pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is already in progress (the vector index is dropped)',
            HINT = 'Load with animus.store_memories(), then call animus.memory_finish_bulk_load().';
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    DROP INDEX IF EXISTS animus.memories_fts_gin;
    DROP INDEX IF EXISTS animus.memories_metadata_gin;
    -- The BM25 postings (~44 per memory) keep being written by the triggers, so keyword search
    -- stays exact during the load; only their two btree indexes go, and the index of the pending
    -- statistic deltas, all rebuilt once at the finish. Its absence tells the writes not to fold
    -- the deltas (memory_bm25_index): the finish folds the whole load's at once.
    DROP INDEX IF EXISTS animus.memory_terms_memory_term_idx;
    DROP INDEX IF EXISTS animus.memory_terms_impact_idx;
    DROP INDEX IF EXISTS animus.memory_bm25_deltas_key_idx;
    -- The memories loaded from here on (ids above the largest so far: no writer is in flight under
    -- this lock) write no per-term statistic deltas (memory_bm25_index): the finish folds their
    -- postings once. A statistic row per (namespace, term) per batch was most of the deltas.
    UPDATE animus.memory_bm25_settings SET bulk_from = coalesce((SELECT pg_catalog.max(m.id) FROM animus.memories m), 0);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_begin_bulk_load() IS
    'Starts a bulk load: drops the vector index (HNSW or IVFFlat) and the fts / metadata GIN indexes of animus.memories and the two btree '
    'indexes of the BM25 postings animus.memory_terms and the index of animus.memory_bm25_deltas (rebuilt by animus.memory_finish_bulk_load()); marks the memories loaded from then on (memory_bm25_settings.bulk_from: no per-term BM25 deltas, folded at the finish); returns the number of memories. Load with store_memories in between. '
    'Raises ZA209 (re-embedding in progress), ZA212 (a bulk load is already in progress).';

CREATE OR REPLACE FUNCTION animus.memory_finish_bulk_load(maintenance_work_mem text DEFAULT '1GB', parallel_workers integer DEFAULT 2)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    old_mem text := pg_catalog.current_setting('maintenance_work_mem');
    old_workers text := pg_catalog.current_setting('max_parallel_maintenance_workers');
    old_work_mem text := pg_catalog.current_setting('work_mem');
    loaded_after bigint;
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
    -- (~2 kB per 384-d memory); pgvector builds both kinds in parallel.
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_finish_bulk_load.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_finish_bulk_load.parallel_workers::text, true);
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL
       OR pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'no bulk load is in progress (the vector index exists)',
            HINT = 'Start one with animus.memory_begin_bulk_load().';
    END IF;
    -- Writers wait from here to the commit (the index builds below would hold them off anyway), so
    -- no memory is written between the fold of the loaded postings and the end of the bulk load.
    LOCK TABLE animus.memories IN SHARE MODE;
    -- The BM25 statistic deltas of the whole load, folded once (writes do not fold during a bulk
    -- load: memory_bm25_index), before their index is rebuilt on the emptied table. With
    -- work_mem at the build's memory: the fold groups millions of rows, which at the default 4MB
    -- spill to disk.
    PERFORM pg_catalog.set_config('work_mem', memory_finish_bulk_load.maintenance_work_mem, true);
    PERFORM animus.memory_bm25_refresh(wait => true);   -- (holds the refresh lock to the commit)
    -- Then the loaded memories' own postings, which left no per-term deltas: their document
    -- frequencies and tf-weight bounds per (namespace, term), added to the statistics. Existing
    -- keys are updated and new ones inserted in key order (cheaper than an upsert per row; sorted
    -- bytewise, which sorts faster than by the collation and is the same order for ASCII lexemes).
    SELECT s.bulk_from INTO loaded_after FROM animus.memory_bm25_settings s;
    IF loaded_after IS NOT NULL THEN
        WITH agg AS MATERIALIZED (
            SELECT mt.namespace, mt.term, pg_catalog.count(*) AS df, pg_catalog.max(mt.tf) AS max_tf,
                   pg_catalog.min(mt.doc_len::double precision / mt.tf) AS min_len_ratio
              FROM animus.memory_terms mt WHERE mt.memory_id > loaded_after GROUP BY mt.term, mt.namespace
        ), updated AS (
            UPDATE animus.memory_bm25_term_stats AS ts
               SET df = ts.df + a.df,
                   max_tf = CASE WHEN ts.max_tf IS NULL THEN NULL ELSE greatest(ts.max_tf, a.max_tf) END,
                   min_len_ratio = CASE WHEN ts.min_len_ratio IS NULL THEN NULL ELSE least(ts.min_len_ratio, a.min_len_ratio) END
              FROM agg a WHERE ts.term = a.term AND ts.namespace = a.namespace
            RETURNING ts.term, ts.namespace
        )
        INSERT INTO animus.memory_bm25_term_stats (namespace, term, df, max_tf, min_len_ratio)
        SELECT a.namespace, a.term, a.df, a.max_tf, a.min_len_ratio FROM agg a
         WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.term = a.term AND u.namespace = a.namespace)
         ORDER BY a.term COLLATE "C", a.namespace COLLATE "C";
        UPDATE animus.memory_bm25_settings SET bulk_from = NULL;
    END IF;
    PERFORM pg_catalog.set_config('work_mem', old_work_mem, true);
    -- The vector index of the configured kind (it sets the same two settings again).
    PERFORM animus.memory_build_vector_index(memory_finish_bulk_load.maintenance_work_mem, memory_finish_bulk_load.parallel_workers);
    CREATE INDEX IF NOT EXISTS memories_fts_gin ON animus.memories USING gin (fts);
    CREATE INDEX IF NOT EXISTS memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);
    CREATE INDEX IF NOT EXISTS memory_terms_memory_term_idx ON animus.memory_terms (memory_id, term) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_terms_impact_idx ON animus.memory_terms (term, namespace, impact DESC, memory_id) INCLUDE (tf, doc_len);
    CREATE INDEX IF NOT EXISTS memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas (term, namespace);
    PERFORM pg_catalog.set_config('maintenance_work_mem', old_mem, true);
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', old_workers, true);
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_bulk_load(text, integer) IS
    'Ends a bulk load: holds writers off (SHARE lock on animus.memories) to the commit, folds the load''s BM25 statistic deltas (memory_bm25_refresh, with work_mem = maintenance_work_mem) and the statistics of the loaded memories'' postings (memory_bm25_settings.bulk_from), builds the vector index of the configured kind (animus.memory_vector_index_settings: HNSW, or IVFFlat trained on the loaded rows; '
    'in parallel with parallel_workers workers and maintenance_work_mem, '
    'both set for these builds only), the fts / metadata GIN indexes, the two BM25 postings btree indexes and the BM25 deltas index; returns the number of memories. '
    'Raises ZA001, ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem), ZA212 (no bulk load in progress).';

CREATE OR REPLACE FUNCTION animus.memory_begin_reembedding(embedding_model text DEFAULT NULL, embedding_dim integer DEFAULT NULL)
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
    new_dim integer;
    n bigint;
BEGIN
    IF embedding_model IS NULL OR pg_catalog.btrim(embedding_model) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding_model must be a non-empty string',
            HINT = 'Pass the name of the new embedding model, e.g. ''text-embedding-3-small''.';
    END IF;
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    new_dim := coalesce(memory_begin_reembedding.embedding_dim, settings.embedding_dim);
    IF new_dim < 1 OR new_dim > 2000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'embedding_dim must be between 1 and 2000',
            DETAIL = pg_catalog.format('embedding_dim = %s', new_dim),
            HINT = 'HNSW and IVFFlat index vectors of at most 2,000 dimensions.';
    END IF;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 're-embedding is already in progress',
            DETAIL = pg_catalog.format('target model %s, %s dimensions', settings.embedding_model, settings.embedding_dim),
            HINT = 'Store the missing embeddings and call animus.memory_finish_reembedding().';
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NULL
       AND pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA212', MESSAGE = 'a bulk load is in progress (the vector index is dropped)',
            HINT = 'Finish it with animus.memory_finish_bulk_load() first.';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';

    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    ALTER TABLE animus.memories ALTER COLUMN embedding DROP NOT NULL;
    EXECUTE pg_catalog.format('ALTER TABLE animus.memories ALTER COLUMN embedding TYPE %I.vector(%s) USING NULL',
                              vector_schema, new_dim);
    -- a new column type brings the type's default storage back (EXTERNAL): see memory_table
    ALTER TABLE animus.memories ALTER COLUMN embedding SET STORAGE MAIN;
    UPDATE animus.memory_settings
       SET embedding_model = memory_begin_reembedding.embedding_model, embedding_dim = new_dim,
           state = 'reembedding', updated_at = pg_catalog.now();
    SELECT pg_catalog.count(*) INTO n FROM animus.memories;
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_begin_reembedding(text, integer) IS
    'Starts a change of embedding model: records the model and dimension (NULL keeps the dimension), clears every embedding '
    '(re-typing the column to vector(embedding_dim)) and drops the vector index (HNSW or IVFFlat); returns how many memories need a new embedding. '
    'Raises ZA001, ZA002 (dimension outside 1..2000), ZA209 (already re-embedding), ZA212 (a bulk load is in progress).';

CREATE OR REPLACE FUNCTION animus.memory_finish_reembedding()
    RETURNS bigint
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    missing bigint;
    n bigint;
BEGIN
    SELECT s.* INTO settings FROM animus.memory_settings AS s FOR UPDATE;
    IF settings.state <> 'reembedding' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 'no re-embedding is in progress',
            HINT = 'Start one with animus.memory_begin_reembedding(embedding_model, embedding_dim).';
    END IF;
    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    SELECT pg_catalog.count(*) FILTER (WHERE m.embedding IS NULL), pg_catalog.count(*) INTO missing, n
      FROM animus.memories AS m;
    IF missing > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA210',
            MESSAGE = pg_catalog.format('%s of %s memories still lack an embedding', missing, n),
            HINT = 'Re-embed them: SELECT id, content FROM animus.memories WHERE embedding IS NULL; then animus.update_memory(id, embedding => ...).';
    END IF;
    ALTER TABLE animus.memories ALTER COLUMN embedding SET NOT NULL;
    -- The session's maintenance_work_mem and max_parallel_maintenance_workers, as before.
    PERFORM animus.memory_build_vector_index(pg_catalog.current_setting('maintenance_work_mem'),
                                             pg_catalog.current_setting('max_parallel_maintenance_workers')::integer);
    UPDATE animus.memory_settings SET state = 'ready', updated_at = pg_catalog.now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION animus.memory_finish_reembedding() IS
    'Ends a change of embedding model once every memory has a new embedding: embedding NOT NULL again, the vector index of the configured kind '
    '(animus.memory_vector_index_settings: HNSW or IVFFlat) rebuilt (raise maintenance_work_mem first for large tables); returns the number of memories. '
    'Raises ZA209 (no re-embedding in progress), ZA210 (memories still lack an embedding).';

COMMIT;
