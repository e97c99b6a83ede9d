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
);

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
-- Name: SCHEMA animus; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA animus TO animus_producer;
GRANT USAGE ON SCHEMA animus TO animus_worker;
GRANT USAGE ON SCHEMA animus TO animus_memory_reader;
GRANT USAGE ON SCHEMA animus TO animus_memory_writer;
GRANT USAGE ON SCHEMA animus TO animus_admin;

--
-- Name: FUNCTION memory_content_hash(content text); Type: ACL; Schema: animus; Owner: -
--

REVOKE ALL ON FUNCTION animus.memory_content_hash(content text) FROM PUBLIC;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_reader;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_memory_writer;
GRANT ALL ON FUNCTION animus.memory_content_hash(content text) TO animus_admin;

--
-- Name: TABLE error_codes; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.error_codes TO animus_producer;
GRANT SELECT ON TABLE animus.error_codes TO animus_worker;
GRANT SELECT ON TABLE animus.error_codes TO animus_memory_reader;
GRANT SELECT ON TABLE animus.error_codes TO animus_admin;

--
-- Name: TABLE memories; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memories TO animus_memory_reader;
GRANT INSERT,DELETE,UPDATE ON TABLE animus.memories TO animus_memory_writer;

--
-- Name: TABLE memory_settings; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.memory_settings TO animus_memory_reader;

--
-- PostgreSQL database dump complete
--

