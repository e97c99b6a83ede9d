"""``animus dashboard`` in a real headless browser (Debian's chromium through chromedriver,
driven by selenium): log in with a database role, load each page, click Pause and Retry and
check the result in the database, and write a screenshot of each page (paths printed; folder
``.artifacts/screenshots``, git-ignored, or ANIMUS_SCREENSHOTS). A read-only role sees no
buttons and is refused (403) when it posts anyway; bad input is a 4xx with a text body."""
from __future__ import annotations

import http.cookiejar
import os
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import animus
from animus.dashboard import Dashboard, make_server
from animus_fixtures import queue_name  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("ANIMUS_SCREENSHOTS", ROOT / ".artifacts" / "screenshots"))
PASSWORD = "dash-" + uuid.uuid4().hex

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="chromium / chromedriver missing: run tools/bootstrap.sh (make setup)")


@pytest.fixture
def roles(conn):
    tag = uuid.uuid4().hex[:6]
    admin, reader = f"animus_dash_admin_{tag}", f"animus_dash_ro_{tag}"
    conn.execute(f"CREATE ROLE {admin} LOGIN PASSWORD '{PASSWORD}' IN ROLE animus_admin")
    conn.execute(f"CREATE ROLE {reader} LOGIN PASSWORD '{PASSWORD}' IN ROLE animus_producer")
    yield admin, reader
    for r in (admin, reader):
        conn.execute(f"DROP OWNED BY {r}")
        conn.execute(f"DROP ROLE {r}")


