-- Revert animus:extensions from pg

BEGIN;

DO $$
DECLARE
    ext name;
BEGIN
    -- Without CASCADE: if anything outside animus still uses the extension, the revert stops here.
    FOR ext IN SELECT extname FROM animus.installed_extensions WHERE created ORDER BY extname DESC LOOP
        IF ext = 'pgmq' AND to_regnamespace('pgmq') IS NOT NULL THEN
            -- pgmq's install script adds default privileges for pg_monitor in its schema; DROP
            -- EXTENSION leaves those rows behind (pg_default_acl), so take them back first.
            ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq REVOKE SELECT ON TABLES FROM pg_monitor;
            ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq REVOKE SELECT ON SEQUENCES FROM pg_monitor;
        END IF;
        EXECUTE format('DROP EXTENSION IF EXISTS %I', ext);
        IF ext = 'pgmq' THEN
            DROP SCHEMA IF EXISTS pgmq;  -- without CASCADE: only when nothing else lives there
        END IF;
    END LOOP;
END $$;
DROP TABLE animus.installed_extensions;

COMMIT;
