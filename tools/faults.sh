#!/usr/bin/env bash
# faults.sh: the full fault suite (make faults). Immediate shutdowns of a throwaway cluster under
# load (5 rounds), SIGKILLed workers, hung handlers, connection loss, 200 hypothesis examples,
# 10 MB through every argument; then the figures. A fresh database `animus_faults` on the
# embedded server for the tests that do not need their own cluster; never the dev db `animus`.
source "$(dirname "$0")/lib.sh"
db=animus_faults
DEVDB createdb "$db" --drop
sqitch_run "$(db_url "$db")" deploy >/dev/null
figures=$(mktemp /tmp/animus-faults-XXXXXX.jsonl)
export ANIMUS_FAULTS=full ANIMUS_FAULT_FIGURES=$figures PGOPTIONS="-c client_min_messages=warning"
export ANIMUS_ADMIN_URL=$(db_url postgres) DATABASE_URL=$(db_url "$db")
status=0
(cd "$ROOT" && "$VENV/bin/pytest" -q -p no:cacheprovider tests/python/test_sec_faults.py tests/python/test_sec_connection_loss.py \
    tests/python/test_sec_properties.py tests/python/test_sec_injection.py) || status=1
"$PY" "$ROOT/tools/fault_figures.py" "$figures"
rm -f "$figures"
DEVDB dropdb "$db" || true
exit $status
