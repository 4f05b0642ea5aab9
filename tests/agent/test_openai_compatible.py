"""The LLM path: the same Agent, tools and approvals driven by an OpenAI-compatible server.

The server is a real HTTP server on 127.0.0.1 that speaks the chat-completions API and answers
with tool calls, so the SDK's own OpenAI client and model class run unmocked.
"""

from __future__ import annotations

from pydantic import SecretStr

from agent.assistant import TradingAssistant


def test_llm_tool_calls_go_through_approval_and_place_the_order(connections, fake_llm):
    """With a base URL configured the LLM's tool call stops for approval, then places the order."""
    settings = connections.settings.model_copy(update={
        "openai_base_url": fake_llm.url, "openai_api_key": SecretStr("test-key-not-real"), "model": "local-model"})
    llm = TradingAssistant(connections, settings)
    assert llm.model_name.startswith("local-model")
    result = llm.ask("buy 4 microsoft on tradesphere", session_id="llm")
    [pending] = result.pending_approvals
    assert (pending.server, pending.tool, pending.arguments["symbol"]) == ("tradesphere", "place_order", "MSFT")
    done = llm.decide("llm", {pending.call_id: True})
    assert done.reply.startswith("LLM says:") and "Bought 4 MSFT" in done.reply

    first = fake_llm.requests[0]
    tool_names = {t["function"]["name"] for t in first["tools"]}
    assert {"mcp_tradesphere__place_order", "mcp_velocity__place_order", "mcp_velocity__estimate_order"} <= tool_names
    system = first["messages"][0]["content"]
    assert "VelocityBrokers" in system and "Ultra-fast execution" in system and "approval" in system
    assert fake_llm.headers[0]["authorization"] == "Bearer test-key-not-real"


def test_llm_rejected_order_is_not_placed(connections, fake_llm):
    """Rejecting the LLM's order sends the rejection back and nothing reaches the broker."""
    settings = connections.settings.model_copy(update={"openai_base_url": fake_llm.url, "model": "local-model"})
    llm = TradingAssistant(connections, settings)
    before = connections.call("tradesphere", "list_orders", {"status": "all"})["orders"]
    result = llm.ask("buy 4 microsoft on tradesphere", session_id="llm-reject")
    done = llm.decide("llm-reject", {result.pending_approvals[0].call_id: False})
    assert "REJECTED_BY_USER" in done.reply
    assert connections.call("tradesphere", "list_orders", {"status": "all"})["orders"] == before
