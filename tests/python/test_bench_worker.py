"""`make bench-worker` still runs end to end: tiny settings, both systems, a ratio per concurrency.

Runs the real benchmark (the animus worker CLI and Graphile Worker from npm, installed by the
benchmark on first use) on its own scratch database, so the command cannot rot unnoticed.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)   # npm ci on a first run; afterwards about 20 s
def test_bench_worker_prints_both_systems_and_their_ratio():
    db = f"animus_bench_worker_test_{uuid.uuid4().hex[:8]}"
    res = subprocess.run([sys.executable, str(ROOT / "tools/bench_worker.py"), "--items", "200",
                          "--concurrency", "4", "--rounds", "1", "--db", db],
                         cwd=ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=170)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    row = re.search(r"^\|\s+4 \|\s+(\d+) \[\d+\] \|\s+(\d+) \[\d+\] \|\s+(\d+\.\d\d) \|$", out, re.M)
    assert row, f"no table row for concurrency 4 with animus, Graphile and their ratio:\n{out}"
    cpu = re.search(r"^\|\s+4 \|\s+(\d+|nan) \|\s+\d+ \|\s+(\d+\.\d\d|nan) \|\s+\d+ \|\s+\d+ \|\s+(\d+\.\d\d|nan) \|$",
                    out, re.M)
    assert cpu, f"no CPU-per-item row for concurrency 4 (worker and server, both systems):\n{out}"
    animus_rate, graphile_rate, ratio = int(row[1]), int(row[2]), float(row[3])
    assert animus_rate > 0 and graphile_rate > 0
    assert ratio == pytest.approx(animus_rate / graphile_rate, rel=0.05, abs=0.01)
    assert re.search(r"per-item time telemetry on / off: \d+\.\d\d", out), out
    batching = re.search(r"^animus batching on \(batch handlers of up to (\d+) items, concurrency (\d+).*: "
                         r"(\d+) \[\d+\] items/s \(floor 15000: (\d+\.\d\d)x\)", out, re.M)
    assert batching, f"no batching-on line:\n{out}"
    assert int(batching[3]) > 0 and float(batching[4]) == pytest.approx(int(batching[3]) / 15000, abs=0.01)
    assert "Graphile Worker 0.17.3" in out, out
