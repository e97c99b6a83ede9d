#!/usr/bin/env bash
# demo.sh: the end-to-end demo on the dev database (queue, then memory), then how to connect.
# Re-runnable: the queue part cancels what it leaves queued, the memory part updates what it stored.
source "$(dirname "$0")/lib.sh"
url=$(db_url animus)
for part in queue memory; do
  echo "==== sql/examples/$part.sql"
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$url" -f "$ROOT/sql/examples/$part.sql"
done
cat <<MSG

animus is deployed on the embedded PostgreSQL ($("$PGBIN/psql" -X -At -d "$url" -c "SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension WHERE extname IN ('vector', 'pgmq')")).
  DATABASE_URL=$url
  psql:  $PGBIN/psql "$url"     (or: make psql)
  .env:  $(DEVDB dotenv)
MSG
