#!/usr/bin/env bash
# bench_queue.sh: the work-queue benchmark (`make bench-queue`). On a FRESH database `animus_bench`
# (never the dev data), runs the pgbench scripts in sql/bench/queue_*.sql at 1, 8 and 32 clients and
# prints each animus figure beside its raw pgmq baseline measured in the same run, as a ratio.
# Submit figures are taken with a worker connected and LISTENing on channel animus_work.
# Each figure and its baseline are measured in alternation, ROUNDS times for SECS seconds each, and
# averaged: load from other processes on the machine hits both alike.
# Phase keys: the cost of concurrency keys, as the ratio of the keyed call to the plain animus call
# measured in the same rounds (queue benchk: items with one of 10,000 keys, each under limits that
# never bind, so every claim runs the whole admission).
# Env: BENCH_SECONDS (default 2), BENCH_ROUNDS (default 3), BENCH_CLIENTS (default "1 8 32"), BENCH_PHASES (default
# "submit consume keys notify").
source "$(dirname "$0")/lib.sh"
SECS=${BENCH_SECONDS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-1 8 32}
PHASES=${BENCH_PHASES:-submit consume keys notify}
has() { [[ " $PHASES " == *" $1 "* ]]; }
db=animus_bench
PGBENCH="$PGBIN/pgbench"
URL=$(db_url "$db")
B="$ROOT/sql/bench"
sql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$URL" -c "$1"; }

echo "== fresh database $db"
DEVDB createdb "$db" --drop >/dev/null
sqitch_run "$URL" deploy >/dev/null 2>&1
sql "SELECT animus.create_queue(queue => 'bench'); SELECT pgmq.create('rawq');
     SELECT animus.create_queue(queue => 'benchk');
     SELECT animus.set_concurrency_limit(queue => 'benchk', key => '*', max_running => 1000000, rate => 1000000000, period => '1 hour');" >/dev/null

# A worker waiting for wake-ups, connected for the whole run: it LISTENs and reads each NOTIFY as
# it arrives, waiting on its socket like the animus Worker (it never consumes work items). Not
# `psql -c "LISTEN ..." -c "SELECT pg_sleep(...)"`: a statement that runs for the whole benchmark
# holds a snapshot, so VACUUM could not remove any row version the runs leave behind.
"$PY" -c '
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True, application_name="animus_bench_listener") as c:
    c.execute("LISTEN animus_work")
    for _ in c.notifies():
        pass
' "$URL" &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null || true' EXIT
for _ in $(seq 50); do   # up to 10 s: the listener starts Python, which takes a while on a loaded machine
  [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'animus_bench_listener'")" = 1 ] && break
  sleep 0.2
done
[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'animus_bench_listener'")" = 1 ] \
  || { echo "listener did not connect" >&2; exit 1; }
echo "   listener connected (LISTEN animus_work)"

