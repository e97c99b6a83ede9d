"""``animus dashboard``: a small server-rendered web dashboard (stdlib http.server, no JavaScript).

Pages: ``/`` the queues (status, depth, running, dead, stuck, oldest age, a depth-over-time
chart per queue as inline SVG, pause / resume), ``/dead`` the dead letters (error, retry,
discard), ``/work/<id>`` an item's timeline (submission, merged submissions, attempts, steps,
end, trace id), ``/memory`` the memory namespaces with their counts.

Login with a database role and its password: the dashboard connects to the database of
``DATABASE_URL`` (its host, port, database) *as that role*, so every page shows exactly what the
role may see (per-queue grants, namespace scope) and the database refuses what it may not do.
Buttons that change something are shown and accepted only for members of ``animus_admin``
(read-only otherwise: HTTP 403). Bad input is answered with a 4xx and a text body, nothing
changed: a malformed or unknown query parameter (400), an unknown item or queue (404), a retry
of an item that is not dead (409), a request without rights (403), no session (401 / the login
page). Binds to 127.0.0.1 by default. Every response carries ``X-Animus-Queries``: the
database calls the page made (the dashboard's cost, see tools/bench_dashboard.py).
"""
from __future__ import annotations

import html
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit
from uuid import UUID

from animus.ops import _num  # one number format for the CLI and the dashboard
from animus.errors import (AnimusError, ConnectionFailed, InvalidArgument, InvalidState, NotDeployed,
                           NotFound, PermissionDenied)

__all__ = ["Dashboard", "make_server", "serve"]

SESSION_COOKIE = "animus_session"
SESSION_IDLE = 8 * 3600.0


class HTTPError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _status_for(exc: AnimusError) -> int:
    if isinstance(exc, PermissionDenied) or exc.sqlstate == "ZA109":
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InvalidState):
        return 409
    if isinstance(exc, InvalidArgument) or (exc.sqlstate or "").startswith("ZA"):
        return 400
    if isinstance(exc, (ConnectionFailed, NotDeployed)):
        return 503
    return 500


class _Counted:
    """The session's client, counting the database calls of the current page."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            self.calls += 1
            return attr(*a, **kw)
        return call


@dataclass
class Session:
    role: str
    admin: bool
    client: Any
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _fmt_ts(ts: Any) -> str:
    if isinstance(ts, datetime):
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    return _e(ts)




def svg_chart(points: list[tuple[datetime, int]], *, width: int = 320, height: int = 64, label: str = "") -> str:
    """A small inline SVG line chart of (time, value) points with its maximum and time span."""
    if not points:
        return ""
    top = max(v for _, v in points) or 1
    n = len(points)
    pad = 14
    xs = [pad + (width - 2 * pad) * (i / max(1, n - 1)) for i in range(n)]
    ys = [height - pad - (height - 2 * pad) * (v / top) for _, v in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    area = f"{xs[0]:.1f},{height - pad} " + line + f" {xs[-1]:.1f},{height - pad}"
    t0, t1 = points[0][0], points[-1][0]
    return (f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-label="{_e(label)}"><title>{_e(label)}: max {top}, now {points[-1][1]}</title>'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#bbb"/>'
            f'<polygon points="{area}" fill="#dbe9f6"/>'
            f'<polyline points="{line}" fill="none" stroke="#2b6cb0" stroke-width="1.5"/>'
            f'<text x="{pad}" y="10" font-size="9" fill="#555">max {top}</text>'
            f'<text x="{pad}" y="{height - 2}" font-size="9" fill="#555">{t0:%H:%M}</text>'
            f'<text x="{width - pad}" y="{height - 2}" font-size="9" fill="#555" text-anchor="end">{t1:%H:%M} UTC</text>'
            f'</svg>')


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#1a365d;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:12px}
main{padding:12px 16px}table{border-collapse:collapse;margin:8px 0}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.ok{color:#276749}.warn{color:#b7791f;font-weight:bold}.fail{color:#c53030;font-weight:bold}
form.inline{display:inline}button{cursor:pointer}.err{white-space:pre-wrap;font-family:monospace;font-size:12px}
.msg{background:#fefcbf;padding:6px 10px;border:1px solid #ecc94b}.muted{color:#777}
"""


