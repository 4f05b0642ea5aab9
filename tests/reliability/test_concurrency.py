"""Two real broker processes writing the same database at once: every order lands once, cash is conserved."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from market_times import OPEN
from reliability_support import audit, count, lost_and_doubled, open_engine, read_book, result_text, stdio_brokers

IN_FLIGHT = 8  # concurrent calls per process, so each server has requests queued while the other writes
SEED_SHARES = 1000


async def _writer(session, tag: str, orders: int, sells: bool) -> list[str]:
    """Place `orders` orders (buys, or buys and sells alternating); returns the text of every error."""
    errors: list[str] = []
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        side = "sell" if sells and i % 2 else "buy"
        arguments = {"symbol": "PLUG", "side": side, "quantity": "1", "client_order_id": f"{tag}-{i}"}
        async with limit:
            count("orders_attempted")
            result = await session.call_tool("place_order", arguments)
        if result.is_error:
            errors.append(result_text(result))

    await asyncio.gather(*(one(i) for i in range(orders)))
    return errors


async def _two_writers(tmp_path, orders: int) -> None:
    seeded = open_engine(tmp_path / "tradesphere.db", "tradesphere", OPEN)
    seeded.add_position("PLUG", str(SEED_SHARES), "2.50")  # sells never wait on the other process's buys
    seeded.db.dispose()
    log = tmp_path / "servers.log"
    with log.open("w") as errlog:
        async with stdio_brokers(2, tmp_path, OPEN, errlog=errlog) as (first, second):
            errors = await asyncio.gather(_writer(first, "a", orders, sells=False), _writer(second, "b", orders, sells=True))
    assert errors == [[], []], f"errors reached the caller: {[e[:3] for e in errors]}"
    assert "locked" not in log.read_text().lower()
    book = audit(read_book(tmp_path / "tradesphere.db", "tradesphere"), seeded.profile.commission)
    lost, doubled = lost_and_doubled(book, [f"{tag}-{i}" for tag in "ab" for i in range(orders)])
    assert not lost and not doubled, (lost[:5], doubled[:5])
    assert len(book.orders) == 2 * orders and {o["status"] for o in book.orders.values()} == {"filled"}
    assert sorted(o["client_order_id"] for o in book.orders.values()) == sorted(
        f"{tag}-{i}" for tag in "ab" for i in range(orders)
    )
    sold = orders // 2
    assert book.reference["PLUG"].quantity == SEED_SHARES + 2 * orders - sold - sold
    assert book.cash + sum(o["fees"] for o in book.filled) + sum(
        (o["filled_quantity"] * o["average_fill_price"] * (1 if o["side"] == "buy" else -1) for o in book.filled), Decimal(0)
    ) == book.starting_cash


async def test_two_processes_x_100_orders_all_land_once(tmp_path):
    """Two processes x 100 orders on one database: 200 orders, each once, cash conserved, no 'database is locked'."""
    await _two_writers(tmp_path, 100)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard on a shared 2-CPU box, nothing timed
async def test_two_processes_x_1000_orders_all_land_once(tmp_path):
    """Two processes x 1,000 orders on one database: 2,000 orders, each once, cash conserved, no 'database is locked'."""
    await _two_writers(tmp_path, 1000)
