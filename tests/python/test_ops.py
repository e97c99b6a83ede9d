"""The operator's view from Python and the command line: ``animus health`` (exit status for
probes: fails once a queue's oldest item passes its threshold), ``animus status``, ``animus work
show``, ``animus dead list / retry / discard``, ``animus queue pause / resume``, ``animus memory
stats``, the queue depth history, and the Worker's HTTP port (``GET /healthz``, ``GET /metrics``
in Prometheus text fed by the OpenTelemetry instruments)."""
from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid

import psycopg
import pytest

import animus
from animus.ops import Progress
from animus_fixtures import client, otel, queue_name, run_worker, wait_for  # noqa: F401
from test_py_cli import animus_cli, bare_env, project  # noqa: F401


def cli(db_url: str, *args: str):
    return animus_cli(*args, "--dsn", db_url, env=bare_env())


def make_dead(c: animus.Client, queue: str, n: int = 1, error: str = "boom") -> list[uuid.UUID]:
    ids = [c.submit_work("mail", "agent", params={"n": i}, queue=queue, max_attempts=1).work_id for i in range(n)]
    claimed = c.read_work(queue, qty=n, work_types=["mail"])
    assert {i.id for i in claimed} == set(ids)
    for item in claimed:
        assert c.fail_work(item.id, f"{error} {item.params['n']}", retryable=False, attempt=item.attempts).state == "dead"
    return ids


@pytest.fixture
def strict_oldest(conn, queue_name):
    """The queue's oldest_age_sec thresholds set to warn at 0.2 s, fail at 0.5 s."""
    conn.execute("SELECT animus.set_health_threshold('oldest_age_sec', 0.2, 0.5, %s)", [queue_name])
    yield queue_name


def test_animus_health_fails_when_a_queues_oldest_item_passes_its_threshold(db_url, client, strict_oldest):
    q = strict_oldest
    ok = cli(db_url, "health", "--json")
    report = json.loads(ok.stdout)
    mine = {c["check"]: c for c in report["checks"] if c["queue"] == q}
    assert mine["oldest_age_sec"]["status"] == "ok" and mine["oldest_age_sec"]["value"] == 0
    assert report["database"]["reachable"] and report["version"].startswith("@v")
    client.submit_work("t", "probe", queue=q)
    time.sleep(0.6)   # the item's age is what is under test: it must pass 0.5 s
    res = cli(db_url, "health")
    assert res.returncode == 1, res.stdout + res.stderr
    line = next(ln for ln in res.stdout.splitlines() if q in ln and "oldest_age_sec" in ln)
    assert line.split()[5] == "fail" and float(line.split()[3]) >= 0.5
    assert res.stdout.startswith("status: fail")
    # handled: the item is claimed and completed, nothing claimable waits: healthy again
    item = client.read_work(q)[0]
    client.complete_work(item.id, attempt=item.attempts)
    again = cli(db_url, "health", "--json")
    mine = {c["check"]: c for c in json.loads(again.stdout)["checks"] if c["queue"] == q}
    assert mine["oldest_age_sec"]["status"] == "ok"


def test_animus_health_fails_when_the_database_cannot_be_reached():
    res = animus_cli("health", "--json", "--dsn", "postgresql://nobody:x@127.0.0.1:1/none", env=bare_env())
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert report["status"] == "fail" and report["database"]["reachable"] is False
    assert "x@" not in res.stdout   # the password is never printed


def test_status_table_lists_each_queue_with_depth_dead_and_rates(db_url, client, queue_name):
    for i in range(3):
        client.submit_work("t", "s", params={"i": i}, queue=queue_name)
    make_dead(client, queue_name, 1)
    client.pause_queue(queue_name)
    res = cli(db_url, "status")
    assert res.returncode == 0, res.stderr
    header, *rows = res.stdout.splitlines()
    assert header.split()[:8] == ["queue", "status", "paused", "queued", "running", "dead", "stuck", "oldest_age_s"]
    row = next(r.split() for r in rows if r.split()[0] == queue_name)
    assert row[1] == "warn"           # one dead item: the dead check warns
    assert row[2:7] == ["yes", "3", "0", "1", "0"]
    assert row[8:10] == ["4", "1"]    # submitted and ended in the last minute (the dead one ended)


