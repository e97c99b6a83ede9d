"""Connecting: fail-fast errors, NotDeployed, PermissionDenied, repr without password."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

import animus
from animus_fixtures import client, otel  # noqa: F401


def with_password(url: str, user: str, password: str, db: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + db if db else parts.path))


def test_wrong_password_is_connection_failed_without_the_password(db_url):
    url = with_password(db_url, "postgres", "wrong-Pw-7731")
    with pytest.raises(animus.ConnectionFailed) as info:
        animus.connect(url, pool_min_size=1)
    text = str(info.value)
    assert "password authentication failed" in text and "wrong-Pw-7731" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_client_repr_is_redacted(db_url, client):
    assert repr(client).startswith("Client(dsn='postgresql://postgres:***@")
    password = urlsplit(db_url).password
    assert password and password not in repr(client) and password not in repr(client.config)


def test_missing_schema_is_not_deployed(scratch_db, otel):
    with animus.connect(scratch_db.url, tracer_provider=otel.tracer_provider,
                        meter_provider=otel.meter_provider) as c:
        with pytest.raises(animus.NotDeployed) as info:
            c.get_memory(1)
    assert info.value.sqlstate in ("3F000", "42883")
    [span] = otel.spans()
    assert span.attributes["db.response.status_code"] == info.value.sqlstate
    assert span.attributes["error.type"] == info.value.sqlstate


def test_role_without_grants_gets_permission_denied(db_url, conn, otel):
    conn.execute("DROP ROLE IF EXISTS animus_py_nogrant")
    conn.execute("CREATE ROLE animus_py_nogrant LOGIN PASSWORD 'nogrant-pw'")
    try:
        url = with_password(db_url, "animus_py_nogrant", "nogrant-pw")
        with animus.connect(url, tracer_provider=otel.tracer_provider) as c:
            with pytest.raises(animus.PermissionDenied) as info:
                c.queue_stats()
        assert info.value.sqlstate == "42501"
    finally:
        conn.execute("DROP ROLE animus_py_nogrant")
