"""The connection manager without subprocesses: a link's generation guard (calls that failed on one session drop it
once; a late failure on an old session never drops the new one) and the blocking portal's run."""

from __future__ import annotations

import asyncio
import concurrent.futures
from types import SimpleNamespace

import pytest

from agent.connections import BrokerConnections, BrokerLink
from agent.settings import AgentSettings, BrokerEntry


class FakeBroker:
    """Sessions that a test breaks by hand: on session 1 every quote waits for its caller's release, then fails."""

    def __init__(self):
        self.opened: list[int] = []
        self.release = {"a": asyncio.Event(), "b": asyncio.Event()}
        self.waiting: set[str] = set()
        self.both_waiting = asyncio.Event()

    async def open(self, _stack):
        number = len(self.opened) + 1
        self.opened.append(number)
        return SimpleNamespace(session=SimpleNamespace(call_tool=lambda name, arguments=None, meta=None:
                                                       self.answer(number, name, arguments or {})))

    async def answer(self, session: int, name: str, arguments: dict):
        if name == "get_broker_profile":
            return SimpleNamespace(structured_content={"name": "Fake"}, content=[], is_error=False)
        if session == 1:
            self.waiting.add(arguments["who"])
            if self.waiting == {"a", "b"}:
                self.both_waiting.set()
            await self.release[arguments["who"]].wait()
            raise ConnectionError("broken pipe")
        return SimpleNamespace(structured_content={"session": session}, content=[], is_error=False)


async def _link(fake: FakeBroker) -> tuple[BrokerLink, asyncio.Task]:
    link = BrokerLink(BrokerEntry("fake", "Fake"), "stdio", fake.open)
    owner = asyncio.create_task(link.own())
    await link.wait_ready()
    return link, owner


async def test_a_late_failure_on_the_old_session_never_drops_the_new_one():
    fake = FakeBroker()
    link, owner = await _link(fake)
    first = asyncio.create_task(link.call("get_quote", {"who": "a"}))
    second = asyncio.create_task(link.call("get_quote", {"who": "b"}))
    await fake.both_waiting.wait()  # both calls are in flight on session 1
    fake.release["a"].set()
    assert (await first).structured_content == {"session": 2}  # it reconnected and retried on session 2
    fake.release["b"].set()  # now the second call's failure on session 1 arrives, late
    assert (await second).structured_content == {"session": 2}
    assert fake.opened == [1, 2] and link.drops == 1 and link.generation == 2 and link.state == "connected"
    await link.close()
    await owner


async def test_two_calls_failing_together_on_one_session_drop_it_once():
    fake = FakeBroker()
    link, owner = await _link(fake)
    calls = [asyncio.create_task(link.call("get_quote", {"who": who})) for who in ("a", "b")]
    await fake.both_waiting.wait()
    for event in fake.release.values():
        event.set()
    assert [(await c).structured_content for c in calls] == [{"session": 2}, {"session": 2}]
    assert fake.opened == [1, 2] and link.drops == 1
    await link.close()
    await owner


async def test_a_closed_link_answers_its_waiters_instead_of_hanging():
    fake = FakeBroker()
    link, owner = await _link(fake)
    await link.close()
    await owner
    assert link.state == "closed"
    await asyncio.wait_for(link.wait_ready(), timeout=5)


def test_run_waits_on_the_portal_and_a_timeout_cancels_the_coroutine(tmp_path):
    conns = BrokerConnections(AgentSettings(data_dir=tmp_path), brokers=[BrokerEntry("fake", "Fake")])
    cancelled = concurrent.futures.Future()

    async def forever():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set_result(True)
            raise

    async def answer():
        return 42

    try:
        assert conns.run(answer()) == 42
        with pytest.raises(concurrent.futures.TimeoutError):
            conns.run(forever(), timeout=0.05)
        assert cancelled.result(timeout=10) is True
    finally:
        conns.close()
    conns.close()  # twice is harmless


def _brokers_on(data_dir) -> list[int]:
    """Broker processes whose environment names this data dir."""
    import os

    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmd, open(f"/proc/{pid}/environ", "rb") as env:
                if b"brokers\x00serve" in cmd.read() and f"TRADING_DATA_DIR={data_dir}".encode() in env.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def test_a_local_broker_spawned_before_the_mcp_import_answers_and_ends_with_its_connections(tmp_path):
    """The broker process is started first, the MCP client loaded after; tool calls work over our stdio transport,
    and closing the connections leaves no broker process behind."""
    from market_times import OPEN

    conns = BrokerConnections(AgentSettings(data_dir=tmp_path, now=OPEN), brokers=[BrokerEntry("tradesphere", "TradeSphere")],
                              paint_first=True)
    try:
        conns.start(wait=False)
        conns.page_painted()
        conns.wait_ready()
        assert [s.state for s in conns.statuses()] == ["connected"]
        assert conns.call("tradesphere", "get_account")["cash"] == "100000.00"
        assert len(_brokers_on(tmp_path)) == 1
    finally:
        conns.close()
    assert _brokers_on(tmp_path) == []


class ConfirmingBroker:
    """A broker in token mode: an order call without a token gets a preview; with the preview's token it executes."""

    def __init__(self, preview_arguments: dict | None = None):
        self.calls: list[dict] = []
        self.preview_arguments = preview_arguments

    async def open(self, _stack):
        return SimpleNamespace(session=SimpleNamespace(call_tool=lambda name, arguments=None, meta=None:
                                                       self.answer(name, dict(arguments or {}))))

    async def answer(self, name: str, arguments: dict):
        self.calls.append(arguments)
        if name == "get_broker_profile":
            return SimpleNamespace(structured_content={"name": "Fake"}, content=[], is_error=False)
        if "confirmation_token" not in arguments:
            preview = {"status": "confirmation_required", "confirmation_token": "tok-1",
                       "arguments": self.preview_arguments or {"order_type": "market", "time_in_force": "day",
                                                               **{k: str(v) for k, v in arguments.items()}}}
            return SimpleNamespace(structured_content=preview, content=[], is_error=False)
        assert arguments["confirmation_token"] == "tok-1"
        return SimpleNamespace(structured_content={"id": "o-1", "status": "filled"}, content=[], is_error=False)


async def test_an_approved_order_is_confirmed_with_the_token_of_the_brokers_preview():
    fake = ConfirmingBroker()
    link = BrokerLink(BrokerEntry("fake", "Fake"), "streamable-http", fake.open)
    owner = asyncio.create_task(link.own())
    result = await link.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": 10})
    assert result.structured_content == {"id": "o-1", "status": "filled"}
    first, second = fake.calls[-2:]
    assert "confirmation_token" not in first and second["confirmation_token"] == "tok-1"
    assert second["client_order_id"] == first["client_order_id"]  # the same order, never a second one
    await link.close()
    await owner


async def test_a_preview_for_other_arguments_than_were_approved_is_not_confirmed():
    fake = ConfirmingBroker(preview_arguments={"symbol": "AAPL", "side": "buy", "quantity": "100"})
    link = BrokerLink(BrokerEntry("fake", "Fake"), "streamable-http", fake.open)
    owner = asyncio.create_task(link.own())
    result = await link.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": 10, "client_order_id": "c1"})
    assert result.structured_content["status"] == "confirmation_required"  # shown, not confirmed
    assert all("confirmation_token" not in c for c in fake.calls)
    await link.close()
    await owner
