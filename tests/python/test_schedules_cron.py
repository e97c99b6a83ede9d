"""Differential test of animus's SQL cron evaluator against cronsim.

cronsim (the cron evaluator of Healthchecks, maintained, releases through 2026) aims to match
Debian's cron exactly, DST quirks included, which is the behaviour animus documents
(docs/schedules.md). For thousands of random valid 5-field expressions, random start instants
(a third of them within hours of a DST transition) and several time zones, the next runs from
``animus.cron_next_runs`` must equal cronsim's. Deliberate differences, excluded here only:

* ``a-a/s`` (a one-value range with a step): cronsim steps from a to the end of the field, as
  for ``a/s``; animus (like Vixie cron) takes the range as written: just a. Not generated.
* a start instant in the second pass of a repeated hour: cronsim, working on wall-clock time,
  may return a run *before* the start (the first pass of the same local time); animus returns
  only runs strictly after it. cronsim's runs not after the start are dropped before comparing.
* cronsim's extensions (L, W, #, a seconds field) are not standard cron: animus refuses them.
* Australia/Lord_Howe shifts by 30 minutes. For real-clock expressions near its transitions,
  cronsim's hour stepping lands on half hours and misses runs (e.g. ``0 */4 * * *`` skips
  04:00 on the spring-forward day). Where animus and cronsim differ there, animus's runs are
  checked against a minute-by-minute oracle (every instant whose local time matches) instead,
  and must equal it.

Invalid expressions are compared too: animus raises ZA130/ZA131/ZA139 exactly when cronsim
raises CronSimError.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from cronsim import CronSim, CronSimError

UTC = timezone.utc
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
RUNS = 6
FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def _value(rng: random.Random, f: int, lo: int, hi: int) -> tuple[int, str]:
    v = rng.randint(lo, hi)
    if f == 3 and rng.random() < 0.3:
        name = MONTHS[v - 1]
    elif f == 4 and v < 7 and rng.random() < 0.3:
        name = DAYS[v]
    else:
        return v, str(v)
    return v, rng.choice([name, name.lower(), name.capitalize()])


def _term(rng: random.Random, f: int) -> str:
    lo, hi = FIELDS[f]
    kind = rng.random()
    if kind < 0.3:
        return _value(rng, f, lo, hi)[1]
    if kind < 0.5:
        a, ta = _value(rng, f, lo, hi - 1)
        b, tb = _value(rng, f, a + 1, hi)
        return f"{ta}-{tb}"
    if kind < 0.65:
        a, ta = _value(rng, f, lo, hi - 1)
        b, tb = _value(rng, f, a + 1, hi)
        return f"{ta}-{tb}/{rng.randint(1, hi - lo + 2)}"
    if kind < 0.8:
        return f"*/{rng.randint(1, (hi - lo) // 2 + 2)}"
    return f"{_value(rng, f, lo, hi)[1]}/{rng.randint(1, hi - lo + 1)}"


def _field(rng: random.Random, f: int) -> str:
    r = rng.random()
    if r < (0.45 if f >= 2 else 0.25):
        return "*"
    n = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    return ",".join(_term(rng, f) for _ in range(n))


def random_expr(rng: random.Random) -> str:
    return " ".join(_field(rng, f) for f in range(5))


def transitions(zone: str, years: range) -> list[datetime]:
    """The UTC instants of the zone's offset changes within years (hour resolution is enough to
    place starts near them)."""
    if zone == "UTC":
        return []
    tz = ZoneInfo(zone)
    out = []
    t = datetime(years.start, 1, 1, tzinfo=UTC)
    end = datetime(years.stop, 1, 1, tzinfo=UTC)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(minutes=30)
        off = t.astimezone(tz).utcoffset()
        if off != prev:
            out.append(t)
            prev = off
    return out


def cronsim_runs(expr: str, start: datetime, zone: str, n: int) -> list[datetime]:
    it = CronSim(expr, start.astimezone(ZoneInfo(zone)))
    out: list[datetime] = []
    for _ in range(n + 200):
        try:
            t = next(it).astimezone(UTC)
        except StopIteration:
            break
        if t > start and (not out or t > out[-1]):
            out.append(t)
            if len(out) == n:
                break
    return out


def oracle_real_clock(expr: str, start: datetime, zone: str, n: int) -> list[datetime]:
    """Every minute after start whose local time in zone matches (cronsim's parsed fields)."""
    cs = CronSim(expr, datetime(2026, 1, 1, tzinfo=UTC))
    tz = ZoneInfo(zone)
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    out: list[datetime] = []
    for _ in range(200 * 24 * 60):
        lt = t.astimezone(tz)
        if (lt.minute in cs.minutes and lt.hour in cs.hours and lt.month in cs.months and cs.match_day(lt.date())):
            out.append(t)
            if len(out) == n:
                break
        t += timedelta(minutes=1)
    return out


def animus_runs(conn, expr: str, start: datetime, zone: str, n: int) -> list[datetime]:
    rows = conn.execute("SELECT run_at FROM animus.cron_next_runs(%s, %s, %s, %s)", (expr, n, start, zone)).fetchall()
    return [r[0].astimezone(UTC) for r in rows]


@pytest.fixture(scope="module")
def cconn(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


def test_next_runs_match_cronsim(cconn):
    rng = random.Random(20261203)
    trans = {z: transitions(z, range(2024, 2031)) for z in ZONES}
    cases = mismatches = oracled = 0
    failures = []
    for i in range(3000):
        expr = random_expr(rng)
        zone = ZONES[i % len(ZONES)]
        if trans[zone] and rng.random() < 0.4:
            start = rng.choice(trans[zone]) + timedelta(seconds=rng.randint(-4 * 3600, 4 * 3600))
        else:
            start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 7 * 365 * 86400))
        try:
            expected = cronsim_runs(expr, start, zone, RUNS)
        except CronSimError:
            with pytest.raises(psycopg.Error) as e:
                animus_runs(cconn, expr, start, zone, RUNS)
            assert e.value.sqlstate == "ZA139", (expr, e.value)
            continue
        cases += 1
        got = animus_runs(cconn, expr, start, zone, RUNS)
        parts = expr.split()
        if (got != expected and zone == "Australia/Lord_Howe" and (parts[0][0] == "*" or parts[1][0] == "*")
                and len(got) == RUNS):
            oracled += 1
            expected = oracle_real_clock(expr, start, zone, RUNS)
        if got != expected:
            mismatches += 1
            failures.append((expr, zone, start.isoformat(), [t.isoformat() for t in expected], [t.isoformat() for t in got]))
    assert cases > 2500
    assert oracled < 50, oracled
    assert not failures, f"{mismatches} of {cases} differ, e.g. {failures[:3]}"


