-- Deploy animus:work_schedules to pg
-- requires: work_submit
-- requires: work_queue_grants

BEGIN;

-- Schedules: work submitted by the database itself, per cron expression or fixed interval.
--
-- Cron is evaluated in SQL: an expression is parsed once (animus.cron_parse) into sorted integer
-- arrays (animus.cron_spec), and the next run is found by walking months, days, hours and minutes
-- of those arrays (animus.cron_next_local), never minute by minute. Time zones are IANA names;
-- DST follows Debian (Vixie) cron, as the Python library cronsim does (docs/schedules.md):
--   * an expression whose minute or hour field starts with '*' ("real clock": */15 * * * *,
--     0 * * * *) runs at every instant whose local time matches: twice for a repeated local time,
--     never for one skipped by a spring-forward gap;
--   * any other expression ("wall clock": 30 2 * * *) runs once per matching local date-time: a
--     repeated local time at its first occurrence, a skipped one at the end of the gap.
--
-- Exactly once: tick_schedules locks each due schedule row (FOR UPDATE SKIP LOCKED), submits its
-- due periods through animus.submit_work and advances next_run_at in the same transaction. A
-- ticker that dies rolls all of it back; another ticker skips the locked row, or re-reads it after
-- the commit (READ COMMITTED re-checks next_run_at <= now on the new row version) and finds it not
-- due. So no period is submitted twice, and none is lost.

INSERT INTO animus.error_codes (sqlstate, name, meaning, hint) VALUES
    ('ZA130', 'cron_syntax_error', 'A cron expression is malformed: not 5 fields or a known @macro, or a field token that is not a number, name, *, range, list or step.',
     'Use 5 fields (minute hour day-of-month month day-of-week) of numbers, names (JAN-DEC, SUN-SAT), *, a-b, lists and /steps, or @hourly/@daily/@weekly/@monthly/@yearly.'),
    ('ZA131', 'cron_value_out_of_range', 'A cron field holds a value outside its range (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7), a range whose end is below its start, or a step of 0.',
     'Keep each value inside its field''s range, write ranges low-high, and steps of at least 1.'),
    ('ZA132', 'schedule_unknown_time_zone', 'A time zone is not an IANA time zone name known to the server (pg_timezone_names).',
     'Pass a name such as ''UTC'', ''Europe/Berlin'' or ''America/New_York''; abbreviations and POSIX offsets are refused.'),
    ('ZA133', 'schedule_period_ambiguous', 'A schedule needs exactly one of cron and every.',
     'Pass cron => ''*/15 * * * *'' or every => ''15 minutes'', not both and not neither.'),
    ('ZA134', 'schedule_invalid_interval', 'every is not a fixed duration of at least 1 second (no months or years) or over 100 years.',
     'Pass every => ''15 minutes'' or ''1 day'' (24 hours); for calendar periods use a cron expression.'),
    ('ZA135', 'schedule_already_exists', 'create_schedule was called with the name of an existing schedule.',
     'Choose another name, alter the existing one with animus.alter_schedule, or drop it first.'),
    ('ZA136', 'schedule_not_found', 'No schedule has the given name (or it belongs to a queue the caller may not use).',
     'Check the name with animus.list_schedules().'),
    ('ZA137', 'schedule_invalid_policy', 'catchup is not ''latest'' or ''all''.',
     'Pass catchup => ''latest'' (only the most recent missed period) or ''all'' (every missed period, oldest first).'),
    ('ZA138', 'schedule_argument_out_of_range', 'A schedule argument is outside its range (max_catchup 1-10000, count 1-1000, max_submits 1-100000).',
     'Use a value inside the range given in the message.'),
    ('ZA139', 'cron_never_fires', 'A cron expression names no instant that exists (e.g. 30 February) within 50 years.',
     'Check the day-of-month against the months (31 * 4 has no day 31) and the weekday rule.'),
    ('ZA140', 'schedule_invalid_name', 'A schedule name is not 1-100 characters of letters, digits and _ . : - starting with a letter or digit.',
     'Use a name such as ''daily_digest'' or ''tenant-a:report''.');

-- The parsed form of a 5-field cron expression.
CREATE TYPE animus.cron_spec AS (
    minutes    integer[],
    hours      integer[],
    doms       integer[],
    months     integer[],
    dows       integer[],
    day_and    boolean,
    real_clock boolean
);
COMMENT ON TYPE animus.cron_spec IS 'A parsed cron expression (animus.cron_parse): the matching values of each field, sorted, and two flags.';
COMMENT ON COLUMN animus.cron_spec.minutes IS 'minutes 0-59 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.hours IS 'hours 0-23 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.doms IS 'days of the month 1-31 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.months IS 'months 1-12 that match, ascending';
COMMENT ON COLUMN animus.cron_spec.dows IS 'days of the week 0-6 (0 = Sunday; 7 in the expression is stored as 0) that match, ascending';
COMMENT ON COLUMN animus.cron_spec.day_and IS 'true when the day-of-month or the day-of-week field starts with * (both must match); false: either matches (Vixie rule)';
COMMENT ON COLUMN animus.cron_spec.real_clock IS 'true when the minute or hour field starts with *: runs follow the real clock across DST changes; false: once per local date-time';

CREATE TABLE animus.schedules (
    name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
    cron            text,
    cron_spec       animus.cron_spec,
    every           interval CHECK (every >= '1 second'),
    start_at        timestamptz,
    timezone        text NOT NULL DEFAULT 'UTC',
    work_type       text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(params) = 'object'),
    queue_name      text NOT NULL REFERENCES animus.queues (queue_name) ON DELETE CASCADE,
    priority        integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    max_attempts    integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 1000),
    period_key      text CHECK (period_key <> ''),
    catchup         text NOT NULL DEFAULT 'latest' CHECK (catchup IN ('latest', 'all')),
    max_catchup     integer NOT NULL DEFAULT 100 CHECK (max_catchup BETWEEN 1 AND 10000),
    paused          boolean NOT NULL DEFAULT false,
    next_run_at     timestamptz,
    last_period_at  timestamptz,
    last_work_id    uuid,
    submitted_count bigint NOT NULL DEFAULT 0,
    skipped_count   bigint NOT NULL DEFAULT 0,
    last_error      text,
    last_error_at   timestamptz,
    created_by      oid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((cron IS NULL) <> (every IS NULL)),
    CHECK ((cron IS NULL) = (cron_spec IS NULL)),
    CHECK ((every IS NULL) = (start_at IS NULL))
);
CREATE INDEX schedules_due ON animus.schedules (next_run_at) WHERE NOT paused;
COMMENT ON TABLE animus.schedules IS
    'Recurring work: each period of a cron expression or fixed interval is submitted once by animus.tick_schedules. '
    'Managed with animus.create_schedule / alter_schedule / pause_schedule / resume_schedule / drop_schedule; readable by animus_admin.';
