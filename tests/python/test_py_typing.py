"""The async client's types: its generated stub (python/animus/aio.pyi) is fresh, declares every
client method as a coroutine with the sync method's result type, and a type checker sees
``await client.read_work()`` as ``list[WorkItem]`` and a forgotten ``await`` as an error."""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from animus._core import Methods
from animus.aio import AsyncClient

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "animus" / "aio.pyi"


def test_the_async_stub_is_generated_from_the_current_methods():
    res = subprocess.run([sys.executable, str(ROOT / "tools/gen_async_stub.py"), "check"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_client_method_is_a_coroutine_returning_the_sync_result_type():
    tree = ast.parse(STUB.read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AsyncClient"]
    stubbed = {n.name: n for n in cls.body if isinstance(n, ast.AsyncFunctionDef)}
    public = {name: fn for name, fn in inspect.getmembers(Methods, inspect.isfunction)
              if not name.startswith("_")}
    assert public and set(public) <= set(stubbed)
    for name, fn in public.items():
        assert ast.unparse(stubbed[name].returns) == fn.__annotations__["return"], name
        assert hasattr(AsyncClient, name)
    # the runtime class has the stub's own (non-Methods) coroutines too
    for name in ("open", "close", "connect_raw", "__aenter__", "__aexit__"):
        assert name in stubbed and inspect.iscoroutinefunction(getattr(AsyncClient, name)), name


def test_a_type_checker_sees_awaitable_results(tmp_path, monkeypatch):
    api = pytest.importorskip("mypy.api")
    (tmp_path / "use.py").write_text(textwrap.dedent('''
        from uuid import UUID

        import animus

        async def main(work_id: UUID) -> None:
            client = await animus.connect_async()
            reveal_type(await client.read_work("work", vt=30))
            reveal_type(await client.release_work(work_id, attempt=1))
            forgot: list[animus.WorkItem] = client.read_work("work")
            reveal_type(animus.connect().read_work("work"))
    '''))
    monkeypatch.setenv("MYPYPATH", str(ROOT / "python"))   # the editable install hides the sources
    out, err, status = api.run([str(tmp_path / "use.py"), "--follow-imports=silent", "--no-incremental",
                                "--cache-dir", str(tmp_path / "cache")])
    lines = out.splitlines()
    reveals = [l.split("Revealed type is ", 1)[1] for l in lines if "Revealed type is" in l]
    assert reveals == ['"list[animus.results.WorkItem]"', '"datetime.datetime"',
                       '"list[animus.results.WorkItem]"'], out + err
    errors = [l for l in lines if ": error:" in l]
    # only the forgotten await (line 10) is an error: a coroutine is not the result
    assert len(errors) == 1 and "use.py:10:" in errors[0] and "Coroutine" in errors[0], out + err


@pytest.mark.parametrize("names, row", [
    (("id", "status", "canonical_id", "pgmq_msg_id"), ("w1", "created", None, 7)),          # aliases
    (("work_id", "status", "new_column"), ("w1", "merged", 3)),                             # unknown -> extra
    (("id", "work_id", "status"), ("first", "second", "replaced")),                         # two names, one field
    (("status", "msg_id", "work_id", "canonical_id"), ("created", 9, "w1", "c")),           # any column order
])
def test_positional_builder_maps_rows_exactly_as_from_row(names, row):
    from animus.results import SubmitResult

    built = SubmitResult.builder(names)(row)
    expected = SubmitResult.from_row(dict(zip(names, row)))
    assert built == expected and built.extra == expected.extra
