-- Deploy animus:memory_vector_index to pg
-- requires: memory_admin
-- requires: memory_search
-- requires: column_comments

BEGIN;

-- Which index serves vector search (docs/memory.md, "Choosing the vector index"). HNSW (the
-- default) searches fastest and needs no training, but every insert walks its graph (~75 % of an
-- incremental store_memories batch at 100k rows) and its build takes 27-37 s per 100k rows.
-- IVFFlat (k-means lists) inserts at the cost of one comparison per list centroid and builds in
-- a tenth of the time, but its lists are trained on the rows present at the build: a table that
-- grows well past that needs a rebuild (memory_vector_index_status says when).

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA350', 'invalid_vector_index_kind', 'memory_configure_vector_index was given a kind other than ''hnsw'' or ''ivfflat''.',
     'Pass kind => ''hnsw'' (the default index) or kind => ''ivfflat''.'),
    ('ZA351', 'invalid_vector_index_parameter', 'A vector index parameter is out of range, or given to an index kind that has no such parameter.',
     'lists (1..32768) and probes (1..32768) apply to ''ivfflat'' only, ef_search (1..1000), m (2..100) and ef_construction (4..1000, at least 2 m) to ''hnsw'' only; NULL picks lists and probes from the table size and ef_search 100; m and ef_construction left out keep the configured ones (pgvector''s 16, 64 on a first choice of hnsw).');