COMMENT ON COLUMN animus.schedules.name IS 'the schedule''s name (1-100 of [A-Za-z0-9_.:-]); its items have source ''schedule:<name>''';
COMMENT ON COLUMN animus.schedules.cron IS '5-field cron expression or @macro as given (NULL for an interval schedule)';
COMMENT ON COLUMN animus.schedules.cron_spec IS 'cron parsed once at create time (animus.cron_parse); NULL for an interval schedule';
COMMENT ON COLUMN animus.schedules.every IS 'fixed period of an interval schedule (>= 1 second, days are 24 hours, no months); NULL for a cron schedule';
COMMENT ON COLUMN animus.schedules.start_at IS 'first period of an interval schedule (periods are start_at + k * every); NULL for a cron schedule';
COMMENT ON COLUMN animus.schedules.timezone IS 'IANA time zone the cron expression is evaluated in (canonical name of pg_timezone_names)';
COMMENT ON COLUMN animus.schedules.work_type IS 'work_type of the submitted items';
COMMENT ON COLUMN animus.schedules.params IS 'params of the submitted items (a JSON object)';
COMMENT ON COLUMN animus.schedules.queue_name IS 'queue the items are submitted to (dropping the queue drops its schedules)';
COMMENT ON COLUMN animus.schedules.priority IS 'priority of the submitted items (-1000..1000)';
COMMENT ON COLUMN animus.schedules.max_attempts IS 'max_attempts of the submitted items (1..1000)';
COMMENT ON COLUMN animus.schedules.period_key IS 'when set, the period instant (ISO 8601, UTC) is added to the params of each item under this key';
COMMENT ON COLUMN animus.schedules.catchup IS 'missed periods after downtime: ''latest'' submits only the most recent (the others are counted in skipped_count), ''all'' every one, oldest first';
COMMENT ON COLUMN animus.schedules.max_catchup IS 'with catchup ''all'': at most this many of the most recent due periods are submitted; older ones are skipped and counted';
COMMENT ON COLUMN animus.schedules.paused IS 'true: not ticked; resume_schedule continues with the first period after the resume';
COMMENT ON COLUMN animus.schedules.next_run_at IS 'the earliest period not yet submitted or skipped: due when <= now';
COMMENT ON COLUMN animus.schedules.last_period_at IS 'the last period submitted (NULL before the first)';
COMMENT ON COLUMN animus.schedules.last_work_id IS 'work_id of the item submitted for last_period_at';
COMMENT ON COLUMN animus.schedules.submitted_count IS 'periods submitted since creation';
COMMENT ON COLUMN animus.schedules.skipped_count IS 'periods not submitted: passed over by catchup ''latest'' or max_catchup, or while the creator lacked a grant on the queue';
COMMENT ON COLUMN animus.schedules.last_error IS 'why the last tick did not submit this schedule''s due periods (NULL after a successful submit)';
COMMENT ON COLUMN animus.schedules.last_error_at IS 'when last_error was recorded';
COMMENT ON COLUMN animus.schedules.created_by IS 'pg_roles.oid of the creating role (animus.work_caller()): ticks submit only while it may use the queue';
COMMENT ON COLUMN animus.schedules.created_at IS 'when the schedule was created';
COMMENT ON COLUMN animus.schedules.updated_at IS 'when the schedule was last changed by a call (create, alter, pause, resume) or a tick';
GRANT SELECT ON animus.schedules TO animus_admin;

-- ---------------------------------------------------------------- cron parsing

