"""``animus memory import FILE``: idempotent JSON Lines import with links, --dry-run, progress,
and bad lines refused with their line numbers before anything is written."""
from __future__ import annotations

import json

import psycopg
import pytest

from animus.cli import main
from conftest import sqitch


@pytest.fixture
def db3(scratch_db):
    sqitch(scratch_db.url, "deploy", "--set", "embedding_dim=3", "--set", "embedding_model=demo-3d")
    return scratch_db.url


def write(path, lines):
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return str(path)


def state(url):
    with psycopg.connect(url) as c:
        mems = c.execute("SELECT namespace, content, memory_type, metadata FROM animus.memories ORDER BY content").fetchall()
        links = c.execute("SELECT s.content, t.content, l.relation, l.weight FROM animus.memory_links l "
                          "JOIN animus.memories s ON s.id = l.source_id JOIN animus.memories t ON t.id = l.target_id "
                          "ORDER BY 1, 2").fetchall()
    return mems, links


GOOD = [
    {"content": "zebras are striped", "embedding": [0.1, 0.2, 0.3], "key": "z",
     "links": [{"to": "h", "relation": "contrasts", "weight": 0.5}]},
    {"content": "horses are not striped", "embedding": [0.3, 0.2, 0.1], "key": "h", "namespace": "zoo",
     "memory_type": "note", "metadata": {"topic": "horses"}},
    "",
    {"content": "okapis are related to giraffes", "embedding": [0.2, 0.2, 0.25], "links": [{"to": "z"}]},
]


def test_import_is_idempotent_and_links_lines_by_key(db3, tmp_path, capsys):
    f = write(tmp_path / "m.jsonl", GOOD)
    assert main(["memory", "import", f, "--dsn", db3]) == 0
    out = capsys.readouterr()
    assert "stored 3 lines (3 new, 0 already there), 2 links" in out.out
    assert "3/3 lines" in out.err                                  # progress on stderr
    first = state(db3)
    assert first == (
        [("zoo", "horses are not striped", "note", {"topic": "horses"}),
         ("default", "okapis are related to giraffes", "fact", {}),
         ("default", "zebras are striped", "fact", {})],
        [("okapis are related to giraffes", "zebras are striped", "related", 1.0),
         ("zebras are striped", "horses are not striped", "contrasts", 0.5)])
    assert main(["memory", "import", f, "--dsn", db3, "--quiet"]) == 0
    assert "stored 3 lines (0 new, 3 already there), 2 links" in capsys.readouterr().out
    assert state(db3) == first


def test_dry_run_checks_everything_and_writes_nothing(db3, tmp_path, capsys):
    f = write(tmp_path / "m.jsonl", GOOD)
    assert main(["memory", "import", f, "--dsn", db3, "--dry-run", "--quiet"]) == 0
    assert "would store 3 lines (3 new, 0 already there), 2 links (dry run: nothing written)" in capsys.readouterr().out
    assert state(db3) == ([], [])
    # the database's own checks run in a dry run too: a 4-d vector into a 3-d table, named by line
    bad = write(tmp_path / "dim.jsonl", GOOD[:2] + [{"content": "four dims", "embedding": [1, 2, 3, 4]}])
    assert main(["memory", "import", bad, "--dsn", db3, "--dry-run", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "dim.jsonl:3: ZA200" in err
    assert state(db3) == ([], [])


def test_bad_lines_are_refused_with_their_numbers_and_nothing_is_written(db3, tmp_path, capsys):
    f = write(tmp_path / "bad.jsonl", [
        {"content": "fine", "embedding": [0.1, 0.2, 0.3]},
        {"content": "   ", "embedding": [0.1, 0.2, 0.3]},
        "not json",
        {"content": "no vector"},
        {"content": "dangling link", "embedding": [1, 2, 3], "links": [{"to": "nope"}]},
        {"content": "odd key", "embedding": [1, 2, 3], "colour": "red"},
    ])
    assert main(["memory", "import", f, "--dsn", db3]) == 1
    err = capsys.readouterr().err
    for n in (2, 3, 4, 5, 6):
        assert f"bad.jsonl:{n}:" in err
    assert "bad.jsonl:1:" not in err
    assert "5 bad line(s); nothing was written" in err
    assert state(db3) == ([], [])


def test_a_batch_the_database_refuses_is_written_not_at_all(db3, tmp_path, capsys):
    lines = [{"content": f"memory {i}", "embedding": [1, i, 0]} for i in range(1, 6)]
    lines[3]["embedding"] = [0, 0, 0]                                # zero vector: ZA202, line 4
    f = write(tmp_path / "zero.jsonl", lines)
    assert main(["memory", "import", f, "--dsn", db3, "--batch-size", "2", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "zero.jsonl:4: ZA202" in err
    # the first batch (lines 1-2) is stored, the batch of line 4 (lines 3-4) not at all
    assert [m[1] for m in state(db3)[0]] == ["memory 1", "memory 2"]


def test_bulk_import_on_several_connections(db3, tmp_path, capsys):
    """--bulk --jobs 3: the same memories and links as a plain import, the indexes rebuilt, the
    BM25 statistics equal a recount; a refused batch still ends the bulk load."""
    lines = [{"content": f"memory {i} about zebras and grass" if i % 2 else f"memory {i} about stones",
              "embedding": [1, i, 0.5], "namespace": f"ns-{i % 3}", "key": f"k{i}",
              **({"links": [{"to": f"k{i - 1}"}]} if i % 5 == 0 else {})} for i in range(1, 41)]
    f = write(tmp_path / "many.jsonl", lines)
    assert main(["memory", "import", f, "--dsn", db3, "--bulk", "--jobs", "3", "--batch-size", "4"]) == 0
    out = capsys.readouterr()
    assert "stored 40 lines (40 new, 0 already there), 8 links" in out.out
    assert "40/40 lines" in out.err
    mems, links = state(db3)
    assert len(mems) == 40 and len(links) == 8
    assert ("memory 10 about stones", "memory 9 about zebras and grass", "related", 1.0) in links
    with psycopg.connect(db3) as c:
        assert c.execute("SELECT bulk_from FROM animus.memory_bm25_settings").fetchone()[0] is None
        assert c.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'animus' AND indexname IN "
                         "('memories_embedding_hnsw', 'memories_fts_gin', 'memory_terms_impact_idx')").fetchone()[0] == 3
        assert c.execute(
            "SELECT count(*) FROM ((SELECT ts.namespace, ts.term, ts.df FROM animus.memory_bm25_term_stats ts) "
            "EXCEPT (SELECT m.namespace, u.lexeme, count(*) FROM animus.memories m CROSS JOIN LATERAL unnest(m.fts) u "
            "GROUP BY 1, 2)) d").fetchone()[0] == 0
    # a refused batch: its line is named, the bulk load still ends (indexes back)
    bad = [{"content": f"other {i}", "embedding": [0, 0, 0] if i == 7 else [1, i, 0]} for i in range(1, 13)]
    assert main(["memory", "import", write(tmp_path / "bad.jsonl", bad), "--dsn", db3, "--bulk", "--jobs", "2",
                 "--batch-size", "3", "--quiet"]) == 1
    assert "bad.jsonl:7: ZA202" in capsys.readouterr().err
    with psycopg.connect(db3) as c:
        assert c.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'animus' AND indexname IN "
                         "('memories_embedding_hnsw', 'memories_fts_gin', 'memory_terms_impact_idx')").fetchone()[0] == 3
    assert main(["memory", "import", f, "--dsn", db3, "--dry-run", "--bulk"]) == 2
