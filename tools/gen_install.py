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
        rework = next((p for n, p in changes[idx + 1:] if n == name), None)
        tag = None
        if rework is not None:
            # reworked afterwards: as Sqitch does, the first tag between this version and its
            # rework whose deploy/name@tag.sql exists (sqitch rework names it after the latest tag)
            between = [t for t, tpos in tags if pos < tpos < rework]
            tag = next((t for t in between if (ROOT / "deploy" / f"{name}{t}.sql").exists()), between[0])
        out.append((name, tag))
    return out


def render() -> str:
    parts = [HEADER]
    for name, tag in plan_entries((ROOT / "sqitch.plan").read_text()):
        path = ROOT / "deploy" / (f"{name}{tag}.sql" if tag else f"{name}.sql")
        body = path.read_text()
        body = re.sub(r"^\s*(BEGIN|COMMIT);\s*$", "", body, flags=re.M | re.I)
        parts.append(f"\n-- ==== change {name}{tag or ''} ({path.relative_to(ROOT)}) ====\n{body.strip()}\n")
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
