"""Scale-out: two gateway processes on two loopback ports share one PostgreSQL (TRADING_DATABASE_URL,
one schema per broker). Concurrent orders over stateless streamable HTTP, spread over both instances,
with distinct and with repeated client_order_ids: every order exists exactly once, both instances see
the same book, sells never exceed the shares held, and cash is conserved to the cent."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import urllib.error
import urllib.request
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from gateway_support import MCP_HEADERS, GatewayProcess, answers, call, process_env
from market_times import OPEN
from postgres_server import PostgresServer, server_binaries

from brokers.money import money

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

KEY = "scale-out-key-" + "7c1d2e3f4a5b6c7d"
BROKERS = ("tradesphere", "velocity")
SYMBOLS = ("AAPL", "MSFT", "KO", "PLUG")
DISTINCT, REPEATED, REPEATS, EXTRA_SELLS = 30, 8, 4, 5


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer(server_binaries()).start()
    try:
        yield server
    finally:
        server.remove()


class Caller:
    """Tool calls over raw stateless streamable HTTP to one of several gateway instances."""

    def __init__(self, client: httpx.AsyncClient, urls: list[str]):
        self.client, self.urls = client, urls
        self.limit = asyncio.Semaphore(32)
        self.ids = itertools.count(1)

    async def __call__(self, instance: int, broker: str, tool: str, arguments: dict) -> dict:
        async with self.limit:
            response = await self.client.post(f"{self.urls[instance]}/{broker}/mcp", json=call(tool, arguments, next(self.ids)),
                                              headers={**MCP_HEADERS, "X-API-Key": KEY})
        assert response.status_code == 200, response.text[:300]
        return answers(response)[0]["result"]


async def _trade(urls: list[str], broker: str) -> dict:
    """Phase 1: distinct and repeated buys on both instances at once. Phase 2: more one-share KO sells than
    KO is held, on both instances at once. Then the book as each instance reports it."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as client:
        tool = Caller(client, urls)
        buys = [(i % 2, {"symbol": SYMBOLS[i % 4], "side": "buy", "quantity": str(i % 3 + 1), "client_order_id": f"{broker}-d{i}"})
                for i in range(DISTINCT)]
        for j in range(REPEATED):
            order = {"symbol": SYMBOLS[j % 4], "side": "buy", "quantity": "2", "client_order_id": f"{broker}-r{j}"}
            buys += [(k % 2, order) for k in range(REPEATS)]
        placed = await asyncio.gather(*(tool(instance, broker, "place_order", order) for instance, order in buys))
        positions = (await tool(1, broker, "fetch_positions", {}))["structuredContent"]["positions"]
        ko_held = next(Decimal(p["quantity"]) for p in positions if p["symbol"] == "KO")
        sells = [(i % 2, {"symbol": "KO", "side": "sell", "quantity": "1", "client_order_id": f"{broker}-s{i}"})
                 for i in range(int(ko_held) + EXTRA_SELLS)]
        sold = await asyncio.gather(*(tool(instance, broker, "place_order", order) for instance, order in sells))
        books = [await tool(i, broker, "list_orders", {"limit": 500}) for i in (0, 1)]
        accounts = [await tool(i, broker, "get_account", {}) for i in (0, 1)]
    return {"buys": buys, "placed": placed, "ko_held": ko_held, "sells": sells, "sold": sold,
            "books": [b["structuredContent"]["orders"] for b in books], "accounts": [a["structuredContent"] for a in accounts]}


def _health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/health", timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_two_instances_on_one_postgres_place_every_order_exactly_once(postgres, tmp_path):
    instances = [
        GatewayProcess.uvicorn(process_env(API_KEY=KEY, TRADING_DATABASE_URL=postgres.url, TRADING_NOW=OPEN,
                                           TRADING_DATA_DIR=str(tmp_path / name), GATEWAY_RATE_LIMIT="100000/minute"),
                               tmp_path / f"{name}.log")
        for name in ("a", "b")
    ]
    with contextlib.ExitStack() as stack:
        for gateway in instances:  # both start at once: schemas and accounts are created by whichever is first
            stack.callback(gateway.__exit__)
            gateway.start()
        for gateway in instances:
            gateway.wait_ready()
        urls = [g.url for g in instances]
        assert urls[0] != urls[1]

        for broker in BROKERS:
            run = asyncio.run(_trade(urls, broker))
            book_a, book_b = run["books"]
            assert sorted(o["id"] for o in book_a) == sorted(o["id"] for o in book_b), "the two instances see different books"
            assert run["accounts"][0] == run["accounts"][1]
            orders = {o["id"]: o for o in book_a}

            # Every client_order_id exists exactly once; every retry of one answered with the same order.
            sent = [order["client_order_id"] for _, order in run["buys"] + run["sells"]]
            per_cid = Counter(o["client_order_id"] for o in orders.values())
            assert per_cid == Counter(set(sent)), f"{broker}: orders missing or doubled"
            assert len(orders) == DISTINCT + REPEATED + len(run["sells"])
            by_cid: dict[str, set[str]] = {}
            for (_, order), result in zip(run["buys"], run["placed"], strict=True):
                assert result["isError"] is False, result
                by_cid.setdefault(order["client_order_id"], set()).add(result["structuredContent"]["id"])
            assert all(len(ids) == 1 for ids in by_cid.values()), f"{broker}: a retried client_order_id placed two orders"
            assert {o["status"] for o in orders.values() if o["side"] == "buy"} == {"filled"}

            # Sells racing on two instances never sell more than is held.
            sells = [o for o in orders.values() if o["side"] == "sell"]
            filled_sells = [o for o in sells if o["status"] == "filled"]
            assert len(filled_sells) == run["ko_held"] and len(sells) - len(filled_sells) == EXTRA_SELLS
            assert all("cannot sell" in o["reject_reason"] for o in sells if o["status"] == "rejected")

            # Cash is conserved: starting cash - buys - fees + sells == cash, to the cent.
            account = run["accounts"][0]
            flows = Decimal(0)
            for o in orders.values():
                if o["status"] == "filled":
                    gross = money(Decimal(o["filled_quantity"]) * Decimal(o["average_fill_price"]))
                    flows += (gross if o["side"] == "sell" else -gross) - Decimal(o["fees"])
            assert Decimal(account["starting_cash"]) + flows == Decimal(account["cash"]), broker
            assert sum(Decimal(o["fees"]) for o in orders.values()) == Decimal(account["fees_paid"])

        # /health follows the shared database on both instances.
        assert [_health(u) for u in urls] == [200, 200]
        postgres.stop()
        deadline = time.monotonic() + 30
        while [_health(u) for u in urls] != [503, 503]:
            assert time.monotonic() < deadline, "health did not report the database down"
            time.sleep(0.1)  # polling interval
    for gateway in instances:
        assert KEY not in gateway.log()
