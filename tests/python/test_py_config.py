"""Config: typed, from the environment and .env, fail-fast, password never shown."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import animus
from animus.config import Config, SecretDSN

SECRET = "pw-Zq8!xK2#leak"


def test_missing_database_url_fails_fast_naming_the_variable():
    with pytest.raises(animus.ConfigError, match="DATABASE_URL is not set"):
        Config.from_env({})


@pytest.mark.parametrize("var,value,fragment", [
    ("ANIMUS_POOL_MAX_SIZE", "many", "ANIMUS_POOL_MAX_SIZE must be an integer"),
    ("ANIMUS_POOL_MAX_SIZE", "0", "ANIMUS_POOL_MAX_SIZE must be >= 1"),
    ("ANIMUS_VISIBILITY_TIMEOUT", "soon", "ANIMUS_VISIBILITY_TIMEOUT must be a number"),
    ("ANIMUS_QUEUE", "Bad Queue", "ANIMUS_QUEUE must be a lower-case identifier"),
])
def test_malformed_variables_fail_fast_naming_the_variable(var, value, fragment):
    with pytest.raises(animus.ConfigError, match=fragment):
        Config.from_env({"DATABASE_URL": "postgresql://u@h/d", var: value})


def test_values_are_typed():
    cfg = Config.from_env({"DATABASE_URL": "postgresql://u@h/d", "ANIMUS_POOL_MAX_SIZE": "3",
                           "ANIMUS_VISIBILITY_TIMEOUT": "12.5", "ANIMUS_QUEUE": "mail"})
    assert (cfg.pool_max_size, cfg.visibility_timeout, cfg.queue) == (3, 12.5, "mail")
    assert isinstance(cfg.database_url, SecretDSN)


@pytest.mark.parametrize("dsn", [
    f"postgresql://agent:{SECRET}@db.internal:5432/agents",
    f"postgresql://agent:{SECRET.replace('#', '%23').replace('!', '%21')}@db.internal/agents",
    f"host=db.internal user=agent password='{SECRET}' dbname=agents",
    f"postgresql://agent@db.internal/agents?password={SECRET.replace('#', '%23')}",
])
def test_password_is_redacted_in_every_rendering(dsn):
    cfg = Config.from_env({"DATABASE_URL": dsn})
    for text in (repr(cfg), str(cfg), repr(cfg.database_url), str(cfg.database_url),
                 f"{cfg.database_url}", cfg.database_url.redacted):
        assert SECRET not in text and "Zq8" not in text
    assert "***" in cfg.database_url.redacted
    from psycopg.conninfo import conninfo_to_dict

    assert conninfo_to_dict(cfg.database_url.reveal())["password"] == SECRET  # the driver gets it


def test_malformed_dsn_error_withholds_its_text():
    with pytest.raises(animus.ConfigError) as info:
        SecretDSN(f"host=h password={SECRET} dbname")   # libpq would quote the fragment
    assert SECRET not in str(info.value) and "Zq8" not in str(info.value)


def test_dotenv_is_loaded_and_real_environment_wins(tmp_path: Path):
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://fromdotenv@h/d\nANIMUS_QUEUE=fromdotenv\n")
    code = ("import animus.config as c; cfg = c.Config.from_env(); "
            "print(cfg.database_url.redacted, cfg.queue)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ANIMUS_QUEUE")}
    env["ANIMUS_QUEUE"] = "fromenv"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["postgresql://fromdotenv@h/d", "fromenv"]


def test_env_example_lists_every_variable_config_reads():
    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    import animus.config as mod
    import re

    names = set(re.findall(r'"((?:ANIMUS|DATABASE)_[A-Z_]+)"', Path(mod.__file__).read_text()))
    assert names, "found the variable names in config.py"
    missing = [n for n in names if n not in text]
    assert not missing, f".env.example lacks {missing}"
