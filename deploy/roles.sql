-- Deploy animus:roles to pg
-- requires: schema

BEGIN;

-- NOLOGIN group roles. Applications log in with their own roles and are granted one of these:
--   GRANT animus_worker TO my_worker_login;
-- Roles are cluster-wide: a second database on the same cluster reuses them.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('animus_producer',      'submits work and reads the status of work'),
        ('animus_worker',        'claims, heartbeats, completes and fails work'),
        ('animus_memory_reader', 'reads and searches memories'),
        ('animus_memory_writer', 'stores, updates and deletes memories (and reads them)'),
        ('animus_admin',         'creates queues, purges, configures; member of every animus role')
    ) AS t(rolname, purpose)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.rolname) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.rolname);
        END IF;
        EXECUTE format('COMMENT ON ROLE %I IS %L', r.rolname, 'animus: ' || r.purpose);
        EXECUTE format('GRANT USAGE ON SCHEMA animus TO %I', r.rolname);
    END LOOP;
END $$;

-- Memberships (checked first: a second database on the cluster finds them granted already).
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT * FROM (VALUES ('animus_memory_reader', 'animus_memory_writer'),
                                   ('animus_producer', 'animus_admin'),
                                   ('animus_worker', 'animus_admin'),
                                   ('animus_memory_writer', 'animus_admin')) AS t(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m.member, m.grp, 'member') THEN
            EXECUTE format('GRANT %I TO %I', m.grp, m.member);
        END IF;
    END LOOP;
END $$;

COMMIT;
