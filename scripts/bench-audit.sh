#!/usr/bin/env bash
# The audit trail's cost (issue 20). Prints one `name: value unit` line per figure.
#
# - njord-risk on stdio over the risk benchmark's tape (N trades, one intent per 100), without
#   and with `audit.enabled` (the default `audit.fsync: never`: records flushed to the OS per
#   batch; and `batch`: fsynced too), R interleaved rounds, in CPU seconds (user + sys) and
#   wall seconds. Target: the trail costs under 10 %.
# - `njord-audit verify` over a trail of about V records (an intent after every trade: one
#   decision record each, about 850 bytes), best of R runs.
#   Target: at least 1,000,000 records/s.
#   scripts/bench-audit.sh                 # N=1000000, V=500000, R=15
#   SKIP_BUILD=1 BIN=/path/to/release scripts/bench-audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
V=${V:-500000}
R=${R:-15}
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

# One run of njord-risk over the tape with the trail off, on, or on and fsynced per batch
# ($1); prints its CPU and wall seconds. The trail (if any) and journals start empty.
risk_run() {
    local env=()
    case $1 in
        on) env=(NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit") ;;
        sync) env=(NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" NJORD__AUDIT__FSYNC=batch) ;;
    esac
    rm -rf "$work/journal" "$work/audit"
    TIMEFORMAT='%3R %3U %3S'
    { time env ${env[@]+"${env[@]}"} NJORD__JOURNAL__DIR="$work/journal" "$bin/njord-risk" -q \
        < "$work/tape.ndjson" > /dev/null 2> /dev/null; } 2>&1 | awk '{ print $2 + $3, $1 }'
}

# R rounds; each runs off, on and sync in turn, so that a slow spell of the machine falls on
# all three alike. Times are the medians of the rounds; costs the medians of each round's
# ratio to its own run without the trail.
for _ in $(seq "$R"); do
    read -r off_c off_w < <(risk_run off)
    read -r on_c on_w < <(risk_run on)
    read -r _ sync_w < <(risk_run sync)
    echo "$off_c $off_w $on_c $on_w $sync_w"
done > "$work/rounds"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { awk -v k="$1" '{ print $k }' "$work/rounds" | median; }
ratio() { awk -v a="$1" -v b="$2" '{ print $a / $b }' "$work/rounds" | median; }
off_cpu=$(column 1) off_wall=$(column 2) on_cpu=$(column 3) on_wall=$(column 4) sync_wall=$(column 5)
# Records in every chain under $1, as `njord-audit verify` counts them (gzipped files too).
records_in() {
    "$bin/njord-audit" -q verify "$1" | awk '{ n += $2 } END { print n }'
}
rm -rf "$work/journal" "$work/audit"
NJORD__AUDIT__ENABLED=true NJORD__AUDIT__DIR="$work/audit" NJORD__JOURNAL__DIR="$work/journal" \
    "$bin/njord-risk" -q < "$work/tape.ndjson" > /dev/null
records=$(records_in "$work/audit")
rate() { awk -v l="$1" -v s="$2" 'BEGIN { printf "%.0f", l / s }'; }
# The median round's cost of the trail: column $1 against column $2, in percent.
cost() { awk -v r="$(ratio "$1" "$2")" 'BEGIN { printf "%.1f", (r - 1) * 100 }'; }
echo "audit_tape_lines: $lines lines"
echo "audit_risk_records: $records records"
echo "risk_no_audit_lines_per_cpu_s: $(rate "$lines" "$off_cpu") lines/s"
echo "risk_audit_lines_per_cpu_s: $(rate "$lines" "$on_cpu") lines/s"
echo "risk_audit_cpu_cost: $(cost 3 1) %"
echo "risk_no_audit_lines_per_s: $(rate "$lines" "$off_wall") lines/s"
echo "risk_audit_lines_per_s: $(rate "$lines" "$on_wall") lines/s"
echo "risk_audit_wall_cost: $(cost 4 2) %"
echo "risk_audit_fsync_batch_lines_per_s: $(rate "$lines" "$sync_wall") lines/s"
echo "risk_audit_fsync_batch_wall_cost: $(cost 5 2) %"

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