def test_dead_list_retry_discard_from_the_cli(db_url, client, queue_name, conn):
    d1, d2, d3 = make_dead(client, queue_name, 3)
    listed = cli(db_url, "dead", "list", "--queue", queue_name)
    assert listed.returncode == 0
    assert {ln.split()[0] for ln in listed.stdout.splitlines()[1:]} == {str(d1), str(d2), str(d3)}
    assert "boom 0" in listed.stdout
    res = cli(db_url, "dead", "retry", str(d1))
    assert res.returncode == 0, res.stderr
    new_id = uuid.UUID(res.stdout.split(" retried as ")[1].split()[0])
    assert client.get_work(new_id).item.state == "queued"
    assert client.get_work(d1).item.state == "dead"
    res = cli(db_url, "dead", "discard", str(d2))
    assert res.returncode == 0 and f"{d2} discarded" in res.stdout
    # bad input: an item that is not dead, an unknown id, a malformed id -- nothing changes
    before = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0]
    res = cli(db_url, "dead", "retry", str(new_id))
    assert res.returncode == 1 and "ZA165" in res.stderr and "not dead" in res.stderr
    res = cli(db_url, "dead", "discard", str(uuid.uuid4()))
    assert res.returncode == 1 and "ZA102" in res.stderr
    res = cli(db_url, "dead", "retry", "not-a-uuid")
    assert res.returncode == 2 and "expected a work item id" in res.stderr
    after = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0]
    assert after == before
    # --all handles what is left, with progress on stderr
    res = cli(db_url, "dead", "retry", "--all", "--queue", queue_name)
    assert res.returncode == 0 and f"{d3} retried as" in res.stdout
    assert client.list_dead_work(queue_name) == []


def test_work_show_prints_provenance_requesters_steps_and_error(db_url, client, queue_name):
    first = client.submit_work("mail", "scheduler", dedup_key="k", queue=queue_name, trigger_info="every 4h")
    client.submit_work("mail", "agent-7", dedup_key="k", queue=queue_name, trigger_info="user asked")
    item = client.read_work(queue_name)[0]
    client.start_step(item.id, "fetch", item.attempts)
    client.finish_step(item.id, "fetch", item.attempts, result={"ok": True})
    client.fail_work(item.id, "smtp refused", retryable=False, attempt=item.attempts)
    res = cli(db_url, "work", "show", str(first.work_id))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "state:        dead" in out and "error:        smtp refused" in out
    assert "requesters (2):" in out and "agent-7" in out and "user asked" in out
    assert "steps (1):" in out and "fetch#1  step  completed" in out
    res = cli(db_url, "work", "show", str(uuid.uuid4()))
    assert res.returncode == 1 and "ZA102" in res.stderr


def test_queue_pause_and_resume_from_the_cli(db_url, client, queue_name):
    assert cli(db_url, "queue", "pause", queue_name).returncode == 0
    client.submit_work("t", "s", queue=queue_name)
    assert client.read_work(queue_name) == []          # accepts, hands out nothing
    assert cli(db_url, "queue", "resume", queue_name).returncode == 0
    assert len(client.read_work(queue_name)) == 1
    res = cli(db_url, "queue", "pause", "no_such_queue_x")
    assert res.returncode == 1 and "ZA101" in res.stderr


def test_memory_stats_lists_namespaces_with_counts(db_url, client, conn):
    ns = "ops_" + uuid.uuid4().hex[:8]
    dim = conn.execute("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'animus.memories'::regclass"
                       " AND attname = 'embedding'").fetchone()[0]
    client.store_memories([{"content": f"fact {i}", "memory_type": "fact", "embedding": [0.1 * (i + 1)] * dim}
                           for i in range(3)], namespace=ns)
    try:
        res = cli(db_url, "memory", "stats")
        assert res.returncode == 0, res.stderr
        row = next(ln.split() for ln in res.stdout.splitlines() if ln.startswith(ns))
        assert row[1:4] == ["3", "3", str(sum(len(f"fact {i}") for i in range(3)))]
    finally:
        conn.execute("DELETE FROM animus.memories WHERE namespace = %s", [ns])


