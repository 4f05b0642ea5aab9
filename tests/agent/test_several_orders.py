"""Several orders from one message through the real Agent, Runner and broker subprocesses: each has its own
estimate and approval, and approving one while rejecting another places exactly the approved one."""

from __future__ import annotations


def test_each_order_has_its_own_approval_and_estimate(assistant, connections):
    result = assistant.ask("buy 6 Oracle at TradeSphere plus 6 at Velocity", session_id="two-brokers")
    staged = sorted((p.server, p.arguments["symbol"], p.arguments["quantity"]) for p in result.pending_approvals)
    assert staged == [("tradesphere", "ORCL", "6"), ("velocity", "ORCL", "6")]
    assert all(p.estimate and "total" in p.estimate for p in result.pending_approvals)
    keep = next(p for p in result.pending_approvals if p.server == "velocity")
    done = assistant.decide("two-brokers", {p.call_id: p is keep for p in result.pending_approvals})
    assert "you rejected the buy order for ORCL on TradeSphere" in done.reply
    orders = {b: connections.call(b, "list_orders", {"status": "all"})["orders"] for b in ("tradesphere", "velocity")}
    assert [(o["symbol"], o["status"]) for o in orders["velocity"]] == [("ORCL", "filled")]
    assert not [o for o in orders["tradesphere"] if o["symbol"] == "ORCL"]


def test_a_misspelt_company_is_named_on_the_card_and_in_the_reply(assistant):
    result = assistant.ask("purchace 4 starbuks", session_id="typo")
    [pending] = result.pending_approvals
    assert pending.arguments["symbol"] == "SBUX"
    assert "'starbuks' as Starbucks Corporation (SBUX)" in pending.note
    assert "'starbuks' as Starbucks Corporation (SBUX)" in result.reply
    assistant.decide("typo", {pending.call_id: False})


def test_a_close_call_between_companies_asks_and_places_nothing(assistant):
    result = assistant.ask("buy 10 shares of amrican", session_id="close-call")
    assert not result.pending_approvals
    assert "which company" in result.reply.lower() or "unknown" in result.reply.lower()
