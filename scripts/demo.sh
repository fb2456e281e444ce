#!/usr/bin/env bash
# `make demo`: Njord on bundled synthetic data, no Redis and no network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NJORD_BIN:-target/debug}
tape=examples/data/atom_trades.ndjson
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NJORD__LOGGING__LOG_DIR="$work/log" NJORD__JOURNAL__DIR="$work/journal"

echo "== validate the bundled tape: njord-bus check $tape"
"$bin/njord-bus" -q check --quiet-ok "$tape" 2>&1 | tail -1
echo
echo "== first events of the tape"
head -3 "$tape"
echo
echo "== the kill switch: trip, status (exit 1 = halted), clear"
"$bin/njord-kill" -q --file "$work/halt" trip --reason "demo"
"$bin/njord-kill" -q --file "$work/halt" status || echo "(status exited $?: trading halted)"
"$bin/njord-kill" -q --file "$work/halt" clear
"$bin/njord-kill" -q --file "$work/halt" status && echo "(status exited 0: trading allowed)"
