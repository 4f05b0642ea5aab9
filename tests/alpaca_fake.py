"""A fake of the Alpaca REST endpoints alpaca-py calls, served by uvicorn on 127.0.0.1, for the tests.

Written from Alpaca's documented shapes (trading API v2: account, clock, positions, orders; market data API v2:
latest quotes and trades; errors as {"code": ..., "message": ...}). One port answers both the trading and the data
paths. It keeps one paper cash account, checks the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers, records every
request, and fails on demand: `fail(...)` arms an HTTP error (429 with Retry-After, 403, 422, 500), a connection
dropped before the request is handled, or one dropped after it was handled (the answer lost).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from brokers.alpaca.client import RetryPolicy

FAST = RetryPolicy(attempts=3, max_total_s=5.0, max_wait_s=0.05, base_wait_s=0.01, timeout_s=5.0)
"""Retries with (almost) no waits: a test checks how many tries were made, never how long they took."""
KEY_ID = "PKTESTFAKEKEY0000001"
SECRET = "fake-secret-for-tests-only-0000000000000"
OPEN_STATUSES = {"new", "accepted", "partially_filled", "held", "pending_new", "pending_cancel", "pending_replace",
                 "accepted_for_bidding", "done_for_day", "calculated", "stopped", "suspended", "pending_review"}


def _n(value: Decimal | None) -> str | None:
    """Alpaca writes numbers as strings."""
    return None if value is None else format(value.normalize(), "f") if value != 0 else "0"


def _t(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    status: int | str
    """An HTTP status, "drop" (nothing handled, connection closed) or "drop_after" (handled, answer lost)."""
    method: str | None = None
    path: str | None = None
    times: int = 1
    body: dict | None = None
    retry_after: str | None = "0"


@dataclass
class FakeAlpaca:
    cash: Decimal = Decimal("25000.00")
    is_open: bool = True
    quotes: dict[str, tuple[Decimal, Decimal]] = field(default_factory=lambda: {
        "AAPL": (Decimal("190.10"), Decimal("190.14")), "MSFT": (Decimal("420.00"), Decimal("420.08")),
        "KO": (Decimal("61.84"), Decimal("61.86")), "ZZZZ": (Decimal("0"), Decimal("0"))})
    positions: dict[str, list[Decimal]] = field(default_factory=dict)
    """symbol -> [quantity, cost basis]."""
    orders: dict[str, dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    last_trade: dict[str, Decimal] = field(default_factory=lambda: {"ZZZZ": Decimal("12.34")})

    # ------------------------------------------------------------------ test controls

    def fail(self, status: int | str, method: str | None = None, path: str | None = None, times: int = 1,
             body: dict | None = None, retry_after: str | None = "0") -> None:
        self.faults.append(Fault(status, method, path, times, body, retry_after))

    def seen(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    def by_cid(self, client_order_id: str) -> list[dict]:
        return [o for o in self.orders.values() if o["client_order_id"] == client_order_id]

    def seed(self, status: str, **fields) -> dict:
        order = self._new({"symbol": "KO", "side": "buy", "type": "limit", "qty": "1", "limit_price": "60",
                           "time_in_force": "gtc", **fields})
        order["status"] = status
        return order

    # ------------------------------------------------------------------ the book

    def _mid(self, symbol: str) -> Decimal:
        bid, ask = self.quotes[symbol]
        return ((bid + ask) / 2).quantize(Decimal("0.01"))

    def reserved(self) -> Decimal:
        total = Decimal(0)
        for o in self.orders.values():
            if o["side"] == "buy" and o["status"] in OPEN_STATUSES and o["status"] != "held":
                price = o["limit_price"] or o["stop_price"] or self.quotes[o["symbol"]][1]
                total += (o["qty"] - o["filled_qty"]) * price
        return total.quantize(Decimal("0.01"))

    def buying_power(self) -> Decimal:
        return self.cash - self.reserved()

    def equity(self) -> Decimal:
        return (self.cash + sum((q * self._mid(s) for s, (q, _c) in self.positions.items()), Decimal(0))).quantize(
            Decimal("0.01"))

    def _new(self, body: dict) -> dict:
        now = datetime.now(UTC)
        order = {
            "id": str(uuid.uuid4()), "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
            "created_at": now, "updated_at": now, "submitted_at": now, "filled_at": None, "canceled_at": None,
            "expired_at": None, "replaced_at": None, "replaced_by": None, "replaces": body.get("replaces"),
            "symbol": body["symbol"], "side": body["side"], "type": body["type"],
            "time_in_force": body["time_in_force"], "order_class": body.get("order_class") or "simple",
            "qty": Decimal(str(body["qty"])) if body.get("qty") is not None else None,
            "notional": Decimal(str(body["notional"])) if body.get("notional") is not None else None,
            "filled_qty": Decimal(0), "filled_avg_price": None,
            "limit_price": Decimal(str(body["limit_price"])) if body.get("limit_price") is not None else None,
            "stop_price": Decimal(str(body["stop_price"])) if body.get("stop_price") is not None else None,
            "trail_percent": Decimal(str(body["trail_percent"])) if body.get("trail_percent") is not None else None,
            "trail_price": Decimal(str(body["trail_price"])) if body.get("trail_price") is not None else None,
            "status": "new" if self.is_open else "accepted", "legs": [], "parent": body.get("parent"),
        }
        self.orders[order["id"]] = order
        return order

    def _fill(self, order: dict) -> None:
        bid, ask = self.quotes[order["symbol"]]
        price = ask if order["side"] == "buy" else bid
        if order["type"] == "limit":
            price = min(price, order["limit_price"]) if order["side"] == "buy" else max(price, order["limit_price"])
        qty = order["qty"] if order["qty"] is not None else (order["notional"] / price).quantize(Decimal("0.000000001"))
        held = self.positions.setdefault(order["symbol"], [Decimal(0), Decimal(0)])
        if order["side"] == "buy":
            self.cash -= (qty * price).quantize(Decimal("0.01"))
            held[0] += qty
            held[1] += qty * price
        else:
            self.cash += (qty * price).quantize(Decimal("0.01"))
            held[1] -= held[1] / held[0] * qty
            held[0] -= qty
            if held[0] == 0:
                del self.positions[order["symbol"]]
        order.update(status="filled", filled_qty=qty, filled_avg_price=price, filled_at=datetime.now(UTC))
        for leg_id in order["legs"]:
            self.orders[leg_id]["status"] = "new"

    def _marketable(self, order: dict) -> bool:
        if not self.is_open or order["time_in_force"] in ("opg", "cls") or order["status"] == "held":
            return False
        bid, ask = self.quotes[order["symbol"]]
        if order["type"] == "market":
            return True
        if order["type"] == "limit":
            return ask <= order["limit_price"] if order["side"] == "buy" else bid >= order["limit_price"]
        return False  # stops rest in this fake

    def view(self, order: dict, nested: bool = True) -> dict:
        legs = [self.view(self.orders[i], nested) for i in order["legs"]] if nested and order["legs"] else None
        return {
            "id": order["id"], "client_order_id": order["client_order_id"], "created_at": _t(order["created_at"]),
            "updated_at": _t(order["updated_at"]), "submitted_at": _t(order["submitted_at"]),
            "filled_at": _t(order["filled_at"]), "expired_at": _t(order["expired_at"]),
            "canceled_at": _t(order["canceled_at"]), "failed_at": None, "replaced_at": _t(order["replaced_at"]),
            "replaced_by": order["replaced_by"], "replaces": order["replaces"],
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, order["symbol"])), "symbol": order["symbol"],
            "asset_class": "us_equity", "notional": _n(order["notional"]), "qty": _n(order["qty"]),
            "filled_qty": _n(order["filled_qty"]), "filled_avg_price": _n(order["filled_avg_price"]),
            "order_class": order["order_class"], "order_type": order["type"], "type": order["type"],
            "side": order["side"], "time_in_force": order["time_in_force"], "limit_price": _n(order["limit_price"]),
            "stop_price": _n(order["stop_price"]), "status": order["status"], "extended_hours": False, "legs": legs,
            "trail_percent": _n(order["trail_percent"]), "trail_price": _n(order["trail_price"]), "hwm": None,
            "position_intent": "buy_to_open" if order["side"] == "buy" else "sell_to_close",
        }

    # ------------------------------------------------------------------ the routes

    def app(self) -> Starlette:
        def error(status: int, code: int, message: str, **extra) -> JSONResponse:
            return JSONResponse({"code": code, "message": message, **extra}, status_code=status)

        async def account(_request: Request) -> Response:
            lmv = sum((q * self._mid(s) for s, (q, _c) in self.positions.items()), Decimal(0)).quantize(Decimal("0.01"))
            return JSONResponse({
                "id": "5d8e1f0a-6b0e-4c5f-9f0a-0c1d2e3f4a5b", "account_number": "PA3FAKE00001", "status": "ACTIVE",
                "currency": "USD", "cash": _n(self.cash), "buying_power": _n(self.buying_power()),
                "regt_buying_power": _n(self.buying_power()), "non_marginable_buying_power": _n(self.buying_power()),
                "portfolio_value": _n(self.equity()), "equity": _n(self.equity()), "last_equity": "25000",
                "long_market_value": _n(lmv), "short_market_value": "0", "initial_margin": "0",
                "maintenance_margin": "0", "last_maintenance_margin": "0", "sma": "0", "daytrade_count": 0,
                "multiplier": "1", "accrued_fees": "0", "pattern_day_trader": False, "trading_blocked": False,
                "transfers_blocked": False, "account_blocked": False, "trade_suspended_by_user": False,
                "shorting_enabled": False, "created_at": "2026-01-05T15:00:00Z",
            })

        async def clock(_request: Request) -> Response:
            now = datetime.now(UTC)
            return JSONResponse({"timestamp": now.isoformat(), "is_open": self.is_open,
                                 "next_open": (now + timedelta(hours=15)).isoformat(),
                                 "next_close": (now + timedelta(hours=3)).isoformat()})

        def position_json(symbol: str) -> dict:
            qty, cost = self.positions[symbol]
            price = self._mid(symbol)
            value = (qty * price).quantize(Decimal("0.01"))
            reserved = sum((o["qty"] for o in self.orders.values() if o["symbol"] == symbol and o["side"] == "sell"
                            and o["status"] in OPEN_STATUSES and o["qty"] is not None), Decimal(0))
            return {"asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)), "symbol": symbol, "exchange": "NASDAQ",
                    "asset_class": "us_equity", "qty": _n(qty), "qty_available": _n(qty - reserved),
                    "avg_entry_price": _n((cost / qty).quantize(Decimal("0.0001"))), "side": "long",
                    "market_value": _n(value), "cost_basis": _n(cost.quantize(Decimal("0.01"))),
                    "unrealized_pl": _n((value - cost).quantize(Decimal("0.01"))),
                    "unrealized_plpc": _n(((value - cost) / cost).quantize(Decimal("0.0001"))),
                    "unrealized_intraday_pl": "0", "unrealized_intraday_plpc": "0", "current_price": _n(price),
                    "lastday_price": _n(price), "change_today": "0", "asset_marginable": True}

        async def positions(_request: Request) -> Response:
            return JSONResponse([position_json(s) for s in sorted(self.positions)])

        async def place(request: Request) -> Response:
            body = await request.json()
            cid = body.get("client_order_id")
            if cid and self.by_cid(cid):
                return error(422, 40010001, "client_order_id must be unique")
            symbol = body.get("symbol")
            if symbol not in self.quotes:
                return error(422, 40010001, f'asset "{symbol}" not found')
            qty = Decimal(str(body["qty"])) if body.get("qty") is not None else None
            if qty is not None and qty <= 0:
                return error(422, 40010001, "qty must be > 0")
            bid, ask = self.quotes[symbol]
            if body["side"] == "buy":
                price = Decimal(str(body.get("limit_price") or body.get("stop_price") or ask))
                cost = Decimal(str(body["notional"])) if body.get("notional") else (qty * price).quantize(Decimal("0.01"))
                if cost > self.buying_power():
                    return error(403, 40310000, "insufficient buying power", buying_power=_n(self.buying_power()),
                                 cost_basis=_n(cost))
            else:
                held = self.positions.get(symbol, [Decimal(0)])[0]
                if qty is not None and qty > held:
                    return error(403, 40310000, f"insufficient qty available for order (requested: {_n(qty)}, "
                                                f"available: {_n(held)})")
            order = self._new(body)
            if order["order_class"] == "bracket":
                tp, sl = body["take_profit"], body["stop_loss"]
                for leg in ({"type": "limit", "limit_price": tp["limit_price"]},
                            {"type": "stop_limit" if sl.get("limit_price") else "stop", "stop_price": sl["stop_price"],
                             "limit_price": sl.get("limit_price")}):
                    child = self._new({"symbol": symbol, "side": "sell", "qty": body["qty"], "order_class": "bracket",
                                       "time_in_force": body["time_in_force"], "parent": order["id"], **leg})
                    child["status"] = "held"
                    order["legs"].append(child["id"])
            if self._marketable(order):
                self._fill(order)
            return JSONResponse(self.view(order))

        async def list_orders(request: Request) -> Response:
            status = request.query_params.get("status", "open")
            nested = request.query_params.get("nested", "").lower() == "true"
            symbols = set(filter(None, request.query_params.get("symbols", "").split(",")))
            limit = int(request.query_params.get("limit", 50))
            found = [o for o in reversed(list(self.orders.values()))
                     if (status == "all" or (status == "open") == (o["status"] in OPEN_STATUSES))
                     and (not symbols or o["symbol"] in symbols) and not (nested and o["parent"])]
            return JSONResponse([self.view(o, nested) for o in found[:limit]])

        async def by_client_order_id(request: Request) -> Response:
            found = self.by_cid(request.query_params.get("client_order_id", ""))
            return JSONResponse(self.view(found[0])) if found else error(404, 40410000, "order not found")

        async def one_order(request: Request) -> Response:
            order = self.orders.get(request.path_params["order_id"])
            if order is None:
                return error(404, 40410000, "order not found")
            if request.method == "GET":
                return JSONResponse(self.view(order, request.query_params.get("nested", "").lower() == "true"))
            if order["status"] not in OPEN_STATUSES:
                return error(422, 42210000, f"order is already in \"{order['status']}\" state")
            if request.method == "DELETE":
                order.update(status="canceled", canceled_at=datetime.now(UTC))
                for leg_id in order["legs"]:
                    self.orders[leg_id]["status"] = "canceled"
                return Response(status_code=204)
            body = await request.json()  # PATCH: replace
            fields = {k: order[k] for k in ("symbol", "side", "type", "time_in_force", "qty", "limit_price",
                                            "stop_price", "trail_percent", "trail_price")}
            fields.update({k: v for k, v in body.items() if k in ("qty", "limit_price", "stop_price", "time_in_force")})
            new = self._new({**fields, "replaces": order["id"]})
            order.update(status="replaced", replaced_by=new["id"], replaced_at=datetime.now(UTC))
            if self._marketable(new):
                self._fill(new)
            return JSONResponse(self.view(new))

        async def history(_request: Request) -> Response:
            day = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp())
            return JSONResponse({"timestamp": [day, day + 86400], "equity": [25000.0, float(self.equity())],
                                 "profit_loss": [0.0, 0.0], "profit_loss_pct": [0.0, 0.0], "base_value": 25000.0,
                                 "timeframe": "1D"})

        async def latest_quotes(request: Request) -> Response:
            symbols = request.query_params.get("symbols", "").split(",")
            now = _t(datetime.now(UTC))
            return JSONResponse({"quotes": {s: {"t": now, "ax": "V", "ap": float(self.quotes[s][1]), "as": 1,
                                                "bx": "V", "bp": float(self.quotes[s][0]), "bs": 2, "c": ["R"],
                                                "z": "C"} for s in symbols if s in self.quotes}})

        async def latest_trades(request: Request) -> Response:
            symbols = request.query_params.get("symbols", "").split(",")
            now = _t(datetime.now(UTC))
            return JSONResponse({"trades": {s: {"t": now, "x": "V", "p": float(self.last_trade[s]), "s": 100,
                                                "c": ["@"], "i": 1, "z": "C"} for s in symbols if s in self.last_trade}})

        routes = [
            Route("/v2/account", account), Route("/v2/clock", clock), Route("/v2/positions", positions),
            Route("/v2/orders", place, methods=["POST"]), Route("/v2/orders", list_orders, methods=["GET"]),
            Route("/v2/orders:by_client_order_id", by_client_order_id),
            Route("/v2/orders/{order_id}", one_order, methods=["GET", "DELETE", "PATCH"]),
            Route("/v2/account/portfolio/history", history),
            Route("/v2/stocks/quotes/latest", latest_quotes), Route("/v2/stocks/trades/latest", latest_trades),
        ]
        inner = Starlette(routes=routes)

        async def app(scope, receive, send):
            if scope["type"] != "http":
                return await inner(scope, receive, send)
            request = Request(scope, receive)
            body = await request.body()
            record = {"method": scope["method"], "path": scope["path"], "query": dict(request.query_params),
                      "body": body.decode() or None, "status": None,
                      "keys": (request.headers.get("apca-api-key-id"), request.headers.get("apca-api-secret-key"))}
            self.requests.append(record)

            async def replay():
                return {"type": "http.request", "body": body, "more_body": False}

            if record["keys"] != (KEY_ID, SECRET):
                record["status"] = 401
                return await error(401, 40110000, "request is not authorized")(scope, receive, send)
            fault = next((f for f in self.faults if f.times > 0 and (f.method in (None, scope["method"]))
                          and (f.path in (None, scope["path"]))), None)
            if fault is not None:
                fault.times -= 1
                if fault.status in ("drop", "drop_after"):
                    if fault.status == "drop_after":
                        await inner(scope, replay, _discard)
                    record["status"] = fault.status
                    return _drop(send)
                record["status"] = fault.status
                headers = {"Retry-After": fault.retry_after} if fault.status == 429 and fault.retry_after else {}
                payload = fault.body or {"code": fault.status * 100000, "message": f"fake {fault.status}"}
                return await JSONResponse(payload, status_code=fault.status, headers=headers)(scope, receive, send)

            async def recording_send(message):
                if message["type"] == "http.response.start":
                    record["status"] = message["status"]
                await send(message)

            await inner(scope, replay, recording_send)

        return app


async def _discard(_message) -> None:
    return None


def _drop(send) -> None:
    """Close the client's connection without an answer (uvicorn's transport, reached through its send)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: not served by uvicorn")
    transport.abort()


class FakeAlpacaServer:
    """The fake under uvicorn in a thread on 127.0.0.1; `url` serves both the trading and the data paths."""

    def __init__(self, fake: FakeAlpaca):
        self.fake = fake
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(fake.app(), log_level="error", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)  # in a thread: it installs no signal handlers
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> FakeAlpacaServer:
        self.thread.start()
        poll = threading.Event()
        while not self.server.started:  # wait for the observable state, not for a fixed time
            if not self.thread.is_alive():
                raise RuntimeError("the fake Alpaca server did not start")
            poll.wait(0.01)
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        with contextlib.suppress(OSError):
            self.sock.close()
