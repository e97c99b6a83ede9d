#!/usr/bin/env bash
# docs.sh [FILE.md ...]: runs every example of README.md and docs/*.md (or the files given) on fresh
# scratch databases and rewrites the outputs that differ from the real run (tests/python/test_docs_examples.py).
source "$(dirname "$0")/lib.sh"
export ANIMUS_ADMIN_URL=$(db_url postgres)
cd "$ROOT" && "$PY" tests/python/test_docs_examples.py --update "$@"
