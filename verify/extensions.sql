-- Verify animus:extensions on pg

BEGIN;

SELECT extname, created FROM animus.installed_extensions WHERE false;

DO $$
BEGIN
    ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'vector'), 'extension vector is not installed';
    ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgmq'), 'extension pgmq is not installed';
END $$;

ROLLBACK;
