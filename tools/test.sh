#!/usr/bin/env bash
# test.sh [sql|py|all]: pgTAP files through pg_prove, then pytest, on fresh test databases.
# Never touches the dev database `animus`.
#   tests/pgtap/*.sql          the production-safe set, at embedding dimensions 1536 (animus_test), 3 and 384
#   tests/pgtap/scratch/*.sql  tests that take strong locks on existing tables, on their own database
source "$(dirname "$0")/lib.sh"
what=${1:-all}
db=animus_test
# fresh_db NAME [sqitch deploy args]: a new database with animus deployed and pgTAP installed
fresh_db() {
  local name=$1; shift
  DEVDB createdb "$name" --drop
  sqitch_run "$(db_url "$name")" deploy "$@" >/dev/null
  # installed once, as a DBA would on a production database (the files only create it when missing)
  "$PGBIN/psql" -X -q -d "$(db_url "$name")" -c "CREATE EXTENSION IF NOT EXISTS pgtap"
}
fresh_db "$db"
status=0
export PGOPTIONS="-c client_min_messages=warning"
export ANIMUS_TEST_DB=$db ANIMUS_ADMIN_URL=$(db_url postgres) DATABASE_URL=$(db_url "$db")
if [ "$what" = all ] || [ "$what" = sql ]; then
  echo "== pgTAP production-safe set (tests/pgtap/*.sql) on database $db (embedding_dim 1536)"
  pg_prove --psql-bin "$PGBIN/psql" -d "$DATABASE_URL" --failures --jobs 2 "$ROOT"/tests/pgtap/*.sql || status=1
  for dim in 3 384; do
    dimdb=${db}_dim$dim
    fresh_db "$dimdb" --set embedding_dim=$dim
    echo "== pgTAP production-safe set on database $dimdb (embedding_dim $dim)"
    pg_prove --psql-bin "$PGBIN/psql" -d "$(db_url "$dimdb")" --failures --jobs 2 "$ROOT"/tests/pgtap/*.sql || status=1
    DEVDB dropdb "$dimdb" || true
  done
  scratchdb=${db}_scratch
  fresh_db "$scratchdb"
  echo "== pgTAP scratch-only set (tests/pgtap/scratch/*.sql) on database $scratchdb"
  pg_prove --psql-bin "$PGBIN/psql" -d "$(db_url "$scratchdb")" --failures "$ROOT"/tests/pgtap/scratch/*.sql || status=1
  DEVDB dropdb "$scratchdb" || true
fi
if [ "$what" = all ] || [ "$what" = py ]; then
  echo "== pytest"
  (cd "$ROOT" && "$VENV/bin/pytest" -q tests/python "${PYTEST_ARGS[@]:-}") || status=1
fi
DEVDB dropdb "$db" || true
exit $status