class Dashboard:
    """The dashboard's state (sessions) and its pages; :func:`make_server` serves it."""

    def __init__(self, dsn: str | None = None, *, trace_url: str | None = None) -> None:
        from animus.config import Config

        cfg = Config.from_env(dsn=dsn)
        self._base = cfg.database_url.reveal()
        self.trace_url = trace_url
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ sessions
    def login(self, role: str, password: str) -> tuple[str, Session]:
        import animus
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        if not role or len(role) > 63:
            raise HTTPError(400, "role: give a database role name (1-63 characters)")
        params = conninfo_to_dict(self._base)
        params.update(user=role, password=password)
        params.pop("passfile", None)
        dsn = make_conninfo(**params)
        try:
            client = animus.connect(dsn, pool_min_size=0, pool_max_size=2)
        except AnimusError as exc:
            raise HTTPError(401, "login failed: the database refused this role and password") from exc
        try:
            with client.connect_raw() as conn:
                row = conn.execute("SELECT current_user::text AS role, pg_has_role(current_user, 'animus_admin', 'MEMBER')"
                                   " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS admin").fetchone()
        except Exception as exc:
            client.close()
            raise HTTPError(401, "login failed: the database refused this role and password") from exc
        token = secrets.token_urlsafe(32)
        sess = Session(role=row["role"], admin=bool(row["admin"]), client=client)
        with self._lock:
            self.sessions[token] = sess
        return token, sess

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            sess = self.sessions.get(token)
            if sess is None:
                return None
            if time.monotonic() - sess.seen > SESSION_IDLE:
                del self.sessions[token]
                sess.client.close()
                return None
            sess.seen = time.monotonic()
            return sess

    def logout(self, token: str | None) -> None:
        with self._lock:
            sess = self.sessions.pop(token or "", None)
        if sess is not None:
            sess.client.close()

    def close(self) -> None:
        with self._lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for s in sessions:
            s.client.close()

    # ------------------------------------------------------------------ pages
    def page(self, title: str, sess: Session, body: str) -> str:
        who = f"{_e(sess.role)} ({'admin' if sess.admin else 'read-only'})"
        return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)} - animus</title>"
                f"<style>{CSS}</style></head><body><header><b>animus</b>"
                f'<a href="/">Queues</a><a href="/dead">Dead letters</a><a href="/memory">Memory</a>'
                f'<span class="who">{who} <form class="inline" method="post" action="/logout">'
                f'<input type="hidden" name="csrf" value="{_e(sess.csrf)}"><button>Log out</button></form></span>'
                f"</header><main><h1>{_e(title)}</h1>{body}</main></body></html>")

    def login_page(self, message: str = "") -> str:
        msg = f'<p class="msg">{_e(message)}</p>' if message else ""
        return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Log in - animus</title>"
                f"<style>{CSS}</style></head><body><header><b>animus</b></header><main><h1>Log in</h1>{msg}"
                f'<form method="post" action="/login"><p><label>Database role <input name="role" id="role" '
                f'autocomplete="username"></label></p><p><label>Password <input name="password" id="password" '
                f'type="password" autocomplete="current-password"></label></p><p><button id="login">Log in</button>'
                f"</p></form></main></body></html>")

    def _csrf_field(self, sess: Session) -> str:
        return f'<input type="hidden" name="csrf" value="{_e(sess.csrf)}">'

    def queues(self, sess: Session, client: Any, q: dict[str, str]) -> str:
        since = _int_param(q, "since", 3600, 60, 31 * 86400)
        from animus.ops import LEVELS

        checks = client.health()
        history = client.queue_depth_history(since=since, buckets=60)
        series: dict[str, list[tuple[datetime, int]]] = {}
        for p in history:
            series.setdefault(p.queue, []).append((p.bucket_end, p.depth))
        rows: dict[str, dict[str, Any]] = {}
        overall = "ok"
        other = []
        paused = {c.queue: bool(c.value) for c in checks if c.component == "queue" and c.check_name == "paused"}
        for c in checks:
            if LEVELS.get(c.status or "ok", 0) > LEVELS[overall]:
                overall = c.status
            if c.component != "queue":
                other.append(c)
                continue
            r = rows.setdefault(c.queue, {"status": "ok"})
            r[c.check_name] = c
            if LEVELS.get(c.status or "ok", 0) > LEVELS[r["status"]]:
                r["status"] = c.status
        out = [f'<p>Health: <span id="overall" class="{_e(overall)}">{_e(overall)}</span> &middot; ']
        out.append(" &middot; ".join(f"{_e(c.check_name)}: {_e(c.detail if c.value is None or c.check_name == 'reachable' else _num(c.value))}"
                                     f' <span class="{_e(c.status)}">{_e(c.status)}</span>' for c in other))
        out.append(f'</p><p class="muted">Depth = open items (queued or running), last {since // 60} min. '
                   f'<a href="/?since=3600">1 h</a> <a href="/?since=21600">6 h</a> <a href="/?since=86400">24 h</a></p>')
        out.append('<table id="queues"><tr><th>queue</th><th>status</th><th>paused</th><th>queued</th>'
                   '<th>running</th><th>dead</th><th>stuck</th><th>oldest (s)</th><th>depth over time</th><th></th></tr>')
        for name, r in rows.items():
            def cell(check: str) -> str:
                c = r.get(check)
                return f'<td class="{_e(c.status)}">{_num(c.value)}</td>' if c else "<td></td>"
            is_paused = paused.get(name)
            action = ""
            if sess.admin and name in paused:
                verb = "resume" if is_paused else "pause"
                action = (f'<form class="inline" method="post" action="/queue/{verb}">{self._csrf_field(sess)}'
                          f'<input type="hidden" name="queue" value="{_e(name)}">'
                          f'<button id="{verb}-{_e(name)}">{verb.capitalize()}</button></form>')
            dead = r.get("dead")
            dead_cell = (f'<td class="{_e(dead.status)}"><a href="/dead?queue={quote(name)}">{_num(dead.value)}</a></td>'
                         if dead else "<td></td>")
            out.append(f'<tr id="q-{_e(name)}"><td>{_e(name)}</td><td class="{_e(r["status"])}">{_e(r["status"])}</td>'
                       f'<td class="paused">{"yes" if is_paused else ("no" if name in paused else "")}</td>'
                       f'{cell("backlog")}{cell("running")}{dead_cell}{cell("stuck")}{cell("oldest_age_sec")}'
                       f'<td>{svg_chart(series.get(name, []), label=f"depth of {name}")}</td><td>{action}</td></tr>')
        out.append("</table>")
        return self.page("Queues", sess, "".join(out))

    def dead(self, sess: Session, client: Any, q: dict[str, str]) -> str:
        queue = q.get("queue") or None
        page_size = _int_param(q, "page_size", 100, 1, 1000)
        before = None
        if q.get("before"):
            try:
                before = datetime.fromisoformat(q["before"])
            except ValueError:
                raise HTTPError(400, f"before: expected an ISO 8601 timestamp, got {q['before']!r}") from None
        rows = client.list_dead_work(queue, page_size=page_size, before=before)
        out = []
        if q.get("done"):
            out.append(f'<p class="msg" id="done">{_e(q["done"])}</p>')
        out.append(f'<p>{len(rows)} dead item(s){" in queue " + _e(queue) if queue else ""}, newest first.</p>')
        out.append('<table id="dead"><tr><th>item</th><th>queue</th><th>type</th><th>attempts</th>'
                   '<th>dead at</th><th>error</th><th></th></tr>')
        for r in rows:
            actions = ""
            if sess.admin:
                actions = "".join(
                    f'<form class="inline" method="post" action="/dead/{verb}">{self._csrf_field(sess)}'
                    f'<input type="hidden" name="work_id" value="{r.work_id}">'
                    f'<button id="{verb}-{r.work_id}">{verb.capitalize()}</button></form> '
                    for verb in ("retry", "discard"))
            out.append(f'<tr id="d-{r.work_id}"><td><a href="/work/{r.work_id}">{str(r.work_id)[:13]}…</a></td>'
                       f'<td>{_e(r.queue)}</td><td>{_e(r.work_type)}</td><td>{r.attempts}/{r.max_attempts}</td>'
                       f'<td>{_fmt_ts(r.dead_at)}</td><td class="err">{_e((r.error or "")[:2000])}</td><td>{actions}</td></tr>')
        out.append("</table>")
        if len(rows) == page_size and rows[-1].dead_at is not None:
            nxt = f"/dead?before={quote(rows[-1].dead_at.isoformat())}" + (f"&queue={quote(queue)}" if queue else "")
            out.append(f'<p><a href="{_e(nxt)}">older</a></p>')
        return self.page("Dead letters", sess, "".join(out))

    def work(self, sess: Session, client: Any, work_id: UUID) -> str:
        from animus.ops import trace_id

        d = client.get_work(work_id)
        item = d.item
        steps = client.get_work_steps(work_id)
        events: list[tuple[Any, str, str]] = []
        events.append((item.created_at, "submitted", f"by {_e(item.source)}"
                       + (f" &middot; {_e(item.trigger_info)}" if item.trigger_info else "")))
        for m in d.merged or []:
            events.append((_parse_ts(m.submitted_at), "merged submission",
                           f'<a href="/work/{_e(m.id)}">{_e(str(m.id)[:13])}…</a> by {_e(m.source)}'
                           + (f" &middot; {_e(m.trigger_info)}" if m.trigger_info else "")))
        if item.started_at:
            events.append((item.started_at, f"attempt {item.attempts} of {item.max_attempts} started",
                           "earlier attempts failed and were retried" if (item.attempts or 0) > 1 else ""))
        for s in steps:
            events.append((s.started_at, f"step {s.name}#{s.occurrence} ({s.kind})",
                           f"{_e(s.state)} &middot; attempt {s.attempt}"
                           + (f" &middot; {s.duration_ms:.1f} ms" if s.duration_ms is not None else "")
                           + (f' &middot; <span class="err">{_e(s.error)}</span>' if s.error else "")))
        if item.resolved_at:
            detail = (f'<span class="err">{_e(item.error)}</span>' if item.error else
                      _e(json.dumps(item.outcome)[:500]) if item.outcome is not None else "")
            events.append((item.resolved_at, f"ended {item.state}", detail))
        events.sort(key=lambda e: (e[0] is None, e[0] or datetime.min.replace(tzinfo=timezone.utc)))
        tid = trace_id(item.trace_context)
        trace = ""
        if tid:
            trace = (f'<a id="trace" href="{_e(self.trace_url.format(trace_id=tid))}">{tid}</a>'
                     if self.trace_url else f'<code id="trace">{tid}</code>')
        facts = [("state", f'<b class="state">{_e(item.state)}</b>'), ("queue", _e(item.queue)),
                 ("work type", _e(item.work_type)), ("dedup key", _e(item.dedup_key)),
                 ("params", f"<code>{_e(json.dumps(item.params)[:2000])}</code>"),
                 ("requesters", _e(item.requesters_total)), ("trace id", trace or '<span class="muted">none</span>')]
        if item.canonical_id and item.canonical_id != item.id:
            facts.insert(1, ("merged into", f'<a href="/work/{item.canonical_id}">{item.canonical_id}</a>'))
        body = ["<table>"] + [f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts] + ["</table>"]
        if sess.admin and item.state == "dead":
            body.append(f'<form method="post" action="/dead/retry">{self._csrf_field(sess)}'
                        f'<input type="hidden" name="work_id" value="{item.id}"><button id="retry">Retry</button></form>')
        body.append('<h2>Timeline</h2><table id="timeline"><tr><th>time</th><th>event</th><th></th></tr>')
        body += [f"<tr><td>{_fmt_ts(t)}</td><td>{_e(what)}</td><td>{detail}</td></tr>" for t, what, detail in events]
        body.append("</table>")
        return self.page(f"Work item {item.id}", sess, "".join(body))

    def memory(self, sess: Session, client: Any, q: dict[str, str]) -> str:
        rows = client.memory_namespace_stats()
        body = ['<table id="namespaces"><tr><th>namespace</th><th>memories</th><th>embedded</th>'
                '<th>content bytes</th><th>newest</th><th>last updated</th></tr>']
        body += [f"<tr><td>{_e(r.namespace)}</td><td>{r.memories}</td><td>{r.embedded}</td><td>{r.content_bytes}</td>"
                 f"<td>{_fmt_ts(r.newest)}</td><td>{_fmt_ts(r.last_updated)}</td></tr>" for r in rows]
        body.append("</table>")
        if not rows:
            body.append('<p class="muted">No memories in your read scope.</p>')
        return self.page("Memory namespaces", sess, "".join(body))

    # ------------------------------------------------------------------ actions (POST, admin)
    def act(self, sess: Session, client: Any, path: str, form: dict[str, str]) -> str:
        """Runs a POST action; returns the URL to redirect to."""
        from animus.ops import pause_queue, resume_queue

        if not sess.admin:
            raise HTTPError(403, f"role {sess.role} is read-only here: only members of animus_admin may change things")
        if path in ("/dead/retry", "/dead/discard"):
            work_id = _uuid_param(form.get("work_id", ""))
            if path == "/dead/retry":
                r = client.retry_dead_work(work_id)
                return f"/dead?done={quote(f'{work_id} retried as {r.retried_as} ({r.status})')}"
            client.discard_dead_work(work_id)
            return f"/dead?done={quote(f'{work_id} discarded')}"
        if path in ("/queue/pause", "/queue/resume"):
            queue = form.get("queue", "")
            if not queue:
                raise HTTPError(400, "queue: missing")
            (pause_queue if path == "/queue/pause" else resume_queue)(client, queue)
            return "/"
        raise HTTPError(404, f"no such action: {path}")


