# Shared by the tools/*.sh scripts: paths, the embedded server's binaries, database URLs.
# shellcheck shell=bash
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${ANIMUS_VENV:-$ROOT/.venv}
PY="$VENV/bin/python"
DEVDB() { "$PY" "$ROOT/tools/devdb.py" "$@"; }
PGBIN=$(dirname "$(DEVDB bin psql)")
export SQITCH_FULLNAME=${SQITCH_FULLNAME:-animus} SQITCH_EMAIL=${SQITCH_EMAIL:-dev@animus.invalid}

# db_url NAME -> postgresql:// URL of database NAME on the embedded server
db_url() { DEVDB url "$1"; }
# sqitch_target URL -> db:pg:// target
sqitch_target() { echo "db:pg://${1#*://}"; }
# sqitch_run URL ARGS... -> runs sqitch against the database at URL with the embedded psql
sqitch_run() {
  local url=$1; shift
  local cmd=$1; shift
  (cd "$ROOT" && sqitch "$cmd" --db-client "$PGBIN/psql" "$@" "$(sqitch_target "$url")")
}
