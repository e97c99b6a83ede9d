-- Revert animus:extensions from pg

BEGIN;

DO $$
DECLARE
    ext name;
BEGIN
    -- Without CASCADE: if anything outside animus still uses the extension, the revert stops here.
    FOR ext IN SELECT extname FROM animus.installed_extensions WHERE created ORDER BY extname DESC LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I', ext);
    END LOOP;
END $$;
DROP TABLE animus.installed_extensions;

COMMIT;
