"""Streaming: with an LLM the reply arrives token by token and tool calls show as they happen; offline answers at once.

The LLM is the project's fake OpenAI-compatible server on 127.0.0.1, streaming chat.completion.chunk events, so the
SDK's Runner.run_streamed and its chat-completions stream handler run unmocked.
"""

from __future__ import annotations

from agent.assistant import TradingAssistant


def test_llm_reply_streams_in_pieces_and_the_order_waits_for_approval(connections, fake_llm):
    settings = connections.settings.model_copy(update={"openai_base_url": fake_llm.url, "model": "local-model"})
    llm = TradingAssistant(connections, settings)
    assert llm.streams
    updates = list(llm.ask_streaming("buy 4 microsoft on tradesphere", session_id="stream"))
    assert fake_llm.requests[0]["stream"] is True
    kinds = [u.kind for u in updates]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert "tool_called" in kinds, kinds  # the call shows before the run ends
    [pending] = updates[-1].result.pending_approvals
    assert (pending.tool, pending.arguments["symbol"]) == ("place_order", "MSFT")
    assert pending.company and "Microsoft" in pending.company
    assert not connections.call("tradesphere", "list_orders", {"status": "all", "symbol": "MSFT"})["orders"]

    after = list(llm.decide_streaming("stream", {pending.call_id: True}))
    pieces = [u.text for u in after if u.kind == "text"]
    assert len(pieces) > 3, pieces  # token by token, not one block
    done = after[-1].result
    assert "".join(pieces) == done.reply and done.reply.startswith("LLM says:") and "Bought 4 MSFT" in done.reply
    assert [u.call.tool for u in after if u.kind == "tool_output"] == ["place_order"]


def test_offline_model_answers_at_once(assistant):
    assert not assistant.streams
    updates = list(assistant.ask_streaming("what is the price of apple", session_id="offline-stream"))
    assert [u.kind for u in updates] == ["done"] and "AAPL" in updates[0].result.reply


def test_a_failed_stream_still_ends_with_a_turn(connections):
    """An LLM that cannot be reached gives one 'done' with the error, never a hang or a traceback."""
    settings = connections.settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1", "model": "x"})
    llm = TradingAssistant(connections, settings)
    updates = list(llm.ask_streaming("buy 1 apple", session_id="down"))
    assert updates[-1].kind == "done" and updates[-1].result.error
