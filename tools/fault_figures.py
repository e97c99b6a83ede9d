#!/usr/bin/env python3
"""Summarises the JSON lines the fault tests write (ANIMUS_FAULT_FIGURES) into the closing figures."""
from __future__ import annotations

import json
import sys
from collections import Counter

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {}
for r in rows:
    by.setdefault(r["test"], []).append(r)
faults, lost = Counter(), 0
for r in rows:
    lost += r.get("lost", 0) + r.get("completed_twice", 0) + r.get("other_errors", 0)
print("== fault suite figures")
for r in by.get("immediate_shutdown", []):
    faults["immediate shutdowns"] += r["crashes"]
    print(f"load held: {r['clients']} submitting + {r['workers']} processing sessions for {r['seconds']} s, "
          f"{r['submits_acked']} submits acknowledged ({r['merged']} merged), {r['completed']} completions acknowledged, "
          f"{r['redelivered']} items redelivered after a crash, connection errors ridden out: {r['errors']}")
for r in by.get("sigkill_workers", []):
    faults["workers SIGKILLed mid-item"] += r["kills"]
for r in by.get("hung_handler", []):
    faults["handlers hung past their visibility timeout"] += r["hangs"]
for r in by.get("frozen_worker", []):
    faults["Python Workers frozen (SIGSTOP) past their visibility timeout"] += r["freezes"]
for r in by.get("connection_loss", []):
    faults["sessions terminated under a client/worker"] += r["sessions_killed"] + 1
for r in by.get("properties", []):
    print(f"property tests: {r['examples']} random sequences, {r['operations']} operations, transitions {r['transitions']}, "
          f"refused as documented {r['refused']}")
hostile = sum(r["hostile_inputs"] for t in ("injection_sql", "injection_python") for r in by.get(t, []))
print("faults injected: " + ", ".join(f"{n} {k}" for k, n in faults.items()))
print(f"hostile inputs tried: {hostile} (SQL API and Python client), undocumented errors: "
      f"{sum(r.get('other_errors', 0) for r in rows)}")
print(f"items lost: {lost}")
