-- Deploy animus:extensions to pg
-- requires: schema

BEGIN;

-- Which of the two extensions this deployment created, so that a revert never drops an
-- extension (and its queues) that the database already had.
CREATE TABLE animus.installed_extensions (
    extname     name PRIMARY KEY,
    created     boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE animus.installed_extensions IS 'Extensions animus needs, and whether its deploy created them (revert drops only those).';

DO $$
DECLARE
    req record;
    installed text;
BEGIN
    FOR req IN SELECT * FROM (VALUES ('vector', '0.8.0', 'pgvector'), ('pgmq', '1.5.0', 'pgmq'))
               AS r(extname, min_version, project)
    LOOP
        SELECT extversion INTO installed FROM pg_catalog.pg_extension WHERE extname = req.extname;
        IF installed IS NULL THEN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions
                           WHERE name = req.extname
                             AND string_to_array(version, '.')::int[] >= string_to_array(req.min_version, '.')::int[]) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA010',
                    MESSAGE = format('extension "%s" (%s >= %s) is not available on this server', req.extname, req.project, req.min_version),
                    DETAIL  = format('available versions: %s', coalesce((SELECT string_agg(version, ', ') FROM pg_catalog.pg_available_extension_versions WHERE name = req.extname), 'none')),
                    HINT    = format('Install %s on the PostgreSQL server (package, or the image built from docker/), then deploy again.', req.project);
            END IF;
            EXECUTE format('CREATE EXTENSION %I', req.extname);
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, true);
        ELSE
            IF string_to_array(installed, '.')::int[] < string_to_array(req.min_version, '.')::int[] THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'ZA011',
                    MESSAGE = format('extension "%s" is version %s; animus needs %s or later', req.extname, installed, req.min_version),
                    HINT    = format('Run ALTER EXTENSION %s UPDATE (after installing a newer %s on the server).', req.extname, req.project);
            END IF;
            INSERT INTO animus.installed_extensions (extname, created) VALUES (req.extname, false);
        END IF;
    END LOOP;
END $$;

COMMIT;