# run SCRIPT CLIENTS -> prints transactions per second
run() {
  local script=$1 c=$2 j=$2
  [ "$j" -gt 4 ] && j=4
  "$PGBENCH" -n -M prepared -T "$SECS" -c "$c" -j "$j" -f "$B/$script" "$URL" 2>&1 \
    | awk '/^tps = /{print $3} /aborted|error/{print "ERR: " $0 > "/dev/stderr"}'
}
settle() { sql "VACUUM ANALYZE animus.queues, animus.work_items, pgmq.q_bench, pgmq.q_rawq, pgmq.a_bench, pgmq.a_rawq,
                pgmq.q_benchk, pgmq.a_benchk, animus.concurrency_keys" >/dev/null; }
# top_up N: at least N visible items in queue bench and N messages in rawq (for the consumer runs)
top_up() {
  local n=$1
  sql "DO \$\$ DECLARE missing int := $n - (SELECT count(*) FROM pgmq.q_bench WHERE vt <= now()); BEGIN
         WHILE missing > 0 LOOP
           PERFORM animus.submit_work_batch((SELECT jsonb_agg(jsonb_build_object('work_type', 'bench', 'source', 'prefill'))
                                               FROM generate_series(1, least(missing, 5000))), queue => 'bench');
           missing := missing - 5000;
         END LOOP; END \$\$;
       SELECT pgmq.send_batch('rawq', array_agg(jsonb_build_object('work_id', gen_random_uuid(), 'work_type', 'bench')))
         FROM generate_series(1, greatest($n - (SELECT count(*) FROM pgmq.q_rawq WHERE vt <= now()), 0)) HAVING count(*) > 0;" >/dev/null
  settle
}
# series CLIENTS SCRIPT... -> mean tps of each script, measured in alternation ROUNDS times.
# BEFORE_ROUND (a command) runs before each round (e.g. a top-up of the queue).
series() {
  local c=$1; shift
  local -a sums=()
  local r i
  for ((r = 0; r < ROUNDS; r++)); do
    [ -n "${BEFORE_ROUND:-}" ] && $BEFORE_ROUND
    i=0
    for f in "$@"; do
      sums[i]=$(awk -v a="${sums[i]:-0}" -v b="$(run "$f" "$c")" 'BEGIN { print a + b }')
      i=$((i + 1))
    done
  done
  for ((i = 0; i < $#; i++)); do awk -v a="${sums[i]}" -v n="$ROUNDS" 'BEGIN { print a / n }'; done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt() { awk -v a="$1" -v m="${2:-1}" 'BEGIN { printf "%.0f", a * m }'; }

declare -a ROWS
row() { ROWS+=("$(printf '| %-44s | %7s | %12s | %12s | %6s |' "$@")"); echo "${ROWS[-1]}"; }
echo
row "figure" "clients" "animus" "raw pgmq" "ratio"
has submit && for c in $CLIENTS; do
  settle
  read -r raw uniq hot < <(series "$c" queue_raw_send.sql queue_submit_unique.sql queue_submit_hot.sql | xargs)
  row "submit_work, unique keys (tps)" "$c" "$(fmt "$uniq")" "$(fmt "$raw")" "$(ratio "$uniq" "$raw")"
  row "submit_work, 100 hot keys, merge-heavy (tps)" "$c" "$(fmt "$hot")" "$(fmt "$raw")" "$(ratio "$hot" "$raw")"
  settle
  read -r rawb batch < <(series "$c" queue_raw_send_batch.sql queue_submit_batch.sql | xargs)
  row "submit_work_batch, 100/call (items/s)" "$c" "$(fmt "$batch" 100)" "$(fmt "$rawb" 100)" "$(ratio "$batch" "$rawb")"
done
top_up_single() { top_up 20000; }
# top_up_keyed N: top_up N, and at least N visible keyed items in queue benchk (keys k0..k9999)
top_up_keyed() {
  top_up "$1"
  sql "DO \$\$ DECLARE missing int := $1 - (SELECT count(*) FROM pgmq.q_benchk WHERE vt <= now()); BEGIN
         WHILE missing > 0 LOOP
           PERFORM animus.submit_work_batch((SELECT jsonb_agg(jsonb_build_object('work_type', 'bench', 'source', 'prefill',
                                                                                 'concurrency_key', 'k' || (random() * 10000)::int))
                                               FROM generate_series(1, least(missing, 5000))), queue => 'benchk');
           missing := missing - 5000;
         END LOOP; END \$\$;" >/dev/null
  settle
}
top_up_keyed_single() { top_up_keyed 20000; }
top_up_batch() { top_up 60000; }
has consume && for c in $CLIENTS; do
  read -r rawrc rc rct < <(BEFORE_ROUND=top_up_single series "$c" queue_raw_read_archive.sql queue_read_complete.sql \
                                queue_read_complete_types.sql | xargs)
  row "read_work + complete_work, 1 item (cycles/s)" "$c" "$(fmt "$rc")" "$(fmt "$rawrc")" "$(ratio "$rc" "$rawrc")"
  row "  the same, read_work(work_types) (cycles/s)" "$c" "$(fmt "$rct")" "$(fmt "$rawrc")" "$(ratio "$rct" "$rawrc")"
  read -r rawbc bc < <(BEFORE_ROUND=top_up_batch series "$c" queue_raw_read_archive_batch.sql queue_read_complete_batch.sql | xargs)
  row "batched consumer, read 100 + complete (items/s)" "$c" "$(fmt "$bc" 100)" "$(fmt "$rawbc" 100)" "$(ratio "$bc" "$rawbc")"
done

# Concurrency keys: keyed submit and keyed read + complete beside the plain animus calls, same rounds.
has keys && for c in $CLIENTS; do
  settle
  read -r plain keyed < <(series "$c" queue_submit_unique.sql queue_submit_keyed.sql | xargs)
  row "submit_work, concurrency key (tps)" "$c" "$(fmt "$keyed")" "plain $(fmt "$plain")" "$(ratio "$keyed" "$plain")"
  read -r plainrc keyedrc < <(BEFORE_ROUND=top_up_keyed_single series "$c" queue_read_complete.sql queue_read_complete_keyed.sql | xargs)
  row "read_work + complete_work, concurrency key (cycles/s)" "$c" "$(fmt "$keyedrc")" "plain $(fmt "$plainrc")" "$(ratio "$keyedrc" "$plainrc")"
done

# The wake-up NOTIFY: same unique-key submit at 8 clients without the listener, and with a NOTIFY in
# every submit (throttle 0) for comparison.
echo
kill $LISTENER 2>/dev/null || true; wait $LISTENER 2>/dev/null || true
if has notify; then
settle
read -r raw nolisten < <(series 8 queue_raw_send.sql queue_submit_unique.sql | xargs)
row "submit_work unique, no listener (tps)" 8 "$(fmt "$nolisten")" "$(fmt "$raw")" "$(ratio "$nolisten" "$raw")"
sql "SELECT animus.configure_queue(queue => 'bench', notify_throttle => '0')" >/dev/null
read -r raw everyone < <(series 8 queue_raw_send.sql queue_submit_unique.sql | xargs)
row "submit_work unique, NOTIFY in every submit (tps)" 8 "$(fmt "$everyone")" "$(fmt "$raw")" "$(ratio "$everyone" "$raw")"
sql "SELECT animus.configure_queue(queue => 'bench', notify => false)" >/dev/null
settle  # the run before updated the queue's row in every submit: vacuum its dead versions
read -r raw off < <(series 8 queue_raw_send.sql queue_submit_unique.sql | xargs)
row "submit_work unique, notify off (tps)" 8 "$(fmt "$off")" "$(fmt "$raw")" "$(ratio "$off" "$raw")"
fi

echo
echo "pgbench -M prepared, ${ROUNDS} alternating rounds of ${SECS}s per figure and baseline; server $(sql 'SHOW server_version'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
DEVDB dropdb "$db" >/dev/null || true
