#!/usr/bin/env bash
# demo.sh: the end-to-end demo on the dev database, then how to connect.
source "$(dirname "$0")/lib.sh"
url=$(db_url animus)
if [ -f "$ROOT/sql/examples/demo.sql" ]; then
  "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -P pager=off -d "$url" -f "$ROOT/sql/examples/demo.sql"
fi
cat <<MSG

animus is deployed on the embedded PostgreSQL.
  DATABASE_URL=$url
  psql:  $PGBIN/psql "$url"     (or: make psql)
MSG
