"""Typed configuration from the environment (and a ``.env`` file, loaded with python-dotenv).

Real environment variables win over ``.env``. A required variable that is missing or malformed
fails fast with a :class:`~animus.errors.ConfigError` naming the variable. The database password
is held by :class:`SecretDSN`, whose ``repr``/``str`` never show it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence
from urllib.parse import quote

from animus.errors import ConfigError

__all__ = ["Config", "SecretDSN", "load_dotenv_once"]

_dotenv_loaded = False


def load_dotenv_once() -> None:
    """Load ``.env`` from the working directory upwards, once, never overriding real variables."""
    global _dotenv_loaded
    if _dotenv_loaded:
        return
    _dotenv_loaded = True
    try:
        from dotenv import find_dotenv, load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


class SecretDSN:
    """A connection string whose password never leaves this object except through :meth:`reveal`.

    >>> d = SecretDSN("postgresql://app:s3cret@db.internal:5432/agents")
    >>> d
    SecretDSN('postgresql://app:***@db.internal:5432/agents')
    """

    __slots__ = ("_dsn", "_password", "_redacted", "_params")

    def __init__(self, dsn: str) -> None:
        from psycopg.conninfo import conninfo_to_dict

        if not isinstance(dsn, str) or not dsn.strip():
            raise ConfigError("the database URL is empty: set DATABASE_URL or pass dsn=")
        try:
            params = conninfo_to_dict(dsn)
        except Exception:
            # libpq quotes the malformed fragment in its message, which may contain the password.
            raise ConfigError("the database URL is malformed (its text is withheld: it may hold a "
                              "password); expected postgresql://user:password@host:port/dbname") from None
        self._dsn = dsn
        self._params = {k: v for k, v in params.items() if v is not None}
        self._password = str(self._params.get("password") or "")
        self._redacted = self._render_redacted()

    def _render_redacted(self) -> str:
        p = self._params
        user = p.get("user", "")
        auth = f"{quote(str(user), safe='')}{':***' if self._password else ''}@" if user or self._password else ""
        host = str(p.get("host", ""))
        if ":" in host and "," not in host and not host.startswith("/"):
            host = f"[{host}]"
        port = f":{p['port']}" if p.get("port") else ""
        db = f"/{quote(str(p['dbname']), safe='')}" if p.get("dbname") else ""
        extra = {k: v for k, v in p.items() if k not in ("user", "password", "host", "port", "dbname")}
        query = ("?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in sorted(extra.items()))) if extra else ""
        return f"postgresql://{auth}{host}{port}{db}{query}"

    def reveal(self) -> str:
        """The real connection string, for the driver only."""
        return self._dsn

    @property
    def redacted(self) -> str:
        return self._redacted

    @property
    def host(self) -> str | None:
        return self._params.get("host")

    @property
    def port(self) -> int | None:
        try:
            return int(self._params["port"])
        except (KeyError, ValueError):
            return None

    @property
    def dbname(self) -> str | None:
        return self._params.get("dbname")

    def scrub(self, text: str) -> str:
        """``text`` with every form of the password replaced by ``***``."""
        return scrub_secret(text, self._password)

    def __repr__(self) -> str:
        return f"SecretDSN({self._redacted!r})"

    __str__ = lambda self: self._redacted  # noqa: E731

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretDSN) and other._dsn == self._dsn

    def __hash__(self) -> int:
        return hash(self._dsn)

    def __reduce__(self):  # pickling keeps working, but never through repr
        return (SecretDSN, (self._dsn,))


def scrub_secret(text: str, secret: str) -> str:
    if not secret or not text:
        return text
    for form in {secret, quote(secret, safe=""), quote(secret)}:
        if form:
            text = text.replace(form, "***")
    return text


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


# A list of URLs is split before each ``postgres://`` / ``postgresql://`` that follows a comma,
# so a multi-host URL (postgresql://h1,h2/db) stays one URL.
_URL_SPLIT_RE = re.compile(r"\s*,\s*(?=postgres(?:ql)?://)")


def replica_dsns(value: "str | SecretDSN | Sequence[str | SecretDSN] | None") -> "tuple[SecretDSN, ...]":
    """Replica URLs from one URL, a comma-separated list of URLs, or a sequence of them."""
    if value is None:
        return ()
    if isinstance(value, (str, SecretDSN)):
        value = [value]
    out: list[SecretDSN] = []
    for v in value:
        if isinstance(v, SecretDSN):
            out.append(v)
            continue
        if not isinstance(v, str):
            raise ConfigError(f"a replica URL must be a string, got {type(v).__name__}")
        for part in _URL_SPLIT_RE.split(v.strip()):
            if part.strip():
                try:
                    out.append(SecretDSN(part.strip()))
                except ConfigError as exc:
                    raise ConfigError(f"DATABASE_REPLICA_URL: {exc.message}") from None
    return tuple(out)


_QUEUE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,46}$")


@dataclass(frozen=True)
class Config:
    """Everything the client and the worker read from the environment.

    ========================== ============================== ==========
    variable                   meaning                        default
    ========================== ============================== ==========
    DATABASE_URL               where animus is deployed       required
    ANIMUS_POOL_MIN_SIZE       connections kept open          1
    ANIMUS_POOL_MAX_SIZE       connections at most            10
    ANIMUS_QUEUE               default queue of the worker    work
    ANIMUS_WORKER_CONCURRENCY  handlers run at once           4
    ANIMUS_VISIBILITY_TIMEOUT  seconds a claim lasts          30
    ANIMUS_POLL_INTERVAL       fallback poll when no NOTIFY   5
    DATABASE_REPLICA_URL       hot standbys for read-only     none
                               calls (comma-separated list)
    ANIMUS_MAX_REPLICA_LAG     seconds of replay lag past     10
                               which reads go to the primary
    ANIMUS_REPLICA_CHECK_INTERVAL  seconds between lag checks 1
                               (and retries of a down one)
    ========================== ============================== ==========
    """

    database_url: SecretDSN
    pool_min_size: int = 1
    pool_max_size: int = 10
    queue: str = "work"
    worker_concurrency: int = 4
    visibility_timeout: float = 30.0
    poll_interval: float = 5.0
    replica_urls: tuple[SecretDSN, ...] = ()
    max_replica_lag: float | None = 10.0
    replica_check_interval: float = 1.0
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dsn: str | None = None,
                 dotenv: bool = True) -> "Config":
        """Read the configuration; ``dsn`` overrides ``DATABASE_URL``.

        Raises :class:`~animus.errors.ConfigError` naming the variable at fault.
        """
        if env is None:
            if dotenv:
                load_dotenv_once()
            env = os.environ
        url = dsn if dsn is not None else env.get("DATABASE_URL")
        if not url:
            raise ConfigError("DATABASE_URL is not set: export it or put it in .env "
                              "(see .env.example), e.g. postgresql://user:password@host:5432/dbname")
        min_size = _int(env, "ANIMUS_POOL_MIN_SIZE", 1, 0)
        max_size = _int(env, "ANIMUS_POOL_MAX_SIZE", 10, 1)
        if max_size < min_size:
            raise ConfigError(f"ANIMUS_POOL_MAX_SIZE ({max_size}) must be >= ANIMUS_POOL_MIN_SIZE ({min_size})")
        queue = env.get("ANIMUS_QUEUE") or "work"
        if not _QUEUE_RE.match(queue):
            raise ConfigError(f"ANIMUS_QUEUE must be a lower-case identifier, got {queue!r}")
        return cls(
            database_url=SecretDSN(url),
            pool_min_size=min_size,
            pool_max_size=max_size,
            queue=queue,
            worker_concurrency=_int(env, "ANIMUS_WORKER_CONCURRENCY", 4, 1),
            visibility_timeout=_float(env, "ANIMUS_VISIBILITY_TIMEOUT", 30.0, 1.0),
            poll_interval=_float(env, "ANIMUS_POLL_INTERVAL", 5.0, 0.05),
            replica_urls=replica_dsns(env.get("DATABASE_REPLICA_URL") or None),
            max_replica_lag=_float(env, "ANIMUS_MAX_REPLICA_LAG", 10.0, 0.0),
            replica_check_interval=_float(env, "ANIMUS_REPLICA_CHECK_INTERVAL", 1.0, 0.0),
        )