def test_queue_depth_history_follows_submissions_and_ends(client, queue_name):
    ids = [client.submit_work("t", "s", params={"i": i}, queue=queue_name).work_id for i in range(5)]
    for item in client.read_work(queue_name, qty=2):
        client.complete_work(item.id, attempt=item.attempts)
    points = client.queue_depth_history(queue_name, since=120, buckets=4)
    assert len(points) == 4 and all(p.queue == queue_name for p in points)
    assert points[-1].depth == 3
    assert sum(p.submitted for p in points) == 5 and sum(p.ended for p in points) == 2
    assert [p.bucket_end for p in points] == sorted(p.bucket_end for p in points)
    with pytest.raises(animus.InvalidWorkArgument) as exc:
        client.queue_depth_history(queue_name, since=0)
    assert exc.value.sqlstate == "ZA168"
    assert ids


def test_progress_reports_count_rate_and_eta():
    out = io.StringIO()
    with Progress("import", 4, stream=out, every=0) as p:
        for _ in range(4):
            p.advance()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("import: 1/4 (25%)") and "ETA" in lines[0]
    assert lines[-1].startswith("import: 4/4 (100%)") and lines[-1].endswith("done")


@pytest.fixture
def prometheus_provider():
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import REGISTRY

    from animus.telemetry import prometheus_reader

    reader = prometheus_reader()
    mp = MeterProvider(metric_readers=[reader])
    yield mp
    mp.shutdown()
    try:
        REGISTRY.unregister(reader._collector)
    except (KeyError, AttributeError):
        pass


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_worker_serves_healthz_and_prometheus_metrics(db_url, queue_name, prometheus_provider, conn):
    c = animus.connect(db_url, meter_provider=prometheus_provider, pool_min_size=1, pool_max_size=4)

    def handle(item):
        if item.params.get("fail"):
            raise animus.NonRetryable("no")
        return {"ok": True}

    w = animus.Worker(c, {"t": handle}, queue=queue_name, http_port=0, poll_interval=0.2, schedules=False)
    t = run_worker(w)
    try:
        assert wait_for(lambda: w.http is not None and w.last_read_at is not None)
        base = f"http://127.0.0.1:{w.http.port}"
        for i in range(3):
            c.submit_work("t", "s", params={"i": i}, queue=queue_name)
        c.submit_work("t", "s", params={"fail": True}, queue=queue_name)
        assert wait_for(lambda: w.settled["completed"] == 3 and w.settled["dead"] == 1)
        code, body, ctype = _get(base + "/healthz")
        report = json.loads(body)
        assert ctype == "application/json"
        mine = {x["check"]: x for x in report["checks"] if x["queue"] == queue_name and x["component"] == "queue"}
        assert mine["dead"]["value"] == 1 and mine["dead"]["status"] == "warn"
        assert report["worker"]["concurrency"] == w.concurrency and report["worker"]["free"] == w.concurrency
        assert report["worker"]["settled"] == {"completed": 3, "retried": 0, "dead": 1}
        assert report["worker"]["last_claim_at"] is not None
        assert report["version"].startswith("@v") and report["database"]["reachable"]
        assert code == (503 if report["status"] == "fail" else 200)
        # a failing check makes the probe fail: 503
        conn.execute("SELECT animus.set_health_threshold('dead', 1, 1, %s)", [queue_name])
        code, body, _ = _get(base + "/healthz")
        assert code == 503 and json.loads(body)["status"] == "fail"
        code, body, ctype = _get(base + "/metrics")
        text = body.decode()
        assert code == 200 and ctype.startswith("text/plain")
        q = f'messaging_destination_name="{queue_name}"'
        settled = [ln for ln in text.splitlines() if ln.startswith("animus_work_settled_total") and q in ln]
        assert any('animus_work_outcome="completed"' in ln and ln.endswith(" 3.0") for ln in settled), settled
        assert any('animus_work_outcome="dead"' in ln and ln.endswith(" 1.0") for ln in settled), settled
        # handler duration: the process histogram, the failed run under its error.type
        counts = [float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
                  if ln.startswith("messaging_process_duration_seconds_count") and q in ln]
        assert sum(counts) == 4, counts
        dead_gauge = [ln for ln in text.splitlines() if ln.startswith("animus_queue_dead") and q in ln]
        assert dead_gauge and dead_gauge[0].endswith(" 1.0"), dead_gauge
        assert any(ln.startswith("animus_queue_oldest_age_seconds") or ln.startswith("animus_queue_oldest_age")
                   for ln in text.splitlines())
        assert _get(base + "/nope")[0] == 404
    finally:
        w.stop()
        t.join(20)
        c.close()


