#!/usr/bin/env bash
# bench_python.sh: the Python client's per-call overhead against bare psycopg, on a fresh database.
source "$(dirname "$0")/lib.sh"
db=animus_bench_py
DEVDB createdb "$db" --drop
sqitch_run "$(db_url "$db")" deploy >/dev/null
status=0
DATABASE_URL=$(db_url "$db") "$PY" "$ROOT/tools/bench_python.py" "$@" || status=$?
DEVDB dropdb "$db" || true
exit $status