@pytest.fixture
def dashboard(db_url):
    d = Dashboard(db_url, trace_url="http://traces.invalid/trace/{trace_id}")
    server = make_server(d, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    d.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,900", f"--user-data-dir={tmp_path / 'chromium'}"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def shot(drv, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert drv.save_screenshot(str(path)), f"could not write {path}"
    assert path.stat().st_size > 5000
    print(f"screenshot: {path}")
    return path


def click_and_load(drv, element) -> None:
    """Clicks a button that submits a form, and waits until the next page has loaded."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def left_the_page(_) -> bool:
        # The clicked element belongs to the page before: once the browser has navigated, asking
        # about it fails. ChromeDriver usually says "stale element"; while the old page's context is
        # being torn down it can say "unhandled inspector error" instead (a 500): both mean gone.
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    element.click()
    WebDriverWait(drv, 15).until(left_the_page)
    WebDriverWait(drv, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def login(drv, base: str, role: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    drv.get(base + "/login")
    drv.find_element(By.ID, "role").send_keys(role)
    drv.find_element(By.ID, "password").send_keys(password)
    click_and_load(drv, drv.find_element(By.ID, "login"))


def test_dashboard_pages_pause_and_retry_in_a_real_browser(browser, dashboard, roles, db_url, conn, queue_name):
    from selenium.webdriver.common.by import By

    admin, _ = roles
    c = animus.connect(db_url)
    try:
        tc = '{"traceparent": "00-%s-%s-01"}' % ("ab" * 16, "cd" * 8)
        queued = [conn.execute("SELECT work_id FROM animus.submit_work('mail', 'scheduler', params => %s, queue => %s,"
                               " dedup_key => %s, trigger_info => 'every 4h', trace_context => %s)",
                               [f'{{"i": {i}}}', queue_name, f"k{i}", tc]).fetchone()[0] for i in range(3)]
        c.submit_work("mail", "agent-7", params={"i": 0}, queue=queue_name, dedup_key="k0", trigger_info="user asked")
        dead_id = c.submit_work("send", "agent", queue=queue_name, max_attempts=1).work_id
        (item,) = c.read_work(queue_name, work_types=["send"])
        c.start_step(item.id, "render", item.attempts)
        c.finish_step(item.id, "render", item.attempts, result={"ok": 1})
        c.fail_work(item.id, "SMTP 550: mailbox unavailable", retryable=False, attempt=item.attempts)
    finally:
        c.close()

    # a wrong password is refused on the login page
    login(browser, dashboard, admin, "wrong")
    assert "login failed" in browser.find_element(By.TAG_NAME, "body").text
    shot(browser, "login")

    login(browser, dashboard, admin)
    assert browser.title.startswith("Queues")
    row = browser.find_element(By.ID, f"q-{queue_name}")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == queue_name and cells[3] == "3" and cells[5] == "1"   # queued, dead
    assert row.find_elements(By.CSS_SELECTOR, "svg.chart polyline"), "the depth chart is drawn"
    assert "(admin)" in browser.find_element(By.CLASS_NAME, "who").text
    shot(browser, "queues")

    # Pause: the database says paused, the page says so
    click_and_load(browser, browser.find_element(By.ID, f"pause-{queue_name}"))
    assert conn.execute("SELECT bool_or(paused) FROM animus.queue_stats(%s)", [queue_name]).fetchone()[0] is True
    row = browser.find_element(By.ID, f"q-{queue_name}")
    assert row.find_element(By.CLASS_NAME, "paused").text == "yes"
    assert browser.find_elements(By.ID, f"resume-{queue_name}")
    shot(browser, "queues-paused")

    # Dead letters: the error is shown; Retry resubmits
    browser.get(dashboard + f"/dead?queue={queue_name}")
    dead_row = browser.find_element(By.ID, f"d-{dead_id}")
    assert "SMTP 550" in dead_row.text
    shot(browser, "dead-letters")
    click_and_load(browser, browser.find_element(By.ID, f"retry-{dead_id}"))
    done = browser.find_element(By.ID, "done").text
    assert f"{dead_id} retried as" in done
    acted = conn.execute("SELECT action, retried_as FROM animus.dead_work_actions WHERE work_id = %s", [dead_id]).fetchone()
    assert acted[0] == "retried"
    assert conn.execute("SELECT state, work_type FROM animus.work_items WHERE id = %s", [acted[1]]).fetchone() == ("queued", "send")
    assert not browser.find_elements(By.ID, f"d-{dead_id}")
    shot(browser, "dead-letters-retried")

    # An item's timeline: the submission, the merged one, attempts, steps, the end, the trace link
    browser.get(dashboard + f"/work/{dead_id}")
    timeline = browser.find_element(By.ID, "timeline").text
    assert "submitted" in timeline and "attempt 1 of 1 started" in timeline
    assert "step render#1 (step)" in timeline and "ended dead" in timeline and "SMTP 550" in timeline
    shot(browser, "work-dead")
    browser.get(dashboard + f"/work/{queued[0]}")
    timeline = browser.find_element(By.ID, "timeline").text
    assert "merged submission" in timeline and "agent-7" in timeline and "user asked" in timeline
    link = browser.find_element(By.ID, "trace")
    assert link.get_attribute("href") == f"http://traces.invalid/trace/{'ab' * 16}"
    shot(browser, "work-merged")

    # Memory namespaces
    browser.get(dashboard + "/memory")
    assert browser.find_element(By.ID, "namespaces")
    shot(browser, "memory")

    # Resume from the queues page
    browser.get(dashboard + "/")
    click_and_load(browser, browser.find_element(By.ID, f"resume-{queue_name}"))
    assert conn.execute("SELECT bool_or(paused) FROM animus.queue_stats(%s)", [queue_name]).fetchone()[0] is False

    # Bad input in the browser: a 4xx page with its text
    browser.get(dashboard + "/?since=forever")
    assert "since: expected an integer" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(dashboard + f"/work/{uuid.uuid4()}")
    assert "ZA102" in browser.find_element(By.TAG_NAME, "body").text


def _session(base: str, role: str):
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _fetch(op, base + "/login", {"role": role, "password": PASSWORD})   # then redirected to /
    return op


def _fetch(op, url: str, data: dict | None = None) -> tuple[int, str, dict]:
    try:
        r = op.open(url, data=urllib.parse.urlencode(data).encode() if data is not None else None)
        return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_read_only_role_sees_no_buttons_and_is_refused(browser, dashboard, roles, db_url, conn, queue_name):
    from selenium.webdriver.common.by import By

    _, reader = roles
    with animus.connect(db_url) as c:
        dead = c.submit_work("send", "agent", queue=queue_name, max_attempts=1).work_id
        (item,) = c.read_work(queue_name)
        c.fail_work(item.id, "boom", retryable=False, attempt=item.attempts)
    login(browser, dashboard, reader)
    assert "(read-only)" in browser.find_element(By.CLASS_NAME, "who").text
    assert not browser.find_elements(By.ID, f"pause-{queue_name}")
    browser.get(dashboard + f"/dead?queue={queue_name}")
    assert browser.find_element(By.ID, f"d-{dead}") and not browser.find_elements(By.ID, f"retry-{dead}")
    shot(browser, "dead-letters-read-only")
    # posting anyway (with the session's own form token): 403, nothing changed
    op = _session(dashboard, reader)
    code, body, _ = _fetch(op, dashboard + "/")
    csrf = body.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    code, body, headers = _fetch(op, dashboard + "/dead/retry", {"work_id": str(dead), "csrf": csrf})
    assert code == 403 and "read-only" in body and headers["Content-Type"].startswith("text/plain")
    code, body, _ = _fetch(op, dashboard + "/queue/pause", {"queue": queue_name, "csrf": csrf})
    assert code == 403
    assert conn.execute("SELECT count(*) FROM animus.dead_work_actions WHERE work_id = %s", [dead]).fetchone()[0] == 0
    assert conn.execute("SELECT bool_or(paused) FROM animus.queue_stats(%s)", [queue_name]).fetchone()[0] is False


def test_bad_requests_get_a_4xx_with_text_and_change_nothing(dashboard, roles, db_url, conn, queue_name):
    admin, _ = roles
    op = _session(dashboard, admin)
    code, body, headers = _fetch(op, dashboard + "/")
    assert code == 200 and int(headers["X-Animus-Queries"]) == 2
    csrf = body.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    with animus.connect(db_url) as c:
        live = c.submit_work("t", "s", queue=queue_name).work_id
    cases = [
        ("/?since=abc", None, 400, "since: expected an integer"),
        ("/?since=5", None, 400, "between 60 and"),
        ("/?bogus=1", None, 400, "unknown query parameter"),
        ("/?since=60&since=120", None, 400, "given 2 times"),
        ("/dead?queue=%zz=&", None, 400, "malformed query string"),
        ("/dead?queue=no_such_queue_q", None, 404, "ZA101"),
        ("/work/not-a-uuid", None, 400, "expected a work item id"),
        (f"/work/{uuid.uuid4()}", None, 404, "ZA102"),
        ("/nothing-here", None, 404, "no such page"),
        ("/dead/retry", {"work_id": str(live), "csrf": csrf}, 409, "ZA165"),
        ("/dead/retry", {"work_id": "x", "csrf": csrf}, 400, "expected a work item id"),
        ("/dead/retry", {"work_id": str(live), "csrf": "forged"}, 403, "token does not match"),
        ("/queue/pause", {"queue": "no_such_queue_q", "csrf": csrf}, 404, "ZA101"),
    ]
    for path, form, code_expected, text in cases:
        code, body, headers = _fetch(op, dashboard + path, form)
        assert (code, text in body) == (code_expected, True), (path, code, body)
        assert headers["Content-Type"].startswith("text/plain"), path
    assert conn.execute("SELECT state FROM animus.work_items WHERE id = %s", [live]).fetchone()[0] == "queued"
    assert conn.execute("SELECT count(*) FROM animus.dead_work_actions WHERE work_id = %s", [live]).fetchone()[0] == 0
    # without a session: GET goes to the login page, POST is a 401
    anon = urllib.request.build_opener()
    code, body, _ = _fetch(anon, dashboard + "/dead")
    assert code == 200 and "Log in" in body
    code, body, _ = _fetch(anon, dashboard + "/dead/retry", {"work_id": str(live)})
    assert code == 401 and "not logged in" in body
    # a role without any animus rights can log in but sees a 403 with text
    stranger = "animus_dash_x_" + uuid.uuid4().hex[:6]
    conn.execute(f"CREATE ROLE {stranger} LOGIN PASSWORD '{PASSWORD}'")
    try:
        op2 = _session(dashboard, stranger)
        code, body, _ = _fetch(op2, dashboard + "/")
        assert code == 403 and "permission denied" in body.lower()
    finally:
        conn.execute(f"DROP ROLE {stranger}")
