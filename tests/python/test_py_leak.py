"""The database password never appears in a repr, a log line, a span, a metric or an exception."""
from __future__ import annotations

import json
import logging
import traceback
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

import animus
from animus_fixtures import OtlpReceiver, clean_env, otel  # noqa: F401

SECRET = "Leak-Canary-9f3Kq!x"


@pytest.fixture
def leaky_url(db_url, conn):
    role = "animus_py_leak_" + uuid.uuid4().hex[:6]
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}' IN ROLE animus_producer, animus_worker, "
                 "animus_memory_reader, animus_memory_writer")
    parts = urlsplit(db_url)
    yield urlunsplit(parts._replace(netloc=f"{role}:{quote(SECRET, safe='')}@{parts.hostname}:{parts.port}"))
    conn.execute(f"DROP OWNED BY {role}")
    conn.execute(f"DROP ROLE {role}")


def forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote(secret)]


def assert_clean(text: str, where: str) -> None:
    for form in forms(SECRET):
        assert form not in text, f"the password leaked in {where}"


def span_dump(spans) -> str:
    return "\n".join(s.to_json() for s in spans)


def metric_dump(otel) -> str:
    data = otel.reader.get_metrics_data()
    return data.to_json() if data is not None else ""


def test_password_never_leaks(leaky_url, otel, caplog, conn):
    caplog.set_level(logging.DEBUG)          # every logger ...
    caplog.set_level(logging.DEBUG, logger="psycopg")   # ... psycopg and its pool (WARNING by default)
    texts: dict[str, str] = {}
    cfg = animus.Config.from_env({"DATABASE_URL": leaky_url})
    texts["config repr"] = repr(cfg) + str(cfg) + repr(cfg.database_url) + str(cfg.database_url)
    with animus.connect(leaky_url, tracer_provider=otel.tracer_provider,
                        meter_provider=otel.meter_provider) as client:
        texts["client repr"] = repr(client) + str(client)
        queue = "leak_" + uuid.uuid4().hex[:8]
        conn.execute("SELECT animus.create_queue(%s)", [queue])
        try:
            r = client.submit_work("leak", "leak-test", queue=queue, params={"p": 1})
            texts["result repr"] = repr(r)
            items = client.read_work(queue, vt=5)
            texts["items repr"] = repr(items)
            client.complete_work(items[0].id)
            errors = []
            for call in (lambda: client.get_work(uuid.uuid4()),                 # ZA102
                         lambda: client.complete_work(items[0].id),             # ZA104
                         lambda: client.search_memory_text("x", filters={"bad": 1}),
                         lambda: client.submit_work("", "x", queue=queue)):
                with pytest.raises(animus.AnimusError) as info:
                    call()
                errors.append(info.value)
            texts["exceptions"] = "\n".join(
                "".join(traceback.format_exception(type(e), e, e.__traceback__)) + repr(e) for e in errors)
        finally:
            conn.execute("SELECT animus.drop_queue(%s)", [queue])
    # a login that fails: the message names the server, never the password it was given
    bad = leaky_url.replace(quote(SECRET, safe=""), quote(SECRET + "-wrong", safe=""))
    with pytest.raises(animus.ConnectionFailed) as info:
        animus.connect(bad)
    texts["failed login"] = "".join(traceback.format_exception(info.type, info.value, info.tb)) + repr(info.value)
    texts["log records"] = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    texts["spans"] = span_dump(otel.spans())
    texts["metrics"] = metric_dump(otel)
    assert otel.spans() and caplog.records, "there was something to check"
    for where, text in texts.items():
        assert_clean(text, where)


def test_password_never_reaches_an_otlp_export(leaky_url):
    """The whole export of a real process (OTLP/HTTP bodies) holds no form of the password."""
    import subprocess
    import sys
    import textwrap

    receiver = OtlpReceiver()
    try:
        code = textwrap.dedent(f"""
            import animus, animus.telemetry as t, logging
            logging.basicConfig(level=logging.DEBUG)
            logging.getLogger("psycopg").setLevel(logging.DEBUG)
            h = t.init(service_name="leak")
            c = animus.connect({leaky_url!r})
            try:
                c.get_work("00000000-0000-0000-0000-000000000000")
            except animus.AnimusError as e:
                print(repr(e), e)
            c.search_memory_text("anything")
            c.close(); h.shutdown()
        """)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))
        assert res.returncode == 0, res.stderr
        assert receiver.spans()
        body = receiver.raw().decode("latin-1")
        assert_clean(body, "the OTLP export")
        assert_clean(res.stdout + res.stderr, "the process output (logs at DEBUG)")
    finally:
        receiver.close()
