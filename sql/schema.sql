--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: animus; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA animus;

--
-- Name: SCHEMA animus; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA animus IS 'animus: work queue with structural dedup, semantic memory, telemetry context. Functions are executable only by the animus_* roles.';

--
-- Name: bm25_doc_len(tsvector); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.bm25_doc_len(fts tsvector) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$ SELECT coalesce(sum(coalesce(pg_catalog.cardinality(u.positions), 1)), 0)::integer FROM pg_catalog.unnest(fts) AS u $$;

--
-- Name: FUNCTION bm25_doc_len(fts tsvector); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.bm25_doc_len(fts tsvector) IS 'BM25 document length of a tsvector: the number of lexeme occurrences (stop words are not in it). Raises nothing.';

--
-- Name: bm25_tf_weight(double precision, double precision, double precision, double precision, double precision); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)) $$;

--
-- Name: FUNCTION bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) IS 'Okapi BM25 term-frequency weight tf*(k1+1) / (tf + k1*(1 - b + b*doc_len/avgdl)); a term''s score is idf times this. Raises nothing.';

--
-- Name: delete_memories(bigint[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_memories(ids bigint[] DEFAULT NULL::bigint[]) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
    n bigint;
BEGIN
    IF ids IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'ids must not be NULL', HINT = 'Pass an array of memory ids.';
    END IF;
    DELETE FROM animus.memories AS m WHERE m.id = ANY (delete_memories.ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

--
-- Name: FUNCTION delete_memories(ids bigint[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.delete_memories(ids bigint[]) IS 'Batch form of delete_memory: deletes the memories with these ids, returns how many existed. Raises ZA001.';

--
-- Name: delete_memory(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.delete_memory(id bigint DEFAULT NULL::bigint) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
    IF delete_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    DELETE FROM animus.memories AS m WHERE m.id = delete_memory.id;
    RETURN FOUND;
END
$$;

--
-- Name: FUNCTION delete_memory(id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.delete_memory(id bigint) IS 'Deletes memory id; true if it existed (and was visible), false otherwise. Raises ZA001.';

--
-- Name: memory_content_hash(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_content_hash(content text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sha256(convert_to(content, 'UTF8'::name));

--
-- Name: FUNCTION memory_content_hash(content text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_content_hash(content text) IS 'sha256 of the UTF-8 bytes of content: the key (with namespace) under which store_memory merges a repeated memory. Raises nothing.';

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: memories; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memories (
    id bigint NOT NULL,
    namespace text DEFAULT 'default'::text NOT NULL,
    content text NOT NULL,
    memory_type text NOT NULL,
    source text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    embedding public.vector(1536) NOT NULL,
    fts tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED,
    content_hash bytea GENERATED ALWAYS AS (animus.memory_content_hash(content)) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memories_content_check CHECK ((btrim(content) <> ''::text)),
    CONSTRAINT memories_memory_type_check CHECK ((memory_type <> ''::text)),
    CONSTRAINT memories_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT memories_namespace_check CHECK ((namespace <> ''::text))
)
WITH (toast_tuple_target='8160');
ALTER TABLE ONLY animus.memories ALTER COLUMN embedding SET STORAGE MAIN;

--
-- Name: TABLE memories; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memories IS 'Semantic memories: text, embedding (dimension in animus.memory_settings), metadata; one row per (namespace, content).';

--
-- Name: COLUMN memories.namespace; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.namespace IS 'Whose memory: an agent, a user, a tenant. Filters and (later) row-level security scope by it.';

--
-- Name: COLUMN memories.fts; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.fts IS 'English tsvector of content (stemmed, stop words removed), GIN-indexed: the keyword branch of search.';

--
-- Name: COLUMN memories.content_hash; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON COLUMN animus.memories.content_hash IS 'animus.memory_content_hash(content): with namespace, the dedup key of store_memory.';

--
-- Name: get_memory(bigint); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.get_memory(id bigint DEFAULT NULL::bigint) RETURNS SETOF animus.memories
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF get_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    RETURN QUERY SELECT m.* FROM animus.memories AS m WHERE m.id = get_memory.id;
END
$$;

--
-- Name: FUNCTION get_memory(id bigint); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.get_memory(id bigint) IS 'The memory with this id, as the table row (no row if there is none or it is not visible to the caller). Read-only (STABLE). Raises ZA001.';

--
-- Name: hybrid_search(text, public.vector, integer, jsonb, double precision, double precision, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.hybrid_search(query_text text DEFAULT NULL::text, query_embedding public.vector DEFAULT NULL::public.vector, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb, text_weight double precision DEFAULT 1, vector_weight double precision DEFAULT 1, rrf_k integer DEFAULT 60, candidates integer DEFAULT NULL::integer) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, score double precision, rank bigint, vector_rank bigint, text_rank bigint, vector_distance double precision, text_score double precision)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    f jsonb;
    use_text boolean;
    use_vector boolean;
    n integer;
BEGIN
    PERFORM animus.memory_check_limit(k, 'k');
    IF text_weight IS NULL OR vector_weight IS NULL OR text_weight < 0 OR vector_weight < 0
       OR text_weight = 'Infinity' OR vector_weight = 'Infinity' OR text_weight = 'NaN' OR vector_weight = 'NaN' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'text_weight and vector_weight must be finite numbers >= 0',
            DETAIL = format('text_weight = %s, vector_weight = %s', text_weight, vector_weight),
            HINT = 'Use weights such as 1 and 1; 0 switches a branch off.';
    END IF;
    IF rrf_k IS NULL OR rrf_k < 0 OR rrf_k > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'rrf_k must be between 0 and 10000',
            DETAIL = format('rrf_k = %s', rrf_k), HINT = 'The usual value is 60.';
    END IF;
    -- 3k rows per branch (at least 30, at most 1000): on nfcorpus dev a top-10 fused from 30
    -- candidates per branch scores as 100 do, at a fraction of the work (docs/bm25.md).
    n := coalesce(candidates, least(greatest(3 * k, 30), 1000));
    IF n < k OR n > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'candidates must be between k and 1000',
            DETAIL = format('candidates = %s, k = %s', n, k),
            HINT = 'Omit it for max(3k, 30) (at most 1000), the number of rows each branch contributes to the fusion.';
    END IF;
    use_text := query_text IS NOT NULL AND btrim(query_text) <> '' AND text_weight > 0;
    use_vector := query_embedding IS NOT NULL AND vector_weight > 0;
    IF NOT use_text AND NOT use_vector THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = 'hybrid_search needs query_text or query_embedding (with a weight > 0)',
            HINT = 'Pass the query text, its embedding, or both.';
    END IF;
    IF use_vector THEN
        PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    END IF;
    f := animus.memory_validate_filters(filters);

    RETURN QUERY
    WITH vec AS (
        SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
          FROM animus.memory_vector_candidates(query_embedding, f, n) AS c
         WHERE use_vector
    ), txt AS (
        SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
          FROM animus.memory_text_candidates(query_text, f, n) AS c
         WHERE use_text
    ), fused AS (
        SELECT coalesce(vec.id, txt.id) AS id,
               coalesce(vector_weight / (rrf_k + vec.r), 0) + coalesce(text_weight / (rrf_k + txt.r), 0) AS score,
               vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
          FROM vec FULL JOIN txt ON txt.id = vec.id
    )
    -- The fused rows in their final order, joined to their memories in that order (a nested loop
    -- keeps it), so LIMIT k stops after about k primary-key probes instead of one per candidate.
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           fu.score, row_number() OVER (ORDER BY fu.score DESC, fu.best, fu.id),
           fu.vr, fu.tr, fu.distance, fu.ts
      FROM (SELECT * FROM fused ORDER BY fused.score DESC, fused.best, fused.id) AS fu
      JOIN animus.memories AS m ON m.id = fu.id
     ORDER BY fu.score DESC, fu.best, fu.id
     LIMIT k;
END
$$;

--
-- Name: FUNCTION hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer) IS 'Vector and keyword search fused by Reciprocal Rank Fusion in one statement: each branch contributes its best candidates (default max(3k, 30), at most 1000); score = vector_weight/(rrf_k + vector_rank) + text_weight/(rrf_k + text_rank). A NULL/empty input or a zero weight switches its branch off. Rows carry the fused score and rank and each branch''s rank, distance and score; ties by best branch rank, then id. Read-only (STABLE): runs on a streaming replica. Raises ZA001 (no branch left), ZA002 (k, candidates, weights, rrf_k out of range), ZA200, ZA202, ZA204, ZA205, ZA206.';

--
-- Name: memory_begin_reembedding(text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_begin_reembedding(embedding_model text DEFAULT NULL::text, embedding_dim integer DEFAULT NULL::integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
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
            HINT = 'HNSW indexes vectors of at most 2,000 dimensions.';
    END IF;
    IF settings.state <> 'ready' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA209', MESSAGE = 're-embedding is already in progress',
            DETAIL = pg_catalog.format('target model %s, %s dimensions', settings.embedding_model, settings.embedding_dim),
            HINT = 'Store the missing embeddings and call animus.memory_finish_reembedding().';
    END IF;
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';

    LOCK TABLE animus.memories IN ACCESS EXCLUSIVE MODE;
    DROP INDEX animus.memories_embedding_hnsw;
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

--
-- Name: FUNCTION memory_begin_reembedding(embedding_model text, embedding_dim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) IS 'Starts a change of embedding model: records the model and dimension (NULL keeps the dimension), clears every embedding (re-typing the column to vector(embedding_dim)) and drops the HNSW index; returns how many memories need a new embedding. Raises ZA001, ZA002 (dimension outside 1..2000), ZA209 (already re-embedding).';

--
-- Name: memory_bm25_after_delete(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
    PERFORM animus.memory_bm25_unindex(pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts))
    FROM old_rows o HAVING count(*) > 0;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_delete(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_delete() IS 'Trigger (statement level, AFTER DELETE ON animus.memories): removes the postings and statistics of deleted memories. Raises nothing.';

--
-- Name: memory_bm25_after_insert(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
    PERFORM animus.memory_bm25_index(pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts))
    FROM new_rows n HAVING count(*) > 0;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_insert(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_insert() IS 'Trigger (statement level, AFTER INSERT ON animus.memories): BM25 postings and statistics of the new memories. Raises nothing.';

--
-- Name: memory_bm25_after_truncate(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
    TRUNCATE animus.memory_terms, animus.memory_bm25_deltas, animus.memory_bm25_term_stats, animus.memory_bm25_namespace_stats;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_truncate(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_truncate() IS 'Trigger (AFTER TRUNCATE ON animus.memories): empties the BM25 postings and statistics. Raises nothing.';

--
-- Name: memory_bm25_after_update(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    ids bigint[]; old_ns text[]; old_fts tsvector[]; new_ns text[]; new_fts tsvector[];
BEGIN
    -- Only memories whose words or namespace changed (store_memory's dedup touches neither).
    SELECT pg_catalog.array_agg(o.id), pg_catalog.array_agg(o.namespace), pg_catalog.array_agg(o.fts),
           pg_catalog.array_agg(n.namespace), pg_catalog.array_agg(n.fts)
      INTO ids, old_ns, old_fts, new_ns, new_fts
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE o.fts IS DISTINCT FROM n.fts OR o.namespace IS DISTINCT FROM n.namespace;
    IF ids IS NOT NULL THEN
        PERFORM animus.memory_bm25_unindex(ids, old_ns, old_fts);
        PERFORM animus.memory_bm25_index(ids, new_ns, new_fts);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: FUNCTION memory_bm25_after_update(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_after_update() IS 'Trigger (statement level, AFTER UPDATE ON animus.memories): re-indexes memories whose fts or namespace changed. Raises nothing.';

--
-- Name: memory_bm25_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_settings (
    singleton boolean DEFAULT true NOT NULL,
    k1 double precision DEFAULT 1.2 NOT NULL,
    b double precision DEFAULT 0.75 NOT NULL,
    postings_budget integer DEFAULT 16000 NOT NULL,
    max_postings_budget integer DEFAULT 16000 NOT NULL,
    rescore_extra integer DEFAULT 190 NOT NULL,
    refresh_after integer DEFAULT 20000 NOT NULL,
    refreshed_through bigint DEFAULT 0 NOT NULL,
    CONSTRAINT memory_bm25_settings_b CHECK (((b >= (0)::double precision) AND (b <= (1)::double precision))),
    CONSTRAINT memory_bm25_settings_budget CHECK (((postings_budget >= 1) AND (max_postings_budget >= postings_budget) AND (rescore_extra >= 0))),
    CONSTRAINT memory_bm25_settings_k1 CHECK (((k1 > (0)::double precision) AND (k1 <= (10)::double precision))),
    CONSTRAINT memory_bm25_settings_refresh CHECK ((refresh_after >= 0)),
    CONSTRAINT memory_bm25_settings_singleton_check CHECK (singleton)
);

--
-- Name: TABLE memory_bm25_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_settings IS 'BM25 settings (one row; change with animus.memory_bm25_configure): k1, b; postings_budget = postings of whole lists a query may read (max_postings_budget: up to which it grows, x4 a round, while the result is not proven exact); rescore_extra = candidates beyond lim completed exactly; refresh_after = pending delta rows that make a write fold the statistics; refreshed_through = last delta id folded.';

--
-- Name: memory_bm25_configure(double precision, double precision, integer, integer, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_configure(k1 double precision DEFAULT NULL::double precision, b double precision DEFAULT NULL::double precision, postings_budget integer DEFAULT NULL::integer, max_postings_budget integer DEFAULT NULL::integer, rescore_extra integer DEFAULT NULL::integer, refresh_after integer DEFAULT NULL::integer) RETURNS animus.memory_bm25_settings
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
    cur animus.memory_bm25_settings;
    nxt animus.memory_bm25_settings;
BEGIN
    SELECT * INTO cur FROM animus.memory_bm25_settings FOR UPDATE;
    nxt := cur;
    nxt.k1 := coalesce(k1, cur.k1);
    nxt.b := coalesce(b, cur.b);
    nxt.postings_budget := coalesce(postings_budget, cur.postings_budget);
    nxt.max_postings_budget := greatest(coalesce(max_postings_budget, cur.max_postings_budget), nxt.postings_budget);
    nxt.rescore_extra := coalesce(rescore_extra, cur.rescore_extra);
    nxt.refresh_after := coalesce(refresh_after, cur.refresh_after);
    IF nxt.k1 = 'NaN' OR nxt.k1 <= 0 OR nxt.k1 > 10 OR nxt.b = 'NaN' OR nxt.b < 0 OR nxt.b > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280', MESSAGE = 'k1 must be in (0, 10] and b in [0, 1]',
            DETAIL = pg_catalog.format('k1 = %s, b = %s', nxt.k1, nxt.b),
            HINT = 'Usual values: k1 = 1.2, b = 0.75 (the default) or k1 = 0.9, b = 0.4.';
    END IF;
    IF nxt.postings_budget < 1 OR nxt.rescore_extra < 0 OR nxt.refresh_after < 0 OR nxt.max_postings_budget > 100000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA280',
            MESSAGE = 'postings_budget must be >= 1 (max_postings_budget <= 100000000), rescore_extra and refresh_after >= 0',
            DETAIL = pg_catalog.format('postings_budget = %s, max_postings_budget = %s, rescore_extra = %s, refresh_after = %s',
                                       nxt.postings_budget, nxt.max_postings_budget, nxt.rescore_extra, nxt.refresh_after),
            HINT = 'See docs/bm25.md, "Settings", for what each one trades.';
    END IF;
    UPDATE animus.memory_bm25_settings AS t
       SET k1 = nxt.k1, b = nxt.b, postings_budget = nxt.postings_budget, max_postings_budget = nxt.max_postings_budget,
           rescore_extra = nxt.rescore_extra, refresh_after = nxt.refresh_after
     RETURNING t.* INTO nxt;
    RETURN nxt;
END
$$;

--
-- Name: FUNCTION memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) IS 'Changes BM25 settings (NULL keeps a value) and returns them. Scores use the new k1/b at once; the impact order of existing postings follows after animus.memory_bm25_reindex(). Raises ZA280 (a value out of range).';

--
-- Name: memory_bm25_index(bigint[], text[], tsvector[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    s animus.memory_bm25_settings;
BEGIN
    SELECT * INTO s FROM animus.memory_bm25_settings;
    WITH docs AS (
        SELECT d.id, d.namespace, d.fts, animus.bm25_doc_len(d.fts) AS doc_len
        FROM unnest(ids, namespaces, vectors) AS d(id, namespace, fts)
    ), norm AS (
        -- The average length the impacts are computed with: the namespace's folded statistics,
        -- else (a new namespace) this statement's own memories.
        SELECT d.namespace,
               coalesce(max(ns.total_len::float8 / NULLIF(ns.docs, 0)), NULLIF(avg(d.doc_len), 0), 1)::float8 AS avgdl
        FROM docs d LEFT JOIN animus.memory_bm25_namespace_stats ns ON ns.namespace = d.namespace
        GROUP BY d.namespace
    ), postings AS (
        INSERT INTO animus.memory_terms (memory_id, namespace, term, tf, doc_len, impact)
        SELECT d.id, d.namespace, u.lexeme, coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len,
               animus.bm25_tf_weight(coalesce(pg_catalog.cardinality(u.positions), 1), d.doc_len, n.avgdl, s.k1, s.b)
        FROM docs d JOIN norm n ON n.namespace = d.namespace CROSS JOIN LATERAL pg_catalog.unnest(d.fts) AS u
        RETURNING namespace, term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT p.namespace, p.term, count(*), 0 FROM postings p GROUP BY p.namespace, p.term
    UNION ALL
    SELECT d.namespace, NULL, count(*), sum(d.doc_len) FROM docs d GROUP BY d.namespace;

    IF s.refresh_after > 0
       AND (SELECT q.last_value FROM animus.memory_bm25_deltas_id_seq q) - s.refreshed_through >= s.refresh_after THEN
        PERFORM animus.memory_bm25_refresh(wait => false);
    END IF;
END
$$;

--
-- Name: FUNCTION memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) IS 'Internal (triggers on animus.memories): writes the BM25 postings of the given memories and appends their statistic deltas. Raises nothing.';

--
-- Name: memory_bm25_refresh(boolean); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_refresh(wait boolean DEFAULT true) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    folded   bigint;
    last_id  bigint;
    zero_ns  text[];
    zero_terms text[];
BEGIN
    -- One refresher at a time; writers never wait for it (they only append deltas).
    IF wait THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh'));
    ELSIF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('animus.memory_bm25_refresh')) THEN
        RETURN NULL;
    END IF;

    WITH moved AS (
        DELETE FROM animus.memory_bm25_deltas RETURNING id, namespace, term, df, total_len
    ), terms AS (
        SELECT m.namespace, m.term, sum(m.df) AS df FROM moved m
        WHERE m.term IS NOT NULL GROUP BY m.namespace, m.term HAVING sum(m.df) <> 0
    ), up_terms AS (
        INSERT INTO animus.memory_bm25_term_stats AS s (namespace, term, df)
        SELECT t.namespace, t.term, t.df FROM terms t
        ON CONFLICT (namespace, term) DO UPDATE SET df = s.df + excluded.df
        RETURNING s.namespace, s.term, s.df
    ), spaces AS (
        SELECT m.namespace, sum(m.df) AS docs, sum(m.total_len) AS total_len FROM moved m
        WHERE m.term IS NULL GROUP BY m.namespace
    ), up_spaces AS (
        INSERT INTO animus.memory_bm25_namespace_stats AS s (namespace, docs, total_len)
        SELECT sp.namespace, sp.docs, sp.total_len FROM spaces sp
        ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + excluded.docs, total_len = s.total_len + excluded.total_len
        RETURNING s.namespace, s.docs
    ), zero AS (
        SELECT u.namespace, u.term FROM up_terms u WHERE u.df = 0
        UNION ALL
        SELECT u.namespace, NULL FROM up_spaces u WHERE u.docs = 0
    )
    SELECT (SELECT count(*) FROM moved), (SELECT max(id) FROM moved),
           (SELECT pg_catalog.array_agg(z.namespace) FROM zero z), (SELECT pg_catalog.array_agg(z.term) FROM zero z)
      INTO folded, last_id, zero_ns, zero_terms;

    IF zero_ns IS NOT NULL THEN
        DELETE FROM animus.memory_bm25_term_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NOT NULL AND s.namespace = z.namespace AND s.term = z.term AND s.df = 0;
        DELETE FROM animus.memory_bm25_namespace_stats s
        USING unnest(zero_ns, zero_terms) AS z(namespace, term)
        WHERE z.term IS NULL AND s.namespace = z.namespace AND s.docs = 0;
    END IF;
    IF last_id IS NOT NULL THEN
        UPDATE animus.memory_bm25_settings SET refreshed_through = greatest(refreshed_through, last_id);
    END IF;
    RETURN folded;
END
$$;

--
-- Name: FUNCTION memory_bm25_refresh(wait boolean); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_refresh(wait boolean) IS 'Folds the pending BM25 statistic deltas into the per-namespace statistics; returns the number of delta rows folded, or NULL when wait => false and another refresh holds the lock. Searches are exact either way (they add pending deltas); refreshing only keeps their cost bounded. Writes run it automatically past memory_bm25_settings.refresh_after pending rows. Raises nothing.';

--
-- Name: memory_bm25_reindex(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_reindex(namespace text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
    s animus.memory_bm25_settings;
    n bigint;
BEGIN
    PERFORM animus.memory_bm25_refresh();
    SELECT * INTO s FROM animus.memory_bm25_settings;
    UPDATE animus.memory_terms AS mt
       SET impact = animus.bm25_tf_weight(mt.tf, mt.doc_len, ns.total_len::float8 / ns.docs, s.k1, s.b)
      FROM animus.memory_bm25_namespace_stats AS ns
     WHERE ns.namespace = mt.namespace AND ns.docs > 0 AND ns.total_len > 0
       AND (memory_bm25_reindex.namespace IS NULL OR mt.namespace = memory_bm25_reindex.namespace);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_bm25_reindex(namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_reindex(namespace text) IS 'Refreshes the statistics, then recomputes the impact (retrieval order) of every posting of a namespace (NULL = all) with the current k1, b and average length; returns the postings rewritten. Run it after changing k1/b or after a namespace''s average length has drifted (docs/bm25.md). Rewrites every posting: schedule it off-peak. Raises nothing.';

--
-- Name: memory_bm25_topk(text, jsonb, integer, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_topk(query text, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 10, budget integer DEFAULT NULL::integer) RETURNS TABLE(id bigint, score double precision, exact boolean, postings_read bigint, budget_used integer)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
DECLARE
    s           animus.memory_bm25_settings;
    f           jsonb := coalesce(filters, '{}'::jsonb);
    q_terms     text[];
    q_df        double precision[];
    q_idf       double precision[];
    q_cap       integer[];
    spaces      text[];
    n_spaces    integer;
    n_docs      double precision;
    n_len       double precision;
    avgdl       double precision;
    must_filter boolean;
    b_now       bigint;
    b_max       bigint;
    left_budget double precision;
    cutting     boolean;
    cut_terms   text[];
    i           integer;
    n_terms     integer;
    rescore     integer;
    r_ids       bigint[];
    r_scores    double precision[];
    r_read      bigint;
    r_cands     bigint;
    r_bound     double precision;
    r_next_lb   double precision;
    r_prefix_lb double precision;
    proven      boolean;
BEGIN
    IF lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO s FROM animus.memory_bm25_settings;

    -- Namespaces searched: statistics are per namespace, summed over the ones the filter selects.
    IF f -> 'namespace' ? 'in' THEN
        spaces := animus.memory_filter_list(f -> 'namespace');
    ELSE
        spaces := ARRAY(SELECT x.namespace FROM (
                            SELECT ns.namespace FROM animus.memory_bm25_namespace_stats ns
                            UNION SELECT d.namespace FROM animus.memory_bm25_deltas d WHERE d.term IS NULL) x
                        WHERE f -> 'namespace' IS NULL OR pg_catalog.starts_with(x.namespace, f -> 'namespace' ->> 'prefix')
                        ORDER BY 1);
    END IF;
    must_filter := f - 'namespace' <> '{}'::jsonb;
    n_spaces := greatest(coalesce(pg_catalog.cardinality(spaces), 0), 1);

    SELECT sum(x.docs), sum(x.total_len) INTO n_docs, n_len FROM (
        SELECT ns.docs, ns.total_len FROM animus.memory_bm25_namespace_stats ns WHERE ns.namespace = ANY (spaces)
        UNION ALL
        SELECT d.df, d.total_len FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term IS NULL
    ) x;
    IF coalesce(n_docs, 0) <= 0 THEN
        RETURN;
    END IF;
    avgdl := CASE WHEN n_len > 0 THEN n_len / n_docs ELSE 1 END;

    -- Query terms (distinct English lexemes) with their document frequency, rarest first;
    -- terms no memory has are dropped. idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (Lucene's).
    SELECT pg_catalog.array_agg(t.term ORDER BY t.df, t.term), pg_catalog.array_agg(t.df ORDER BY t.df, t.term)
      INTO q_terms, q_df
      FROM (SELECT u.lexeme AS term,
                   (SELECT coalesce(sum(x.df), 0) FROM (
                        SELECT ts.df FROM animus.memory_bm25_term_stats ts WHERE ts.namespace = ANY (spaces) AND ts.term = u.lexeme
                        UNION ALL
                        SELECT d.df FROM animus.memory_bm25_deltas d WHERE d.namespace = ANY (spaces) AND d.term = u.lexeme) x
                   )::double precision AS df
              FROM pg_catalog.unnest(pg_catalog.to_tsvector('english'::regconfig, query)) AS u) t
     WHERE t.df > 0;
    n_terms := coalesce(pg_catalog.cardinality(q_terms), 0);
    IF n_terms = 0 THEN
        RETURN;
    END IF;
    q_idf := ARRAY(SELECT pg_catalog.ln(1 + (n_docs - x.df + 0.5) / (x.df + 0.5))
                   FROM unnest(q_df) WITH ORDINALITY AS x(df, o) ORDER BY x.o);

    b_now := coalesce(budget, s.postings_budget);
    b_max := CASE WHEN budget IS NOT NULL THEN budget ELSE greatest(s.max_postings_budget, s.postings_budget) END;
    LOOP
        -- Per-term caps, rarest term first: a list that fits in what is left of the budget is read
        -- whole (cap NULL); from the first that does not on, lists are cut to their lim best
        -- postings (they seed candidates; their contributions are completed by the rescoring).
        q_cap := ARRAY[]::integer[];
        cut_terms := ARRAY[]::text[];
        left_budget := b_now;
        cutting := false;
        FOR i IN 1 .. n_terms LOOP
            cutting := cutting OR q_df[i] > left_budget;
            IF cutting THEN
                q_cap := q_cap || lim;
                cut_terms := cut_terms || q_terms[i];
            ELSE
                q_cap := q_cap || NULL::integer;
                left_budget := left_budget - q_df[i];
            END IF;
        END LOOP;

        -- Nothing cut: the whole-list scores are exact already, only lim need ranking.
        rescore := CASE WHEN cutting THEN lim + s.rescore_extra ELSE lim END;
        WITH q AS (
            SELECT x.o, x.term, x.idf, x.cap FROM unnest(q_terms, q_idf, q_cap) WITH ORDINALITY AS x(term, idf, cap, o)
        ), whole AS (
            -- lists read to their end: exact contributions
            SELECT mt.memory_id, q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b) AS part
              FROM animus.memory_terms mt JOIN q ON q.term = mt.term AND q.cap IS NULL
             WHERE mt.namespace = ANY (spaces) AND mt.term = ANY (ARRAY(SELECT q.term FROM q WHERE q.cap IS NULL))
        ), cut AS MATERIALIZED (
            -- the best postings (by impact) of the lists that are cut
            SELECT q.o, ns.namespace, p.memory_id, p.impact,
                   q.idf * animus.bm25_tf_weight(p.tf, p.doc_len, avgdl, s.k1, s.b) AS part
              FROM q CROSS JOIN pg_catalog.unnest(spaces) AS ns(namespace)
             CROSS JOIN LATERAL (
                   SELECT mt.memory_id, mt.tf, mt.doc_len, mt.impact FROM animus.memory_terms mt
                    WHERE mt.namespace = ns.namespace AND mt.term = q.term
                    ORDER BY mt.impact DESC, mt.memory_id LIMIT (q.cap + n_spaces - 1) / n_spaces) p
             WHERE q.cap IS NOT NULL
        ), bounds AS (
            -- what a memory not read in a cut list can still get from that term
            SELECT l.o, max(q.idf * l.last_impact) AS ub
              FROM (SELECT c.o, c.namespace, count(*) AS n, min(c.impact) AS last_impact
                      FROM cut c GROUP BY c.o, c.namespace) l
              JOIN q ON q.o = l.o
             WHERE l.n >= (q.cap + n_spaces - 1) / n_spaces
             GROUP BY l.o
        ), cand AS (
            SELECT u.memory_id, sum(u.part) AS lb, sum(u.full_part) AS lb_full
              FROM (SELECT w.memory_id, w.part, w.part AS full_part FROM whole w
                    UNION ALL
                    SELECT c.memory_id, c.part, 0 FROM cut c) u
             GROUP BY u.memory_id
        ), ranked AS MATERIALIZED (
            -- the best candidates by partial score; a filter (beyond namespace) is checked on
            -- these only, best first, not on every candidate
            SELECT c.memory_id, c.lb, c.lb_full FROM cand c
             ORDER BY c.lb DESC, c.memory_id
             LIMIT CASE WHEN must_filter THEN 3 * (rescore + 1) + 1 ELSE rescore + 1 END
        ), top AS MATERIALIZED (
            SELECT c.memory_id, c.lb, c.lb_full FROM ranked c
             WHERE NOT must_filter OR EXISTS (
                   SELECT 1 FROM animus.memories m WHERE m.id = c.memory_id
                      AND animus.memory_filter_match(f, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             ORDER BY c.lb DESC, c.memory_id
             LIMIT rescore + 1
        ), completed AS (
            -- exact scores of the best `rescore` candidates: add their postings of the cut terms
            -- (index-only probes on (memory_id, term))
            SELECT t.memory_id, t.lb_full + coalesce(x.extra, 0) AS score
              FROM (SELECT * FROM top ORDER BY top.lb DESC, top.memory_id LIMIT rescore) t
              LEFT JOIN LATERAL (
                   SELECT sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, avgdl, s.k1, s.b)) AS extra
                     FROM animus.memory_terms mt JOIN q ON q.term = mt.term
                    WHERE mt.memory_id = t.memory_id AND mt.term = ANY (cut_terms)) x ON cutting
        ), best AS (
            SELECT c.memory_id, c.score FROM completed c ORDER BY c.score DESC, c.memory_id LIMIT lim
        )
        SELECT (SELECT pg_catalog.array_agg(b.memory_id ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT pg_catalog.array_agg(b.score ORDER BY b.score DESC, b.memory_id) FROM best b),
               (SELECT count(*) FROM top),
               (SELECT coalesce(sum(bo.ub), 0) FROM bounds bo),
               (SELECT t.lb FROM top t ORDER BY t.lb DESC, t.memory_id LIMIT 1 OFFSET rescore),
               -- filtered: candidates past the checked prefix were not looked at
               (SELECT min(r.lb) FILTER (WHERE must_filter) FROM ranked r HAVING count(*) > 3 * (rescore + 1))
          INTO r_ids, r_scores, r_cands, r_bound, r_next_lb, r_prefix_lb;
        r_next_lb := CASE WHEN r_prefix_lb IS NULL THEN r_next_lb ELSE greatest(r_next_lb, r_prefix_lb) END;
        r_read := (SELECT sum(CASE WHEN c IS NULL THEN d ELSE least(c, d) END)::bigint FROM unnest(q_cap, q_df) AS x(c, d));

        -- Exact when nothing left out can reach the k-th score: a memory in no list scores at most
        -- r_bound; a candidate not rescored at most its partial score (<= r_next_lb) + r_bound.
        proven := r_bound = 0 AND r_next_lb IS NULL
               OR (coalesce(pg_catalog.cardinality(r_ids), 0) >= lim
                   AND r_scores[lim] >= coalesce(r_next_lb, 0) + r_bound);
        EXIT WHEN proven OR b_now >= b_max;
        b_now := least(b_now * 4, b_max);
    END LOOP;

    -- A selective filter can leave fewer than lim of the candidates: then score every memory
    -- that passes the filter and matches a query term (few, since the filter is selective).
    IF must_filter AND coalesce(pg_catalog.cardinality(r_ids), 0) < lim AND NOT proven THEN
        RETURN QUERY EXECUTE
            'SELECT x.memory_id, x.score, true, x.n, $9::integer FROM (
                 SELECT mt.memory_id, sum(q.idf * animus.bm25_tf_weight(mt.tf, mt.doc_len, $4, $5, $6)) AS score,
                        count(*) OVER () AS n
                   FROM animus.memories AS m
                   JOIN animus.memory_terms AS mt ON mt.memory_id = m.id AND mt.term = ANY ($1)
                   JOIN unnest($1, $2) AS q(term, idf) ON q.term = mt.term
                  WHERE m.fts @@ $7
                    AND animus.memory_filter_match($3, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  GROUP BY mt.memory_id) AS x
              ORDER BY x.score DESC, x.memory_id
              LIMIT $8'
            USING q_terms, q_idf, f, avgdl, s.k1, s.b, animus.memory_or_tsquery(query), lim, b_now;
        RETURN;
    END IF;

    RETURN QUERY SELECT r.id, r.score, proven, r_read, b_now::integer FROM unnest(r_ids, r_scores) AS r(id, score);
END
$_$;

--
-- Name: FUNCTION memory_bm25_topk(query text, filters jsonb, lim integer, budget integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) IS 'Okapi BM25 top-lim memories for a natural-language query (English lexemes, filters normalised by memory_validate_filters): (id, score, exact, postings_read, budget_used), score descending, ties by id. exact = the result is proven equal to exhaustive BM25; budget overrides memory_bm25_settings.postings_budget (a huge budget = exhaustive). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_bm25_unindex(bigint[], text[], tsvector[]); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
    WITH gone AS (
        DELETE FROM animus.memory_terms t WHERE t.memory_id = ANY (ids) RETURNING t.namespace, t.term
    )
    INSERT INTO animus.memory_bm25_deltas (namespace, term, df, total_len)
    SELECT g.namespace, g.term, -count(*), 0 FROM gone g GROUP BY g.namespace, g.term
    UNION ALL
    SELECT d.namespace, NULL, -count(*), -sum(animus.bm25_doc_len(d.fts))
    FROM unnest(namespaces, vectors) AS d(namespace, fts) GROUP BY d.namespace
$$;

--
-- Name: FUNCTION memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) IS 'Internal (triggers on animus.memories): deletes the BM25 postings of the given memories and appends negative statistic deltas. Raises nothing.';

--
-- Name: memory_check_embedding(public.vector, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_embedding(embedding public.vector, argument text DEFAULT 'embedding'::text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    expected integer;
BEGIN
    IF embedding IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001',
            MESSAGE = format('%s must not be NULL', argument),
            HINT = 'Pass the embedding of the text as a vector, e.g. ''[0.1, 0.2, ...]''::vector.';
    END IF;
    SELECT s.embedding_dim INTO expected FROM animus.memory_settings AS s;
    IF vector_dims(embedding) <> expected THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA200',
            MESSAGE = format('%s has %s dimensions; animus.memories stores %s', argument, vector_dims(embedding), expected),
            DETAIL = format('embedding model: %s', (SELECT s.embedding_model FROM animus.memory_settings AS s)),
            HINT = 'Embed with the model recorded in animus.memory_settings, or change it with animus.memory_begin_reembedding().';
    END IF;
    IF vector_norm(embedding) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA202',
            MESSAGE = format('%s is the zero vector, which has no cosine direction', argument),
            HINT = 'Pass a non-zero embedding.';
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_embedding(embedding public.vector, argument text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) IS 'Raises unless embedding is a non-NULL, non-zero vector of the dimension in animus.memory_settings. Raises ZA001 (NULL), ZA200 (dimension), ZA202 (zero vector).';

--
-- Name: memory_check_fields(text, text, text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'content must not be NULL',
            HINT = 'Pass the text of the memory.';
    END IF;
    IF pg_catalog.btrim(content) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA203', MESSAGE = 'content must not be empty',
            DETAIL = pg_catalog.format('content = %L', pg_catalog.left(content, 40)),
            HINT = 'Store non-empty text.';
    END IF;
    IF memory_type IS NULL OR memory_type = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'memory_type must be a non-empty string',
            HINT = 'Pass a type such as ''fact'', ''episode'' or ''preference''.';
    END IF;
    IF namespace IS NULL OR namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default'', or pass the agent, user or tenant the memory belongs to.';
    END IF;
    IF metadata IS NOT NULL AND pg_catalog.jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'metadata must be a JSON object',
            DETAIL = pg_catalog.format('metadata = %s', pg_catalog.left(metadata::text, 200)),
            HINT = 'Pass an object such as {"topic": "billing"}, or omit it.';
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_fields(content text, memory_type text, namespace text, metadata jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) IS 'Raises unless content, memory_type and namespace are non-empty and metadata is an object (or NULL). Raises ZA001, ZA203, ZA003.';

--
-- Name: memory_check_limit(integer, text, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer DEFAULT 1000) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = pg_catalog.format('%s must not be NULL', argument),
            HINT = pg_catalog.format('Pass %s between 1 and %s, or omit it for the default.', argument, maximum);
    END IF;
    IF value < 1 OR value > maximum THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002',
            MESSAGE = pg_catalog.format('%s must be between 1 and %s', argument, maximum),
            DETAIL = pg_catalog.format('%s = %s', argument, value),
            HINT = pg_catalog.format('Pass %s between 1 and %s.', argument, maximum);
    END IF;
END
$$;

--
-- Name: FUNCTION memory_check_limit(value integer, argument text, maximum integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) IS 'Raises unless 1 <= value <= maximum. Raises ZA001 (NULL), ZA002 (out of range).';

--
-- Name: memory_filter_list(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_filter_list(text_filter jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT jsonb_array_elements_text((text_filter -> 'in'::text)) AS jsonb_array_elements_text);

--
-- Name: FUNCTION memory_filter_list(text_filter jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_filter_list(text_filter jsonb) IS 'Internal: the "in" list of a normalised text filter as text[] (NULL-safe: empty for other forms). Raises nothing.';

--
-- Name: memory_filter_match(jsonb, text, text, text, jsonb, timestamp with time zone); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((((filters -> 'namespace'::text) IS NULL) OR CASE WHEN ((filters -> 'namespace'::text) ? 'in'::text) THEN (namespace = ANY (animus.memory_filter_list((filters -> 'namespace'::text)))) ELSE starts_with(namespace, ((filters -> 'namespace'::text) ->> 'prefix'::text)) END) AND (((filters -> 'memory_type'::text) IS NULL) OR CASE WHEN ((filters -> 'memory_type'::text) ? 'in'::text) THEN (memory_type = ANY (animus.memory_filter_list((filters -> 'memory_type'::text)))) ELSE starts_with(memory_type, ((filters -> 'memory_type'::text) ->> 'prefix'::text)) END) AND (((filters -> 'source'::text) IS NULL) OR CASE WHEN ((filters -> 'source'::text) ? 'in'::text) THEN (source = ANY (animus.memory_filter_list((filters -> 'source'::text)))) ELSE starts_with(source, ((filters -> 'source'::text) ->> 'prefix'::text)) END) AND (((filters -> 'metadata'::text) IS NULL) OR (metadata @> (filters -> 'metadata'::text))) AND (((filters #> '{created_at,gt}'::text[]) IS NULL) OR (created_at > ((filters #>> '{created_at,gt}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,gte}'::text[]) IS NULL) OR (created_at >= ((filters #>> '{created_at,gte}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,lt}'::text[]) IS NULL) OR (created_at < ((filters #>> '{created_at,lt}'::text[]))::timestamp with time zone)) AND (((filters #> '{created_at,lte}'::text[]) IS NULL) OR (created_at <= ((filters #>> '{created_at,lte}'::text[]))::timestamp with time zone)));

--
-- Name: FUNCTION memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) IS 'True when a memory (its namespace, memory_type, source, metadata, created_at) passes a filter normalised by animus.memory_validate_filters. Inlinable SQL: call it in WHERE with a constant or parameter filter. Raises nothing.';

--
-- Name: memory_finish_reembedding(); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_finish_reembedding() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
    settings animus.memory_settings%ROWTYPE;
    vector_schema name;
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
    SELECT e.extnamespace::pg_catalog.regnamespace::name INTO vector_schema
      FROM pg_catalog.pg_extension AS e WHERE e.extname = 'vector';
    ALTER TABLE animus.memories ALTER COLUMN embedding SET NOT NULL;
    EXECUTE pg_catalog.format(
        'CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding %I.vector_cosine_ops)', vector_schema);
    UPDATE animus.memory_settings SET state = 'ready', updated_at = pg_catalog.now();
    RETURN n;
END
$$;

--
-- Name: FUNCTION memory_finish_reembedding(); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_finish_reembedding() IS 'Ends a change of embedding model once every memory has a new embedding: embedding NOT NULL again, HNSW index rebuilt (raise maintenance_work_mem first for large tables); returns the number of memories. Raises ZA209 (no re-embedding in progress), ZA210 (memories still lack an embedding).';

--
-- Name: memory_normalize_text_filter(text, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
DECLARE
    op text;
    operand jsonb;
BEGIN
    CASE pg_catalog.jsonb_typeof(value)
    WHEN 'string' THEN
        RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(value));
    WHEN 'array' THEN
        op := 'in';
        operand := value;
    WHEN 'object' THEN
        IF (SELECT count(*) FROM pg_catalog.jsonb_object_keys(value)) <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must name exactly one operator', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = 'Use one of {"eq": "x"}, {"in": ["x", "y"]}, {"prefix": "x"}.';
        END IF;
        SELECT k, v INTO op, operand FROM pg_catalog.jsonb_each(value) AS e(k, v);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = pg_catalog.format('filters.%s must be a string, an array of strings or an operator object', field),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = pg_catalog.format('Example: {"%s": "x"} or {"%s": ["x", "y"]} or {"%s": {"prefix": "x"}}.', field, field, field);
    END CASE;

    CASE op
    WHEN 'eq', 'prefix' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s.%s must be a string', field, op),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": {"%s": "x"}}.', field, op);
        END IF;
        IF op = 'eq' THEN
            RETURN pg_catalog.jsonb_build_object('in', pg_catalog.jsonb_build_array(operand));
        END IF;
        RETURN pg_catalog.jsonb_build_object('prefix', operand);
    WHEN 'in' THEN
        IF pg_catalog.jsonb_typeof(operand) IS DISTINCT FROM 'array'
           OR pg_catalog.jsonb_array_length(operand) = 0
           OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(operand) AS e(x)
                       WHERE pg_catalog.jsonb_typeof(e.x) <> 'string') THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA204',
                MESSAGE = pg_catalog.format('filters.%s must list one or more strings', field),
                DETAIL = pg_catalog.format('filters.%s = %s', field, value),
                HINT = pg_catalog.format('Example: {"%s": ["x", "y"]}.', field);
        END IF;
        RETURN pg_catalog.jsonb_build_object('in', operand);
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'ZA206',
            MESSAGE = pg_catalog.format('filters.%s uses the unknown operator "%s"', field, op),
            DETAIL = pg_catalog.format('filters.%s = %s', field, value),
            HINT = 'Text filters know the operators eq, in and prefix.';
    END CASE;
END
$$;

--
-- Name: FUNCTION memory_normalize_text_filter(field text, value jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) IS 'Internal to memory_validate_filters: normalises one text filter to {"in": [...]} or {"prefix": "..."}. Raises ZA204, ZA206.';

--
-- Name: memory_or_tsquery(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_or_tsquery(query text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT (string_agg(((''''::text || replace(replace(lexeme.lexeme, '\'::text, '\\'::text), ''''::text, ''''''::text)) || ''''::text), ' | '::text ORDER BY lexeme.lexeme))::tsquery AS string_agg FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, memory_or_tsquery.query))) lexeme(lexeme));

--
-- Name: FUNCTION memory_or_tsquery(query text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_or_tsquery(query text) IS 'The English lexemes of query ORed into a tsquery (NULL if there are none). Raises nothing.';

--
-- Name: memory_parses_as_vector(text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_parses_as_vector(value text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    PERFORM value::vector;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;

--
-- Name: FUNCTION memory_parses_as_vector(value text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_parses_as_vector(value text) IS 'True if value is valid pgvector text ([finite numbers]); false otherwise. Raises nothing.';

--
-- Name: memory_text_candidates(text, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_text_candidates(query text, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 100) RETURNS TABLE(id bigint, score double precision)
    LANGUAGE plpgsql STABLE ROWS 100
    SET search_path TO ''
    AS $$
BEGIN
    RETURN QUERY SELECT t.id, t.score FROM animus.memory_bm25_topk(query, filters, lim) AS t;
END
$$;

--
-- Name: FUNCTION memory_text_candidates(query text, filters jsonb, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) IS 'Internal keyword branch of search_memory_text and hybrid_search: up to lim (id, score), score descending, ties by id; filters must be normalised by memory_validate_filters. Ranks with Okapi BM25 over the query''s English lexemes (animus.memory_bm25_topk, docs/bm25.md). Read-only (STABLE). Raises nothing.';

--
-- Name: memory_validate_filters(jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_validate_filters(filters jsonb DEFAULT '{}'::jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
DECLARE
    normalised jsonb := '{}';
    key text;
    value jsonb;
    op text;
    operand jsonb;
    bounds jsonb;
    bound timestamptz;
BEGIN
    IF filters IS NULL OR filters = 'null'::jsonb THEN
        RETURN normalised;
    END IF;
    IF pg_catalog.jsonb_typeof(filters) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA204',
            MESSAGE = 'filters must be a JSON object',
            DETAIL = pg_catalog.format('filters = %s', pg_catalog.left(filters::text, 200)),
            HINT = 'Pass an object such as {"namespace": "agent-1", "memory_type": ["fact", "episode"]}.';
    END IF;
    FOR key, value IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(filters) AS e LOOP
        CASE key
        WHEN 'namespace', 'memory_type', 'source' THEN
            normalised := normalised || pg_catalog.jsonb_build_object(key, animus.memory_normalize_text_filter(key, value));
        WHEN 'metadata' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.metadata must be a JSON object (matched by containment)',
                    DETAIL = pg_catalog.format('filters.metadata = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"metadata": {"topic": "billing"}} keeps memories whose metadata contains that pair.';
            END IF;
            normalised := normalised || pg_catalog.jsonb_build_object(key, value);
        WHEN 'created_at' THEN
            IF pg_catalog.jsonb_typeof(value) <> 'object' OR value = '{}'::jsonb THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA204',
                    MESSAGE = 'filters.created_at must be an object of bounds',
                    DETAIL = pg_catalog.format('filters.created_at = %s', pg_catalog.left(value::text, 200)),
                    HINT = 'Example: {"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": "2026-02-01T00:00:00Z"}}.';
            END IF;
            bounds := '{}';
            FOR op, operand IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(value) AS e LOOP
                IF op NOT IN ('gt', 'gte', 'lt', 'lte') THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA206',
                        MESSAGE = pg_catalog.format('filters.created_at uses the unknown operator "%s"', op),
                        DETAIL = pg_catalog.format('filters.created_at = %s', value),
                        HINT = 'created_at knows the operators gt, gte, lt and lte.';
                END IF;
                BEGIN
                    IF pg_catalog.jsonb_typeof(operand) <> 'string' THEN
                        RAISE EXCEPTION USING ERRCODE = 'ZA204';
                    END IF;
                    bound := (operand #>> '{}')::timestamptz;
                EXCEPTION WHEN SQLSTATE 'ZA204' OR data_exception THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA204',
                        MESSAGE = pg_catalog.format('filters.created_at.%s must be a timestamp string', op),
                        DETAIL = pg_catalog.format('filters.created_at.%s = %s', op, operand),
                        HINT = 'Use ISO 8601 with a time zone, e.g. "2026-01-01T00:00:00Z".';
                END;
                bounds := bounds || pg_catalog.jsonb_build_object(op, bound);
            END LOOP;
            normalised := normalised || pg_catalog.jsonb_build_object(key, bounds);
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'ZA205',
                MESSAGE = pg_catalog.format('filters has the unknown key "%s"', key),
                DETAIL = pg_catalog.format('keys given: %s', (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(filters) AS k)),
                HINT = 'Filter keys are namespace, memory_type, source, metadata and created_at.';
        END CASE;
    END LOOP;
    RETURN normalised;
END
$$;

--
-- Name: FUNCTION memory_validate_filters(filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_validate_filters(filters jsonb) IS 'Checks a search filter and returns it normalised for animus.memory_filter_match (NULL or {} = no filter). Raises ZA204 (wrong shape), ZA205 (unknown key), ZA206 (unknown operator).';

--
-- Name: memory_vector_candidates(public.vector, jsonb, integer); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb DEFAULT '{}'::jsonb, lim integer DEFAULT 100) RETURNS TABLE(id bigint, distance double precision)
    LANGUAGE plpgsql STABLE ROWS 100
    SET search_path TO 'pg_catalog', 'public'
    SET "hnsw.iterative_scan" TO 'relaxed_order'
    SET "hnsw.ef_search" TO '100'
    SET "hnsw.max_scan_tuples" TO '20000'
    AS $_$
DECLARE
    exact_below constant integer := 2000;
    exact_table_below constant real := 5000;
    f jsonb := coalesce(filters, '{}');
    matching integer;
    table_rows real;
    ids bigint[];
    distances double precision[];
BEGIN
    IF query_embedding IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    SELECT c.reltuples INTO table_rows FROM pg_class AS c WHERE c.oid = 'animus.memories'::regclass;
    IF table_rows >= 0 AND table_rows < exact_table_below THEN   -- -1: never analysed, size unknown
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    IF f <> '{}' THEN
        EXECUTE
            'SELECT count(*)::integer FROM (
                 SELECT 1 FROM animus.memories AS m
                  WHERE animus.memory_filter_match($1, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  LIMIT $2) AS s'
            INTO matching USING f, greatest(exact_below, lim);
        IF matching < greatest(exact_below, lim) THEN
            RETURN QUERY EXECUTE
                'WITH hits AS MATERIALIZED (
                     SELECT m.id, m.embedding FROM animus.memories AS m
                      WHERE m.embedding IS NOT NULL
                        AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
                 SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
                USING query_embedding, f, lim;
            RETURN;
        END IF;
    END IF;

    PERFORM set_config('hnsw.ef_search', greatest(100, lim)::text, true);
    EXECUTE
        'SELECT array_agg(c.id ORDER BY c.distance, c.id), array_agg(c.distance ORDER BY c.distance, c.id)
           FROM (SELECT m.id, m.embedding <=> $1 AS distance
                   FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
                  ORDER BY m.embedding <=> $1
                  LIMIT $3) AS c'
        INTO ids, distances USING query_embedding, f, lim;
    IF coalesce(cardinality(ids), 0) < lim THEN
        RETURN QUERY EXECUTE
            'WITH hits AS MATERIALIZED (
                 SELECT m.id, m.embedding FROM animus.memories AS m
                  WHERE m.embedding IS NOT NULL
                    AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at))
             SELECT h.id, h.embedding <=> $1 AS distance FROM hits AS h ORDER BY distance, h.id LIMIT $3'
            USING query_embedding, f, lim;
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.distance FROM unnest(ids, distances) AS u(id, distance);
END
$_$;

--
-- Name: FUNCTION memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) IS 'Internal vector branch of search_memory_vector and hybrid_search: up to lim (id, cosine distance), nearest first, ties by id; lim rows whenever lim rows match. filters must be normalised by memory_validate_filters. HNSW with iterative scan; exact search for tables under 5,000 rows and filters under 2,000 rows. Read-only (STABLE). Raises nothing.';

--
-- Name: search_memory_text(text, integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.search_memory_text(query text DEFAULT NULL::text, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, score double precision, rank bigint)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
DECLARE
    f jsonb;
BEGIN
    IF query IS NULL OR pg_catalog.btrim(query) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'query must be non-empty text',
            HINT = 'Pass the words to search for, e.g. a question in natural language.';
    END IF;
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_validate_filters(filters);
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.score, pg_catalog.row_number() OVER (ORDER BY c.score DESC, c.id)
      FROM animus.memory_text_candidates(query, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.score DESC, c.id;
END
$$;

--
-- Name: FUNCTION search_memory_text(query text, k integer, filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) IS 'The k memories that best match a natural-language query (English stemming; documents matching ANY query term are ranked), filtered (docs/memory.md), best first, ties by id. Read-only (STABLE): runs on a streaming replica. Raises ZA001 (empty query), ZA002 (k outside 1..1000), ZA204, ZA205, ZA206.';

--
-- Name: search_memory_vector(public.vector, integer, jsonb); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.search_memory_vector(query_embedding public.vector DEFAULT NULL::public.vector, k integer DEFAULT 10, filters jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(id bigint, namespace text, content text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone, updated_at timestamp with time zone, distance double precision, similarity double precision, rank bigint)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    f jsonb;
BEGIN
    PERFORM animus.memory_check_embedding(query_embedding, 'query_embedding');
    PERFORM animus.memory_check_limit(k, 'k');
    f := animus.memory_validate_filters(filters);
    RETURN QUERY
    SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
           c.distance, 1 - c.distance, row_number() OVER (ORDER BY c.distance, c.id)
      FROM animus.memory_vector_candidates(query_embedding, f, k) AS c
      JOIN animus.memories AS m ON m.id = c.id
     ORDER BY c.distance, c.id;
END
$$;

--
-- Name: FUNCTION search_memory_vector(query_embedding public.vector, k integer, filters jsonb); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) IS 'The k memories nearest to query_embedding by cosine distance (HNSW, iterative scan), filtered (docs/memory.md), nearest first, ties by id; k rows whenever k rows match. Read-only (STABLE): runs on a streaming replica. Raises ZA001, ZA002 (k outside 1..1000), ZA200, ZA202, ZA204, ZA205, ZA206.';

--
-- Name: store_memories(jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.store_memories(memories jsonb DEFAULT NULL::jsonb, namespace text DEFAULT 'default'::text) RETURNS TABLE(ordinal integer, id bigint, created boolean)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
DECLARE
    bad record;
    err_message text;
    dim integer;
BEGIN
    IF memories IS NULL OR jsonb_typeof(memories) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA208',
            MESSAGE = 'memories must be a JSON array of memory objects',
            DETAIL = format('memories is %s', coalesce(jsonb_typeof(memories), 'NULL')),
            HINT = 'Pass [{"content": "...", "embedding": [...], "memory_type": "..."}, ...].';
    END IF;
    IF store_memories.namespace IS NULL OR store_memories.namespace = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'namespace must be a non-empty string',
            HINT = 'Omit it for ''default''; an element''s own "namespace" overrides it.';
    END IF;

    -- Shape of every element: one boolean expression per element (no number is parsed for string
    -- embeddings); only when it fails, the query below names the first bad element and why.
    IF NOT (SELECT coalesce(bool_and(coalesce(
                jsonb_typeof(a.e) = 'object'
                AND (a.e - ARRAY['content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace']) = '{}'::jsonb
                AND jsonb_typeof(a.e -> 'content') = 'string' AND btrim(a.e ->> 'content') <> ''
                AND jsonb_typeof(a.e -> 'memory_type') = 'string' AND a.e ->> 'memory_type' <> ''
                AND coalesce(jsonb_typeof(a.e -> 'source'), 'null') IN ('string', 'null')
                AND coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') = 'object'
                AND (NOT a.e ? 'namespace' OR (jsonb_typeof(a.e -> 'namespace') = 'string' AND a.e ->> 'namespace' <> ''))
                AND (jsonb_typeof(a.e -> 'embedding') = 'string'
                     OR (jsonb_typeof(a.e -> 'embedding') = 'array'
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')
                         AND NOT jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))),
                false)), true)
              FROM jsonb_array_elements(memories) AS a(e)) THEN
        SELECT a.ord, p.code, p.problem INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         CROSS JOIN LATERAL (
            SELECT c.code, c.problem FROM (VALUES
                (1, 'ZA208', 'is not a JSON object', jsonb_typeof(a.e) <> 'object'),
                (2, 'ZA208', 'has an unknown key (known: content, embedding, memory_type, source, metadata, namespace)',
                    jsonb_typeof(a.e) = 'object' AND EXISTS (
                        SELECT 1 FROM jsonb_object_keys(a.e) AS k
                         WHERE k NOT IN ('content', 'embedding', 'memory_type', 'source', 'metadata', 'namespace'))),
                (3, 'ZA208', 'needs "content" as a string', jsonb_typeof(a.e -> 'content') IS DISTINCT FROM 'string'),
                (4, 'ZA203', 'has empty content', btrim(a.e ->> 'content') = ''),
                (5, 'ZA208', 'needs "memory_type" as a non-empty string',
                    jsonb_typeof(a.e -> 'memory_type') IS DISTINCT FROM 'string' OR a.e ->> 'memory_type' = ''),
                (6, 'ZA208', 'has a "source" that is not a string',
                    coalesce(jsonb_typeof(a.e -> 'source'), 'null') NOT IN ('string', 'null')),
                (7, 'ZA208', 'has "metadata" that is not an object',
                    coalesce(jsonb_typeof(a.e -> 'metadata'), 'object') <> 'object'),
                (8, 'ZA208', 'has a "namespace" that is not a non-empty string',
                    a.e ? 'namespace' AND (jsonb_typeof(a.e -> 'namespace') <> 'string' OR a.e ->> 'namespace' = '')),
                (9, 'ZA208', 'needs "embedding" as an array of numbers or a string "[0.1,...]"',
                    coalesce(jsonb_typeof(a.e -> 'embedding'), 'null') NOT IN ('array', 'string')),
                (10, 'ZA201', 'has an embedding component that is not a number (NaN, Infinity, a string, null)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@.type() != "number")')),
                (11, 'ZA201', 'has an embedding component beyond the float4 range (infinite)',
                    jsonb_typeof(a.e -> 'embedding') = 'array'
                    AND jsonb_path_exists(a.e -> 'embedding', '$[*] ? (@ > 3.4028234e38 || @ < -3.4028234e38)'))
            ) AS c(n, code, problem, failed)
            WHERE c.failed IS TRUE
            ORDER BY c.n
            LIMIT 1) AS p
         ORDER BY a.ord
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = bad.code,
                MESSAGE = format('memories[%s] %s', bad.ord, bad.problem),
                DETAIL = 'Nothing was stored (positions count from 1).',
                HINT = CASE bad.code
                       WHEN 'ZA201' THEN 'Every embedding component must be a finite number.'
                       WHEN 'ZA203' THEN 'Store non-empty text.'
                       ELSE 'Each element is {"content": "...", "embedding": [...], "memory_type": "...", "source"?, "metadata"?, "namespace"?}.'
                       END;
        END IF;
    END IF;

    -- Dimension and zero vector are checked per row while the INSERT reads its input: two C calls
    -- per row; memory_check_embedding (which raises ZA200 / ZA202 naming the element) runs only
    -- for a bad row (calling it for every row cost ~15 % of the load).
    SELECT s.embedding_dim INTO dim FROM animus.memory_settings AS s;
    BEGIN
        RETURN QUERY
        WITH input AS (
            SELECT a.ord::integer AS ord,
                   coalesce(a.e ->> 'namespace', store_memories.namespace) AS ns,
                   a.e ->> 'content' AS body,
                   animus.memory_content_hash(a.e ->> 'content') AS hash,
                   a.e ->> 'memory_type' AS mtype,
                   a.e ->> 'source' AS src,
                   coalesce(a.e -> 'metadata', '{}') AS meta,
                   CASE jsonb_typeof(a.e -> 'embedding')
                   WHEN 'string' THEN (a.e ->> 'embedding')::vector
                   ELSE (a.e -> 'embedding')::text::vector END AS emb
              FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
        ), checked AS MATERIALIZED (
            SELECT i.*,
                   CASE WHEN vector_dims(i.emb) <> dim OR vector_norm(i.emb) = 0
                        THEN animus.memory_check_embedding(i.emb, format('memories[%s].embedding', i.ord)) END AS ok
              FROM input AS i
        ), last_of_each AS (
            SELECT DISTINCT ON (c.ns, c.hash) c.* FROM checked AS c ORDER BY c.ns, c.hash, c.ord DESC
        ), written AS (
            INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
            SELECT l.ns, l.body, l.mtype, l.src, l.meta, l.emb
              FROM last_of_each AS l ORDER BY l.ord
            ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
               SET memory_type = EXCLUDED.memory_type,
                   source      = EXCLUDED.source,
                   metadata    = EXCLUDED.metadata,
                   embedding   = EXCLUDED.embedding,
                   updated_at  = now()
            RETURNING m.id, m.namespace, m.content_hash, m.xmax = 0 AS is_new
        )
        SELECT c.ord, w.id, w.is_new
          FROM checked AS c JOIN written AS w ON w.namespace = c.ns AND w.content_hash = c.hash
         ORDER BY c.ord;
    EXCEPTION WHEN data_exception THEN
        -- pgvector rejected an embedding (NaN, Infinity, beyond float4, malformed string).
        GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT;
        SELECT a.ord INTO bad
          FROM jsonb_array_elements(memories) WITH ORDINALITY AS a(e, ord)
         WHERE jsonb_typeof(a.e -> 'embedding') = 'string'
           AND NOT animus.memory_parses_as_vector(a.e ->> 'embedding')
         ORDER BY a.ord LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = 'ZA201',
            MESSAGE = format('memories[%s] has an embedding that is not a vector of finite numbers',
                             coalesce(bad.ord::text, '?')),
            DETAIL = format('pgvector: %s. Nothing was stored.', err_message),
            HINT = 'Every embedding component must be a finite number; the string form is "[0.1,0.2,...]".';
    END;
END
$_$;

--
-- Name: FUNCTION store_memories(memories jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.store_memories(memories jsonb, namespace text) IS 'Batch form of store_memory for bulk loads: memories is a JSON array of {content, embedding, memory_type, source?, metadata?, namespace?}, embedding a JSON array of numbers or (faster) a string "[0.1,...]"; namespace is the default for elements without one. Returns (ordinal, id, created) per element; repeats of one (namespace, content) collapse to the last. Nothing is written if one element is bad. Raises ZA001, ZA200 (dimension), ZA201 (NaN/infinite/non-number component), ZA202 (zero vector), ZA203 (empty content), ZA208 (malformed element).';

--
-- Name: store_memory(text, public.vector, text, text, jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.store_memory(content text DEFAULT NULL::text, embedding public.vector DEFAULT NULL::public.vector, memory_type text DEFAULT NULL::text, source text DEFAULT NULL::text, metadata jsonb DEFAULT '{}'::jsonb, namespace text DEFAULT 'default'::text) RETURNS TABLE(id bigint, created boolean)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    PERFORM animus.memory_check_fields(store_memory.content, store_memory.memory_type,
                                       store_memory.namespace, store_memory.metadata);
    PERFORM animus.memory_check_embedding(store_memory.embedding);
    -- One race-free statement: a second store of the same content in the same namespace
    -- updates the row (xmax <> 0 on the returned row means the conflict branch ran).
    RETURN QUERY
    INSERT INTO animus.memories AS m (namespace, content, memory_type, source, metadata, embedding)
    VALUES (store_memory.namespace, store_memory.content, store_memory.memory_type, store_memory.source,
            coalesce(store_memory.metadata, '{}'), store_memory.embedding)
    ON CONFLICT ON CONSTRAINT memories_namespace_content_key DO UPDATE
       SET memory_type = EXCLUDED.memory_type,
           source      = EXCLUDED.source,
           metadata    = EXCLUDED.metadata,
           embedding   = EXCLUDED.embedding,
           updated_at  = now()
    RETURNING m.id, m.xmax = 0;
END
$$;

--
-- Name: FUNCTION store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) IS 'Stores a memory and returns (id, created). The same content again in the same namespace updates that memory (memory_type, source, metadata, embedding, updated_at) and returns created = false. Raises ZA001 (NULL argument), ZA003 (metadata not an object), ZA200 (dimension), ZA202 (zero vector), ZA203 (empty content).';

--
-- Name: update_memory(bigint, text, public.vector, text, text, jsonb, text); Type: FUNCTION; Schema: animus; Owner: -
--

CREATE FUNCTION animus.update_memory(id bigint DEFAULT NULL::bigint, content text DEFAULT NULL::text, embedding public.vector DEFAULT NULL::public.vector, memory_type text DEFAULT NULL::text, source text DEFAULT NULL::text, metadata jsonb DEFAULT NULL::jsonb, namespace text DEFAULT NULL::text) RETURNS SETOF animus.memories
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    cur animus.memories%ROWTYPE;
    other bigint;
BEGIN
    IF update_memory.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'id must not be NULL', HINT = 'Pass the id store_memory returned.';
    END IF;
    SELECT m.* INTO cur FROM animus.memories AS m WHERE m.id = update_memory.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA207', MESSAGE = format('no memory has id %s', update_memory.id),
            HINT = 'Check the id (store_memory returns it); the memory may have been deleted.';
    END IF;
    PERFORM animus.memory_check_fields(coalesce(update_memory.content, cur.content),
                                       coalesce(update_memory.memory_type, cur.memory_type),
                                       coalesce(update_memory.namespace, cur.namespace),
                                       update_memory.metadata);
    IF update_memory.embedding IS NOT NULL THEN
        PERFORM animus.memory_check_embedding(update_memory.embedding);
    ELSIF update_memory.content IS DISTINCT FROM cur.content AND update_memory.content IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'embedding must be given when content changes',
            HINT = 'Pass the embedding of the new content in the same call.';
    END IF;
    IF update_memory.content IS NOT NULL OR update_memory.namespace IS NOT NULL THEN
        SELECT m.id INTO other FROM animus.memories AS m
         WHERE m.namespace = coalesce(update_memory.namespace, cur.namespace)
           AND m.content_hash = animus.memory_content_hash(coalesce(update_memory.content, cur.content))
           AND m.id <> cur.id;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA211',
                MESSAGE = format('memory %s would have the same content as memory %s in namespace %s',
                                 cur.id, other, coalesce(update_memory.namespace, cur.namespace)),
                DETAIL = format('other id: %s', other),
                HINT = 'Update or delete the other memory instead.';
        END IF;
    END IF;
    RETURN QUERY
    UPDATE animus.memories AS m
       SET content     = coalesce(update_memory.content, m.content),
           embedding   = coalesce(update_memory.embedding, m.embedding),
           memory_type = coalesce(update_memory.memory_type, m.memory_type),
           source      = coalesce(update_memory.source, m.source),
           metadata    = coalesce(update_memory.metadata, m.metadata),
           namespace   = coalesce(update_memory.namespace, m.namespace),
           updated_at  = now()
     WHERE m.id = cur.id
    RETURNING m.*;
EXCEPTION WHEN unique_violation THEN
    -- a concurrent writer took the (namespace, content) between the check and the update
    RAISE EXCEPTION USING ERRCODE = 'ZA211',
        MESSAGE = format('memory %s would have the same content as another memory of its namespace', update_memory.id),
        HINT = 'Update or delete the other memory instead.';
END
$$;

--
-- Name: FUNCTION update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) IS 'Changes the non-NULL fields of memory id (metadata is replaced, not merged) and sets updated_at; returns the new row. New content needs its embedding in the same call. Raises ZA001, ZA003, ZA200, ZA202, ZA203, ZA207 (no such memory), ZA211 (another memory of the namespace has that content).';

--
-- Name: error_codes; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.error_codes (
    sqlstate character(5) NOT NULL,
    name text NOT NULL,
    meaning text NOT NULL,
    hint text NOT NULL,
    CONSTRAINT error_codes_name_check CHECK ((name ~ '^[a-z_]+$'::text)),
    CONSTRAINT error_codes_sqlstate_check CHECK ((sqlstate ~ '^ZA[0-9A-Z]{3}$'::text))
);

--
-- Name: TABLE error_codes; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.error_codes IS 'SQLSTATEs raised by animus (class ZA): code, condition name, meaning, what to do.';

--
-- Name: installed_extensions; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.installed_extensions (
    extname name NOT NULL,
    created boolean NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: TABLE installed_extensions; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.installed_extensions IS 'Extensions animus needs, and whether its deploy created them (revert drops only those).';

--
-- Name: memories_id_seq; Type: SEQUENCE; Schema: animus; Owner: -
--

ALTER TABLE animus.memories ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME animus.memories_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: memory_bm25_deltas; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_deltas (
    id bigint NOT NULL,
    namespace text NOT NULL,
    term text,
    df bigint NOT NULL,
    total_len bigint DEFAULT 0 NOT NULL
);

--
-- Name: TABLE memory_bm25_deltas; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_deltas IS 'Append-only BM25 statistic changes not yet folded by animus.memory_bm25_refresh: term NULL = (documents, total length) of a namespace, else document frequency of a term.';

--
-- Name: memory_bm25_deltas_id_seq; Type: SEQUENCE; Schema: animus; Owner: -
--

ALTER TABLE animus.memory_bm25_deltas ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME animus.memory_bm25_deltas_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: memory_bm25_namespace_stats; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_namespace_stats (
    namespace text NOT NULL,
    docs bigint NOT NULL,
    total_len bigint NOT NULL
);

--
-- Name: TABLE memory_bm25_namespace_stats; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_namespace_stats IS 'BM25 statistics per namespace as of the last refresh: documents and total length (add pending animus.memory_bm25_deltas rows with term NULL).';

--
-- Name: memory_bm25_term_stats; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_bm25_term_stats (
    namespace text NOT NULL,
    term text NOT NULL,
    df bigint NOT NULL
);

--
-- Name: TABLE memory_bm25_term_stats; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_bm25_term_stats IS 'BM25 document frequency per namespace and term as of the last refresh (add pending animus.memory_bm25_deltas rows).';

--
-- Name: memory_settings; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_settings (
    singleton boolean DEFAULT true NOT NULL,
    embedding_dim integer NOT NULL,
    embedding_model text NOT NULL,
    state text DEFAULT 'ready'::text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memory_settings_embedding_dim_check CHECK (((embedding_dim >= 1) AND (embedding_dim <= 2000))),
    CONSTRAINT memory_settings_embedding_model_check CHECK ((embedding_model <> ''::text)),
    CONSTRAINT memory_settings_singleton_check CHECK (singleton),
    CONSTRAINT memory_settings_state_check CHECK ((state = ANY (ARRAY['ready'::text, 'reembedding'::text])))
);

--
-- Name: TABLE memory_settings; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_settings IS 'The embedding model and dimension of animus.memories.embedding (one row). Change it with animus.memory_begin_reembedding().';

--
-- Name: memory_terms; Type: TABLE; Schema: animus; Owner: -
--

CREATE TABLE animus.memory_terms (
    memory_id bigint NOT NULL,
    namespace text NOT NULL,
    term text NOT NULL,
    tf integer NOT NULL,
    doc_len integer NOT NULL,
    impact real NOT NULL
);

--
-- Name: TABLE memory_terms; Type: COMMENT; Schema: animus; Owner: -
--

COMMENT ON TABLE animus.memory_terms IS 'BM25 postings of animus.memories, maintained by triggers on it: (memory_id, namespace, term, tf, doc_len, impact). Read through animus.memory_text_candidates.';

--
-- Name: error_codes error_codes_name_key; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.error_codes
    ADD CONSTRAINT error_codes_name_key UNIQUE (name);

--
-- Name: error_codes error_codes_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.error_codes
    ADD CONSTRAINT error_codes_pkey PRIMARY KEY (sqlstate);

--
-- Name: installed_extensions installed_extensions_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.installed_extensions
    ADD CONSTRAINT installed_extensions_pkey PRIMARY KEY (extname);

--
-- Name: memories memories_namespace_content_key; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memories
    ADD CONSTRAINT memories_namespace_content_key UNIQUE (namespace, content_hash);

--
-- Name: memories memories_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memories
    ADD CONSTRAINT memories_pkey PRIMARY KEY (id);

--
-- Name: memory_bm25_namespace_stats memory_bm25_namespace_stats_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_namespace_stats
    ADD CONSTRAINT memory_bm25_namespace_stats_pkey PRIMARY KEY (namespace);

--
-- Name: memory_bm25_settings memory_bm25_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_settings
    ADD CONSTRAINT memory_bm25_settings_pkey PRIMARY KEY (singleton);

--
-- Name: memory_bm25_term_stats memory_bm25_term_stats_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_bm25_term_stats
    ADD CONSTRAINT memory_bm25_term_stats_pkey PRIMARY KEY (namespace, term);

--
-- Name: memory_settings memory_settings_pkey; Type: CONSTRAINT; Schema: animus; Owner: -
--

ALTER TABLE ONLY animus.memory_settings
    ADD CONSTRAINT memory_settings_pkey PRIMARY KEY (singleton);

--
-- Name: memories_created_at; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_created_at ON animus.memories USING btree (created_at);

--
-- Name: memories_embedding_hnsw; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_embedding_hnsw ON animus.memories USING hnsw (embedding public.vector_cosine_ops);

--
-- Name: memories_fts_gin; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_fts_gin ON animus.memories USING gin (fts);

--
-- Name: memories_metadata_gin; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_metadata_gin ON animus.memories USING gin (metadata jsonb_path_ops);

--
-- Name: memories_namespace_type; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memories_namespace_type ON animus.memories USING btree (namespace, memory_type);

--
-- Name: memory_bm25_deltas_key_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_bm25_deltas_key_idx ON animus.memory_bm25_deltas USING btree (namespace, term);

--
-- Name: memory_terms_impact_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_terms_impact_idx ON animus.memory_terms USING btree (namespace, term, impact DESC, memory_id) INCLUDE (tf, doc_len);

--
-- Name: memory_terms_memory_term_idx; Type: INDEX; Schema: animus; Owner: -
--

CREATE INDEX memory_terms_memory_term_idx ON animus.memory_terms USING btree (memory_id, term) INCLUDE (tf, doc_len);

--
-- Name: memories memory_bm25_after_delete; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_delete AFTER DELETE ON animus.memories REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_delete();

--
-- Name: memories memory_bm25_after_insert; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_insert AFTER INSERT ON animus.memories REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_insert();

--
-- Name: memories memory_bm25_after_truncate; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_truncate AFTER TRUNCATE ON animus.memories FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_truncate();

--
-- Name: memories memory_bm25_after_update; Type: TRIGGER; Schema: animus; Owner: -
--

CREATE TRIGGER memory_bm25_after_update AFTER UPDATE ON animus.memories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION animus.memory_bm25_after_update();

--
-- Name: SCHEMA animus; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA animus TO animus_producer;
GRANT USAGE ON SCHEMA animus TO animus_worker;
GRANT USAGE ON SCHEMA animus TO animus_memory_reader;
GRANT USAGE ON SCHEMA animus TO animus_memory_writer;
GRANT USAGE ON SCHEMA animus TO animus_admin;

--
-- Name: FUNCTION bm25_doc_len(fts tsvector); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.bm25_doc_len(fts tsvector) TO animus_admin;

--
-- Name: FUNCTION bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.bm25_tf_weight(tf double precision, doc_len double precision, avgdl double precision, k1 double precision, b double precision) TO animus_admin;

--
-- Name: FUNCTION delete_memories(ids bigint[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_memories(ids bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_memories(ids bigint[]) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.delete_memories(ids bigint[]) TO animus_admin;

--
-- Name: FUNCTION delete_memory(id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.delete_memory(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.delete_memory(id bigint) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.delete_memory(id bigint) TO animus_admin;

--
-- Name: FUNCTION memory_content_hash(content text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_content_hash(content text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_admin;

--
-- Name: TABLE memories; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memories TO animus_memory_reader;
GRANT INSERT,DELETE,UPDATE ON TABLE animus.memories TO animus_memory_writer;

--
-- Name: FUNCTION get_memory(id bigint); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.get_memory(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.get_memory(id bigint) TO animus_admin;

--
-- Name: FUNCTION hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.hybrid_search(query_text text, query_embedding public.vector, k integer, filters jsonb, text_weight double precision, vector_weight double precision, rrf_k integer, candidates integer) TO animus_admin;

--
-- Name: FUNCTION memory_begin_reembedding(embedding_model text, embedding_dim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_begin_reembedding(embedding_model text, embedding_dim integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_after_delete(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_delete() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_insert(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_insert() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_truncate(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_truncate() FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_after_update(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_after_update() FROM PUBLIC;

--
-- Name: TABLE memory_bm25_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_settings TO animus_memory_reader;

--
-- Name: FUNCTION memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_configure(k1 double precision, b double precision, postings_budget integer, max_postings_budget integer, rescore_extra integer, refresh_after integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_index(ids bigint[], namespaces text[], vectors tsvector[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_bm25_refresh(wait boolean); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_refresh(wait boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_refresh(wait boolean) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_bm25_refresh(wait boolean) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_reindex(namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_reindex(namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_reindex(namespace text) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_topk(query text, filters jsonb, lim integer, budget integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_bm25_topk(query text, filters jsonb, lim integer, budget integer) TO animus_admin;

--
-- Name: FUNCTION memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_bm25_unindex(ids bigint[], namespaces text[], vectors tsvector[]) FROM PUBLIC;

--
-- Name: FUNCTION memory_check_embedding(embedding public.vector, argument text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_embedding(embedding public.vector, argument text) TO animus_admin;

--
-- Name: FUNCTION memory_check_fields(content text, memory_type text, namespace text, metadata jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_fields(content text, memory_type text, namespace text, metadata jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_check_limit(value integer, argument text, maximum integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_check_limit(value integer, argument text, maximum integer) TO animus_admin;

--
-- Name: FUNCTION memory_filter_list(text_filter jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_filter_list(text_filter jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_filter_match(filters jsonb, namespace text, memory_type text, source text, metadata jsonb, created_at timestamp with time zone) TO animus_admin;

--
-- Name: FUNCTION memory_finish_reembedding(); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_finish_reembedding() FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_finish_reembedding() TO animus_admin;

--
-- Name: FUNCTION memory_normalize_text_filter(field text, value jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_normalize_text_filter(field text, value jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_or_tsquery(query text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_or_tsquery(query text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_or_tsquery(query text) TO animus_admin;

--
-- Name: FUNCTION memory_parses_as_vector(value text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_parses_as_vector(value text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_parses_as_vector(value text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_parses_as_vector(value text) TO animus_admin;

--
-- Name: FUNCTION memory_text_candidates(query text, filters jsonb, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_text_candidates(query text, filters jsonb, lim integer) TO animus_admin;

--
-- Name: FUNCTION memory_validate_filters(filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_validate_filters(filters jsonb) TO animus_admin;

--
-- Name: FUNCTION memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_vector_candidates(query_embedding public.vector, filters jsonb, lim integer) TO animus_admin;

--
-- Name: FUNCTION search_memory_text(query text, k integer, filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.search_memory_text(query text, k integer, filters jsonb) TO animus_admin;

--
-- Name: FUNCTION search_memory_vector(query_embedding public.vector, k integer, filters jsonb); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.search_memory_vector(query_embedding public.vector, k integer, filters jsonb) TO animus_admin;

--
-- Name: FUNCTION store_memories(memories jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.store_memories(memories jsonb, namespace text) TO animus_admin;

--
-- Name: FUNCTION store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.store_memory(content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_admin;

--
-- Name: FUNCTION update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.update_memory(id bigint, content text, embedding public.vector, memory_type text, source text, metadata jsonb, namespace text) TO animus_admin;

--
-- Name: TABLE error_codes; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.error_codes TO animus_producer;
GRANT SELECT ON TABLE animus.error_codes TO animus_worker;
GRANT SELECT ON TABLE animus.error_codes TO animus_memory_reader;
GRANT SELECT ON TABLE animus.error_codes TO animus_admin;

--
-- Name: TABLE memory_bm25_deltas; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_deltas TO animus_memory_reader;

--
-- Name: TABLE memory_bm25_namespace_stats; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_namespace_stats TO animus_memory_reader;

--
-- Name: TABLE memory_bm25_term_stats; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_bm25_term_stats TO animus_memory_reader;

--
-- Name: TABLE memory_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_settings TO animus_memory_reader;

--
-- Name: TABLE memory_terms; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_terms TO animus_memory_reader;

--
-- PostgreSQL database dump complete
--

