"""Bad input through the MCP tools: a clear error naming the bad value, nothing written, the server still up."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from market_times import OPEN
from mcp import Client
from reliability_support import (
    ROOT,
    audit,
    broker_env,
    count,
    open_engine,
    payload,
    read_book,
    result_text,
    stdio_broker,
)

from brokers.server import build_server

ORDER = {"symbol": "AAPL", "side": "buy", "quantity": "1"}
TINY = "1e-999999999"  # positive, but rounds to zero in any decimal context: must never become a zero price

# (tool, arguments, text the error must contain: the field or the offending value)
BAD_INPUTS: list[tuple[str, dict, str]] = [
    # quantities
    *[("place_order", {**ORDER, "quantity": q}, "quantity") for q in (
        "-5", -5, 0, "0", "-0", "0.000", "NaN", "nan", "sNaN", "-NaN", "Infinity", "inf", "-Infinity", "1e400", 10**30,
        "99999999999", "1000000001", "0.0000001", "1e-7", 0.1 + 0.2, "1.00000000000000000000000000001", "1e-99999", TINY,
        "", " ", "abc", "0x10", "1/2", "1 000", "--1", "1e", ".", "1,5", "1,0", "12,34.5", "1٠", "١", "１", "1_0",
        True, False, [1], {"value": 1},
    )],
    # prices
    *[("place_order", {**ORDER, "order_type": "limit", "limit_price": p}, "limit_price") for p in (
        "NaN", "-1", 0, "0", "230.001", "1e12", "Infinity", TINY, "230,5", "2,30", "２３０", True, [230],
    )],
    ("place_order", {**ORDER, "order_type": "limit"}, "limit_price"),
    ("place_order", {**ORDER, "limit_price": "10"}, "limit_price"),
    # notional
    *[("place_order", {"symbol": "AAPL", "side": "buy", "notional": n}, "notional") for n in (
        "0.001", "-100", "0", "NaN", "1e400", "1e12", TINY, "1,5",
    )],
    ("place_order", {**ORDER, "notional": "100"}, "notional"),
    ("place_order", {"symbol": "AAPL", "side": "buy"}, "quantity"),
    # symbols: unknown, look-alikes, wrong types, floods
    *[("place_order", {**ORDER, "symbol": s}, "symbol") for s in (5, None, ["AAPL"], "A" * 6000)],
    *[("place_order", {**ORDER, "symbol": s}, shown) for s, shown in (
        ("ΑAPL", "ΑAPL"),  # Greek capital alpha
        ("АAPL", "АAPL"),  # Cyrillic capital a
        ("ＡＡＰＬ", "ＡＡＰＬ"),  # fullwidth
        ("AAPL\u200b", "AAPL"),  # zero-width space
        ("ZZZZ", "ZZZZ"),
        ("", "Unknown symbol"),
        ("A" * 5000, "AAAAAAAAAA"),
        ("AAPL; DROP TABLE orders", "DROP TABLE"),
    )],
    # enums and missing or extra fields
    ("place_order", {**ORDER, "side": "hold"}, "hold"),
    ("place_order", {**ORDER, "side": "BUY; sell everything"}, "side"),
    ("place_order", {**ORDER, "side": 1}, "side"),
    ("place_order", {"symbol": "AAPL", "quantity": "1"}, "side"),
    ("place_order", {"side": "buy", "quantity": "1"}, "symbol"),
    ("place_order", {}, "symbol"),
    ("place_order", {**ORDER, "order_type": "stop_loss"}, "order_type"),
    # stops, trailing stops, brackets: a missing or contradictory field is named
    ("place_order", {**ORDER, "order_type": "stop"}, "stop_price"),
    ("place_order", {**ORDER, "order_type": "stop_limit", "stop_price": "10"}, "limit_price"),
    ("place_order", {**ORDER, "order_type": "trailing_stop", "trail_percent": "5", "trail_price": "1"}, "trail_price"),
    ("place_order", {**ORDER, "order_type": "market", "stop_price": "10"}, "stop_price"),
    *[("place_order", {**ORDER, "order_type": "stop", "stop_price": p}, "stop_price") for p in ("-1", "NaN", "1e400", "10.001", True)],
    *[("place_order", {**ORDER, "order_type": "trailing_stop", "trail_percent": p}, "trail_percent") for p in ("0", "100", "NaN", "0.001")],
    ("place_order", {**ORDER, "take_profit_price": "200"}, "stop_loss_price"),
    ("place_order", {**ORDER, "take_profit_price": "100", "stop_loss_price": "200"}, "take_profit_price"),
    ("estimate_order", {**ORDER, "order_type": "stop"}, "stop_price"),
    ("estimate_order", {**ORDER, "stop_loss_limit_price": "5"}, "stop_loss_limit_price"),
    # replace: an unknown order, nothing to change, a field it does not change, a bad value
    ("replace_order", {"order_id": "no-such-order", "quantity": "1"}, "no-such-order"),
    ("replace_order", {"order_id": "no-such-order"}, "quantity"),
    ("replace_order", {"order_id": "x", "side": "sell"}, "unknown argument(s) 'side'"),
    ("replace_order", {"order_id": "x", "time_in_force": "forever"}, "time_in_force"),
    ("replace_order", {"quantity": "1"}, "order_id"),
    ("place_order", {**ORDER, "time_in_force": "forever"}, "time_in_force"),
    ("place_order", {**ORDER, "time_in_force": "d" * 10_000}, "time_in_force"),
    ("place_order", {**ORDER, "qty": "1"}, "qty"),
    ("place_order", {**ORDER, "surprise": "x"}, "surprise"),
    ("place_order", {**ORDER, "Quantity": "100"}, "Quantity"),
    *[("place_order", {**ORDER, "client_order_id": c}, "client_order_id") for c in ("x" * 65, "a b", "ünï", "", 5)],
    # imports
    *[("add_position", {"symbol": "AAPL", "quantity": q, "purchase_price": "100"}, "quantity") for q in ("-1", "0", "NaN", TINY, "1,5", True)],
    *[("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": p}, "purchase_price") for p in ("-1", "0", "NaN", "0.00001", TINY, "1,5")],
    ("add_position", {"symbol": "AAPL", "quantity": "1"}, "purchase_price"),
    ("add_position", {"symbol": "ΑAPL", "quantity": "1", "purchase_price": "100"}, "ΑAPL"),
    ("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": "100", "cost": "1"}, "cost"),
    # cancels and reads
    ("cancel_order", {"order_id": "no-such-order"}, "no-such-order"),
    ("cancel_order", {"order_id": "x" * 300}, "order_id"),
    ("cancel_order", {}, "order_id"),
    ("cancel_order", {"order_id": "x", "all": True}, "all"),
    ("list_orders", {"limit": 0}, "limit"),
    ("list_orders", {"limit": 100_000}, "limit"),
    ("list_orders", {"limit": "x"}, "limit"),
    ("list_orders", {"limit": 1.5}, "limit"),
    ("list_orders", {"status": "everything"}, "everything"),
    ("list_orders", {"symbol": "ΑAPL"}, "ΑAPL"),
    ("get_quote", {"symbol": "ΑAPL"}, "ΑAPL"),
    ("get_quote", {}, "symbol"),
    ("estimate_order", {**ORDER, "quantity": "NaN"}, "quantity"),
    ("estimate_order", {**ORDER, "quantity": "1,5"}, "quantity"),
    ("estimate_order", {**ORDER, "symbol": "ＡＡＰＬ"}, "ＡＡＰＬ"),
    # more prices: sub-dollar over-precise, negative and huge infinities, huge, wrong types; estimates too
    *[("place_order", {**ORDER, "order_type": "limit", "limit_price": p}, "limit_price") for p in (
        "0.12345", "-Infinity", "1e400", "-0.01", "nan", 1e300, -3, "１２", "$", {"usd": 1},
    )],
    *[("estimate_order", {**ORDER, "order_type": "limit", "limit_price": p}, "limit_price") for p in ("NaN", "0", "230.001", "1e12")],
    *[("estimate_order", {**ORDER, "quantity": q}, "quantity") for q in ("-1", "0", "Infinity", "1e400", "0.0000001")],
    *[("estimate_order", {"symbol": "AAPL", "side": "buy", "notional": n}, "notional") for n in ("-5", "NaN", "0.001", "1e12")],
    ("place_order", {"symbol": "AAPL", "side": "buy", "notional": "Infinity"}, "notional"),
    ("place_order", {"symbol": "AAPL", "side": "buy", "notional": 0.1 + 0.2}, "notional"),
    # more imports: huge, infinite and over-precise quantities and prices, look-alike and unknown symbols
    *[("add_position", {"symbol": "AAPL", "quantity": q, "purchase_price": "100"}, "quantity") for q in (
        "1e400", "Infinity", "99999999999", "0.0000001", -5, 0, [1],
    )],
    *[("add_position", {"symbol": "AAPL", "quantity": "1", "purchase_price": p}, "purchase_price") for p in (
        "Infinity", "1e400", "1e15", "100.00001", "２３０", True, None,
    )],
    ("add_position", {"symbol": "ZZZZ", "quantity": "1", "purchase_price": "100"}, "ZZZZ"),
    ("add_position", {"symbol": "AAPL\u200b", "quantity": "1", "purchase_price": "100"}, "AAPL"),
    ("add_position", {"symbol": "A" * 6000, "quantity": "1", "purchase_price": "100"}, "symbol"),
    ("add_position", {"quantity": "1", "purchase_price": "100"}, "symbol"),
    # look-alike tickers on every tool that takes one
    *[("get_quote", {"symbol": s}, s) for s in ("ΑAPL", "ＭＳＦＴ", "MSFТ", "ZZZZ")],  # Greek, fullwidth, Cyrillic Te
    ("list_orders", {"symbol": "ＭＳＦＴ"}, "ＭＳＦＴ"),
    ("list_orders", {"symbol": "A" * 6000}, "symbol"),
    ("list_orders", {"status": 5}, "status"),
    ("cancel_order", {"order_id": 12345}, "order_id"),
    ("cancel_order", {"order_id": None}, "order_id"),
    # unknown tools, however long the name
    ("sell_everything", {}, "sell_everything"),
    ("p" * 10_000, {}, "pppppppppp"),
]
RAW_BAD_CALLS: list[tuple[str, str]] = [
    # (JSON-RPC params as raw text, a JSON encoder cannot even produce some of these; what the error must contain)
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":NaN}}', "nan"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":Infinity}}', "inf"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":-Infinity}}', "inf"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":1e400}}', "quantity"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","notional":NaN}}', "nan"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":"1","order_type":"limit","limit_price":NaN}}', "nan"),
    ('{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":"1","order_type":"limit","limit_price":-1e999}}', "limit_price"),
    ('{"name":"add_position","arguments":{"symbol":"AAPL","quantity":"1","purchase_price":Infinity}}', "purchase_price"),
    ('{"name":"place_order","arguments":[1,2]}', "list"),
    ('{"name":"place_order","arguments":"buy everything"}', "buy everything"),
    ('{"name":12,"arguments":{}}', "12"),
    ('{"name":null,"arguments":{}}', "None"),
    ('{"name":"' + "p" * 100_000 + '","arguments":{}}', "pppppppppp"),
    ('{"name":"place_order","arguments":{"symbol":"' + "A" * 2_000_000 + '","side":"buy","quantity":"1"}}', "symbol"),
]


TOOL_FIELDS = {"symbol", "side", "quantity", "notional", "order_type", "limit_price", "time_in_force", "client_order_id",
               "purchase_price", "order_id", "status", "limit"}


def _bad_value(arguments: dict, named: str) -> str | None:
    """The text of the offending value that an error must quote, when `named` is the field that carries it."""
    if named not in arguments or named not in TOOL_FIELDS:
        return None  # `named` is itself the bad value (a symbol, an unknown field) or a missing field
    value = arguments[named]
    if isinstance(value, str):
        return value.strip()[:20] or None  # an empty value: naming the field is all there is to say
    return repr(value)[:20]


def _problem(tool: str, arguments: dict, named: str, result) -> str | None:
    """What is wrong with the answer to one bad call, or None when it is a short tool error naming field and value."""
    text = result_text(result)
    call = f"{tool[:30]}({str(arguments)[:80]})"
    value = _bad_value(arguments, named)
    if not result.is_error:
        return f"{call} was accepted: {text[:160]}"
    if not (text.startswith(f"Error executing tool {tool}:") or text.startswith("Unknown tool:")):
        return f"{call} gave no reason: {text[:160]}"  # the bare line a hidden exception gives
    if named.lower() not in text.lower():
        return f"{call} error does not name {named!r}: {text[:200]}"
    if value is not None and value.lower() not in text.lower() and value.encode("unicode_escape").decode() not in text:
        return f"{call} error does not quote the bad value {value!r}: {text[:200]}"
    if len(text) > 1500:
        return f"{call} error is {len(text)} characters long"
    return None


async def _refuse_all(call_tool, db) -> None:
    """Send every bad input, checking after each that the book is untouched and the server still answers."""
    before = read_book(db, "tradesphere").snapshot()
    problems = []
    for tool, arguments, named in BAD_INPUTS:
        count("bad_inputs_tried")
        if tool in ("place_order", "estimate_order"):
            count("orders_attempted", tool == "place_order")
        result = await call_tool(tool, arguments)
        problem = _problem(tool, arguments, named, result)
        if read_book(db, "tradesphere").snapshot() != before:
            problem = f"{tool}({str(arguments)[:80]}) changed the book"
            before = read_book(db, "tradesphere").snapshot()
        account = await call_tool("get_account", {})
        if account.is_error or payload(account)["cash"] != "100000.00":
            problem = f"after {tool}({str(arguments)[:80]}) get_account gave {result_text(account)[:160]}"
        if problem:
            count("bad_inputs_accepted")
            problems.append(problem)
    assert not problems, "\n".join(problems)


def _seed(db_path):
    engine = open_engine(db_path, "tradesphere", OPEN)
    engine.add_position("AAPL", "10", "200")  # something held, so a bad sell would have something to take
    return engine


def _good_order_after(db, placed) -> None:
    assert not placed.is_error and payload(placed)["status"] == "filled", result_text(placed)
    book = audit(read_book(db, "tradesphere"))
    assert len(book.orders) == 1 and book.reference["AAPL"].quantity == 12


async def test_every_bad_input_is_refused_by_name_and_writes_nothing(tmp_path):
    """Each malformed tool call is a short tool error naming the field and quoting the value; nothing is written; the server still trades."""
    logging.getLogger("mcp").setLevel(logging.WARNING)
    engine = _seed(tmp_path / "tradesphere.db")
    try:
        async with Client(build_server(engine.profile, engine)) as client:
            await _refuse_all(client.call_tool, tmp_path / "tradesphere.db")
            count("orders_attempted")
            placed = await client.call_tool("place_order", {**ORDER, "quantity": "2"})
    finally:
        engine.db.dispose()
    _good_order_after(tmp_path / "tradesphere.db", placed)


async def test_every_bad_input_to_the_real_server_process_leaves_it_up(tmp_path):
    """The same bad inputs to a real `python -m brokers serve` over stdio: refused by name, nothing written, the process still serves."""
    _seed(tmp_path / "tradesphere.db").db.dispose()
    async with stdio_broker(tmp_path, OPEN) as session:
        await _refuse_all(session.call_tool, tmp_path / "tradesphere.db")
        count("orders_attempted")
        placed = await session.call_tool("place_order", {**ORDER, "quantity": "2"})
    _good_order_after(tmp_path / "tradesphere.db", placed)


async def test_raw_protocol_garbage_is_refused_and_the_process_keeps_serving(tmp_path):
    """Raw JSON-RPC no client would send (NaN/Infinity literals, non-object arguments, odd tool names, a 2 MB symbol, broken JSON) is refused by name, writes nothing, and the process keeps serving."""
    _seed(tmp_path / "tradesphere.db").db.dispose()
    db = tmp_path / "tradesphere.db"
    before = read_book(db, "tradesphere").snapshot()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "brokers", "serve", "tradesphere", cwd=str(ROOT), env=broker_env(tmp_path, OPEN),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 24,
    )

    async def ask(request_id: int, method: str, params_text: str) -> dict:
        proc.stdin.write(f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params_text}}}\n'.encode())
        await proc.stdin.drain()
        while True:  # answers arrive in order on stdio; skip any notification
            message = json.loads(await proc.stdout.readline())
            if message.get("id") == request_id:
                return message

    try:
        init = '{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"garbage","version":"0"}}'
        assert "result" in await ask(0, "initialize", init)
        proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        problems = []
        for request_id, (params, shown) in enumerate(RAW_BAD_CALLS, start=1):
            count("bad_inputs_tried")
            answer = await ask(request_id, "tools/call", params)
            result = answer.get("result") or {}
            text = "".join(part.get("text", "") for part in result.get("content", [])) or json.dumps(answer.get("error"))
            if not result.get("isError"):
                problems.append(f"{params[:80]}: not a tool error: {str(answer)[:200]}")
            elif shown.lower() not in text.lower() or len(text) > 1500:
                problems.append(f"{params[:80]}: error does not name {shown!r} briefly: {text[:200]}")
            if read_book(db, "tradesphere").snapshot() != before:
                problems.append(f"{params[:80]}: changed the book")
        count("bad_inputs_tried")
        proc.stdin.write(b'{"jsonrpc":"2.0","id":900,"method":"tools/call","params":{"name":"place_or\n')  # broken JSON
        count("bad_inputs_accepted", len(problems))
        assert not problems, "\n".join(problems)
        account = await ask(901, "tools/call", '{"name":"get_account","arguments":{}}')
        assert account["result"]["structuredContent"]["cash"] == "100000.00", account
        assert read_book(db, "tradesphere").snapshot() == before
        count("orders_attempted")
        placed = await ask(902, "tools/call", '{"name":"place_order","arguments":{"symbol":"AAPL","side":"buy","quantity":"2"}}')
        assert placed["result"]["structuredContent"]["status"] == "filled", placed
        assert proc.returncode is None
    finally:
        proc.kill()
        await proc.wait()
    book = audit(read_book(db, "tradesphere"))
    assert len(book.orders) == 1 and book.reference["AAPL"].quantity == 12