CREATE TABLE animus.memory_vector_index_settings (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    kind          text NOT NULL DEFAULT 'hnsw' CHECK (kind IN ('hnsw', 'ivfflat')),
    lists         integer CHECK (lists BETWEEN 1 AND 32768),
    probes        integer CHECK (probes BETWEEN 1 AND 32768),
    ef_search     integer CHECK (ef_search BETWEEN 1 AND 1000),
    halfvec       boolean NOT NULL DEFAULT false,
    m             integer CHECK (m BETWEEN 2 AND 100),
    ef_construction integer CHECK (ef_construction BETWEEN 4 AND 1000),
    built_halfvec boolean,
    built_dim     integer,
    built_lists   integer,
    trained_rows  bigint,
    built_at      timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE animus.memory_vector_index_settings IS
    'The kind of vector index on animus.memories.embedding (one row): hnsw (memories_embedding_hnsw, the default) or ivfflat '
    '(memories_embedding_ivfflat). Change it with animus.memory_configure_vector_index().';
COMMENT ON COLUMN animus.memory_vector_index_settings.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN animus.memory_vector_index_settings.kind IS 'hnsw or ivfflat: the index memory_finish_bulk_load, memory_finish_reembedding and memory_configure_vector_index build.';
COMMENT ON COLUMN animus.memory_vector_index_settings.lists IS 'IVFFlat lists; NULL: chosen at each build from the rows (rows / 1000 up to 1M rows, sqrt(rows) beyond, at least 1).';
COMMENT ON COLUMN animus.memory_vector_index_settings.probes IS 'IVFFlat lists searched per query (ivfflat.probes); NULL: ceil(sqrt(built_lists)).';
COMMENT ON COLUMN animus.memory_vector_index_settings.ef_search IS 'HNSW candidate list of an unfiltered search (hnsw.ef_search); NULL: 100. A larger one buys recall with time on big tables (docs/scaling.md); a search asks for at least its k, a filter raises it by 1 / selectivity (at most 1000).';
COMMENT ON COLUMN animus.memory_vector_index_settings.halfvec IS 'true: the index holds the embeddings as halfvec (16-bit floats: half the index size, faster builds, inserts and scans; searches re-rank their candidates by the full-precision distance). The table keeps full precision either way.';
COMMENT ON COLUMN animus.memory_vector_index_settings.m IS 'HNSW build: neighbours per node (WITH (m)); NULL: pgvector''s 16. More: better recall at a given ef_search, a bigger index and a slower build.';
COMMENT ON COLUMN animus.memory_vector_index_settings.ef_construction IS 'HNSW build: candidate list while building (WITH (ef_construction)); NULL: pgvector''s 64. More: a better graph (recall), a slower build and slower inserts.';
COMMENT ON COLUMN animus.memory_vector_index_settings.built_halfvec IS 'Whether the index as built is on halfvec (NULL: a float index not built by animus, that of the first deploy).';
COMMENT ON COLUMN animus.memory_vector_index_settings.built_dim IS 'The dimension of a halfvec index as built (its expression is embedding::halfvec(built_dim)); NULL for a float index.';
COMMENT ON COLUMN animus.memory_vector_index_settings.built_lists IS 'The lists of the IVFFlat index as built (NULL for HNSW or before the first build).';
COMMENT ON COLUMN animus.memory_vector_index_settings.trained_rows IS 'Memories with an embedding when the index was last built (an IVFFlat index is trained on them).';
COMMENT ON COLUMN animus.memory_vector_index_settings.built_at IS 'When the index was last built by animus (NULL: the HNSW index of the first deploy).';
COMMENT ON COLUMN animus.memory_vector_index_settings.updated_at IS 'When the settings last changed.';
INSERT INTO animus.memory_vector_index_settings (kind) VALUES ('hnsw');
REVOKE ALL ON animus.memory_vector_index_settings FROM PUBLIC;
-- memory_vector_candidates (granted to the memory roles) reads probes and ef_search from it.
GRANT SELECT ON animus.memory_vector_index_settings TO animus_memory_reader, animus_memory_writer, animus_admin;

-- IVFFlat lists for a table of n rows: pgvector's guidance, rows / 1000 up to 1M rows, sqrt(rows) beyond.
CREATE FUNCTION animus.memory_ivfflat_lists(n bigint)
    RETURNS integer
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
RETURN CASE WHEN n IS NULL OR n < 1000 THEN 1
            WHEN n <= 1000000 THEN (n / 1000)::integer
            ELSE least(32768, ceil(sqrt(n::double precision))::integer) END;
COMMENT ON FUNCTION animus.memory_ivfflat_lists(bigint) IS
    'Internal (memory_build_vector_index): IVFFlat lists for n rows: n / 1000 up to 1M rows, sqrt(n) beyond (pgvector''s guidance), at least 1, at most 32768. Granted to nobody. Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_ivfflat_lists(bigint) FROM PUBLIC;

-- Drops the vector index (either kind) and builds the configured one. Internal: called by
-- memory_configure_vector_index, memory_finish_bulk_load and memory_finish_reembedding (all
-- SECURITY DEFINER, so it runs as the table owner); granted to nobody. A plain CREATE INDEX
-- (CONCURRENTLY cannot run inside a function): writers wait during the build, readers of the
-- table wait from the DROP INDEX to COMMIT.
CREATE FUNCTION animus.memory_build_vector_index(maintenance_work_mem text DEFAULT '1GB', parallel_workers integer DEFAULT 2)
    RETURNS text
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_vector_index_settings%ROWTYPE;
    vector_schema name;
    n bigint;
    l integer;
    built text;
    dim integer;
    indexed text;
BEGIN
    IF memory_build_vector_index.maintenance_work_mem IS NULL OR memory_build_vector_index.parallel_workers IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'maintenance_work_mem and parallel_workers must not be NULL',
            HINT = 'Omit them for ''1GB'' and 2.';
    END IF;
    IF memory_build_vector_index.parallel_workers NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'parallel_workers must be between 0 and 64',
            DETAIL = pg_catalog.format('parallel_workers = %s', memory_build_vector_index.parallel_workers),
            HINT = 'Use about the number of idle cores minus one (the leader builds too); 0 builds serially.';
    END IF;
    BEGIN
        PERFORM pg_catalog.set_config('maintenance_work_mem', memory_build_vector_index.maintenance_work_mem, true);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'maintenance_work_mem is not a valid memory size',
            DETAIL = pg_catalog.format('maintenance_work_mem = %L', memory_build_vector_index.maintenance_work_mem),
            HINT = 'Pass a memory size such as ''1GB'' or ''4GB'' (at least 1MB).';
    END;
    PERFORM pg_catalog.set_config('max_parallel_maintenance_workers', memory_build_vector_index.parallel_workers::text, true);
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v FOR UPDATE;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    IF pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_hnsw;
    END IF;
    IF pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN
        DROP INDEX animus.memories_embedding_ivfflat;
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM animus.memories AS m WHERE m.embedding IS NOT NULL;
    -- halfvec: an expression index on embedding::halfvec(dim) (an index needs the dimension);
    -- memory_vector_candidates orders by the same expression, from built_halfvec / built_dim.
    IF s.halfvec THEN
        SELECT ms.embedding_dim INTO dim FROM animus.memory_settings AS ms;
        indexed := pg_catalog.format('(embedding::%1$I.halfvec(%2$s)) %1$I.halfvec_cosine_ops', vector_schema, dim);
    ELSE
        indexed := pg_catalog.format('embedding %I.vector_cosine_ops', vector_schema);
    END IF;
    IF s.kind = 'ivfflat' THEN
        l := coalesce(s.lists, animus.memory_ivfflat_lists(n));
        built := 'memories_embedding_ivfflat';
        EXECUTE pg_catalog.format(
            'CREATE INDEX memories_embedding_ivfflat ON animus.memories USING ivfflat (%s) WITH (lists = %s)', indexed, l);
    ELSE
        built := 'memories_embedding_hnsw';
        EXECUTE pg_catalog.format('CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (%s)', indexed)
             || CASE WHEN s.m IS NOT NULL OR s.ef_construction IS NOT NULL
                     THEN pg_catalog.format(' WITH (m = %s, ef_construction = %s)', coalesce(s.m, 16), coalesce(s.ef_construction, 64))
                     ELSE '' END;
    END IF;
    UPDATE animus.memory_vector_index_settings
       SET built_lists = l, trained_rows = n, built_at = pg_catalog.now(), built_halfvec = s.halfvec, built_dim = dim;
    RETURN built;
END
$$;
COMMENT ON FUNCTION animus.memory_build_vector_index(text, integer) IS
    'Internal: drops the vector index of animus.memories (either kind) and builds the kind of animus.memory_vector_index_settings '
    '(IVFFlat with its lists, or animus.memory_ivfflat_lists of the rows; HNSW with m / ef_construction when set; on embedding::halfvec(dim) when halfvec), with maintenance_work_mem and parallel_workers set for the build only; '
    'records the rows it was built on; returns the index name. Granted to nobody. Raises ZA001, ZA002 (as memory_finish_bulk_load).';
REVOKE ALL ON FUNCTION animus.memory_build_vector_index(text, integer) FROM PUBLIC;

CREATE FUNCTION animus.memory_vector_index_status()
    RETURNS TABLE (kind text, index_name text, halfvec boolean, lists integer, probes integer, ef_search integer, m integer,
                   ef_construction integer, trained_rows bigint, table_rows bigint, built_at timestamptz, advice text)
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.memory_vector_index_settings%ROWTYPE;
    idx text;
    est bigint;
    opts text[];
BEGIN
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v;
    idx := CASE WHEN pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN 'memories_embedding_ivfflat'
                WHEN pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN 'memories_embedding_hnsw' END;
    -- The planner's estimate (cheap, as of the last ANALYZE / autovacuum), not a count.
    SELECT greatest(c.reltuples, 0)::bigint INTO est FROM pg_catalog.pg_class AS c WHERE c.oid = 'animus.memories'::pg_catalog.regclass;
    -- the HNSW graph's build settings as built (the index's reloptions; none: pgvector's 16 / 64)
    IF idx = 'memories_embedding_hnsw' THEN
        SELECT coalesce(c.reloptions, '{}') INTO opts FROM pg_catalog.pg_class AS c WHERE c.oid = 'animus.memories_embedding_hnsw'::pg_catalog.regclass;
    END IF;
    RETURN QUERY SELECT
        s.kind, idx,
        -- the index present's (NULL: none)
        CASE WHEN idx IS NOT NULL THEN coalesce(s.built_halfvec, false) END,
        CASE WHEN idx = 'memories_embedding_ivfflat' THEN s.built_lists ELSE s.lists END,
        -- the probes a search uses: at most the lists built
        CASE WHEN s.kind = 'ivfflat' THEN least(coalesce(s.probes, ceil(sqrt(greatest(coalesce(s.built_lists, s.lists, 1), 1)))::integer),
                                                coalesce(s.built_lists, s.lists, 32768)) END,
        -- the ef_search of an unfiltered search for k <= ef_search
        CASE WHEN s.kind = 'hnsw' THEN coalesce(s.ef_search, 100) END,
        CASE WHEN opts IS NOT NULL THEN coalesce((SELECT pg_catalog.substr(o, 3)::integer FROM unnest(opts) AS o WHERE o LIKE 'm=%'), 16) END,
        CASE WHEN opts IS NOT NULL THEN coalesce((SELECT pg_catalog.substr(o, 17)::integer FROM unnest(opts) AS o WHERE o LIKE 'ef\_construction=%'), 64) END,
        s.trained_rows, est, s.built_at,
        CASE
            WHEN idx IS NULL THEN
                'no vector index: a bulk load or re-embedding is in progress (vector search scans exactly); its finish builds the ' || s.kind || ' index'
            WHEN idx = 'memories_embedding_hnsw' AND s.kind = 'ivfflat' OR idx = 'memories_embedding_ivfflat' AND s.kind = 'hnsw'
                 OR coalesce(s.built_halfvec, false) <> s.halfvec THEN
                'the index is not of the configured kind: SELECT * FROM animus.memory_configure_vector_index(''' || s.kind || ''''
                || CASE WHEN s.halfvec THEN ', halfvec => true' ELSE '' END || ')'
            WHEN idx = 'memories_embedding_ivfflat' AND est > 2 * greatest(coalesce(s.trained_rows, 0), 1000) THEN
                pg_catalog.format('ivfflat trained on %s rows, table has %s: rebuild it (SELECT * FROM animus.memory_configure_vector_index(''ivfflat''))',
                                  coalesce(s.trained_rows, 0), est)
            ELSE 'ok' END;
END
$$;
COMMENT ON FUNCTION animus.memory_vector_index_status() IS
    'The vector index of animus.memories: configured kind, the index present (NULL during a bulk load or re-embedding) and whether it is on halfvec, IVFFlat lists and '
    'probes or the HNSW ef_search of an unfiltered search and the m / ef_construction the HNSW index was built with, the rows it was built on, the table''s estimated rows (pg_class.reltuples) and advice (''ok'', or when to rebuild: an IVFFlat '
    'index on a table grown past twice the rows it was trained on). Read-only (STABLE). Raises nothing.';
REVOKE ALL ON FUNCTION animus.memory_vector_index_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_vector_index_status() TO animus_memory_reader, animus_memory_writer, animus_admin;

CREATE FUNCTION animus.memory_configure_vector_index(
    kind                 text,
    lists                integer DEFAULT NULL,
    probes               integer DEFAULT NULL,
    rebuild              boolean DEFAULT true,
    maintenance_work_mem text    DEFAULT '1GB',
    parallel_workers     integer DEFAULT 2,
    ef_search            integer DEFAULT NULL,
    halfvec              boolean DEFAULT NULL,
    m                    integer DEFAULT NULL,
    ef_construction      integer DEFAULT NULL)
    RETURNS animus.memory_vector_index_settings
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    k text := pg_catalog.lower(pg_catalog.btrim(memory_configure_vector_index.kind));
    s animus.memory_vector_index_settings%ROWTYPE;
    present text;
    hv boolean;
    gm integer;
    gef integer;
BEGIN
    IF k IS NULL OR k NOT IN ('hnsw', 'ivfflat') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA350', MESSAGE = 'kind must be ''hnsw'' or ''ivfflat''',
            DETAIL = pg_catalog.format('kind = %L', memory_configure_vector_index.kind),
            HINT = 'Pass kind => ''hnsw'' (the default index) or kind => ''ivfflat''.';
    END IF;
    IF k = 'hnsw' AND (memory_configure_vector_index.lists IS NOT NULL OR memory_configure_vector_index.probes IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'lists and probes apply to ivfflat only',
            DETAIL = pg_catalog.format('kind = hnsw, lists = %s, probes = %s',
                                       coalesce(memory_configure_vector_index.lists::text, 'NULL'), coalesce(memory_configure_vector_index.probes::text, 'NULL')),
            HINT = 'Omit lists and probes with kind => ''hnsw'' (its search setting is ef_search).';
    END IF;
    IF k = 'ivfflat' AND memory_configure_vector_index.ef_search IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'ef_search applies to hnsw only',
            DETAIL = pg_catalog.format('kind = ivfflat, ef_search = %s', memory_configure_vector_index.ef_search),
            HINT = 'Omit ef_search with kind => ''ivfflat'' (its search setting is probes).';
    END IF;
    IF memory_configure_vector_index.ef_search NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'ef_search must be between 1 and 1000',
            DETAIL = pg_catalog.format('ef_search = %s', memory_configure_vector_index.ef_search),
            HINT = 'Omit it (NULL) for 100; pgvector''s HNSW scans at most 1000 candidates.';
    END IF;
    IF memory_configure_vector_index.lists NOT BETWEEN 1 AND 32768 OR memory_configure_vector_index.probes NOT BETWEEN 1 AND 32768 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'lists and probes must be between 1 and 32768',
            DETAIL = pg_catalog.format('lists = %s, probes = %s',
                                       coalesce(memory_configure_vector_index.lists::text, 'NULL'), coalesce(memory_configure_vector_index.probes::text, 'NULL')),
            HINT = 'Omit them (NULL) for lists = rows / 1000 (sqrt(rows) beyond 1M rows) and probes = sqrt(lists).';
    END IF;
    IF k = 'ivfflat' AND (memory_configure_vector_index.m IS NOT NULL OR memory_configure_vector_index.ef_construction IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'm and ef_construction apply to hnsw only',
            DETAIL = pg_catalog.format('kind = ivfflat, m = %s, ef_construction = %s',
                                       coalesce(memory_configure_vector_index.m::text, 'NULL'), coalesce(memory_configure_vector_index.ef_construction::text, 'NULL')),
            HINT = 'Omit m and ef_construction with kind => ''ivfflat'' (its build setting is lists).';
    END IF;
    IF memory_configure_vector_index.rebuild IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'rebuild must not be NULL',
            HINT = 'Omit it (true) to build the index now; false records the settings for the next build (unless the kind changes).';
    END IF;
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v FOR UPDATE;
    -- m and ef_construction left out keep the configured ones while the kind stays hnsw: a later
    -- bulk load or re-embedding rebuilds the graph with them (a weaker graph, silently, otherwise)
    IF k = 'hnsw' AND s.kind = 'hnsw' THEN
        gm := coalesce(memory_configure_vector_index.m, s.m);
        gef := coalesce(memory_configure_vector_index.ef_construction, s.ef_construction);
    ELSE
        gm := memory_configure_vector_index.m;
        gef := memory_configure_vector_index.ef_construction;
    END IF;
    IF gm NOT BETWEEN 2 AND 100 OR gef NOT BETWEEN 4 AND 1000 OR coalesce(gef, 64) < 2 * coalesce(gm, 16) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA351', MESSAGE = 'm must be between 2 and 100, ef_construction between 4 and 1000 and at least 2 m',
            DETAIL = pg_catalog.format('m = %s, ef_construction = %s (with the configured ones for those left out)',
                                       coalesce(gm::text, 'NULL (16)'), coalesce(gef::text, 'NULL (64)')),
            HINT = 'Pass both, or m => 16, ef_construction => 64 for pgvector''s defaults.';
    END IF;
    -- halfvec left out (NULL) keeps the storage configured: tuning ef_search or probes on a halfvec
    -- index must not rebuild it as a float one (at a million memories, minutes of build)
    hv := coalesce(memory_configure_vector_index.halfvec, s.halfvec);
    UPDATE animus.memory_vector_index_settings AS v
       SET kind = k, lists = memory_configure_vector_index.lists, probes = memory_configure_vector_index.probes,
           ef_search = memory_configure_vector_index.ef_search, halfvec = hv, m = gm, ef_construction = gef,
           updated_at = pg_catalog.now();
    present := CASE WHEN pg_catalog.to_regclass('animus.memories_embedding_ivfflat') IS NOT NULL THEN 'ivfflat'
                    WHEN pg_catalog.to_regclass('animus.memories_embedding_hnsw') IS NOT NULL THEN 'hnsw' END;
    -- No vector index: a bulk load or re-embedding is in progress, whose finish builds this kind.
    IF present IS NOT NULL AND (present <> k OR coalesce(s.built_halfvec, false) <> hv
                                OR memory_configure_vector_index.rebuild) THEN
        LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
        PERFORM animus.memory_build_vector_index(memory_configure_vector_index.maintenance_work_mem,
                                                 memory_configure_vector_index.parallel_workers);
    END IF;
    SELECT v.* INTO s FROM animus.memory_vector_index_settings AS v;
    RETURN s;
END
$$;
COMMENT ON FUNCTION animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer) IS
    'Chooses the vector index of animus.memories: kind ''hnsw'' (default) or ''ivfflat'' with lists (NULL: rows / 1000, sqrt(rows) beyond 1M) '
    'and probes (NULL: sqrt(lists)), or hnsw with ef_search (NULL: 100; it applies at once, rebuild => false skips the rebuild); halfvec => true indexes the embeddings as halfvec, false as vector, NULL (omitted) keeps the storage configured; m / ef_construction build the HNSW graph (at the next build; omitted, they keep the configured ones while the kind stays hnsw, else pgvector''s 16 / 64). '
    'Rebuilds the index now (a plain CREATE INDEX: writers wait, readers wait until COMMIT) unless rebuild '
    '=> false and the kind and halfvec are unchanged; during a bulk load or re-embedding only records the choice for its finish. Returns '
    'the settings row (animus.memory_vector_index_status() tells whether a rebuild is due). animus_admin only. Raises ZA350 (kind), ZA351 (lists / probes out of 1..32768 or given with hnsw, ef_search out of 1..1000, m / ef_construction out of range or given with ivfflat), '
    'ZA001 (rebuild or a build setting NULL), ZA002 (parallel_workers outside 0..64, invalid maintenance_work_mem).';
REVOKE ALL ON FUNCTION animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_configure_vector_index(text, integer, integer, boolean, text, integer, integer, boolean, integer, integer) TO animus_admin;

COMMIT;