-- One field of a cron expression: its sorted values. field_no: 1 minute, 2 hour, 3 day-of-month,
-- 4 month, 5 day-of-week (values 0-7 kept; the caller maps 7 to 0).
CREATE FUNCTION animus.cron_parse_field(field_no integer, token text)
    RETURNS integer[]
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    names   constant text[] := ARRAY['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
    lo      integer := (ARRAY[0, 0, 1, 1, 0])[field_no];
    hi      integer := (ARRAY[59, 23, 31, 12, 7])[field_no];
    fname   text := names[field_no];
    term    text;
    base    text;
    step_t  text;
    step    integer;
    a       integer;
    b       integer;
    vals    integer[];
    result  integer[] := '{}';
    parts   text[];
    tok     text;
    v       integer;
    i       integer;
BEGIN
    FOREACH term IN ARRAY pg_catalog.string_to_array(token, ',') LOOP
        IF term = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA130',
                MESSAGE = pg_catalog.format('argument cron: field %s: empty element in list %L', fname, pg_catalog.left(token, 60)),
                HINT = 'Separate values with single commas, e.g. 1,15,30.';
        END IF;
        step := NULL;
        base := term;
        IF pg_catalog.strpos(term, '/') > 0 THEN
            base := pg_catalog.split_part(term, '/', 1);
            step_t := pg_catalog.substr(term, pg_catalog.strpos(term, '/') + 1);
            IF step_t !~ '^[0-9]+$' THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA130',
                    MESSAGE = pg_catalog.format('argument cron: field %s: step %L in %L is not a number', fname, pg_catalog.left(step_t, 30), pg_catalog.left(term, 60)),
                    HINT = 'Write a step as */15, 1-30/2 or 5/10.';
            END IF;
            -- Steps past the field's width select only the first value: cap to keep integers small.
            step := CASE WHEN pg_catalog.length(pg_catalog.ltrim(step_t, '0')) > 3 THEN 1000 ELSE step_t::integer END;
            IF step = 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'ZA131',
                    MESSAGE = pg_catalog.format('argument cron: field %s: step 0 in %L', fname, pg_catalog.left(term, 60)),
                    HINT = 'A step is at least 1.';
            END IF;
        END IF;
        IF base = '*' THEN
            a := lo; b := hi;
        ELSE
            IF pg_catalog.strpos(base, '-') > 0 THEN
                parts := ARRAY[pg_catalog.split_part(base, '-', 1), pg_catalog.substr(base, pg_catalog.strpos(base, '-') + 1)];
            ELSE
                parts := ARRAY[base];
            END IF;
            vals := '{}';
            FOREACH tok IN ARRAY parts LOOP
                IF tok ~ '^[0-9]+$' THEN
                    IF pg_catalog.length(pg_catalog.ltrim(tok, '0')) > 2 OR tok::integer NOT BETWEEN lo AND hi THEN
                        RAISE EXCEPTION USING ERRCODE = 'ZA131',
                            MESSAGE = pg_catalog.format('argument cron: field %s: value %s is outside %s-%s', fname, pg_catalog.left(tok, 30), lo, hi),
                            HINT = 'Minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7 (0 and 7 = Sunday).';
                    END IF;
                    v := tok::integer;
                ELSIF field_no = 4 AND pg_catalog.upper(tok) = ANY (ARRAY['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC']) THEN
                    v := pg_catalog.array_position(ARRAY['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC'], pg_catalog.upper(tok));
                ELSIF field_no = 5 AND pg_catalog.upper(tok) = ANY (ARRAY['SUN','MON','TUE','WED','THU','FRI','SAT']) THEN
                    v := pg_catalog.array_position(ARRAY['SUN','MON','TUE','WED','THU','FRI','SAT'], pg_catalog.upper(tok)) - 1;
                ELSE
                    RAISE EXCEPTION USING ERRCODE = 'ZA130',
                        MESSAGE = pg_catalog.format('argument cron: field %s: token %L is not a number%s, *, range, list or step',
                                                    fname, pg_catalog.left(tok, 30),
                                                    CASE field_no WHEN 4 THEN ', month name (JAN-DEC)' WHEN 5 THEN ', weekday name (SUN-SAT)' ELSE '' END),
                        HINT = 'Use 5 fields (minute hour day-of-month month day-of-week) of numbers, names, *, a-b, lists and /steps.';
                END IF;
                vals := vals || v;
            END LOOP;
            a := vals[1];
            IF pg_catalog.cardinality(vals) = 2 THEN
                b := vals[2];
                IF b < a THEN
                    RAISE EXCEPTION USING ERRCODE = 'ZA131',
                        MESSAGE = pg_catalog.format('argument cron: field %s: range %L ends before it starts', fname, pg_catalog.left(base, 30)),
                        HINT = 'Write ranges low-high, e.g. 22-23,0-2 instead of 22-2.';
                END IF;
            ELSIF step IS NOT NULL THEN
                b := hi;          -- 5/10: from 5 to the end of the field, every 10
            ELSE
                b := a;
            END IF;
        END IF;
        i := a;
        WHILE i <= b LOOP
            result := result || i;
            i := i + coalesce(step, 1);
        END LOOP;
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(result) AS x ORDER BY x);
END;
$$;
REVOKE ALL ON FUNCTION animus.cron_parse_field(integer, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_parse_field(integer, text) IS
    'Internal: the sorted values of one cron field (1 minute, 2 hour, 3 day-of-month, 4 month, 5 day-of-week 0-7). Raises ZA130 (malformed token), ZA131 (value out of range, range end below start, step 0).';

CREATE FUNCTION animus.cron_parse(cron text DEFAULT NULL)
    RETURNS animus.cron_spec
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    expr    text;
    f       text[];
    s       animus.cron_spec;
    dim     constant integer[] := ARRAY[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
BEGIN
    IF cron IS NULL OR animus.work_is_blank(cron) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument cron must not be NULL, empty or only white space',
            HINT = 'Pass 5 fields, e.g. cron => ''*/15 * * * *'', or a macro such as ''@daily''.';
    END IF;
    IF pg_catalog.octet_length(cron) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA130', MESSAGE = 'argument cron is longer than 1000 bytes',
            HINT = 'Use ranges and steps instead of long lists.';
    END IF;
    expr := pg_catalog.btrim(cron, E' \t\n\r\f\x0b');
    IF pg_catalog.left(expr, 1) = '@' THEN
        expr := CASE pg_catalog.lower(expr)
                    WHEN '@yearly' THEN '0 0 1 1 *' WHEN '@annually' THEN '0 0 1 1 *'
                    WHEN '@monthly' THEN '0 0 1 * *' WHEN '@weekly' THEN '0 0 * * 0'
                    WHEN '@daily' THEN '0 0 * * *' WHEN '@midnight' THEN '0 0 * * *'
                    WHEN '@hourly' THEN '0 * * * *' END;
        IF expr IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA130',
                MESSAGE = pg_catalog.format('argument cron: unknown macro %L', pg_catalog.left(cron, 30)),
                HINT = 'Macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly (@reboot has no meaning here).';
        END IF;
    END IF;
    f := pg_catalog.regexp_split_to_array(expr, E'[ \t\n\r\f\x0b]+');
    IF pg_catalog.cardinality(f) <> 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA130',
            MESSAGE = pg_catalog.format('argument cron: %s fields, expected 5 (minute hour day-of-month month day-of-week)', pg_catalog.cardinality(f)),
            DETAIL = pg_catalog.format('cron = %L', pg_catalog.left(cron, 100)),
            HINT = 'Use 5 fields, e.g. ''30 9 * * MON-FRI''; seconds and years are not supported.';
    END IF;
    s.minutes := animus.cron_parse_field(1, f[1]);
    s.hours := animus.cron_parse_field(2, f[2]);
    s.doms := animus.cron_parse_field(3, f[3]);
    s.months := animus.cron_parse_field(4, f[4]);
    s.dows := ARRAY(SELECT DISTINCT x % 7 FROM pg_catalog.unnest(animus.cron_parse_field(5, f[5])) AS x ORDER BY 1);
    s.day_and := pg_catalog.left(f[3], 1) = '*' OR pg_catalog.left(f[5], 1) = '*';
    s.real_clock := pg_catalog.left(f[1], 1) = '*' OR pg_catalog.left(f[2], 1) = '*';
    IF s.day_and AND s.doms[1] > (SELECT max(dim[m]) FROM pg_catalog.unnest(s.months) AS m) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA139',
            MESSAGE = pg_catalog.format('argument cron: day-of-month %s does not occur in the months of %L', s.doms[1], pg_catalog.left(cron, 60)),
            HINT = 'Check the day-of-month against the months (e.g. 30 February never comes).';
    END IF;
    RETURN s;
END;
$$;
REVOKE ALL ON FUNCTION animus.cron_parse(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_parse(text) IS
    'Internal: parses a standard 5-field cron expression (minute hour day-of-month month day-of-week; *, lists, ranges, steps, JAN-DEC, SUN-SAT, 0 and 7 = Sunday) '
    'or a macro (@yearly @annually @monthly @weekly @daily @midnight @hourly) into animus.cron_spec. Raises ZA001 (NULL or blank), '
    'ZA130 (malformed: message names the field and the token), ZA131 (value out of range, reversed range, step 0), ZA139 (a day-of-month no chosen month has).';

-- ---------------------------------------------------------------- cron evaluation

-- The first local (wall-clock) date-time >= c that the spec matches; NULL when none within 50 years.
CREATE FUNCTION animus.cron_next_local(spec animus.cron_spec, c timestamp)
    RETURNS timestamp
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    y      integer := pg_catalog.date_part('year', c)::integer;
    mo     integer := pg_catalog.date_part('month', c)::integer;
    d      integer := pg_catalog.date_part('day', c)::integer;
    h      integer := pg_catalog.date_part('hour', c)::integer;
    mi     integer := pg_catalog.date_part('minute', c)::integer + CASE WHEN pg_catalog.date_part('second', c) > 0 THEN 1 ELSE 0 END;
    y0     integer := y;
    dim    integer;
    dow1   integer;
    nd     integer;
    nh     integer;
    nm     integer;
    dom_ok boolean;
    dow_ok boolean;
    all_doms constant boolean := pg_catalog.cardinality(spec.doms) = 31;
    all_dows constant boolean := pg_catalog.cardinality(spec.dows) = 7;
BEGIN
    IF mi = 60 THEN mi := 0; h := h + 1; END IF;
    IF h = 24 THEN h := 0; d := d + 1; END IF;
    LOOP
        IF y > y0 + 50 THEN
            RETURN NULL;
        END IF;
        -- month
        IF NOT mo = ANY (spec.months) THEN
            SELECT min(m) INTO nm FROM pg_catalog.unnest(spec.months) AS m WHERE m > mo;
            IF nm IS NULL THEN
                y := y + 1; mo := spec.months[1];
            ELSE
                mo := nm;
            END IF;
            d := 1; h := 0; mi := 0;
        END IF;
        dim := pg_catalog.date_part('day', pg_catalog.make_date(y, mo, 1) + interval '1 month' - interval '1 day')::integer;
        -- day: the first matching day >= d in this month
        nd := NULL;
        dow1 := pg_catalog.date_part('dow', pg_catalog.make_date(y, mo, 1))::integer;
        WHILE d <= dim LOOP
            dom_ok := all_doms OR d = ANY (spec.doms);
            dow_ok := all_dows OR ((dow1 + d - 1) % 7) = ANY (spec.dows);
            IF (spec.day_and AND dom_ok AND dow_ok) OR (NOT spec.day_and AND (dom_ok OR dow_ok)) THEN
                nd := d;
                EXIT;
            END IF;
            d := d + 1; h := 0; mi := 0;
        END LOOP;
        IF nd IS NULL THEN
            mo := mo + 1; d := 1; h := 0; mi := 0;
            IF mo > 12 THEN mo := 1; y := y + 1; END IF;
            CONTINUE;
        END IF;
        -- hour
        SELECT min(x) INTO nh FROM pg_catalog.unnest(spec.hours) AS x WHERE x >= h;
        IF nh IS NULL THEN
            d := d + 1; h := 0; mi := 0;
            IF d > dim THEN
                d := 1; mo := mo + 1;
                IF mo > 12 THEN mo := 1; y := y + 1; END IF;
            END IF;
            CONTINUE;
        END IF;
        IF nh > h THEN h := nh; mi := 0; END IF;
        -- minute
        SELECT min(x) INTO nm FROM pg_catalog.unnest(spec.minutes) AS x WHERE x >= mi;
        IF nm IS NULL THEN
            h := h + 1; mi := 0;
            IF h = 24 THEN
                h := 0; d := d + 1;
                IF d > dim THEN
                    d := 1; mo := mo + 1;
                    IF mo > 12 THEN mo := 1; y := y + 1; END IF;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        RETURN pg_catalog.make_timestamp(y, mo, d, h, nm, 0);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.cron_next_local(animus.cron_spec, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_next_local(animus.cron_spec, timestamp) IS
    'Internal: the first wall-clock date-time >= c (rounded up to the minute) that spec matches; NULL when none within 50 years. '
    'Walks months, days, hours and minutes of the spec''s arrays. Raises nothing.';

-- The UTC offset of zone tz at instant t. Like the queue helpers (deploy/work_queue_grants.sql) it
-- has no SET clause, so it inlines: no role may execute it, and its callers pin search_path.
CREATE FUNCTION animus.tz_offset(tz text, t timestamptz)
    RETURNS interval
    STABLE
    PARALLEL SAFE
    LANGUAGE sql
AS $$
    SELECT (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC');
$$;
REVOKE ALL ON FUNCTION animus.tz_offset(text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_offset(text, timestamptz) IS 'Internal: the UTC offset of time zone tz at instant t. Raises nothing for a known zone.';

-- The first minute-aligned instant in (lo, hi] whose offset differs from lo's (binary search).
CREATE FUNCTION animus.tz_transition(tz text, lo timestamptz, hi timestamptz)
    RETURNS timestamptz
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    o0  interval := animus.tz_offset(tz, lo);
    a   timestamptz := pg_catalog.date_trunc('minute', lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    b   timestamptz := hi;
    m   timestamptz;
BEGIN
    -- invariant: offset(a) = o0 (a <= lo), offset(b) <> o0
    WHILE b - a > interval '1 minute' LOOP
        m := pg_catalog.date_trunc('minute', (a + (b - a) / 2) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        IF m <= a THEN m := a + interval '1 minute'; END IF;
        IF animus.tz_offset(tz, m) = o0 THEN a := m; ELSE b := m; END IF;
    END LOOP;
    RETURN b;
END;
$$;
REVOKE ALL ON FUNCTION animus.tz_transition(text, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_transition(text, timestamptz, timestamptz) IS
    'Internal: the first minute-aligned instant after lo, at most hi, where zone tz''s offset differs from its offset at lo (hi must differ). Raises nothing.';

-- The instants at which zone tz shows local time l: none (a spring-forward gap), one, or two (a
-- repeated local time), ascending.
CREATE FUNCTION animus.tz_instants(tz text, l timestamp)
    RETURNS timestamptz[]
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    u   timestamptz := l AT TIME ZONE 'UTC';
    o1  interval := animus.tz_offset(tz, u - interval '1 day');
    o2  interval := animus.tz_offset(tz, u + interval '1 day');
    r   timestamptz[] := '{}';
BEGIN
    IF o1 = o2 THEN
        IF ((u - o1) AT TIME ZONE tz) = l THEN
            RETURN ARRAY[u - o1];
        END IF;
        -- a transition within the day that returned to the same offset: ask the server
        RETURN ARRAY[l AT TIME ZONE tz];
    END IF;
    IF ((u - greatest(o1, o2)) AT TIME ZONE tz) = l THEN r := r || (u - greatest(o1, o2)); END IF;
    IF ((u - least(o1, o2)) AT TIME ZONE tz) = l THEN r := r || (u - least(o1, o2)); END IF;
    RETURN r;
END;
$$;
REVOKE ALL ON FUNCTION animus.tz_instants(text, timestamp) FROM PUBLIC;
COMMENT ON FUNCTION animus.tz_instants(text, timestamp) IS
    'Internal: the instants (ascending) at which zone tz shows local time l: none in a spring-forward gap, two in a repeated hour. Raises nothing.';

-- The first run of spec in zone tz strictly after instant after; NULL when none within 50 years.
CREATE FUNCTION animus.cron_next(spec animus.cron_spec, tz text, after timestamptz)
    RETURNS timestamptz
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    la     timestamp := after AT TIME ZONE tz;
    c      timestamp := pg_catalog.date_trunc('minute', after AT TIME ZONE tz) + interval '1 minute';
    l      timestamp;
    inst   timestamptz[];
    t      timestamptz;
    best   timestamptz;
    tr     timestamptz;
    u      timestamptz;
    guard  integer := 0;
BEGIN
    LOOP
        guard := guard + 1;
        IF guard > 10000 THEN
            RETURN NULL;
        END IF;
        l := animus.cron_next_local(spec, c);
        IF l IS NULL THEN
            best := NULL;
            EXIT;
        END IF;
        inst := animus.tz_instants(tz, l);
        IF pg_catalog.cardinality(inst) = 0 THEN
            IF spec.real_clock THEN
                c := l + interval '1 minute';          -- real clock: a local time that does not exist never comes
                CONTINUE;
            END IF;
            -- wall clock: a local time in a gap runs when the gap ends
            u := l AT TIME ZONE 'UTC';
            t := animus.tz_transition(tz, u - greatest(animus.tz_offset(tz, u - interval '1 day'), animus.tz_offset(tz, u + interval '1 day')),
                                      u - least(animus.tz_offset(tz, u - interval '1 day'), animus.tz_offset(tz, u + interval '1 day')));
        ELSIF spec.real_clock THEN
            SELECT min(x) INTO t FROM pg_catalog.unnest(inst) AS x WHERE x > after;
            IF t IS NULL THEN
                c := l + interval '1 minute';
                CONTINUE;
            END IF;
        ELSE
            t := inst[1];                               -- wall clock: a repeated local time runs at its first occurrence
        END IF;
        IF t > after THEN
            best := t;
            EXIT;
        END IF;
        c := l + interval '1 minute';
    END LOOP;
    IF spec.real_clock THEN
        -- after lies in the first pass of a repeated hour: the second pass may come first.
        inst := animus.tz_instants(tz, la);
        IF pg_catalog.cardinality(inst) = 2 AND after < inst[2] THEN
            tr := animus.tz_transition(tz, after, inst[2]);
            l := animus.cron_next_local(spec, tr AT TIME ZONE tz);
            IF l IS NOT NULL THEN
                SELECT min(x) INTO t FROM pg_catalog.unnest(animus.tz_instants(tz, l)) AS x WHERE x >= tr;
                IF t IS NOT NULL AND t > after AND (best IS NULL OR t < best) THEN
                    best := t;
                END IF;
            END IF;
        END IF;
    END IF;
    RETURN best;
END;
$$;
REVOKE ALL ON FUNCTION animus.cron_next(animus.cron_spec, text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.cron_next(animus.cron_spec, text, timestamptz) IS
    'Internal: the first run of spec in IANA zone tz strictly after `after` (NULL when none within 50 years). Real-clock specs (minute or hour field '
    'starting with *) run at every instant whose local time matches; wall-clock specs once per matching local date-time (a repeated one at its '
    'first occurrence, one in a spring-forward gap when the gap ends), as Debian cron and cronsim. Raises nothing.';

-- The canonical IANA name of a time zone, or ZA132.
CREATE FUNCTION animus.schedule_check_timezone(timezone text)
    RETURNS text
    STABLE
    SET search_path = pg_catalog, pg_temp
    -- set_config below changes TimeZone only until this function returns
    SET TimeZone = 'UTC'
    LANGUAGE plpgsql
AS $$
DECLARE
    canonical text;
BEGIN
    IF timezone IS NULL OR timezone = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument timezone must not be NULL or empty',
            HINT = 'Pass an IANA time zone name, e.g. ''UTC'' or ''Europe/Berlin''.';
    END IF;
    -- IANA names only (Area/Location, or UTC/GMT): abbreviations (EST) and POSIX rules (UTC+3,
    -- which means UTC-3) are refused by the shape; the server then says whether it knows the zone
    -- and gives its canonical spelling (a look-up in pg_timezone_names reads every zone file).
    IF timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+$' OR pg_catalog.upper(timezone) IN ('UTC', 'GMT') THEN
        BEGIN
            PERFORM pg_catalog.set_config('TimeZone', timezone, true);
            canonical := pg_catalog.current_setting('TimeZone');
        EXCEPTION WHEN invalid_parameter_value THEN
            canonical := NULL;
        END;
    END IF;
    IF canonical IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA132',
            MESSAGE = pg_catalog.format('argument timezone: %L is not an IANA time zone name', pg_catalog.left(timezone, 64)),
            HINT = 'Pass a name such as ''UTC'', ''Europe/Berlin'' or ''America/New_York'' (see pg_timezone_names); abbreviations and POSIX offsets are refused.';
    END IF;
    RETURN canonical;
END;
$$;
REVOKE ALL ON FUNCTION animus.schedule_check_timezone(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_check_timezone(text) IS
    'Internal: the canonical name of IANA zone timezone (Area/Location or UTC/GMT, case-insensitive, as the server spells it). Raises ZA001 (NULL/empty), ZA132 (not an IANA zone name).';

CREATE FUNCTION animus.cron_next_runs(
    cron      text DEFAULT NULL,
    count     integer DEFAULT 5,
    after     timestamptz DEFAULT pg_catalog.now(),
    timezone  text DEFAULT 'UTC'
)
    RETURNS TABLE (run_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    spec animus.cron_spec := animus.cron_parse(cron_next_runs.cron);
    tz   text := animus.schedule_check_timezone(cron_next_runs.timezone);
    t    timestamptz := cron_next_runs.after;
    i    integer := 0;
BEGIN
    IF cron_next_runs.count IS NULL OR cron_next_runs.count NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument count must be between 1 and 1000',
            DETAIL = pg_catalog.format('count = %s', coalesce(cron_next_runs.count::text, 'NULL')),
            HINT = 'Ask for at most 1000 runs; call again with after => the last one for more.';
    END IF;
    IF t IS NULL OR NOT pg_catalog.isfinite(t) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument after must be a finite timestamp',
            HINT = 'Pass after => now() or another instant.';
    END IF;
    WHILE i < cron_next_runs.count LOOP
        t := animus.cron_next(spec, tz, t);
        EXIT WHEN t IS NULL;
        run_at := t;
        RETURN NEXT;
        i := i + 1;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.cron_next_runs(text, integer, timestamptz, text) IS
    'Tries a cron expression: its next `count` runs (1-1000) strictly after `after`, evaluated in IANA zone `timezone` (DST as Debian cron: see animus.cron_next). '
    'Fewer rows when the expression has no run within 50 years. Raises ZA001 (cron or timezone NULL/empty, after not finite), ZA130, ZA131, ZA139 (bad cron), '
    'ZA132 (unknown time zone), ZA138 (count out of range).';

-- ---------------------------------------------------------------- schedules

-- The first period of a schedule strictly after `after` (interval: start_at if after < start_at).
CREATE FUNCTION animus.schedule_next(s animus.schedules, after timestamptz)
    RETURNS timestamptz
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    secs numeric;
    k    numeric;
BEGIN
    IF s.cron_spec IS NOT NULL THEN
        RETURN animus.cron_next(s.cron_spec, s.timezone, after);
    END IF;
    IF after < s.start_at THEN
        RETURN s.start_at;
    END IF;
    secs := pg_catalog.date_part('epoch', s.every)::numeric;
    k := pg_catalog.floor(pg_catalog.date_part('epoch', after - s.start_at)::numeric / secs) + 1;
    RETURN s.start_at + pg_catalog.make_interval(secs => (k * secs)::double precision);
END;
$$;
REVOKE ALL ON FUNCTION animus.schedule_next(animus.schedules, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_next(animus.schedules, timestamptz) IS
    'Internal: the first period of schedule s strictly after `after` (cron: animus.cron_next; interval: start_at + k * every). Raises nothing.';

-- May role_oid (a schedule's creator) submit to queue? Its role must exist, be a producer (or
-- admin, a member of it, or a superuser) and hold a grant on the queue.
CREATE FUNCTION animus.schedule_creator_allowed(role_oid oid, queue text)
    RETURNS boolean
    STABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT coalesce((SELECT r.rolsuper OR (pg_catalog.pg_has_role(r.oid, 'animus_producer', 'USAGE')
                        AND EXISTS (SELECT 1 FROM animus.queue_grants g
                                     WHERE g.queue_name IN (queue, '*')
                                       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles gr WHERE gr.oid = g.role_oid)
                                       AND pg_catalog.pg_has_role(r.oid, g.role_oid, 'USAGE')))
                       FROM pg_catalog.pg_roles r WHERE r.oid = role_oid), false);
$$;
REVOKE ALL ON FUNCTION animus.schedule_creator_allowed(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_creator_allowed(oid, text) IS
    'Internal: true while role role_oid exists, may submit (animus_producer privileges, or superuser) and holds a grant on queue (or ''*''). Raises nothing.';

-- The argument checks shared by create_schedule and alter_schedule (NULL = not given).
CREATE FUNCTION animus.schedule_check_args(
    work_type text, params jsonb, priority integer, max_attempts integer, catchup text, max_catchup integer,
    every interval, period_key text
)
    RETURNS void
    IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
BEGIN
    IF work_type IS NOT NULL AND (animus.work_is_blank(work_type) OR pg_catalog.octet_length(work_type) > 255) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be empty, only white space or longer than 255 bytes',
            HINT = 'Pass the kind of work, e.g. work_type => ''digest''.';
    END IF;
    IF params IS NOT NULL AND pg_catalog.jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA003', MESSAGE = 'argument params must be a JSON object',
            DETAIL = pg_catalog.format('params is a JSON %s', pg_catalog.jsonb_typeof(params)),
            HINT = 'Wrap the value in an object, e.g. {"value": ...}.';
    END IF;
    IF priority NOT BETWEEN -1000 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument priority must be between -1000 and 1000',
            DETAIL = pg_catalog.format('priority = %s', priority), HINT = 'Higher priority is read first; 0 is the default.';
    END IF;
    IF max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument max_attempts must be between 1 and 1000',
            DETAIL = pg_catalog.format('max_attempts = %s', max_attempts), HINT = 'Pass max_attempts >= 1 (1 = no retry).';
    END IF;
    IF catchup NOT IN ('latest', 'all') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA137', MESSAGE = 'argument catchup must be ''latest'' or ''all''',
            DETAIL = pg_catalog.format('catchup = %L', pg_catalog.left(catchup, 40)),
            HINT = 'latest: only the most recent missed period runs; all: every missed period, oldest first (at most max_catchup).';
    END IF;
    IF max_catchup NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument max_catchup must be between 1 and 10000',
            DETAIL = pg_catalog.format('max_catchup = %s', max_catchup), HINT = 'It bounds how many missed periods catchup ''all'' submits.';
    END IF;
    IF every IS NOT NULL AND (every < interval '1 second' OR pg_catalog.date_part('month', every) <> 0 OR pg_catalog.date_part('year', every) <> 0
                              OR every > interval '36500 days') THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA134', MESSAGE = 'argument every must be a fixed duration between 1 second and 36500 days, without months or years',
            DETAIL = pg_catalog.format('every = %s', every),
            HINT = 'Pass every => ''15 minutes'' or ''1 day'' (24 hours); for calendar periods use cron => ''0 0 1 * *''.';
    END IF;
    IF period_key IS NOT NULL AND (period_key = '' OR pg_catalog.length(period_key) > 100) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument period_key must be NULL or 1-100 characters',
            HINT = 'Pass the params key that receives the period instant, e.g. period_key => ''period_at''.';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION animus.schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_check_args(text, jsonb, integer, integer, text, integer, interval, text) IS
    'Internal: raises ZA001 / ZA002 / ZA003 / ZA134 / ZA137 / ZA138 for the first bad schedule argument (NULL = not given).';

-- A schedule the caller may see, locked; ZA136 otherwise (also for a queue it may not use).
CREATE FUNCTION animus.schedule_lock(name text)
    RETURNS animus.schedules
    VOLATILE
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.schedules;
BEGIN
    IF schedule_lock.name IS NULL OR schedule_lock.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Pass the name of a schedule (animus.list_schedules()).';
    END IF;
    SELECT * INTO s FROM animus.schedules x WHERE x.name = schedule_lock.name FOR UPDATE;
    IF NOT FOUND OR NOT animus.work_queue_allowed(s.queue_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA136', MESSAGE = pg_catalog.format('argument name: no schedule named %L', pg_catalog.left(schedule_lock.name, 100)),
            HINT = 'Check the name with animus.list_schedules().';
    END IF;
    RETURN s;
END;
$$;
REVOKE ALL ON FUNCTION animus.schedule_lock(text) FROM PUBLIC;
COMMENT ON FUNCTION animus.schedule_lock(text) IS
    'Internal: the schedule named name, locked FOR UPDATE, if the caller may use its queue. Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use).';

CREATE FUNCTION animus.create_schedule(
    name          text DEFAULT NULL,
    cron          text DEFAULT NULL,
    work_type     text DEFAULT NULL,
    params        jsonb DEFAULT '{}',
    queue         text DEFAULT 'work',
    timezone      text DEFAULT 'UTC',
    every         interval DEFAULT NULL,
    start_at      timestamptz DEFAULT NULL,
    catchup       text DEFAULT 'latest',
    max_catchup   integer DEFAULT 100,
    priority      integer DEFAULT 0,
    max_attempts  integer DEFAULT 5,
    period_key    text DEFAULT NULL,
    paused        boolean DEFAULT false
)
    RETURNS animus.schedules
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s  animus.schedules;
    tz text;
BEGIN
    IF create_schedule.name IS NULL OR create_schedule.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Name the schedule, e.g. name => ''daily_digest''.';
    END IF;
    IF create_schedule.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA140', MESSAGE = 'argument name must be 1-100 characters of letters, digits and _ . : - starting with a letter or digit',
            DETAIL = pg_catalog.format('name = %L', pg_catalog.left(create_schedule.name, 100)),
            HINT = 'Use a name such as ''daily_digest'' or ''tenant-a:report''.';
    END IF;
    IF create_schedule.work_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument work_type must not be NULL',
            HINT = 'Pass the kind of work the schedule submits, e.g. work_type => ''digest''.';
    END IF;
    IF create_schedule.queue IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument queue must not be NULL',
            HINT = 'Pass an existing queue, or leave queue out for the default ''work''.';
    END IF;
    IF (create_schedule.cron IS NULL) = (create_schedule.every IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'arguments cron and every: pass exactly one of them',
            DETAIL = CASE WHEN create_schedule.cron IS NULL THEN 'neither was given' ELSE 'both were given' END,
            HINT = 'Pass cron => ''*/15 * * * *'' or every => ''15 minutes''.';
    END IF;
    IF create_schedule.every IS NULL AND create_schedule.start_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'argument start_at applies only to interval schedules (every)',
            HINT = 'Leave start_at out for a cron schedule; its runs follow the expression.';
    END IF;
    PERFORM animus.schedule_check_args(create_schedule.work_type, coalesce(create_schedule.params, '{}'),
        coalesce(create_schedule.priority, 0), coalesce(create_schedule.max_attempts, 5),
        coalesce(create_schedule.catchup, 'latest'), coalesce(create_schedule.max_catchup, 100),
        create_schedule.every, create_schedule.period_key);
    IF create_schedule.priority IS NULL OR create_schedule.max_attempts IS NULL OR create_schedule.catchup IS NULL
       OR create_schedule.max_catchup IS NULL OR create_schedule.paused IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'arguments priority, max_attempts, catchup, max_catchup and paused must not be NULL',
            HINT = 'Leave an argument out for its default.';
    END IF;
    tz := animus.schedule_check_timezone(create_schedule.timezone);
    IF NOT animus.work_queue_allowed(create_schedule.queue) THEN
        PERFORM animus.work_raise_not_granted(create_schedule.queue);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = create_schedule.queue) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', create_schedule.queue),
            HINT = 'Pass an existing queue (default ''work''), or create it with animus.create_queue.';
    END IF;
    s.name := create_schedule.name;
    s.timezone := tz;
    IF create_schedule.cron IS NOT NULL THEN
        s.cron := create_schedule.cron;
        s.cron_spec := animus.cron_parse(create_schedule.cron);
    ELSE
        s.every := create_schedule.every;
        s.start_at := coalesce(create_schedule.start_at, pg_catalog.now());
        IF NOT pg_catalog.isfinite(s.start_at) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA002', MESSAGE = 'argument start_at must be finite', HINT = 'Pass a time, or leave it out for now().';
        END IF;
    END IF;
    -- The first period: a cron schedule's first run after now; an interval schedule's first
    -- period at or after now (start_at itself when it is now or later).
    s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
    IF s.next_run_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA139', MESSAGE = pg_catalog.format('argument cron: %L has no run within 50 years', pg_catalog.left(create_schedule.cron, 100)),
            HINT = 'Check the day-of-month and weekday against the months.';
    END IF;
    INSERT INTO animus.schedules AS x (name, cron, cron_spec, every, start_at, timezone, work_type, params, queue_name, priority,
                                       max_attempts, period_key, catchup, max_catchup, paused, next_run_at, created_by)
    VALUES (s.name, s.cron, s.cron_spec, s.every, s.start_at, s.timezone, create_schedule.work_type, coalesce(create_schedule.params, '{}'),
            create_schedule.queue, create_schedule.priority, create_schedule.max_attempts, create_schedule.period_key,
            create_schedule.catchup, create_schedule.max_catchup, create_schedule.paused, s.next_run_at,
            (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = animus.work_caller()))
    ON CONFLICT ON CONSTRAINT schedules_pkey DO NOTHING
    RETURNING x.* INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA135', MESSAGE = pg_catalog.format('argument name: a schedule named %L exists', create_schedule.name),
            HINT = 'Choose another name, change it with animus.alter_schedule, or drop it first.';
    END IF;
    RETURN s;
END;
$$;
REVOKE ALL ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.create_schedule(text, text, text, jsonb, text, text, interval, timestamptz, text, integer, integer, integer, text, boolean) IS
    'Creates schedule `name` submitting work_type with params to queue once per period: of cron (5 fields or @macro, evaluated in IANA zone timezone, '
    'DST as Debian cron) or of every (a fixed duration; periods start_at + k * every, start_at default now()). catchup: after downtime ''latest'' submits '
    'only the most recent missed period, ''all'' every one oldest first (at most the max_catchup most recent). period_key adds the period instant to params. '
    'The ticks (animus.tick_schedules) submit with the authority of the creating role: only while it may submit to the queue. Producers and admins, on '
    'queues granted to them. Returns the new row. Raises ZA001 (name, work_type, queue NULL; blank work_type; bad period_key), ZA140 (bad name), ZA133 '
    '(both or neither of cron and every, start_at with cron), ZA130 / ZA131 / ZA139 (bad cron), ZA132 (unknown time zone), ZA134 (bad every), ZA137 '
    '(catchup), ZA138 (max_catchup not 1-10000), ZA002 (priority, max_attempts), ZA003 (params not an object), ZA109 (no grant on the queue), ZA101 '
    '(unknown queue), ZA135 (name taken).';

CREATE FUNCTION animus.alter_schedule(
    name          text DEFAULT NULL,
    cron          text DEFAULT NULL,
    every         interval DEFAULT NULL,
    start_at      timestamptz DEFAULT NULL,
    timezone      text DEFAULT NULL,
    work_type     text DEFAULT NULL,
    params        jsonb DEFAULT NULL,
    queue         text DEFAULT NULL,
    catchup       text DEFAULT NULL,
    max_catchup   integer DEFAULT NULL,
    priority      integer DEFAULT NULL,
    max_attempts  integer DEFAULT NULL,
    period_key    text DEFAULT NULL
)
    RETURNS animus.schedules
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s       animus.schedules;
    retime  boolean := false;
BEGIN
    s := animus.schedule_lock(alter_schedule.name);
    IF alter_schedule.cron IS NOT NULL AND alter_schedule.every IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'arguments cron and every: pass at most one of them',
            HINT = 'cron turns the schedule into a cron schedule, every into an interval schedule.';
    END IF;
    PERFORM animus.schedule_check_args(alter_schedule.work_type, alter_schedule.params, alter_schedule.priority, alter_schedule.max_attempts,
        alter_schedule.catchup, alter_schedule.max_catchup, alter_schedule.every, nullif(alter_schedule.period_key, ''));
    IF alter_schedule.timezone IS NOT NULL THEN
        s.timezone := animus.schedule_check_timezone(alter_schedule.timezone);
        retime := true;
    END IF;
    IF alter_schedule.queue IS NOT NULL AND alter_schedule.queue <> s.queue_name THEN
        IF NOT animus.work_queue_allowed(alter_schedule.queue) THEN
            PERFORM animus.work_raise_not_granted(alter_schedule.queue);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM animus.queues q WHERE q.queue_name = alter_schedule.queue) THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA101', MESSAGE = pg_catalog.format('argument queue: no work queue named %L', alter_schedule.queue),
                HINT = 'Pass an existing queue, or create it with animus.create_queue.';
        END IF;
        s.queue_name := alter_schedule.queue;
    END IF;
    IF alter_schedule.cron IS NOT NULL THEN
        s.cron_spec := animus.cron_parse(alter_schedule.cron);
        s.cron := alter_schedule.cron;
        s.every := NULL;
        s.start_at := NULL;
        retime := true;
    END IF;
    IF alter_schedule.every IS NOT NULL THEN
        s.every := alter_schedule.every;
        s.start_at := coalesce(alter_schedule.start_at, s.start_at, pg_catalog.now());
        s.cron := NULL;
        s.cron_spec := NULL;
        retime := true;
    ELSIF alter_schedule.start_at IS NOT NULL THEN
        IF s.every IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA133', MESSAGE = 'argument start_at applies only to interval schedules (every)',
                HINT = 'Leave start_at out for a cron schedule.';
        END IF;
        s.start_at := alter_schedule.start_at;
        retime := true;
    END IF;
    IF retime THEN
        -- A new timing starts afresh: its first period after now.
        s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
        IF s.next_run_at IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'ZA139', MESSAGE = pg_catalog.format('argument cron: %L has no run within 50 years', pg_catalog.left(s.cron, 100)),
                HINT = 'Check the day-of-month and weekday against the months.';
        END IF;
    END IF;
    UPDATE animus.schedules x
       SET cron = s.cron, cron_spec = s.cron_spec, every = s.every, start_at = s.start_at, timezone = s.timezone,
           queue_name = s.queue_name, next_run_at = s.next_run_at,
           work_type = coalesce(alter_schedule.work_type, x.work_type), params = coalesce(alter_schedule.params, x.params),
           catchup = coalesce(alter_schedule.catchup, x.catchup), max_catchup = coalesce(alter_schedule.max_catchup, x.max_catchup),
           priority = coalesce(alter_schedule.priority, x.priority), max_attempts = coalesce(alter_schedule.max_attempts, x.max_attempts),
           period_key = CASE WHEN alter_schedule.period_key IS NULL THEN x.period_key ELSE nullif(alter_schedule.period_key, '') END,
           updated_at = pg_catalog.now()
     WHERE x.name = s.name
    RETURNING x.* INTO s;
    RETURN s;
END;
$$;
REVOKE ALL ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text)
    TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.alter_schedule(text, text, interval, timestamptz, text, text, jsonb, text, text, integer, integer, integer, text) IS
    'Changes the given settings of schedule `name` (NULL = unchanged; period_key '''' removes it). A new cron, every, start_at or timezone restarts the '
    'timing: next_run_at becomes the first period after now (due periods not yet submitted are dropped). The creator (whose authority ticks use) stays. '
    'Only on schedules of queues granted to the caller (and a new queue must be granted too). Returns the row. Raises ZA001 (name NULL/empty), '
    'ZA136 (no such schedule), ZA133 (cron and every both, start_at on a cron schedule), ZA130 / ZA131 / ZA139, ZA132, ZA134, ZA137, ZA138, ZA002, ZA003, '
    'ZA109, ZA101 as create_schedule.';

CREATE FUNCTION animus.pause_schedule(name text DEFAULT NULL)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.schedules := animus.schedule_lock(pause_schedule.name);
BEGIN
    IF s.paused THEN
        RETURN false;
    END IF;
    UPDATE animus.schedules x SET paused = true, updated_at = pg_catalog.now() WHERE x.name = s.name;
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.pause_schedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.pause_schedule(text) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.pause_schedule(text) IS
    'Stops schedule `name` from submitting until resume_schedule; true if it was running, false if already paused. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

CREATE FUNCTION animus.resume_schedule(name text DEFAULT NULL)
    RETURNS timestamptz
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.schedules := animus.schedule_lock(resume_schedule.name);
BEGIN
    IF NOT s.paused THEN
        RETURN s.next_run_at;
    END IF;
    -- Periods that passed while paused are not caught up: the next is the first after now
    -- (an interval schedule's period at exactly now counts).
    s.next_run_at := animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END);
    UPDATE animus.schedules x SET paused = false, next_run_at = s.next_run_at, updated_at = pg_catalog.now() WHERE x.name = s.name;
    RETURN s.next_run_at;
END;
$$;
REVOKE ALL ON FUNCTION animus.resume_schedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.resume_schedule(text) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.resume_schedule(text) IS
    'Resumes a paused schedule and returns its next run: the first period after now (periods that passed while paused are not submitted). On a running '
    'schedule it changes nothing and returns next_run_at. Raises ZA001 (name NULL/empty), ZA136 (no such schedule).';

CREATE FUNCTION animus.drop_schedule(name text DEFAULT NULL, if_exists boolean DEFAULT false)
    RETURNS boolean
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.schedules;
BEGIN
    BEGIN
        s := animus.schedule_lock(drop_schedule.name);
    EXCEPTION WHEN SQLSTATE 'ZA136' THEN
        IF coalesce(drop_schedule.if_exists, false) THEN
            RETURN false;
        END IF;
        RAISE;
    END;
    DELETE FROM animus.schedules x WHERE x.name = s.name;
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION animus.drop_schedule(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.drop_schedule(text, boolean) TO animus_producer, animus_admin;
COMMENT ON FUNCTION animus.drop_schedule(text, boolean) IS
    'Deletes schedule `name` (items it submitted stay); true when dropped, false for a missing one with if_exists. Raises ZA001 (name NULL/empty), '
    'ZA136 (no such schedule, without if_exists).';

CREATE FUNCTION animus.list_schedules(queue text DEFAULT NULL)
    RETURNS TABLE (name text, queue_name text, work_type text, cron text, every interval, start_at timestamptz, timezone text,
                   params jsonb, priority integer, max_attempts integer, period_key text, catchup text, max_catchup integer,
                   paused boolean, next_run_at timestamptz, last_period_at timestamptz, last_work_id uuid,
                   submitted_count bigint, skipped_count bigint, last_error text, last_error_at timestamptz,
                   created_by text, created_at timestamptz, updated_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE sql
AS $$
    SELECT s.name, s.queue_name, s.work_type, s.cron, s.every, s.start_at, s.timezone, s.params, s.priority, s.max_attempts,
           s.period_key, s.catchup, s.max_catchup, s.paused, s.next_run_at, s.last_period_at, s.last_work_id,
           s.submitted_count, s.skipped_count, s.last_error, s.last_error_at,
           coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = s.created_by), s.created_by::text),
           s.created_at, s.updated_at
      FROM animus.schedules s
     WHERE (list_schedules.queue IS NULL OR s.queue_name = list_schedules.queue)
       AND animus.work_queue_allowed(s.queue_name)
     ORDER BY s.name;
$$;
REVOKE ALL ON FUNCTION animus.list_schedules(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.list_schedules(text) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.list_schedules(text) IS
    'The schedules of queue `queue` (NULL: every queue) that the caller may use, by name, with next_run_at, counters and last_error. Raises nothing.';

CREATE FUNCTION animus.schedule_next_runs(name text DEFAULT NULL, count integer DEFAULT 5)
    RETURNS TABLE (run_at timestamptz)
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
DECLARE
    s animus.schedules;
    t timestamptz;
    i integer := 0;
BEGIN
    IF schedule_next_runs.name IS NULL OR schedule_next_runs.name = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument name must not be NULL or empty',
            HINT = 'Pass the name of a schedule (animus.list_schedules()).';
    END IF;
    IF schedule_next_runs.count IS NULL OR schedule_next_runs.count NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument count must be between 1 and 1000',
            DETAIL = pg_catalog.format('count = %s', coalesce(schedule_next_runs.count::text, 'NULL')),
            HINT = 'Ask for at most 1000 runs.';
    END IF;
    SELECT * INTO s FROM animus.schedules x WHERE x.name = schedule_next_runs.name;
    IF NOT FOUND OR NOT animus.work_queue_allowed(s.queue_name) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA136', MESSAGE = pg_catalog.format('argument name: no schedule named %L', pg_catalog.left(schedule_next_runs.name, 100)),
            HINT = 'Check the name with animus.list_schedules().';
    END IF;
    -- From next_run_at (a due period first); a paused schedule shows the runs it would have if resumed now.
    t := CASE WHEN s.paused THEN animus.schedule_next(s, pg_catalog.now() - CASE WHEN s.every IS NULL THEN interval '0' ELSE interval '1 microsecond' END)
              ELSE s.next_run_at END;
    WHILE t IS NOT NULL AND i < schedule_next_runs.count LOOP
        run_at := t;
        RETURN NEXT;
        i := i + 1;
        t := animus.schedule_next(s, t);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.schedule_next_runs(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.schedule_next_runs(text, integer) TO animus_producer, animus_worker, animus_admin;
COMMENT ON FUNCTION animus.schedule_next_runs(text, integer) IS
    'The next `count` (1-1000) periods of schedule `name`, from next_run_at (which may be due already); for a paused schedule those after now. '
    'Raises ZA001 (name NULL/empty), ZA136 (no such schedule, or in a queue the caller may not use), ZA138 (count out of range).';

CREATE FUNCTION animus.tick_schedules(now timestamptz DEFAULT pg_catalog.clock_timestamp(), max_submits integer DEFAULT 1000)
    RETURNS TABLE (schedule text, period_at timestamptz, work_id uuid)
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    s         animus.schedules;
    budget    integer;
    due       timestamptz[];
    p         timestamptz;
    nxt       timestamptz;
    n_skip    numeric;
    n_due     numeric;
    secs      numeric;
    steps     integer;
    keep      integer;
    send      timestamptz[];
    ids       uuid[];
    sub       animus.work_submission;
    cut       integer;
    err       text;
    cap       constant integer := 100000;   -- periods enumerated per schedule and tick (more: the next tick goes on)
BEGIN
    IF tick_schedules.now IS NULL OR NOT pg_catalog.isfinite(tick_schedules.now) THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA001', MESSAGE = 'argument now must be a finite timestamp',
            HINT = 'Leave now out (clock_timestamp()), or pass the instant to tick at.';
    END IF;
    IF tick_schedules.max_submits IS NULL OR tick_schedules.max_submits NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'ZA138', MESSAGE = 'argument max_submits must be between 1 and 100000',
            DETAIL = pg_catalog.format('max_submits = %s', coalesce(tick_schedules.max_submits::text, 'NULL')),
            HINT = 'It bounds the items one tick submits; the rest follow on the next tick.';
    END IF;
    budget := tick_schedules.max_submits;
    FOR s IN SELECT * FROM animus.schedules x
              WHERE NOT x.paused AND x.next_run_at <= tick_schedules.now AND animus.work_queue_allowed(x.queue_name)
              ORDER BY x.next_run_at
                FOR UPDATE SKIP LOCKED
    LOOP
        EXIT WHEN budget <= 0;
        keep := CASE WHEN s.catchup = 'latest' THEN 1 ELSE s.max_catchup END;
        IF s.every IS NOT NULL THEN
            -- Interval: the due periods by arithmetic (any downtime costs the same); only the
            -- ones that may be submitted are listed.
            secs := pg_catalog.date_part('epoch', s.every)::numeric;
            n_due := pg_catalog.floor(pg_catalog.date_part('epoch', tick_schedules.now - s.next_run_at)::numeric / secs) + 1;
            n_skip := greatest(n_due - keep, 0);
            due := ARRAY(SELECT s.next_run_at + pg_catalog.make_interval(secs => ((n_skip + k) * secs)::double precision)
                           FROM pg_catalog.generate_series(0, least(n_due - n_skip, keep) - 1) AS k);
            nxt := s.next_run_at + pg_catalog.make_interval(secs => (n_due * secs)::double precision);
        ELSE
            -- Cron: walk the due periods, oldest first (at most cap of them per tick).
            due := '{}';
            p := s.next_run_at;
            steps := 0;
            WHILE p IS NOT NULL AND p <= tick_schedules.now AND steps < cap LOOP
                due := due || p;
                steps := steps + 1;
                p := animus.schedule_next(s, p);
            END LOOP;
            nxt := p;     -- the first period not walked (still due when the cap stopped the walk)
            n_due := pg_catalog.cardinality(due);
            n_skip := greatest(n_due - keep, 0);
            due := due[n_skip + 1 :];
        END IF;
        IF NOT animus.schedule_creator_allowed(s.created_by, s.queue_name) THEN
            -- The creator lost its grant (or role): nothing is submitted; these periods are skipped.
            UPDATE animus.schedules x
               SET next_run_at = nxt, skipped_count = x.skipped_count + n_due,
                   last_error = pg_catalog.format('role %s may not submit to queue %L: %s period(s) skipped',
                                                  coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = s.created_by), 'OID ' || s.created_by),
                                                  s.queue_name, n_due),
                   last_error_at = tick_schedules.now, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        IF nxt IS NOT NULL AND nxt <= tick_schedules.now THEN
            -- The walk stopped at the cap: skip what is certainly older than the kept ones (all
            -- but the last keep walked), go on with the rest on the next tick.
            UPDATE animus.schedules x
               SET next_run_at = due[1], skipped_count = x.skipped_count + n_skip, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        send := due;
        cut := least(pg_catalog.cardinality(send), budget);
        ids := '{}';
        err := NULL;
        BEGIN
            FOR i IN 1 .. cut LOOP
                sub := animus.submit_work(
                    work_type => s.work_type,
                    source => 'schedule:' || s.name,
                    params => CASE WHEN s.period_key IS NULL THEN s.params
                                   ELSE s.params || pg_catalog.jsonb_build_object(s.period_key,
                                        pg_catalog.to_char(send[i] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) END,
                    trigger_info => pg_catalog.jsonb_build_object('schedule', s.name,
                                        'period_at', pg_catalog.to_char(send[i] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
                    priority => s.priority,
                    max_attempts => s.max_attempts,
                    queue => s.queue_name);
                ids := ids || sub.work_id;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            err := pg_catalog.format('submit failed (%s): %s', SQLSTATE, err);
        END;
        IF err IS NOT NULL THEN
            -- Nothing of this schedule was submitted (the block rolled back): it stays due.
            UPDATE animus.schedules x SET last_error = err, last_error_at = tick_schedules.now, updated_at = pg_catalog.now()
             WHERE x.name = s.name;
            CONTINUE;
        END IF;
        budget := budget - cut;
        UPDATE animus.schedules x
           SET next_run_at = CASE WHEN cut < pg_catalog.cardinality(send) THEN send[cut + 1] ELSE nxt END,
               last_period_at = CASE WHEN cut > 0 THEN send[cut] ELSE x.last_period_at END,
               last_work_id = CASE WHEN cut > 0 THEN ids[cut] ELSE x.last_work_id END,
               submitted_count = x.submitted_count + cut,
               skipped_count = x.skipped_count + n_skip,
               last_error = NULL, last_error_at = NULL,
               updated_at = pg_catalog.now()
         WHERE x.name = s.name;
        FOR i IN 1 .. cut LOOP
            schedule := s.name;
            period_at := send[i];
            work_id := ids[i];
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION animus.tick_schedules(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION animus.tick_schedules(timestamptz, integer) TO animus_worker, animus_admin;
COMMENT ON FUNCTION animus.tick_schedules(timestamptz, integer) IS
    'Submits the due periods (<= now) of every unpaused schedule on a queue the caller may use, and advances next_run_at in the same transaction: '
    'schedule rows are locked FOR UPDATE SKIP LOCKED, so concurrent tickers never submit a period twice and a ticker that dies submits nothing. '
    'catchup ''latest'': only the most recent due period (older ones counted in skipped_count); ''all'': each due period oldest first, at most the '
    'max_catchup most recent. At most max_submits (1-100000) items per call, the rest on the next tick. Items: source ''schedule:<name>'', trigger_info '
    '{"schedule", "period_at"} (JSON text), params as configured (plus period_key). A schedule whose creator may no longer submit to its queue skips '
    'its due periods (last_error says why); one whose submit fails stays due (last_error). Returns (schedule, period_at, work_id) per submitted item. '
    'Raises ZA001 (now NULL or infinite), ZA138 (max_submits out of range).';

COMMIT;
