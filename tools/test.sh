#!/usr/bin/env bash
# test.sh [sql|py|all]: pgTAP files through pg_prove, then pytest, on a fresh test database.
# Never touches the dev database `animus`.
source "$(dirname "$0")/lib.sh"
what=${1:-all}
db=animus_test
DEVDB createdb "$db" --drop
sqitch_run "$(db_url "$db")" deploy
"$PGBIN/psql" -X -q -d "$(db_url "$db")" -c "CREATE EXTENSION IF NOT EXISTS pgtap"  # files also create it, in their own transaction
status=0
export PGOPTIONS="-c client_min_messages=warning"
export ANIMUS_TEST_DB=$db ANIMUS_ADMIN_URL=$(db_url postgres) DATABASE_URL=$(db_url "$db")
if [ "$what" = all ] || [ "$what" = sql ]; then
  echo "== pgTAP (pg_prove) on database $db"
  pg_prove --psql-bin "$PGBIN/psql" -d "$DATABASE_URL" --failures --jobs 2 "$ROOT"/tests/pgtap/*.sql || status=1
fi
if [ "$what" = all ] || [ "$what" = py ]; then
  echo "== pytest"
  (cd "$ROOT" && "$VENV/bin/pytest" -q tests/python "${PYTEST_ARGS[@]:-}") || status=1
fi
DEVDB dropdb "$db" || true
exit $status
