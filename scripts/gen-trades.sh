#!/usr/bin/env bash
# Writes N synthetic trade events (a deterministic random walk) to stdout. Used by the
# benchmarks; the project's richer generator is `njord-sim gen`.
set -euo pipefail
n=${1:-1000000}
symbol=${2:-ATOM/USDT}
awk -v n="$n" -v sym="$symbol" 'BEGIN {
  srand(42); p = 100000; ts = 1700000000000;
  for (i = 1; i <= n; i++) {
    p += int(rand() * 21) - 10; if (p < 1000) p = 1000;
    ts += int(rand() * 50);
    # A quantity is positive (a zero one is a bad line): 0.00 becomes 0.01.
    q = int(rand() * 20); c = int(rand() * 100); if (q == 0 && c == 0) c = 1;
    printf("{\"kind\":\"trade\",\"venue\":\"binanceus\",\"symbol\":\"%s\",\"trade_id\":\"%d\",\"price\":%d.%04d,\"qty\":%d.%02d,\"side\":\"%s\",\"ts_ns\":%.0f000000}\n",
      sym, i, int(p / 10000), p % 10000, q, c, (rand() < 0.5 ? "buy" : "sell"), ts);
  }
}'
