#!/usr/bin/env bash
# The audit trail's cost (issue 20). Prints one `name: value unit` line per figure.
#
# - njord-risk on stdio over the risk benchmark's tape (N trades, one intent per 100), without
#   and with `audit.enabled` (the default `audit.fsync: never`: records flushed to the OS per
#   batch; and `batch`: fsynced too), best of R runs each, in CPU seconds (user + sys) and wall
#   seconds. Target: the trail costs under 10 %.
# - `njord-audit verify` over a trail of about 4 x V records (an intent after every trade).
#   Target: at least 1,000,000 records/s.
#   scripts/bench-audit.sh                 # N=1000000, V=250000, R=3
#   SKIP_BUILD=1 BIN=/path/to/release scripts/bench-audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
V=${V:-250000}
R=${R:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --quiet --bin njord-risk --bin njord-audit
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release}
export NJORD__LOGGING__JSON_FILE=false NJORD__RISK__KILL_SWITCH_FILE="$work/halt"
unset NJORD_CONFIG

scripts/gen-intents.sh "$N" 100 > "$work/tape.ndjson"
lines=$(wc -l < "$work/tape.ndjson")

# Best (lowest) CPU and wall seconds of R runs of njord-risk over $1; the trail (if any) and
# journals start empty each time.
best_risk() {
    local in=$1 best_cpu=999999 best_wall=999999 t
    for _ in $(seq "$R"); do
        rm -rf "$work/journal" "$work/audit"
        TIMEFORMAT='%3R %3U %3S'
        t=$({ time NJORD__JOURNAL__DIR="$work/journal" "$bin/njord-risk" -q < "$in" > /dev/null 2> /dev/null; } 2>&1)
        best_wall=$(echo "$t $best_wall" | awk '{ print ($1 < $4) ? $1 : $4 }')
        best_cpu=$(echo "$t $best_cpu" | awk '{ c = $2 + $3; print (c < $4) ? c : $4 }')
    done
    echo "$best_cpu $best_wall"
}

read -r off_cpu off_wall < <(best_risk "$work/tape.ndjson")
read -r on_cpu on_wall < <(NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" best_risk "$work/tape.ndjson")
read -r sync_cpu sync_wall < <(NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" \
    NJORD__AUDIT__FSYNC=batch best_risk "$work/tape.ndjson")
# Records in every chain under $1, as `njord-audit verify` counts them (gzipped files too).
records_in() {
    "$bin/njord-audit" -q verify "$1" | awk '{ n += $2 } END { print n }'
}
rm -rf "$work/journal" "$work/audit"
NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" NJORD__JOURNAL__DIR="$work/journal" \
    "$bin/njord-risk" -q < "$work/tape.ndjson" > /dev/null
records=$(records_in "$work/audit")
rate() { awk -v l="$1" -v s="$2" 'BEGIN { printf "%.0f", l / s }'; }
# How much longer $1 seconds are than $2, in percent.
cost() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }'; }
echo "audit_tape_lines: $lines lines"
echo "audit_risk_records: $records records"
echo "risk_no_audit_lines_per_cpu_s: $(rate "$lines" "$off_cpu") lines/s"
echo "risk_audit_lines_per_cpu_s: $(rate "$lines" "$on_cpu") lines/s"
echo "risk_audit_cpu_cost: $(cost "$on_cpu" "$off_cpu") %"
echo "risk_no_audit_lines_per_s: $(rate "$lines" "$off_wall") lines/s"
echo "risk_audit_lines_per_s: $(rate "$lines" "$on_wall") lines/s"
echo "risk_audit_wall_cost: $(cost "$on_wall" "$off_wall") %"
echo "risk_audit_fsync_batch_lines_per_s: $(rate "$lines" "$sync_wall") lines/s"
echo "risk_audit_fsync_batch_wall_cost: $(cost "$sync_wall" "$off_wall") %"

# A big trail: an intent after every trade.
scripts/gen-intents.sh "$V" 1 > "$work/dense.ndjson"
rm -rf "$work/journal" "$work/audit"
NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" NJORD__JOURNAL__DIR="$work/journal" \
    "$bin/njord-risk" -q < "$work/dense.ndjson" > /dev/null
trail=$(records_in "$work/audit")
best=999999
for _ in $(seq "$R"); do
    TIMEFORMAT='%3R'
    t=$({ time "$bin/njord-audit" -q verify "$work/audit" > /dev/null; } 2>&1)
    best=$(echo "$t $best" | awk '{ print ($1 < $2) ? $1 : $2 }')
done
echo "verify_trail_records: $trail records"
echo "verify_records_per_s: $(rate "$trail" "$best") records/s"
