"""The package's top level: every name in ``animus.__all__`` exists, and the names the docs use
(``animus.HandlerTimeout``, ``animus.WorkContext``, the argument errors) are importable from it."""
from __future__ import annotations

import subprocess
import sys

import animus


def test_every_name_in_all_resolves_and_all_has_no_duplicates():
    assert len(animus.__all__) == len(set(animus.__all__))
    missing = [n for n in animus.__all__ if not hasattr(animus, n)]
    assert missing == []


def test_documented_names_are_exported():
    for name in ("HandlerTimeout", "WorkContext", "Worker", "ArgumentTypeError", "ArgumentValueError",
                 "BM25Settings", "NonRetryable", "NotDeployed", "InvalidArgument"):
        assert name in animus.__all__, name
    from animus import HandlerTimeout, WorkContext  # noqa: F401
    assert issubclass(animus.HandlerTimeout, animus.AnimusError)
    assert str(animus.HandlerTimeout("handler for 'x' still running after 3s")).startswith(
        "animus.HandlerTimeout: ")
    assert animus.WorkContext.__module__ == "animus.worker"


def test_star_import_gives_every_public_name():
    code = "from animus import *; import animus; print(all(n in globals() for n in animus.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
