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
-- Name: SCHEMA animus; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA animus TO animus_producer;
GRANT USAGE ON SCHEMA animus TO animus_worker;
GRANT USAGE ON SCHEMA animus TO animus_memory_reader;
GRANT USAGE ON SCHEMA animus TO animus_memory_writer;
GRANT USAGE ON SCHEMA animus TO animus_admin;

--
-- Name: TABLE error_codes; Type: ACL; Schema: animus; Owner: -
--

GRANT SELECT ON TABLE animus.error_codes TO animus_producer;
GRANT SELECT ON TABLE animus.error_codes TO animus_worker;
GRANT SELECT ON TABLE animus.error_codes TO animus_memory_reader;
GRANT SELECT ON TABLE animus.error_codes TO animus_admin;

--
-- PostgreSQL database dump complete
--

