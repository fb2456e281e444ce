#!/usr/bin/env bash
# Throughput of njord-risk and njord-paper on stdio, and njord-risk's intent-to-decision
# latency on Redis (issue 3). Prints one `name: value unit` line per figure.
#
# The tape is synthetic (awk; no exchange data): N trades of one symbol, 100 ms apart, with
# one intent per 100 trades (market and limit, alternating sides). Targets: each binary
# >= 1,000,000 lines/s; Redis latency p50 <= 200 us, p99 <= 1 ms. Wall-clock rates depend on
# what else the machine runs, so the CPU-time rates (user + sys) and the load are printed too.
# The `*_fsync_batch_*` lines run the same with `journal.fsync: batch` (a stage syncs its
# journals before each write of its output).
#   scripts/bench-risk-paper.sh            # N=1000000
#   N=200000 scripts/bench-risk-paper.sh   # quicker
#   SKIP_BUILD=1 BIN=/path/to/release scripts/bench-risk-paper.sh   # binaries built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
LAT_COUNT=${LAT_COUNT:-10000}
work=$(mktemp -d)
redis_pid=""
risk_pid=""
cleanup() {
    [ -n "$risk_pid" ] && kill "$risk_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --quiet --bin njord-risk --bin njord-paper --example risk_latency
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release}

scripts/gen-intents.sh "$N" 100 > "$work/tape.ndjson"

export NJORD__JOURNAL__DIR="$work/journal" NJORD__LOGGING__JSON_FILE=false
export NJORD__RISK__KILL_SWITCH_FILE="$work/halt"
unset NJORD_CONFIG

rate() { awk -v l="$1" -v s="$2" 'BEGIN { printf "%.0f", l / s }'; }
# Runs "$@" with stdin $1 and stdout $2; sets wall and cpu (user + sys) seconds.
timed() {
    local in=$1 out=$2 t
    shift 2
    TIMEFORMAT='%3R %3U %3S'
    t=$({ time "$@" < "$in" > "$out" 2> /dev/null; } 2>&1)
    wall=$(echo "$t" | awk '{ print $1 }')
    cpu=$(echo "$t" | awk '{ print $2 + $3 }')
}

tape_lines=$(wc -l < "$work/tape.ndjson")
timed "$work/tape.ndjson" /dev/null cat; cat_wall=$wall
timed "$work/tape.ndjson" "$work/risk.out" "$bin/njord-risk" -q; risk_wall=$wall; risk_cpu=$cpu
paper_lines=$(wc -l < "$work/risk.out")
timed "$work/risk.out" /dev/null "$bin/njord-paper" -q; paper_wall=$wall; paper_cpu=$cpu
timed "$work/risk.out" /dev/null cat; cat2_wall=$wall

echo "tape_lines: $tape_lines lines"
echo "cat_lines_per_s: $(rate "$tape_lines" "$cat_wall") lines/s"
echo "risk_lines_per_s: $(rate "$tape_lines" "$risk_wall") lines/s"
echo "risk_lines_per_cpu_s: $(rate "$tape_lines" "$risk_cpu") lines/s"
echo "risk_vs_cat: $(awk -v a="$risk_wall" -v b="$cat_wall" 'BEGIN { printf "%.1f", a / b }') x"
echo "paper_input_lines: $paper_lines lines"
echo "paper_lines_per_s: $(rate "$paper_lines" "$paper_wall") lines/s"
echo "paper_lines_per_cpu_s: $(rate "$paper_lines" "$paper_cpu") lines/s"
echo "paper_vs_cat: $(awk -v a="$paper_wall" -v b="$cat2_wall" 'BEGIN { printf "%.1f", a / b }') x"
echo "paper_fills: $(wc -l < "$work/journal/fills.ATOMUSDT.ndjson") fills"

rm -rf "$work/journal"
NJORD__JOURNAL__FSYNC=batch timed "$work/tape.ndjson" "$work/risk.out" "$bin/njord-risk" -q
risk_sync_wall=$wall; risk_sync_cpu=$cpu
NJORD__JOURNAL__FSYNC=batch timed "$work/risk.out" /dev/null "$bin/njord-paper" -q
paper_sync_wall=$wall; paper_sync_cpu=$cpu
echo "risk_fsync_batch_lines_per_s: $(rate "$tape_lines" "$risk_sync_wall") lines/s"
echo "risk_fsync_batch_lines_per_cpu_s: $(rate "$tape_lines" "$risk_sync_cpu") lines/s"
echo "risk_fsync_batch_vs_cat: $(awk -v a="$risk_sync_wall" -v b="$cat_wall" 'BEGIN { printf "%.1f", a / b }') x"
echo "paper_fsync_batch_lines_per_s: $(rate "$paper_lines" "$paper_sync_wall") lines/s"
echo "paper_fsync_batch_lines_per_cpu_s: $(rate "$paper_lines" "$paper_sync_cpu") lines/s"
echo "paper_fsync_batch_vs_cat: $(awk -v a="$paper_sync_wall" -v b="$cat2_wall" 'BEGIN { printf "%.1f", a / b }') x"
echo "load_average_1m: $(cut -d' ' -f1 /proc/loadavg) runnable"

if ! command -v redis-server > /dev/null; then
    echo "redis-server not found; install it (apt-get install redis-server) for the latency figure" >&2
    exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" > /dev/null &
redis_pid=$!
url="redis://127.0.0.1:$port/0"
for _ in $(seq 100); do
    redis-cli -p "$port" ping > /dev/null 2>&1 && break
    sleep 0.05
done
"$bin/njord-risk" -q --bus "$url" &
risk_pid=$!
for _ in $(seq 100); do
    [ "$(redis-cli -p "$port" pubsub numsub strat.intent | tail -1)" -ge 1 ] 2> /dev/null && break
    sleep 0.05
done
"$bin/examples/risk_latency" "$url" "$LAT_COUNT"