def _parse_ts(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return None
    return v


def _int_param(q: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    if name not in q:
        return default
    try:
        v = int(q[name])
    except ValueError:
        raise HTTPError(400, f"{name}: expected an integer, got {q[name]!r}") from None
    if not lo <= v <= hi:
        raise HTTPError(400, f"{name}: must be between {lo} and {hi}, got {v}")
    return v


def _uuid_param(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise HTTPError(400, f"work_id: expected a work item id (a UUID), got {text[:80]!r}") from None


_PARAMS = {"/": {"since"}, "/dead": {"queue", "page_size", "before", "done"}, "/memory": set(), "/login": set()}


def _query(raw: str, allowed: set[str]) -> dict[str, str]:
    """The query string as a dict: malformed, repeated or unknown parameters are a 400."""
    if not raw:
        return {}
    try:
        parsed = parse_qs(raw, keep_blank_values=True, strict_parsing=True, max_num_fields=20)
    except ValueError as exc:
        raise HTTPError(400, f"malformed query string: {exc}") from None
    for k, v in parsed.items():
        if k not in allowed:
            raise HTTPError(400, f"unknown query parameter {k!r}" + (f" (this page takes: {', '.join(sorted(allowed))})" if allowed else ""))
        if len(v) > 1:
            raise HTTPError(400, f"query parameter {k!r} given {len(v)} times")
    return {k: v[0] for k, v in parsed.items()}


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8470) -> ThreadingHTTPServer:
    """An HTTP server for ``dashboard`` (call ``serve_forever``; ``server_address`` has the port)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "animus-dashboard"

        def log_message(self, fmt: str, *args: Any) -> None:
            sys.stderr.write("animus dashboard: %s %s\n" % (self.address_string(), fmt % args))

        def _token(self) -> str | None:
            from http.cookies import CookieError, SimpleCookie

            try:
                c = SimpleCookie(self.headers.get("Cookie", ""))
            except CookieError:
                return None
            m = c.get(SESSION_COOKIE)
            return m.value if m else None

        def _send(self, code: int, body: str, *, ctype: str = "text/html; charset=utf-8", queries: int = 0,
                  headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
            self.send_header("X-Animus-Queries", str(queries))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _text(self, code: int, text: str, queries: int = 0) -> None:
            self._send(code, text.rstrip() + "\n", ctype="text/plain; charset=utf-8", queries=queries)

        def _redirect(self, where: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(303)
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.send_header("X-Animus-Queries", "0")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()

        def _form(self) -> dict[str, str]:
            try:
                n = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                raise HTTPError(400, "bad Content-Length") from None
            if n > 10000:
                raise HTTPError(413, "form too large")
            raw = self.rfile.read(n).decode("utf-8", "replace")
            try:
                parsed = parse_qs(raw, keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=10)
            except ValueError as exc:
                raise HTTPError(400, f"malformed form: {exc}") from None
            return {k: v[0] for k, v in parsed.items()}

        def _run(self, method: str) -> None:
            url = urlsplit(self.path)
            path = url.path
            counted = None
            try:
                if path == "/login":
                    if method == "GET":
                        _query(url.query, _PARAMS["/login"])
                        return self._send(200, dashboard.login_page())
                    form = self._form()
                    try:
                        token, _ = dashboard.login(form.get("role", ""), form.get("password", ""))
                    except HTTPError as exc:
                        return self._send(exc.code, dashboard.login_page(exc.text))
                    return self._redirect("/", {"Set-Cookie": f"{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"})
                sess = dashboard.session(self._token())
                if sess is None:
                    if method == "GET":
                        return self._redirect("/login")
                    raise HTTPError(401, "not logged in: log in at /login first")
                counted = _Counted(sess.client)
                if method == "POST":
                    form = self._form()
                    if not secrets.compare_digest(form.get("csrf", ""), sess.csrf):
                        raise HTTPError(403, "the form's token does not match this session: reload the page")
                    if path == "/logout":
                        dashboard.logout(self._token())
                        return self._redirect("/login", {"Set-Cookie": f"{SESSION_COOKIE}=; Max-Age=0; Path=/"})
                    return self._redirect(dashboard.act(sess, counted, path, form))
                if path in ("/", "/dead", "/memory"):
                    q = _query(url.query, _PARAMS[path])
                    render = {"/": dashboard.queues, "/dead": dashboard.dead, "/memory": dashboard.memory}[path]
                    body = render(sess, counted, q)
                elif path.startswith("/work/"):
                    _query(url.query, set())
                    body = dashboard.work(sess, counted, _uuid_param(path[len("/work/"):]))
                else:
                    raise HTTPError(404, f"no such page: {path}")
                self._send(200, body, queries=counted.calls)
            except HTTPError as exc:
                self._text(exc.code, exc.text, counted.calls if counted else 0)
            except AnimusError as exc:
                self._text(_status_for(exc), str(exc), counted.calls if counted else 0)
            except Exception as exc:   # a bug: say so, keep serving
                self.log_message("internal error on %s: %r", path, exc)
                self._text(500, f"internal error: {type(exc).__name__}", counted.calls if counted else 0)

        def do_GET(self) -> None:   # noqa: N802
            self._run("GET")

        def do_POST(self) -> None:   # noqa: N802
            self._run("POST")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(dsn: str | None = None, host: str = "127.0.0.1", port: int = 8470, trace_url: str | None = None) -> int:
    """``animus dashboard``: serve until SIGINT/SIGTERM."""
    import signal

    try:
        dashboard = Dashboard(dsn, trace_url=trace_url)
    except AnimusError as exc:
        print(f"animus dashboard: {exc}", file=sys.stderr)
        return 2
    server = make_server(dashboard, host, port)
    print(f"animus dashboard on http://{host}:{server.server_address[1]}/ (log in with a database role)",
          file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        dashboard.close()
    return 0
