#!/usr/bin/env python3
"""sma_revert: buys a dip below the moving average, sells the bounce above it.

Params (strategies.yaml, `params:` of a `class: exec` entry):
  window  prices in the simple moving average (default 20)
  band    fraction away from the average that triggers (default 0.002)
  qty     quantity of each intent, as a string (default "1")

One position per symbol at most: a buy when flat and the price is `band` below the average,
a sell when long and the price is `band` above it.
"""

import os
import sys
from collections import deque

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from njord_strategy import Strategy, run  # noqa: E402


class SmaRevert(Strategy):
    def __init__(self, params, strategy_id):
        super().__init__(params, strategy_id)
        self.window = int(params.get("window", 20))
        self.band = float(params.get("band", 0.002))
        self.qty = str(params.get("qty", "1"))
        self.prices = {}
        self.long = {}

    def on_event(self, ev):
        sym = ev["symbol"]
        price = float(ev["price"] if ev["kind"] == "trade" else ev["close"])
        window = self.prices.setdefault(sym, deque(maxlen=self.window))
        window.append(price)
        if len(window) < self.window:
            return
        sma = sum(window) / self.window
        meta = {"sma": sma}
        if not self.long.get(sym) and price < sma * (1 - self.band):
            self.long[sym] = True
            self.buy(self.qty, meta=meta)
        elif self.long.get(sym) and price > sma * (1 + self.band):
            self.long[sym] = False
            self.sell(self.qty, meta=meta)


if __name__ == "__main__":
    run(SmaRevert, id="sma_revert", version="1.0.0")
