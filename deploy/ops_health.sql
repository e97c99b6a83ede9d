-- Deploy animus:ops_health to pg
-- requires: ops_dead_letters
-- requires: work_status
-- requires: memory_bm25
-- requires: column_comments
-- requires: work_pause

BEGIN;

-- animus.health(): one row per check with a status against thresholds an admin may change per
-- queue (animus.health_thresholds). Read-only (it runs on a hot standby too), one scan of the
-- active and dead work items for every queue, one probe of each pgmq queue table.

CREATE TABLE animus.health_thresholds (
    check_name text NOT NULL,
    queue_name text NOT NULL DEFAULT '*',
    warn_at    double precision CHECK (warn_at >= 0),
    fail_at    double precision CHECK (fail_at >= 0),
    unit       text NOT NULL,
    meaning    text NOT NULL,
    PRIMARY KEY (check_name, queue_name),
    CHECK (warn_at IS NULL OR fail_at IS NULL OR warn_at <= fail_at)
);
COMMENT ON TABLE animus.health_thresholds IS
'Thresholds of animus.health(): a check''s status is fail when its value is >= fail_at, warn when >= warn_at, else ok (NULL: that level is never reached). Rows with queue_name ''*'' are the defaults; a row naming a queue overrides them for it (animus.set_health_threshold).';
COMMENT ON COLUMN animus.health_thresholds.check_name IS 'The check (health()''s check_name), e.g. oldest_age_sec.';
COMMENT ON COLUMN animus.health_thresholds.queue_name IS '''*'' for the default of every queue (and for the checks that are not per queue), else the queue it applies to.';
COMMENT ON COLUMN animus.health_thresholds.warn_at IS 'Value from which the check is warn (NULL: never warn).';
COMMENT ON COLUMN animus.health_thresholds.fail_at IS 'Value from which the check is fail (NULL: never fail).';
COMMENT ON COLUMN animus.health_thresholds.unit IS 'Unit of the value: items, s, rows, bool (1 or 0).';
COMMENT ON COLUMN animus.health_thresholds.meaning IS 'What the check measures.';
REVOKE ALL ON animus.health_thresholds FROM PUBLIC;
GRANT SELECT ON animus.health_thresholds TO animus_producer, animus_worker, animus_admin;

INSERT INTO animus.health_thresholds (check_name, queue_name, warn_at, fail_at, unit, meaning) VALUES
    ('backlog',             '*', 1000, 10000, 'items', 'queued items (visible now or later) of the queue'),
    ('oldest_age_sec',      '*', 300,  1800,  's',     'how long the oldest claimable message of the queue has waited since it became visible'),
    ('running',             '*', NULL, NULL,  'items', 'items being processed (claimed) now'),
    ('dead',                '*', 1,    NULL,  'items', 'dead items not yet retried or discarded (animus.list_dead_work)'),
    ('stuck',               '*', 1,    10,    'items', 'running items whose claim passed its deadline (a worker died or hangs without heartbeats) and nobody claimed again yet'),
    ('bm25_backlog',        '*', 40000, 80000, 'rows', 'BM25 statistics deltas not yet folded (searches add them up; writes refresh past refresh_after)'),
    ('paused',              '*', NULL, NULL,  'bool',  '1 while the queue is paused (animus.pause_queue): it accepts submissions and hands out nothing'),
    ('replication_lag_sec', '*', 30,   300,   's',     'on a hot standby: time since the last replayed transaction was committed on the primary');

-- Single-file installs (sql/animus.sql, no Sqitch registry) record what they installed here.
CREATE TABLE animus.installed_version (
    version      text        NOT NULL,
    last_change  text        NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE animus.installed_version IS
'Written by the single-file install (sql/animus.sql): the plan''s last tag and change it installed. Empty on Sqitch deployments (health() reads the Sqitch registry).';
COMMENT ON COLUMN animus.installed_version.version IS 'The last tag of sqitch.plan the install holds, plus changes after it (e.g. @v0.6.0+ops_health).';
COMMENT ON COLUMN animus.installed_version.last_change IS 'The last change of sqitch.plan the install holds.';
COMMENT ON COLUMN animus.installed_version.installed_at IS 'When it was installed.';
REVOKE ALL ON animus.installed_version FROM PUBLIC;
GRANT SELECT ON animus.installed_version TO animus_producer, animus_worker, animus_admin;

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA163', 'unknown_health_check', 'set_health_threshold was given a check name that health() does not have.',
     'Use one of the check names of animus.health_thresholds (backlog, oldest_age_sec, running, dead, stuck, paused, bm25_backlog, replication_lag_sec).'),
    ('ZA164', 'invalid_health_threshold', 'A health threshold is negative, not a number, or warn_at is above fail_at.',
     'Pass warn_at <= fail_at, both >= 0 (NULL: that level is never reached).');

-- The deployed version: the Sqitch registry of this database when present (last tag, and the
-- changes deployed after it), else what a single-file install recorded, else 'unknown'.
CREATE FUNCTION animus.deployed_version()
    RETURNS text
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    v_tag     text;
    v_tag_at  timestamptz;
    v_after   bigint;
    v_last    text;
BEGIN
    IF pg_catalog.to_regclass('sqitch.changes') IS NOT NULL AND pg_catalog.to_regclass('sqitch.tags') IS NOT NULL
       AND pg_catalog.has_table_privilege('sqitch.changes', 'SELECT') AND pg_catalog.has_table_privilege('sqitch.tags', 'SELECT') THEN
        EXECUTE 'SELECT t.tag, t.committed_at FROM sqitch.tags t WHERE t.project = ''animus'' ORDER BY t.committed_at DESC LIMIT 1'
           INTO v_tag, v_tag_at;
        EXECUTE 'SELECT count(*), (SELECT c2.change FROM sqitch.changes c2 WHERE c2.project = ''animus'' ORDER BY c2.committed_at DESC LIMIT 1)
                   FROM sqitch.changes c WHERE c.project = ''animus'' AND c.committed_at > coalesce($1, ''-infinity'')'
           INTO v_after, v_last USING v_tag_at;
        IF v_last IS NOT NULL THEN
            RETURN coalesce(v_tag, '(untagged)') || CASE WHEN v_after > 0 THEN pg_catalog.format('+%s (%s)', v_after, v_last) ELSE '' END;
        END IF;
    END IF;
    SELECT i.version INTO v_tag FROM animus.installed_version i ORDER BY i.installed_at DESC LIMIT 1;
    RETURN coalesce(v_tag, 'unknown');
END;
$$;
REVOKE ALL ON FUNCTION animus.deployed_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.deployed_version() TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.deployed_version() IS
'The animus version deployed in this database: from the Sqitch registry (schema sqitch) when present, the last tag and the number of changes deployed after it with the last one, e.g. ''@v0.6.0+2 (ops_health)''; else the version a single-file install recorded in animus.installed_version; else ''unknown''. Raises nothing.';

-- ok / warn / fail of a value against its thresholds.
CREATE FUNCTION animus.health_level(value double precision, warn_at double precision, fail_at double precision)
    RETURNS text
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT CASE WHEN value IS NULL THEN 'ok'
                WHEN fail_at IS NOT NULL AND value >= fail_at THEN 'fail'
                WHEN warn_at IS NOT NULL AND value >= warn_at THEN 'warn'
                ELSE 'ok' END;
$$;
REVOKE ALL ON FUNCTION animus.health_level(double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.health_level(double precision, double precision, double precision) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.health_level(double precision, double precision, double precision) IS
'fail when value >= fail_at, warn when value >= warn_at, else ok (a NULL value or threshold is never reached). Raises nothing.';

CREATE FUNCTION animus.health()
    RETURNS TABLE (
        component  text,
        queue_name text,
        check_name text,
        value      double precision,
        unit       text,
        status     text,
        warn_at    double precision,
        fail_at    double precision,
        detail     text
    )
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    q       record;
    oldest  double precision;
    stuck   bigint;
    backlog bigint;
    lag     double precision;
BEGIN
    RETURN QUERY SELECT 'database'::text, NULL::text, 'reachable'::text, 1::double precision, ''::text, 'ok'::text,
                        NULL::double precision, NULL::double precision,
                        pg_catalog.format('database %s on PostgreSQL %s (%s)', pg_catalog.current_database(),
                                          pg_catalog.current_setting('server_version'),
                                          CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'hot standby' ELSE 'primary' END);
    RETURN QUERY SELECT 'database'::text, NULL::text, 'version'::text, NULL::double precision, ''::text, 'ok'::text,
                        NULL::double precision, NULL::double precision, animus.deployed_version();
    IF pg_catalog.pg_is_in_recovery() THEN
        -- NULL until the standby has replayed a transaction; 0 when it has caught up with an idle primary
        lag := CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
                    ELSE extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.pg_last_xact_replay_timestamp()) END;
        RETURN QUERY SELECT 'database'::text, NULL::text, 'replication_lag_sec'::text, lag, h.unit,
                            animus.health_level(lag, h.warn_at, h.fail_at), h.warn_at, h.fail_at,
                            pg_catalog.format('replayed up to %s, received up to %s', pg_catalog.pg_last_wal_replay_lsn(),
                                              pg_catalog.pg_last_wal_receive_lsn())
                       FROM animus.health_thresholds h WHERE h.check_name = 'replication_lag_sec' AND h.queue_name = '*';
    END IF;
    -- One pass over the active and dead items of every queue (the running items' message ids
    -- kept for the stuck check), then per queue one statement on its pgmq table (index probes).
    FOR q IN
        SELECT qq.queue_name AS name, qq.paused_at IS NOT NULL AS paused,
               coalesce(c.queued, 0) AS queued, coalesce(c.running, 0) AS running, coalesce(c.dead, 0) AS dead,
               coalesce(c.running_msgs, '{}') AS running_msgs
          FROM animus.queues qq
          LEFT JOIN (SELECT w.queue_name,
                            count(*) FILTER (WHERE w.state = 'queued') AS queued,
                            count(*) FILTER (WHERE w.state = 'running') AS running,
                            count(*) FILTER (WHERE w.state = 'dead' AND a.work_id IS NULL) AS dead,
                            pg_catalog.array_agg(w.msg_id) FILTER (WHERE w.state = 'running' AND w.msg_id IS NOT NULL) AS running_msgs
                       FROM animus.work_items w
                       LEFT JOIN animus.dead_work_actions a ON a.work_id = w.id AND w.state = 'dead'
                      WHERE w.state IN ('queued', 'running', 'dead')
                      GROUP BY w.queue_name) c ON c.queue_name = qq.queue_name
         WHERE animus.work_queue_allowed(qq.queue_name)
         ORDER BY qq.queue_name
    LOOP
        EXECUTE pg_catalog.format(
            'SELECT (SELECT extract(epoch FROM pg_catalog.clock_timestamp() - min(m.vt)) FROM pgmq.%1$I m WHERE m.vt <= pg_catalog.clock_timestamp()),
                    (SELECT count(*) FROM pgmq.%1$I m WHERE m.msg_id = ANY ($1) AND m.vt <= pg_catalog.clock_timestamp())',
            'q_' || q.name) INTO oldest, stuck USING q.running_msgs;
        RETURN QUERY
        SELECT 'queue'::text, q.name, v.check_name, v.value, h.unit, animus.health_level(v.value, h.warn_at, h.fail_at),
               h.warn_at, h.fail_at, h.meaning
          FROM (VALUES (1, 'backlog', q.queued::double precision), (2, 'oldest_age_sec', coalesce(oldest, 0)),
                       (3, 'running', q.running::double precision), (4, 'dead', q.dead::double precision),
                       (5, 'stuck', stuck::double precision), (6, 'paused', CASE WHEN q.paused THEN 1 ELSE 0 END::double precision))
               AS v(n, check_name, value)
         CROSS JOIN LATERAL (SELECT t.* FROM animus.health_thresholds t
                              WHERE t.check_name = v.check_name AND t.queue_name IN (q.name, '*')
                              ORDER BY t.queue_name = '*' LIMIT 1) h
         ORDER BY v.n;
    END LOOP;
    -- BM25 statistics not yet folded (the table belongs to memory_bm25; read dynamically so that a
    -- later layout of the statistics does not break the health check, it only drops this row).
    -- The sequence's position past the last fold: every namespace, not only the caller's (RLS
    -- narrows the deltas table itself to the caller's namespaces).
    IF pg_catalog.to_regclass('animus.memory_bm25_deltas_id_seq') IS NOT NULL AND pg_catalog.to_regclass('animus.memory_bm25_settings') IS NOT NULL THEN
        EXECUTE 'SELECT greatest(0, CASE WHEN q.is_called THEN q.last_value ELSE q.last_value - 1 END - s.refreshed_through)
                   FROM animus.memory_bm25_deltas_id_seq q, animus.memory_bm25_settings s' INTO backlog;
        RETURN QUERY SELECT 'memory'::text, NULL::text, 'bm25_backlog'::text, backlog::double precision, h.unit,
                            animus.health_level(backlog, h.warn_at, h.fail_at), h.warn_at, h.fail_at, h.meaning
                       FROM animus.health_thresholds h WHERE h.check_name = 'bm25_backlog' AND h.queue_name = '*';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.health() TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.health() IS
'Health checks, one row each: component database (reachable: always ok when the call returns; version: animus.deployed_version(); replication_lag_sec: only on a hot standby), queue (per queue the caller has a grant on: backlog = queued items, oldest_age_sec = wait of the oldest claimable message, running, dead = dead items not yet retried or discarded, stuck = running items past their claim deadline, paused = 1 while paused), memory (bm25_backlog = BM25 statistics deltas not yet folded). status is ok, warn or fail against animus.health_thresholds (a queue''s own row, else the ''*'' default): fail when value >= fail_at, warn when >= warn_at. Read-only: runs on a hot standby. Cost: one scan of the queued, running and dead work items, and per queue one probe of its pgmq table. Raises nothing of its own.';

CREATE FUNCTION animus.set_health_threshold(check_name text, warn_at double precision DEFAULT NULL,
                                            fail_at double precision DEFAULT NULL, queue text DEFAULT '*')
    RETURNS animus.health_thresholds
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    d animus.health_thresholds;
    r animus.health_thresholds;
BEGIN
    SELECT * INTO d FROM animus.health_thresholds t WHERE t.check_name = set_health_threshold.check_name AND t.queue_name = '*';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA163',
            MESSAGE = pg_catalog.format('argument check_name: no health check named %L', pg_catalog.left(set_health_threshold.check_name, 100)),
            HINT = 'Use one of: ' || (SELECT pg_catalog.string_agg(t.check_name, ', ' ORDER BY t.check_name) FROM animus.health_thresholds t WHERE t.queue_name = '*') || '.';
    END IF;
    IF set_health_threshold.warn_at = 'NaN' OR set_health_threshold.fail_at = 'NaN' OR set_health_threshold.warn_at < 0 OR set_health_threshold.fail_at < 0
       OR set_health_threshold.warn_at = 'Infinity' OR set_health_threshold.fail_at = 'Infinity'
       OR set_health_threshold.warn_at > set_health_threshold.fail_at THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA164', MESSAGE = 'arguments warn_at and fail_at must be finite, >= 0 and warn_at <= fail_at',
            DETAIL = pg_catalog.format('warn_at = %s, fail_at = %s', coalesce(set_health_threshold.warn_at::text, 'NULL'), coalesce(set_health_threshold.fail_at::text, 'NULL')),
            HINT = 'Pass warn_at <= fail_at, both >= 0; NULL means that level is never reached.';
    END IF;
    IF set_health_threshold.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass ''*'' for the default of every queue, or a queue name.';
    END IF;
    IF set_health_threshold.queue <> '*' THEN
        IF d.check_name IN ('bm25_backlog', 'replication_lag_sec') THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA163',
                MESSAGE = pg_catalog.format('argument check_name: %s is not a per-queue check', d.check_name),
                HINT = 'Pass queue => ''*'' for checks of the database and the memory.';
        END IF;
        PERFORM animus.ops_check_queue(set_health_threshold.queue);
    END IF;
    INSERT INTO animus.health_thresholds AS t (check_name, queue_name, warn_at, fail_at, unit, meaning)
    VALUES (d.check_name, set_health_threshold.queue, set_health_threshold.warn_at, set_health_threshold.fail_at, d.unit, d.meaning)
    ON CONFLICT ON CONSTRAINT health_thresholds_pkey DO UPDATE SET warn_at = excluded.warn_at, fail_at = excluded.fail_at
    RETURNING t.* INTO r;
    RETURN r;
END;
$$;
REVOKE ALL ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) TO animus_admin;
COMMENT ON FUNCTION animus.set_health_threshold(text, double precision, double precision, text) IS
'Sets the thresholds of health check check_name: for every queue (queue ''*'', the default) or for one queue (overriding the default); NULL warn_at / fail_at: that level is never reached. Returns the row. animus_admin only. Raises ZA163 (unknown check, or a per-queue threshold of a database/memory check), ZA164 (negative, NaN or infinite threshold, or warn_at > fail_at), ZA001 (queue NULL), ZA109 (no grant on queue), ZA101 (no such queue).';

COMMIT;
