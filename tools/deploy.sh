#!/usr/bin/env bash
# deploy.sh DB [sqitch deploy options]: deploy animus with Sqitch to database DB of the embedded server
# (created if missing). Idempotent: deploying an up-to-date database changes nothing.
source "$(dirname "$0")/lib.sh"
db=${1:?database name}; shift
DEVDB createdb "$db"
sqitch_run "$(db_url "$db")" deploy "$@"
