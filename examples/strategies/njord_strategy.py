"""A tiny helper for Njord strategies written in Python (standard library only).

Njord (`class: exec` in strategies.yaml) starts the program, sends it a `strategy_start` line
with its params, and then one market event per line; the program answers each event with zero
or more intents and a `done` marker. This module speaks that protocol:

    from njord_strategy import Strategy, run

    class Mine(Strategy):
        def on_event(self, ev):
            if ev["kind"] == "trade" and float(ev["price"]) < 10:
                self.buy("1")

    run(Mine, id="mine", version="1.0.0")

Use the event's `ts_ns` (or `ts_close_ns` of a bar) for time, never the wall clock, and keep
the program deterministic: the backtester and the live pipeline then trade alike. Write logs
to stderr; stdout belongs to the protocol.
"""

import decimal
import json
import sys

PROTOCOL = 1


class Strategy:
    """Base class: `params` holds the entry's params; `on_event` calls `buy`/`sell`."""

    def __init__(self, params, strategy_id):
        self.params = params
        self.strategy_id = strategy_id
        self._answer = []

    def on_event(self, ev):
        """Handles one `trade` or `bar` event (a dict, as Njord writes it)."""
        raise NotImplementedError

    def buy(self, qty, symbol=None, limit_price=None, meta=None, **group):
        self.intent("buy", qty, symbol, limit_price, meta, **group)

    def sell(self, qty, symbol=None, limit_price=None, meta=None, **group):
        self.intent("sell", qty, symbol, limit_price, meta, **group)

    def intent(self, side, qty, symbol=None, limit_price=None, meta=None,
               group_id=None, group_size=None):
        """Queues an intent in the answer to the current event. `qty` and `limit_price` are
        best given as strings ("0.5"), which Njord reads as exact decimals; without a
        `symbol`, the event's; with a `limit_price`, a limit order. The legs of one trade
        share a `group_id` and its `group_size`: risk allows all of them or none."""
        i = {"kind": "intent", "side": side, "qty": _plain(qty)}
        if symbol is not None:
            i["symbol"] = symbol
        if limit_price is not None:
            i["type"] = "limit"
            i["limit_price"] = _plain(limit_price)
        if group_id is not None:
            i["group_id"] = group_id
        if group_size is not None:
            i["group_size"] = group_size
        if meta:
            i["meta"] = meta
        self._answer.append(i)


def _plain(x):
    """A number as plain decimal text: Njord reads no exponents (str(1e-05) is "1e-05")."""
    if isinstance(x, (float, decimal.Decimal)):
        return format(decimal.Decimal(str(x)), "f")
    return str(x)


def run(cls, id, version, stdin=None, stdout=None):
    """Runs strategy class `cls` over the protocol until Njord closes stdin."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    start = json.loads(stdin.readline() or "{}")
    if start.get("kind") != "strategy_start" or start.get("protocol") != PROTOCOL:
        sys.exit(f"{id}: expected a strategy_start line of protocol {PROTOCOL}, got {start}")
    strategy = cls(start["params"], start["strategy_id"])
    hello = {"kind": "strategy_hello", "id": id, "version": version,
             "params_hash": start["params_hash"]}
    stdout.write(json.dumps(hello) + "\n")
    stdout.flush()
    dumps = json.dumps
    for line in stdin:
        strategy._answer.clear()
        strategy.on_event(json.loads(line))
        out = "".join(dumps(i) + "\n" for i in strategy._answer)
        stdout.write(out + '{"kind":"done"}\n')
        stdout.flush()
