"""The language corpus through the real assistant (brokers in process over the MCP SDK's in-memory transport):
what must not trade never trades, and neither half falls below the accuracy it was measured at.

The held-out half is never tuned on; its floor here is the figure measured when this round ended, minus a margin
for the noise of a few requests, so that a change which breaks what people type fails CI. `python -m bench nl`
prints the same figures (and, by default, measures through real broker subprocesses).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.nl_corpus import _in_memory_brokers, load, run_case

# every request of the corpus runs through the assistant: several minutes on this 2-core machine
pytestmark = pytest.mark.timeout(1800)

FLOORS = {"tuning": 96.0, "heldout": 83.0}
"""Accuracy (%) each half must keep. Measured when this round ended: tuning 97.6 % (581 requests), held-out 85.8 %
(239 requests, through real broker subprocesses); the floors leave a margin of a few requests."""


@pytest.fixture(scope="module")
def outcomes(monkeypatch_module):
    monkeypatch_module.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch_module.delenv("OPENAI_BASE_URL", raising=False)
    cases = load("tuning") + load("heldout")
    with _in_memory_brokers(), ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda case: run_case(case, None), cases))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_requests_that_must_not_trade_never_trade(outcomes):
    """Advice, negations, stops, short sales, unknown companies, ambiguous sizes (the no_trade category): nothing is
    placed, on either half. (A question that traded counts against its half's accuracy below.)"""
    traded = [o.case["name"] if o.case["half"] == "tuning" else "a held-out request" for o in outcomes
              if o.case["category"] == "no_trade" and o.why.startswith("placed")]
    assert not traded


@pytest.mark.parametrize("half", ["tuning", "heldout"])
def test_each_half_keeps_its_accuracy(outcomes, half):
    mine = [o for o in outcomes if o.case["half"] == half]
    right = sum(not o.why for o in mine)
    accuracy = 100 * right / len(mine)
    wrong = [o.case["name"] for o in mine if o.why] if half == "tuning" else f"{len(mine) - right} held-out requests"
    assert accuracy >= FLOORS[half], (f"{accuracy:.1f} %", wrong)
