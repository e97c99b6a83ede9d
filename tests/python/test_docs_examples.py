"""Every SQL and Python example in README.md and docs/*.md runs, and shows its real output.

An HTML comment (invisible when rendered) on the line before a fenced block says what the block is:

    <!-- run: sql -->        the ```sql block runs in psql; what it prints is the fenced block that
                             follows after <!-- output --> (no output block: it must print nothing)
    <!-- run: python -->     the same for a ```python block (stdout and stderr, in order)
    <!-- run: psql -->       the block is a psql session: a line starting with "=# " begins a statement,
                             which ends on the line that ends with ";" (or is a "\\" command); the
                             lines after it, up to the next statement, are its output; "-- " lines
                             between statements are comments
    <!-- output -->          the output of the example before it
    <!-- not run: REASON --> not an example (a signature, a shell command for another machine, ...)
    <!-- run: sh -->         a ```sh block of shell commands, run by tests/python/test_ops_runbook.py

A fenced block with none of these is an error, unless its info string is `text` (formulas, diagrams).

The examples of one document run in document order, in a fresh database deployed with Sqitch, in
one psql session (VERBOSITY verbose: errors show their SQLSTATE) and one Python process
(DATABASE_URL set; blocks share their variables). `db=NAME` on a marker puts the example into
another fresh database of that document; `VAR=VALUE` on the first example of a database deploys
it with `--set VAR=VALUE` (e.g. `embedding_dim=3`). Both run with the repository as working
directory.

Compared after masking run-dependent values (MASKS) on both sides and normalising whitespace
(runs of spaces, and of dashes in table rules, count as one, since masked values change column
widths). Server source positions (`LOCATION:` lines) are dropped. A uuid that an example printed
may be used by a later example of the same database: it is replaced by the uuid the run printed
at the same place.

Update the documents from real runs with `make docs` (this file with --update); the test itself
never writes. An output that already matches (masked) is kept as it is, so ids stay stable;
`make docs ALL=1` rewrites every output, and the uuids used in inputs, from the run.
"""
from __future__ import annotations

import difflib
import os
import queue
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import PSQL, ROOT, ScratchDB, sqitch

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT = 120          # seconds one example may take

# Run-dependent values, masked on both sides before comparing.
MASKS = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?|Z)?"), "<timestamp>"),
    (re.compile(r"(postgresql://[^@\s]*@)[^/\s]+/\w+"), r"\1<host>/<db>"),   # the scratch database
    (re.compile(r"\b0x[0-9a-f]{6,}\b"), "<address>"),                         # Python object ids
    (re.compile(r"\b\d+(\.\d+)? ?(ms|µs)\b"), "<duration>"),
]
UUID = MASKS[0][0]

MARKER = re.compile(r"^\s*<!--\s*(run|output|not run)\s*(?::\s*(.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")


@dataclass
class Block:
    path: Path
    start: int                  # index of the opening fence line
    end: int                    # index of the closing fence line
    indent: str
    lang: str
    marker: str | None          # run / output / not run
    args: str
    lines: list[str]            # content, indentation removed

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.start + 1}"


@dataclass
class Step:
    """One input and the output the document shows for it."""
    input: str
    expected: list[str]
    trailing_blanks: int = 0


@dataclass
class Example:
    block: Block
    kind: str                   # sql / python / psql
    db: str
    settings: dict[str, str]
    output: Block | None        # the output block of sql / python examples
    items: list = field(default_factory=list)   # Steps, and comment lines (str) of psql sessions


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        closing = re.compile(re.escape(fence[0]) + "{%d,}" % len(fence))
        j = i + 1
        while j < len(lines) and not closing.fullmatch(lines[j].strip()):
            j += 1
        if j >= len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{i + 1}: unclosed code block")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = MARKER.match(lines[k]) if k >= 0 else None
        content = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:j]]
        blocks.append(Block(path, i, j, indent, lang, marker and marker.group(1), (marker and marker.group(2)) or "",
                            content))
        i = j + 1
    return blocks


def parse_session(lines: list[str]) -> list:
    items: list = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("=# "):
            if items and isinstance(items[-1], Step) and not comment(lines, i):
                items[-1].expected.append(line)
            elif line.startswith("-- ") or not line.strip():
                items.append(line)
            else:
                raise AssertionError(f"session line {i + 1} is neither a statement, its output nor a comment: {line!r}")
            i += 1
            continue
        stmt = [line[3:]]
        while not ended(stmt[-1]) and i + 1 < len(lines):
            i += 1
            stmt.append(lines[i])
        items.append(Step("\n".join(stmt), []))
        i += 1
    for step in items:
        if isinstance(step, Step):
            while step.expected and not step.expected[-1].strip():
                step.expected.pop()
                step.trailing_blanks += 1
    return items


def comment(lines: list[str], i: int) -> bool:
    """A "-- " line is a comment when only comments lie between it and the next statement."""
    if not lines[i].startswith("-- "):
        return False
    while i < len(lines) and lines[i].startswith("-- "):
        i += 1
    return i < len(lines) and lines[i].startswith("=# ")


