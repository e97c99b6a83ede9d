-- Deploy animus:ops_insights to pg
-- requires: ops_dead_letters
-- requires: work_status
-- requires: security_memory_private
-- requires: column_comments

BEGIN;

-- What the dashboard and `animus status` / `animus memory stats` show beside health(): the
-- depth of each queue over time, recomputed from the items' own timestamps (no sampler to run),
-- submissions and ends per minute, and the memory namespaces with their counts.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA168', 'ops_bad_window', 'A time window argument is out of range: since must be between 1 second and 31 days, buckets 1-1000.',
     'Pass since => ''1 hour'' (1 second to 31 days) and buckets between 1 and 1000.');

CREATE FUNCTION animus.queue_depth_history(queue text DEFAULT NULL, since interval DEFAULT '1 hour', buckets integer DEFAULT 60)
    RETURNS TABLE (queue_name text, bucket_end timestamptz, depth bigint, submitted bigint, ended bigint)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    t1 timestamptz := pg_catalog.clock_timestamp();
    t0 timestamptz;
    width double precision;
BEGIN
    IF queue_depth_history.since IS NULL OR queue_depth_history.since < interval '1 second' OR queue_depth_history.since > interval '31 days'
       OR queue_depth_history.buckets IS NULL OR queue_depth_history.buckets NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA168', MESSAGE = 'arguments since (1 second to 31 days) and buckets (1-1000) out of range',
            DETAIL = pg_catalog.format('since = %s, buckets = %s', coalesce(queue_depth_history.since::text, 'NULL'), coalesce(queue_depth_history.buckets::text, 'NULL')),
            HINT = 'Pass since => ''1 hour'' and buckets => 60, for example.';
    END IF;
    IF queue_depth_history.queue IS NOT NULL THEN
        PERFORM animus.ops_check_queue(queue_depth_history.queue);
    END IF;
    t0 := t1 - queue_depth_history.since;
    width := extract(epoch FROM queue_depth_history.since) / queue_depth_history.buckets;
    -- Open items (queued or running: created, not yet ended) at the end of each bucket: those open
    -- at t0, plus the submissions, minus the ends up to that bucket. Merged duplicates are not
    -- items of their own. One scan of the items not ended before t0.
    RETURN QUERY
    WITH q AS (
        SELECT qq.queue_name FROM animus.queues qq
         WHERE (queue_depth_history.queue IS NULL OR qq.queue_name = queue_depth_history.queue)
           AND animus.work_queue_allowed(qq.queue_name)
    ), w AS (
        SELECT w.queue_name, w.created_at, w.resolved_at
          FROM animus.work_items w JOIN q ON q.queue_name = w.queue_name
         WHERE w.state <> 'merged' AND (w.resolved_at IS NULL OR w.resolved_at > t0) AND w.created_at <= t1
    ), base AS (
        SELECT w.queue_name, count(*) FILTER (WHERE w.created_at <= t0) AS open0 FROM w GROUP BY w.queue_name
    ), ev AS (
        SELECT w.queue_name, least(queue_depth_history.buckets - 1, floor(extract(epoch FROM w.created_at - t0) / width)::integer) AS b, 1 AS sub, 0 AS fin
          FROM w WHERE w.created_at > t0
        UNION ALL
        SELECT w.queue_name, least(queue_depth_history.buckets - 1, floor(extract(epoch FROM w.resolved_at - t0) / width)::integer), 0, 1
          FROM w WHERE w.resolved_at IS NOT NULL AND w.resolved_at <= t1
    ), per AS (
        SELECT ev.queue_name, ev.b, sum(ev.sub)::bigint AS sub, sum(ev.fin)::bigint AS fin FROM ev GROUP BY ev.queue_name, ev.b
    )
    SELECT q.queue_name, t0 + pg_catalog.make_interval(secs => width * (g.b + 1)),
           (coalesce(base.open0, 0) + sum(coalesce(per.sub, 0) - coalesce(per.fin, 0)) OVER (PARTITION BY q.queue_name ORDER BY g.b))::bigint,
           coalesce(per.sub, 0), coalesce(per.fin, 0)
      FROM q
     CROSS JOIN pg_catalog.generate_series(0, queue_depth_history.buckets - 1) AS g(b)
      LEFT JOIN base ON base.queue_name = q.queue_name
      LEFT JOIN per ON per.queue_name = q.queue_name AND per.b = g.b
     ORDER BY q.queue_name, g.b;
END;
$$;
REVOKE ALL ON FUNCTION animus.queue_depth_history(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.queue_depth_history(text, interval, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.queue_depth_history(text, interval, integer) IS
'Depth of each queue (queue; NULL: every queue the caller has a grant on) over the last since (1 second to 31 days, default 1 hour), in buckets (1-1000, default 60) of equal width: per bucket its end time, depth = open items (queued or running) at that time, submitted and ended = items created and ended within the bucket (merged duplicates are not counted). Recomputed from the items'' created_at and resolved_at: exact while the ended items are kept (purge_work removes them after their retention). Cost: one scan of the items not ended before the window. Raises ZA168 (since or buckets out of range), ZA109 (no grant on queue), ZA101 (no such queue).';

CREATE FUNCTION animus.memory_namespace_stats()
    RETURNS TABLE (namespace text, memories bigint, embedded bigint, content_bytes bigint,
                   oldest timestamptz, newest timestamptz, last_updated timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    scope text[] := animus.memory_scope('read');
BEGIN
    RETURN QUERY
    SELECT m.namespace, count(*), count(m.embedding), sum(pg_catalog.octet_length(m.content))::bigint,
           min(m.created_at), max(m.created_at), max(m.updated_at)
      FROM animus.memories m
     WHERE m.namespace = ANY (scope) OR '*' = ANY (scope)
     GROUP BY m.namespace
     ORDER BY m.namespace;
END;
$$;
REVOKE ALL ON FUNCTION animus.memory_namespace_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.memory_namespace_stats() TO animus_memory_reader, animus_memory_writer, animus_admin;
COMMENT ON FUNCTION animus.memory_namespace_stats() IS
'Per memory namespace in the caller''s read scope (animus.memory_scope(''read'')): memories, embedded (with an embedding), content_bytes (UTF-8 bytes of content), oldest and newest created_at, last_updated. Cost: one scan of the memories in scope. Raises nothing of its own.';

COMMIT;
