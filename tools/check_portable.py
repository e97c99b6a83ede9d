#!/usr/bin/env python3
"""Does a server binary run on every x86-64 CPU? Disassembles it and lists AVX-512 instructions
(a `%zmm` register operand) outside runtime-dispatched functions.

A library compiled with `-mavx512f` puts AVX-512 in ordinary functions, and the server dies with
SIGILL (signal 4) on CPUs without it (many AMD EPYC and laptop CPUs) the first time such a
function runs. Portable builds keep AVX-512 in functions that are only called after a CPU check;
PostgreSQL and pgvector name those `*avx512*` (`pg_popcount_avx512`, `BitHammingDistanceAvx512Popcount`).

    python tools/check_portable.py                 # the embedded server: bin/postgres and lib/*.so
    python tools/check_portable.py path/to/vector.so ...

Exit status 0 when every file is portable, 1 (with the offending functions) otherwise.
Needs `objdump` (Debian package binutils).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

FUNCTION = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
AVX512_OPERAND = re.compile(r"%zmm\d+")          # AT&T syntax: zmm registers exist only in AVX-512
DISPATCHED = re.compile(r"avx512", re.IGNORECASE)  # functions reached only after a CPU feature check


def unportable_functions(path: Path) -> dict[str, int]:
    """{function name: number of AVX-512 instructions} for functions that are not runtime-dispatched."""
    objdump = shutil.which("objdump")
    if objdump is None:
        raise RuntimeError("objdump not found: install the Debian package binutils (`make setup` does)")
    proc = subprocess.Popen([objdump, "-d", "--no-show-raw-insn", str(path)],
                            stdout=subprocess.PIPE, text=True, errors="replace")
    found: dict[str, int] = {}
    current = "?"
    assert proc.stdout is not None
    for line in proc.stdout:
        m = FUNCTION.match(line)
        if m:
            current = m["name"]
        elif AVX512_OPERAND.search(line) and not DISPATCHED.search(current):
            found[current] = found.get(current, 0) + 1
    if proc.wait() != 0:
        raise RuntimeError(f"objdump could not disassemble {path}")
    return found


def server_binaries() -> list[Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from devdb import pginstall  # noqa: E402  (tools/ is not a package)
    root = pginstall()
    return [root / "bin" / "postgres", *sorted((root / "lib").glob("*.so"))]


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or server_binaries()
    bad = 0
    for path in paths:
        found = unportable_functions(path)
        if found:
            bad += 1
            names = ", ".join(f"{n} ({c})" for n, c in sorted(found.items(), key=lambda kv: -kv[1]))
            print(f"NOT PORTABLE {path}: AVX-512 outside runtime-dispatched functions in {names}")
    print(f"{len(paths) - bad} of {len(paths)} binaries portable (no AVX-512 outside *avx512* functions)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