def ended(line: str) -> bool:
    code = re.sub(r"\s--\s.*$", "", line).rstrip()
    return code.endswith(";") or code.lstrip().startswith("\\") or bool(re.search(r"\\g\w*(\s+\S+)?$", code))


def examples(path: Path) -> list[Example]:
    """The examples of a document, in order; raises on a block without a marker."""
    blocks = parse_blocks(path)
    found: list[Example] = []
    settings_of: dict[str, dict[str, str]] = {}
    for n, b in enumerate(blocks):
        if b.marker is None:
            assert b.lang == "text", (f"{b.where}: a code block without a marker: put <!-- run: sql|python|psql -->, "
                                      "<!-- output --> or <!-- not run: REASON --> before it (or make it ```text)")
            continue
        if b.marker == "not run":
            assert b.args, f"{b.where}: <!-- not run: REASON --> needs its reason"
            continue
        if b.marker == "output":
            prev = blocks[n - 1] if n else None
            assert prev is not None and prev.marker == "run" and prev.args.split()[0] in ("sql", "python"), \
                f"{b.where}: an output block must follow a sql or python example"
            continue
        words = b.args.split()
        if words and words[0] == "sh":   # shell commands of docs/runbook.md: tests/python/test_ops_runbook.py runs them
            assert b.lang == "sh", f"{b.where}: a run: sh example is a ```sh block"
            continue
        assert words and words[0] in ("sql", "python", "psql"), f"{b.where}: run: sql, python or psql, not {b.args!r}"
        kind, opts = words[0], dict(w.split("=", 1) for w in words[1:])
        db = opts.pop("db", "main")
        assert not opts or db not in settings_of, f"{b.where}: deploy variables go on the first example of db={db}"
        settings_of.setdefault(db, opts)
        if kind in ("sql", "python"):
            assert b.lang == kind, f"{b.where}: a run: {kind} example is a ```{kind} block"
            out = blocks[n + 1] if n + 1 < len(blocks) and blocks[n + 1].marker == "output" else None
            ex = Example(b, kind, db, settings_of[db], out)
            ex.items = [Step("\n".join(b.lines), out.lines if out else [])]
        else:
            ex = Example(b, kind, db, settings_of[db], None, parse_session(b.lines))
        found.append(ex)
    return found


# ---- running -------------------------------------------------------------------------------

MARK = "@@animus-docs-example-done@@"
PY_DRIVER = f"""
import sys, traceback
ns = {{"__name__": "__main__"}}
while True:
    size = sys.stdin.readline()
    if not size:
        break
    source = sys.stdin.read(int(size))
    try:
        exec(compile(source, "<example>", "exec"), ns)
    except BaseException as exc:      # what the last line of a traceback says
        sys.stdout.write("".join(traceback.format_exception_only(exc)))
    sys.stdout.flush(); sys.stderr.flush()
    print({MARK!r}, flush=True)
"""