def test_dst_semantics_documented(cconn):
    """The documented DST rules on fixed examples (Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00)."""
    def runs(expr, start, n=3, zone="Europe/Berlin"):
        return [t.isoformat() for t in animus_runs(cconn, expr, datetime.fromisoformat(start), zone, n)]
    # wall clock: a time in the gap runs when the gap ends (03:00 CEST = 01:00 UTC)
    assert runs("30 2 * * *", "2026-03-28T12:00:00+00:00", 2) == ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
    # wall clock: a repeated time runs once, at its first occurrence (02:30 CEST = 00:30 UTC)
    assert runs("30 2 * * *", "2026-10-24T12:00:00+00:00", 2) == ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    # real clock: every 30 minutes of real time through the repeated hour (02:00, 02:30 twice)
    assert runs("*/30 * * * *", "2026-10-24T23:45:00+00:00", 5) == [
        "2026-10-25T00:00:00+00:00", "2026-10-25T00:30:00+00:00", "2026-10-25T01:00:00+00:00",
        "2026-10-25T01:30:00+00:00", "2026-10-25T02:00:00+00:00"]
    # real clock: the missing hour is not run (01:30 CET, then 03:00 CEST)
    assert runs("0,30 * * * *", "2026-03-29T00:15:00+00:00", 3) == [
        "2026-03-29T00:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-29T01:30:00+00:00"]


def test_invalid_expressions_rejected_like_cronsim(cconn):
    """Random near-valid expressions: animus refuses exactly those cronsim refuses."""
    rng = random.Random(7)
    bad_tokens = ["60", "24", "32", "13", "8", "0-", "-3", "5-2", "*/0", "1//2", "FOO", "JANUARY", "1,,2", "*-5", "**", "1-2-3", "/5", "a"]
    n_rejected = 0
    for _ in range(800):
        parts = random_expr(rng).split()
        f = rng.randrange(5)
        parts[f] = rng.choice(bad_tokens + [parts[f]])
        expr = " ".join(parts)
        try:
            CronSim(expr, datetime(2026, 1, 1, tzinfo=UTC))
            cronsim_ok = True
        except CronSimError:
            cronsim_ok = False
        try:
            animus_runs(cconn, expr, datetime(2026, 1, 1, tzinfo=UTC), "UTC", 1)
            animus_ok = True
        except psycopg.Error as e:
            assert e.sqlstate in ("ZA130", "ZA131", "ZA139"), (expr, e)
            assert e.diag.message_hint, expr
            animus_ok = False
        assert animus_ok == cronsim_ok, (expr, animus_ok, cronsim_ok)
        n_rejected += not animus_ok
    assert n_rejected > 200
