#!/usr/bin/env python3
"""Writes sql/animus.sql: the single-file install generated from sqitch.plan, for people without Sqitch.

    psql -v embedding_dim=384 -f sql/animus.sql "$DATABASE_URL"

Every deploy script of the plan, in plan order, in one transaction. A change reworked behind a tag
appears once per version; its earlier versions are read from deploy/<name>@<tag>.sql as Sqitch does.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
-- animus single-file install, generated from sqitch.plan by tools/gen_install.py: do not edit.
-- Prefer `sqitch deploy` (it records what is deployed and can revert); this file is for servers
-- where Sqitch is not available. Variables: embedding_dim (default 1536), embedding_model.
\\set ON_ERROR_STOP on
\\if :{?embedding_dim}
\\else
\\set embedding_dim 1536
\\endif
\\if :{?embedding_model}
\\else
\\set embedding_model unspecified
\\endif
BEGIN;
"""


def plan_entries(plan: str) -> list[tuple[str, str | None]]:
    """(change name, tag of the file version) for each change line, in order."""
    lines = [ln for ln in plan.splitlines() if ln.strip() and not ln.startswith(("%", "#"))]
    changes: list[tuple[str, int]] = []
    tags: list[tuple[str, int]] = []
    for i, ln in enumerate(lines):
        if ln.startswith("@"):
            tags.append((ln.split()[0], i))
        else:
            changes.append((ln.split()[0], i))
    out = []
    for idx, (name, pos) in enumerate(changes):
        nxt = next((p for n, p in changes[idx + 1:] if n == name), None)
        tag = None
        if nxt is not None:
            # Reworked afterwards: as Sqitch does, this version lives in name@<tag> for the first
            # tag between it and its rework whose file exists (else the first such tag).
            between = [t for t, tpos in tags if pos < tpos < nxt]
            tag = next((t for t in between if (ROOT / "deploy" / f"{name}{t}.sql").exists()), between[0])
        out.append((name, tag))
    return out


def render() -> str:
    parts = [HEADER]
    plan = (ROOT / "sqitch.plan").read_text()
    entries = plan_entries(plan)
    for name, tag in entries:
        path = ROOT / "deploy" / (f"{name}{tag}.sql" if tag else f"{name}.sql")
        body = path.read_text()
        body = re.sub(r"^\s*(BEGIN|COMMIT);\s*$", "", body, flags=re.M | re.I)
        parts.append(f"\n-- ==== change {name}{tag or ''} ({path.relative_to(ROOT)}) ====\n{body.strip()}\n")
    # What this file installs, for animus.deployed_version() (no Sqitch registry to read): the
    # plan's last tag and the number of changes after it, as that function reports a registry.
    lines = [ln.split()[0] for ln in plan.splitlines() if ln.strip() and not ln.startswith(("%", "#"))]
    tag_pos = max((i for i, n in enumerate(lines) if n.startswith("@")), default=None)
    last_tag = lines[tag_pos] if tag_pos is not None else "(untagged)"
    after = len(lines) - (tag_pos + 1 if tag_pos is not None else 0)
    last = entries[-1][0]
    version = last_tag + (f"+{after} ({last})" if after else "")
    if any(name == "ops_health" for name, _ in entries):
        parts.append(f"\n-- ==== what this file installed (animus.deployed_version) ====\n"
                     f"INSERT INTO animus.installed_version (version, last_change) VALUES ('{version}', '{last}');\n")
    parts.append("\nCOMMIT;\n")
    return "".join(parts)


def main(argv: list[str]) -> int:
    target = ROOT / "sql" / "animus.sql"
    text = render()
    if argv and argv[0] == "--check":
        if not target.exists() or target.read_text() != text:
            print("sql/animus.sql is stale: run `make snapshot`", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
