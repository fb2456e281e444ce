#!/usr/bin/env bash
# Research exports (issue 16), one `name: value unit` line per figure:
# - njord-journal export of an NDJSON trade tape to Parquet partitions: rows/s by CPU time
#   (target >= 2,000,000 per core), SHA-256 of the input included;
# - the Parquet partitions' size against the gzip NDJSON's (target <= 40 %);
# - njord-backtest with ema_cross on one core from the Parquet partitions and from the NDJSON,
#   trades/s by CPU time (target >= 20,000,000 from Parquet);
# - njord.read of 10,000,000 trades from Parquet into pandas, wall clock (target < 1 s).
# Tapes are synthetic (scripts/gen-trades.sh, a seeded random walk); never exchange data.
#   scripts/bench-research.sh          # 1,000,000 trades
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${N:-1000000}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin njord-backtest --bin njord-journal
bin=$PWD/target/release
gen=$PWD/scripts/gen-trades.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$gen" "$n" > tape.ndjson
gzip -k tape.ndjson
cp "$root/scripts/bench-strategies.yaml" strategies.yaml
pin=""
command -v taskset > /dev/null && pin="taskset -c 0"

# CPU seconds (user + system) of a command, best of three.
cpu() {
  local best=""
  for _ in 1 2 3; do
    rm -rf out parts.tmp
    # A failed run is no figure: the script stops (set -e sees the failed substitution).
    if ! /usr/bin/time -o time.txt -f "%U %S" "$@" > /dev/null 2> err.txt; then
      echo "bench-research.sh: failed: $*" >&2
      cat err.txt >&2
      exit 1
    fi
    local t
    t=$(awk '{ print $1 + $2 }' time.txt)
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 1e-9) }'; }

export_s=$(cpu $pin "$bin/njord-journal" -q export tape.ndjson --out parts.tmp)
mv parts.tmp parts  # exports are byte-identical: the last timed one serves
parquet_bytes=$(find parts -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
gz_bytes=$(stat -c %s tape.ndjson.gz)
echo "research_export: $(rate "$n" "$export_s") rows/s (CPU, one core)"
echo "research_parquet_vs_gzip: $(awk -v a="$parquet_bytes" -v b="$gz_bytes" 'BEGIN { printf "%.1f", 100 * a / b }') %"
backtest=($pin "$bin/njord-backtest" -q --no-progress --no-summary --strategies strategies.yaml --out out --tape)
ndjson_s=$(cpu "${backtest[@]}" tape.ndjson)
parquet_s=$(cpu "${backtest[@]}" 'parts/**/*.parquet')
echo "research_backtest_ndjson: $(rate "$n" "$ndjson_s") trades/s (CPU, ema_cross)"
echo "research_backtest_parquet: $(rate "$n" "$parquet_s") trades/s (CPU, ema_cross)"

# njord.read of READ_N (10,000,000) trades from Parquet into pandas (Arrow-backed columns, exact
# decimals; target < 1 s), best of three, wall clock. Needs the module: `make python`.
py=$root/.venv/bin/python
if [ ! -x "$py" ]; then
  echo "bench-research.sh: $py is missing: run make python" >&2
  exit 1
fi
read_n=${READ_N:-10000000}
"$gen" "$read_n" > big.ndjson
"$bin/njord-journal" -q export big.ndjson --out big
rm big.ndjson
"$py" - "$read_n" <<'PY'
import sys, time
import pandas as pd
import njord
times = []
for _ in range(3):
    t0 = time.perf_counter()
    frame = njord.read("big/kind=trade").to_pandas(types_mapper=pd.ArrowDtype)
    times.append(time.perf_counter() - t0)
assert len(frame) == int(sys.argv[1])
print(f"research_read_pandas: {min(times):.2f} s for {len(frame):,} trades (njord.read, to_pandas)")
PY