class Process:
    """A psql or python process fed one example at a time; returns what it printed for each."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, cwd=ROOT, env=env)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, payload: str) -> str:
        self.proc.stdin.write(payload)
        self.proc.stdin.flush()
        out = []
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.proc.kill()
                raise AssertionError(f"no end within {TIMEOUT} s; it printed:\n{''.join(out)}") from None
            if line is None:
                raise AssertionError(f"the process ended; it printed:\n{''.join(out)}")
            if line.rstrip("\n") == MARK:
                return "".join(out)
            out.append(line)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Database:
    """A fresh database of one document, with its psql session and Python process."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.scratch = ScratchDB()
        sets = [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
        sqitch(self.scratch.url, "deploy", *sets)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PG"))}
        self.env["DATABASE_URL"] = self.scratch.url
        self.psql: Process | None = None
        self.python: Process | None = None
        self.uuids: dict[str, str] = {}          # uuid the document shows -> uuid of this run

    def substitute(self, text: str) -> str:
        for doc, real in self.uuids.items():
            text = text.replace(doc, real)
        return text

    def run(self, kind: str, text: str) -> str:
        text = self.substitute(text)
        if kind == "python":
            if self.python is None:
                self.python = Process([sys.executable, "-u", "-c", PY_DRIVER], self.env)
            return self.python.run(f"{len(text)}\n{text}")
        if self.psql is None:
            self.psql = Process([PSQL, "-X", "-q", "-P", "pager=off", "-P", "footer=off", "-v", "VERBOSITY=verbose",
                                 "-v", "SHOW_CONTEXT=never", self.scratch.url], self.env)
        out = self.psql.run(f"{text}\n\\echo {MARK}\n")
        return "".join(line for line in out.splitlines(True) if not line.startswith("LOCATION:  "))

    def learn(self, expected: list[str], real: list[str]) -> None:
        shown, got = UUID.findall("\n".join(expected)), UUID.findall("\n".join(real))
        if len(shown) == len(got):
            self.uuids.update((s, g) for s, g in zip(shown, got) if s not in self.uuids)

    def close(self) -> None:
        for p in (self.psql, self.python):
            if p:
                p.close()
        self.scratch.drop()


def normalise(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, repl in MASKS:
            line = pattern.sub(repl, line)
        line = re.sub(r" +", " ", line.rstrip())
        if re.fullmatch(r"[-+ ]+", line):
            line = re.sub(r"-+", "-", line)
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


@dataclass
class Mismatch:
    step: Step
    where: str
    input: str
    expected: list[str]
    real: list[str]


def run_document(path: Path, keep_ids: bool = True) -> tuple[list[Example], list[Mismatch], dict[int, tuple[str, list[str]]]]:
    """Runs every example of a document; returns the mismatches and, per step id, (input, output) as
    run: with keep_ids the document's input, and the output with the uuids the document shows."""
    exs = examples(path)
    dbs: dict[str, Database] = {}
    mismatches: list[Mismatch] = []
    real_of: dict[int, tuple[str, list[str]]] = {}
    try:
        for ex in exs:
            if ex.db not in dbs:
                dbs[ex.db] = Database(ex.settings)
            db = dbs[ex.db]
            for step in ex.items:
                if not isinstance(step, Step):
                    continue
                real = db.run("python" if ex.kind == "python" else "psql", step.input).rstrip("\n").split("\n")
                if real == [""]:
                    real = []
                while real and not real[-1].strip():
                    real.pop()
                if keep_ids:     # a rewritten output keeps the uuids the document already shows
                    back = {r: d for d, r in db.uuids.items()}
                    real_of[id(step)] = (step.input,
                                         [UUID.sub(lambda m: back.get(m.group(0), m.group(0)), line) for line in real])
                else:
                    real_of[id(step)] = (db.substitute(step.input), real)
                if normalise(step.expected) != normalise(real):
                    mismatches.append(Mismatch(step, ex.block.where, step.input, step.expected, real))
                db.learn(step.expected, real)
    finally:
        for db in dbs.values():
            db.close()
    return exs, mismatches, real_of


def report(m: Mismatch) -> str:
    diff = difflib.unified_diff(normalise(m.expected), normalise(m.real), "document (masked)", "real run (masked)",
                                lineterm="")
    return f"{m.where}: the output of\n{m.input}\n" + "\n".join(diff)


# ---- the tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_is_an_example_an_output_or_says_why_not(path):
    examples(path)      # raises on an unmarked block


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_print_what_the_document_shows(path):
    _, mismatches, _ = run_document(path)
    assert not mismatches, ("examples whose output differs from the document (`make docs` rewrites them from a "
                            "real run):\n\n" + "\n\n".join(report(m) for m in mismatches))


# ---- update mode (make docs) ---------------------------------------------------------------

def update(path: Path, everything: bool = False) -> int:
    """Rewrites the output of every example whose output differs (everything: of every example, with
    the ids of this run); returns how many changed."""
    exs, mismatches, real_of = run_document(path, keep_ids=not everything)
    changed = set(real_of) if everything else {id(m.step) for m in mismatches}
    if not changed:
        return 0
    lines = path.read_text().splitlines()
    edits: list[tuple[int, int, list[str], str]] = []     # (first, end, new content, indent)
    for ex in exs:
        steps = [s for s in ex.items if isinstance(s, Step)]
        if not any(id(s) in changed for s in steps):
            continue
        if ex.kind == "psql":
            body: list[str] = []
            for item in ex.items:
                if isinstance(item, str):
                    body.append(item)
                    continue
                text, real = real_of[id(item)] if id(item) in changed else (item.input, item.expected)
                body += ["=# " + text.split("\n")[0], *text.split("\n")[1:], *real]
                body += [""] * item.trailing_blanks
            edits.append((ex.block.start + 1, ex.block.end, body, ex.block.indent))
        else:
            text, real = real_of[id(steps[0])]
            if id(steps[0]) not in changed:
                continue
            if text != steps[0].input:
                edits.append((ex.block.start + 1, ex.block.end, text.split("\n"), ex.block.indent))
            if ex.output:
                edits.append((ex.output.start + 1, ex.output.end, real, ex.output.indent))
            else:       # a new output block after the example
                edits.append((ex.block.end + 1, ex.block.end + 1, ["<!-- output -->", "```", *real, "```"],
                              ex.block.indent))
    for first, end, body, indent in sorted(edits, reverse=True):
        lines[first:end] = [(indent + line).rstrip() if line.strip() else "" for line in body]
    path.write_text("\n".join(lines) + "\n")
    return len(changed)


def main(argv: list[str]) -> int:
    everything = os.environ.get("ANIMUS_DOCS_UPDATE") == "all"
    paths = [Path(a).resolve() for a in argv] or DOCS
    for path in paths:
        exs = examples(path)
        if exs:
            n = update(path, everything)
            print(f"{path.relative_to(ROOT)}: {len(exs)} examples, {n} outputs rewritten")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["--update"]:
        sys.exit("usage: test_docs_examples.py --update [FILE.md ...]   (or: make docs)")
    sys.exit(main(sys.argv[2:]))
