"""A broker process that writes until it is killed: the crash-safety test's victim (not a test module).

    python tests/reliability/crash_writer.py SEED TAG [SELF_KILL_AFTER]

Opens the broker from the environment (TRADING_DATA_DIR, TRADING_NOW) exactly as the server does,
then places, cancels and imports in a loop chosen by a seeded RNG. Before each call it prints what it
is trying; after each call returns (its transaction committed) it prints one JSON line, so the parent
knows what was attempted and what was acknowledged. With
SELF_KILL_AFTER it sends itself SIGKILL from inside SQLite's progress handler after that many
callbacks: death in the middle of a statement or a commit, at a reproducible point.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from decimal import Decimal

from sqlalchemy import Engine, event

SYMBOLS = ("PLUG", "KO", "AAPL", "F")


def _arm_self_kill(after: int) -> None:
    calls = 0

    def progress() -> int:
        nonlocal calls
        calls += 1
        if calls >= after:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    @event.listens_for(Engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.set_progress_handler(progress, 20)  # every 20 SQLite VM instructions


def _say(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main() -> None:
    seed, tag = int(sys.argv[1]), sys.argv[2]
    if len(sys.argv) > 3:
        _arm_self_kill(int(sys.argv[3]))
    from brokers.domain import OrderRequest
    from brokers.errors import BrokerError
    from brokers.profiles import get_profile
    from brokers.runtime import open_engine

    engine = open_engine(get_profile("tradesphere"))
    _say(ready=True)
    rng = random.Random(seed)
    for n in range(1_000_000):
        cid = f"{tag}-{n}"
        roll = rng.random()
        symbol = rng.choice(SYMBOLS)
        try:
            if roll < 0.45:
                request = OrderRequest.parse(symbol=symbol, side="buy", quantity=str(rng.randint(1, 5)), client_order_id=cid)
            elif roll < 0.70:
                held = {p.symbol: p.quantity for p in engine.positions()}
                symbol = rng.choice(sorted(held)) if held else symbol
                quantity = max(Decimal(1), (held.get(symbol, Decimal(1)) / 2).to_integral_value())
                request = OrderRequest.parse(symbol=symbol, side="sell", quantity=str(quantity), client_order_id=cid)
            elif roll < 0.80:
                request = OrderRequest.parse(symbol=symbol, side="buy", quantity="1", order_type="limit",
                                             limit_price="1.00", time_in_force="gtc", client_order_id=cid)
            elif roll < 0.88:
                request = OrderRequest.parse(symbol=symbol, side="buy", notional=str(rng.randint(5, 500)), client_order_id=cid)
            elif roll < 0.94:
                active = engine.list_orders(status="active", limit=50)
                if active:
                    _say(trying="cancel")
                    order = engine.cancel_order(rng.choice(active).id)
                    _say(cancel=order.id, status=order.status.value)
                continue
            else:
                quantity, price = rng.randint(1, 20), f"{rng.randint(100, 50000) / 100:.2f}"
                _say(trying="import")
                engine.add_position(symbol, str(quantity), price)
                _say(imported=[symbol, str(quantity), price])
                continue
            _say(trying="order")  # before the call: the parent counts it even if the call never returns
            order = engine.place_order(request)
            _say(cid=cid, id=order.id, status=order.status.value)
        except BrokerError as exc:
            _say(refused=str(exc)[:80])


if __name__ == "__main__":
    main()