def test_worker_healthz_fails_when_the_claim_loop_stalls(db_url, queue_name):
    c = animus.connect(db_url, pool_min_size=1, pool_max_size=4)
    w = animus.Worker(c, {"t": lambda item: None}, queue=queue_name, http_port=0, poll_interval=0.2, schedules=False)
    t = run_worker(w)
    try:
        assert wait_for(lambda: w.http is not None and w.last_read_at is not None)
        w.last_read_at = time.time() - 3600   # as if read_work had not succeeded for an hour
        code, body, _ = _get(f"http://127.0.0.1:{w.http.port}/healthz")
        report = json.loads(body)
        stall = next(x for x in report["checks"] if x["check"] == "last_read_age_sec")
        assert code == 503 and stall["status"] == "fail" and report["status"] == "fail"
    finally:
        w.stop()
        t.join(20)
        c.close()


def test_retry_and_discard_need_animus_admin(db_url, conn, queue_name):
    role = "animus_ops_w_" + uuid.uuid4().hex[:6]
    pw = uuid.uuid4().hex
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{pw}' IN ROLE animus_worker")
    try:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(db_url)
        url = urlunsplit(parts._replace(netloc=f"{role}:{pw}@{parts.hostname}:{parts.port}"))
        with animus.connect(db_url) as admin:
            (dead,) = make_dead(admin, queue_name)
        with animus.connect(url) as worker:
            assert [d.work_id for d in worker.list_dead_work(queue_name)] == [dead]   # may look
            with pytest.raises(animus.PermissionDenied):
                worker.retry_dead_work(dead)
            assert [x for x in worker.health() if x.queue == queue_name and x.check_name == "dead"][0].value == 1
    finally:
        conn.execute(f"DROP ROLE {role}")


def test_animus_worker_cli_serves_metrics_on_its_http_port(project, db_url, queue_name, client):
    import signal
    import socket
    import subprocess

    from test_py_cli import ANIMUS

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client.submit_work("ping", "s", params={"n": 1}, queue=queue_name)
    proc = subprocess.Popen([str(ANIMUS), "worker", "cli_handlers:HANDLERS", "--queue", queue_name, "--http-port", str(port),
                             "--poll-interval", "0.2", "--no-schedules"], cwd=project, env=bare_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def metrics():
            try:
                code, body, _ = _get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                return None
            text = body.decode()
            return text if code == 200 and f'messaging_destination_name="{queue_name}"' in text \
                and "animus_work_settled_total" in text else None
        text = wait_for(metrics, timeout=30)
        assert text, "no metrics from the worker CLI"
        assert any(ln.startswith("animus_queue_depth") and queue_name in ln for ln in text.splitlines())
        code, body, _ = _get(f"http://127.0.0.1:{port}/healthz")
        assert json.loads(body)["worker"]["queue"] == queue_name
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


def test_deployed_version_of_a_single_file_install(scratch_db):
    from conftest import ROOT, psql_file

    res = psql_file(scratch_db.url, ROOT / "sql/animus.sql")
    assert res.returncode == 0, res.stderr
    plan = [ln.split()[0] for ln in (ROOT / "sqitch.plan").read_text().splitlines()
            if ln.strip() and not ln.startswith(("%", "#"))]
    tag = [n for n in plan if n.startswith("@")][-1]
    with psycopg.connect(scratch_db.url) as conn:
        version = conn.execute("SELECT animus.deployed_version()").fetchone()[0]
        assert conn.execute("SELECT to_regclass('sqitch.changes')").fetchone()[0] is None   # no registry
    assert version.startswith(tag) and version.endswith(f"({plan[-1]})"), version
