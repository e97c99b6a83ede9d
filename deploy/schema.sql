-- Deploy animus:schema to pg

BEGIN;

CREATE SCHEMA animus;
COMMENT ON SCHEMA animus IS 'animus: work queue with structural dedup, semantic memory, telemetry context. Functions are executable only by the animus_* roles.';

-- Functions created in schema animus by the deploying role are not executable by PUBLIC:
-- every function is granted to named roles right after it is created.
ALTER DEFAULT PRIVILEGES IN SCHEMA animus REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA animus FROM PUBLIC;

COMMIT;
