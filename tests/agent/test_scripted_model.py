"""The Agent and Runner with the SDK's ScriptedModel: tool naming, structured outputs, approval policy."""

from __future__ import annotations

import json

from agents.testing import ScriptedModel, assistant_message, function_call

from agent.assistant import TradingAssistant


def _assistant(connections, steps):
    model = ScriptedModel(steps)
    return TradingAssistant(connections, connections.settings, model=model, model_name="scripted"), model


def test_same_named_tools_of_two_brokers_do_not_collide(connections):
    """Both brokers' ten tools reach the model, prefixed by the broker id."""
    assistant, model = _assistant(connections, [[assistant_message("hello")]])
    assert assistant.ask("hi").reply == "hello"
    names = {t.name for t in model.calls[0].tools}
    for broker in ("tradesphere", "velocity"):
        for tool in ("add_position", "fetch_positions", "get_portfolio_summary", "get_account", "get_quote",
                     "estimate_order", "place_order", "cancel_order", "list_orders", "get_broker_profile"):
            assert f"mcp_{broker}__{tool}" in names


def test_structured_tool_output_reaches_the_model_as_json(connections):
    """A read tool runs without approval and the model sees its structured result with decimal strings."""
    steps = [[function_call("mcp_velocity__get_account", {}, call_id="c1")], [assistant_message("done")]]
    assistant, model = _assistant(connections, steps)
    result = assistant.ask("cash?")
    assert result.reply == "done" and not result.pending_approvals
    outputs = [i for i in model.calls[1].input if isinstance(i, dict) and i.get("type") == "function_call_output"]
    account = json.loads(outputs[-1]["output"])
    assert account["broker"] == "velocity" and isinstance(account["cash"], str)


def test_order_tools_need_approval_even_when_the_model_insists(connections):
    """Whatever the model emits, place_order, cancel_order and add_position stop for the person."""
    steps = [[function_call("mcp_tradesphere__add_position", {"symbol": "IBM", "quantity": "1", "purchase_price": "1"}, call_id="c9"),
              function_call("mcp_tradesphere__place_order", {"symbol": "IBM", "side": "sell", "quantity": "1"}, call_id="c10")]]
    assistant, _ = _assistant(connections, steps)
    result = assistant.ask("anything", session_id="scripted-approval")
    assert sorted(p.tool for p in result.pending_approvals) == ["add_position", "place_order"]
    positions = connections.call("tradesphere", "fetch_positions")["positions"]
    assert all(p["symbol"] != "IBM" for p in positions)
