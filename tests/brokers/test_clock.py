"""The market clock: the bundled session table answers as exchange_calendars does, without importing pandas; the
practice clock is one clock for every broker on a data dir, survives a restart, fills queued orders at the open it
jumps to, and is served only by a broker started for the local console."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from broker_support import ROOT
from market_times import CLOSED, NEXT_OPEN, OPEN
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from brokers import sessions
from brokers.clock import ClockError, MarketClock, PracticeClock, _is_open, _transition


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_bundled_table_is_what_exchange_calendars_says(tmp_path):
    """Regenerating the table from the installed exchange_calendars gives the bundled rows (a stale table after an
    upgrade, e.g. a new national day of mourning, fails here: run `python -m brokers.sessions`)."""
    fresh = tmp_path / "sessions.csv"
    sessions.write_table(fresh)
    rows = lambda path: [line for line in path.read_text().splitlines() if not line.startswith("#")]  # noqa: E731
    assert rows(fresh) == rows(sessions.TABLE)


def test_open_and_transitions_match_exchange_calendars_minute_for_minute():
    import exchange_calendars
    import pandas as pd

    calendar = exchange_calendars.get_calendar("XNYS", start="1999-12-01", end="2036-01-31")
    first, last = (int(datetime(y, m, d, tzinfo=UTC).timestamp()) // 60 for y, m, d in ((2000, 1, 10), (2035, 12, 20)))
    picker = random.Random(13)
    minutes = [picker.randrange(first, last) for _ in range(1500)]
    labels = [s for s in calendar.schedule.index if 2000 <= s.year <= 2035][5:-10]
    for label in labels[::41] + [s for s in labels if s.year == 2026]:  # every edge of 2026, a sample of the rest
        for edge in (calendar.session_open(label), calendar.session_close(label)):
            minute = int(edge.timestamp()) // 60
            minutes += [minute - 1, minute, minute + 1]
    wrong = []
    for minute in minutes:
        ts = pd.Timestamp(minute * 60, unit="s", tz="UTC")
        expected = (bool(calendar.is_open_on_minute(ts)), calendar.next_open(ts).to_pydatetime(),
                    calendar.next_close(ts).to_pydatetime(), calendar.previous_close(ts).to_pydatetime())
        got = (_is_open(minute), _transition("next_open", minute), _transition("next_close", minute),
               _transition("previous_close", minute))
        if got != expected:
            wrong.append((ts, expected, got))
    assert not wrong, wrong[:3]


def test_a_broker_serves_without_importing_pandas_or_exchange_calendars():
    code = ("import sys; from brokers.runtime import open_engine; import brokers.server; from brokers.profiles import get_profile;"
            "e = open_engine(get_profile('tradesphere')); e.clock.status(); e.quote('AAPL');"
            "print(sorted(m for m in ('pandas', 'exchange_calendars') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_session_at_an_early_close_and_a_holiday():
    clock = MarketClock(at("2026-11-26T11:00:00-05:00"))  # Thanksgiving: the next session closes early
    session = clock.session_at(clock.now())
    assert (session.day.isoformat(), session.early_close) == ("2026-11-27", True)
    assert session.close == at("2026-11-27T13:00:00-05:00")


# ----------------------------------------------------------------------------------------------- practice clock


def test_practice_starts_at_the_next_open_and_jumps_forward_only(tmp_path):
    clock = MarketClock(at(CLOSED), PracticeClock(tmp_path))
    with pytest.raises(ClockError, match="choose practice"):
        clock.move("plus_hour")
    assert clock.move("practice") == at(NEXT_OPEN) and clock.now() == at(NEXT_OPEN)
    assert clock.move("practice") == at(NEXT_OPEN)  # choosing it again keeps the time
    assert clock.move("plus_hour") == at(NEXT_OPEN) + timedelta(hours=1)
    assert clock.move("close") == at("2026-11-25T16:00:00-05:00")
    assert clock.move("next_open") == at("2026-11-27T09:30:00-05:00")  # Thanksgiving skipped
    assert clock.status()["practice"] is True and clock.status()["frozen"] is False
    assert clock.move("real_time") == at(CLOSED) and clock.now() == at(CLOSED)
    assert not (tmp_path / PracticeClock.FILE).exists()


def test_a_broker_without_the_practice_clock_ignores_the_file_and_refuses_moves(tmp_path):
    PracticeClock(tmp_path).write(at(NEXT_OPEN))
    clock = MarketClock(at(CLOSED))
    assert clock.now() == at(CLOSED)
    with pytest.raises(ClockError, match="does not serve a practice clock"):
        clock.move("practice")


def test_a_damaged_practice_file_keeps_the_last_time_read(tmp_path):
    practice = PracticeClock(tmp_path)
    practice.write(at(NEXT_OPEN))
    assert practice.read() == at(NEXT_OPEN)
    practice.path.write_text("{not json")
    assert practice.read() == at(NEXT_OPEN)
    practice.path.write_text(json.dumps({"now": "2026-11-25T10:00:00-05:00"}))
    assert practice.read() == at("2026-11-25T10:00:00-05:00")


def _params(broker: str, *extra: str) -> StdioServerParameters:
    import os

    return StdioServerParameters(command=sys.executable, args=["-m", "brokers", "serve", broker, *extra],
                                 env={**os.environ, "TRADING_NOW": CLOSED}, cwd=str(ROOT))


async def _open(stack: AsyncExitStack, broker: str, *extra: str) -> ClientSession:
    read, write = await stack.enter_async_context(stdio_client(_params(broker, *extra)))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return session


async def _market(session: ClientSession) -> dict:
    return (await session.call_tool("get_broker_profile", {})).structured_content["market"]


async def test_two_broker_processes_share_one_practice_clock_that_survives_a_restart():
    """The console moves the clock through one broker; the other follows; a queued order at the other fills at the
    jumped-to open at the open's price; after both restart the clock is where it was."""
    async with AsyncExitStack() as stack:
        sphere = await _open(stack, "tradesphere", "--practice-clock")
        velocity = await _open(stack, "velocity", "--practice-clock")
        assert "move_practice_clock" in {t.name for t in (await sphere.list_tools()).tools}
        queued = (await velocity.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "5",
                                                           "time_in_force": "opg"})).structured_content
        assert queued["status"] == "queued" and at(queued["executes_at"]) == at(NEXT_OPEN)
        assert (await _market(velocity))["practice"] is False

        moved = await sphere.call_tool("move_practice_clock", {"action": "practice"})
        assert not moved.is_error and moved.structured_content["practice"] is True
        assert at(moved.structured_content["now"]) == at(NEXT_OPEN) and moved.structured_content["is_open"]
        market = await _market(velocity)
        assert market["practice"] is True and at(market["now"]) == at(NEXT_OPEN) and market["is_open"]
        order = (await velocity.call_tool("list_orders", {})).structured_content["orders"][0]
        assert order["status"] == "filled" and at(order["filled_at"]) == at(NEXT_OPEN)
        open_quote = (await velocity.call_tool("get_quote", {"symbol": "AAPL"})).structured_content
        assert Decimal(order["average_fill_price"]) >= Decimal(open_quote["ask"])  # the open's ask, plus slippage

        await sphere.call_tool("move_practice_clock", {"action": "plus_hour"})
        refused = await velocity.call_tool("move_practice_clock", {"action": "sideways"})
        assert refused.is_error
    async with AsyncExitStack() as stack:  # both restarted: the practice clock is where it was
        velocity = await _open(stack, "velocity", "--practice-clock")
        market = await _market(velocity)
        assert market["practice"] is True and at(market["now"]) == at(NEXT_OPEN) + timedelta(hours=1)
        back = await velocity.call_tool("move_practice_clock", {"action": "real_time"})
        assert back.structured_content["practice"] is False and at(back.structured_content["now"]) == at(CLOSED)


async def test_a_broker_started_without_the_flag_has_no_clock_tool_and_keeps_its_clock(trading_env):
    PracticeClock(trading_env).write(at(OPEN) + timedelta(days=1))
    async with AsyncExitStack() as stack:
        plain = await _open(stack, "tradesphere")
        assert "move_practice_clock" not in {t.name for t in (await plain.list_tools()).tools}
        market = await _market(plain)
        assert market["practice"] is False and at(market["now"]) == at(CLOSED)
        assert (await plain.call_tool("move_practice_clock", {"action": "practice"})).is_error
