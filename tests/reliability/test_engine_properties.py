"""Property-based (stateful) checks of the engine's book under random orders, cancels, imports and clock moves."""

from __future__ import annotations

import decimal
import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from market_times import OPEN
from reliability_support import audit, cents, count, open_engine, read_book

from brokers.domain import OrderRequest
from brokers.errors import DuplicateClientOrderId, InvalidRequest

SYMBOLS = ("PLUG", "KO", "AAPL", "AZO")  # $2.50 to $3,900: whole cents, sub-dollar fees, big tickets
TERMINAL = ("filled", "cancelled", "rejected", "expired", "replaced")
STOPS = ("stop", "stop_limit", "trailing_stop")
# Clock moves in minutes: within a session; to the close, overnight, over a weekend or Thanksgiving.
TICKS = (1, 7, 29, 61)
JUMPS = (150, 330, 600, 1080, 1440, 2880, 4320)

# What the random sessions must have done at least once for the run to prove anything (checked after the run).
MUST_COVER = (
    "buy filled", "sell filled", "notional filled", "limit filled", "limit rested open", "queued while closed",
    "queued order filled at its time", "cancelled", "refused finished cancel", "rejected", "import",
    "clock moved into a closed session", "clock moved into an open session", "restart", "opg queued", "cls queued",
    "stop rested open", "stop_limit rested open", "trailing_stop rested open", "stop triggered and filled",
    "bracket exits opened", "replaced", "refused finished replace",
)
COVERED: Counter[str] = Counter()


def event(text: str) -> None:
    """Hypothesis's statistics line, outside a Hypothesis run (the scripted session) a no-op."""
    if currently_in_test_context():
        hypothesis_event(text)

whole = st.integers(1, 25).map(Decimal)
fractional = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("3"), places=6)
tifs = st.sampled_from(["day", "gtc", "opg", "cls"])


class BrokerBook(RuleBasedStateMachine):
    """One broker's book driven by random requests; the audit replays it after every step."""

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="book-"))
        self.db = self.dir / "book.db"
        self.now = datetime.fromisoformat(OPEN)
        self.imports: list[tuple[str, Decimal, Decimal]] = []
        self.final_status: dict[str, str] = {}
        self.client_ids: dict[str, OrderRequest] = {}
        self.placed = 0
        self.held_symbols: list[str] = []
        self.queued_ids: set[str] = set()

    @initialize(broker=st.sampled_from(["tradesphere", "velocity"]), start=st.sampled_from([0, 60, 300, 600]),
                held=st.lists(st.sampled_from(SYMBOLS[:3]), max_size=2, unique=True))
    def open_book(self, broker, start, held):
        """A fresh book, sometimes holding shares imported up front, so sells can happen from the first step."""
        self.broker = broker
        self.now += timedelta(minutes=start)
        self.engine = open_engine(self.db, broker, self.now)
        self.commission = self.engine.profile.commission
        for symbol in held:
            count("other_writes_attempted")
            self.engine.add_position(symbol, "40", "50.00")
            self.imports.append((symbol, Decimal(40), Decimal("50.00")))
        self.held_symbols = sorted(held)

    def teardown(self):
        if hasattr(self, "engine"):
            self.engine.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def _book(self):
        return read_book(self.db, self.broker)

    def _place(self, **fields) -> None:
        """Place through the same parse the MCP tool uses; a refusal must leave the book exactly as it was."""
        before = self._book()
        self.placed += 1
        count("orders_attempted")
        try:
            request = OrderRequest.parse(**fields)
            order = self.engine.place_order(request)
        except InvalidRequest:
            assert self._book().snapshot() == before.snapshot()
            return
        after = self._book()
        event(f"{fields['side']} {order.order_type.value} {order.status.value}")
        status = order.status.value
        order_type = order.order_type.value
        kind = "notional" if fields.get("notional") else order_type if order_type != "market" else fields["side"]
        COVERED[f"{kind} {status}"] += 1
        if status == "open":
            COVERED[f"{order_type} rested open"] += 1
        if order.order_class.value == "bracket" and status == "filled":
            COVERED["bracket exits opened"] += 1
        if status == "rejected":
            COVERED["rejected"] += 1
        if status == "queued":
            self.queued_ids.add(order.id)
            tif = fields.get("time_in_force")
            COVERED[f"{tif} queued" if tif in ("opg", "cls") else "queued while closed"] += 1
        if fields.get("client_order_id"):
            self.client_ids[fields["client_order_id"]] = request
        exits = 2 if order.order_class.value == "bracket" and status == "filled" else 0
        assert order.id in after.orders and len(after.orders) == len(before.orders) + 1 + exits
        if order.status.value == "rejected":
            assert order.reject_reason
            assert (after.cash, after.fees_paid, len(after.fills)) == (before.cash, before.fees_paid, len(before.fills))
        if order.order_class.value == "bracket" and status == "filled":
            legs = [o for o in after.orders.values() if o["parent_id"] == order.id]
            assert sorted(o["order_type"] for o in legs) in (["limit", "stop"], ["limit", "stop_limit"]), legs
        if not self.engine.clock.is_open(self.now) and fields.get("time_in_force") not in ("opg", "cls"):
            assert order.status.value in ("queued", "rejected"), order  # nothing trades while closed
        if fields.get("time_in_force") in ("opg", "cls"):
            assert order.status.value in ("queued", "rejected"), order

    def _held(self, symbol: str) -> Decimal:
        row = self._book().positions.get(symbol)
        return row["quantity"] if row else Decimal(0)

    # ------------------------------------------------------------------ rules

    @rule(symbol=st.sampled_from(SYMBOLS), shares=whole, fraction=fractional, use_fraction=st.integers(0, 9),
          tif=st.sampled_from(["day", "day", "day", "gtc", "opg", "cls"]), with_id=st.booleans())
    def buy(self, symbol, shares, fraction, use_fraction, tif, with_id):
        """A market buy; now and then a fractional one (which a whole-share broker must reject)."""
        quantity = fraction if use_fraction == 0 else shares
        cid = f"b{self.placed}" if with_id else None
        self._place(symbol=symbol, side="buy", quantity=str(quantity), time_in_force=tif, client_order_id=cid)

    @precondition(lambda self: self.held_symbols)
    @rule(pick=st.integers(0, 10), share=st.sampled_from(["all", "half", "half", "third", "tiny", "more"]),
          tif=st.sampled_from(["day", "day", "gtc", "opg", "cls"]))
    def sell(self, pick, share, tif):
        """Sell part of a holding (or more than is held, which must be rejected)."""
        symbol = self.held_symbols[pick % len(self.held_symbols)]
        held = self._held(symbol)
        places = self.engine.profile.quantity_places
        step = Decimal(1).scaleb(-places)
        quantity = {
            "all": held,
            "half": (held / 2).quantize(step, rounding=decimal.ROUND_DOWN),
            "third": (held / 3).quantize(step, rounding=decimal.ROUND_DOWN),
            "tiny": step,
            "more": held + 1,
        }[share]
        if quantity <= 0:
            quantity = Decimal(1)
        self._place(symbol=symbol, side="sell", quantity=format(quantity, "f"), time_in_force=tif)

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(["buy", "sell"]), quantity=whole,
          offset_bp=st.integers(-300, 300), tif=tifs)
    def limit(self, symbol, side, quantity, offset_bp, tif):
        last = self.engine.quote(symbol).last
        price = max(cents(last * (10_000 + offset_bp) / 10_000), Decimal("0.01"))
        if side == "sell":
            quantity = min(quantity, max(self._held(symbol), Decimal(1)))
        self._place(symbol=symbol, side=side, quantity=str(quantity), order_type="limit",
                    limit_price=str(price), time_in_force=tif)

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(["buy", "buy", "sell"]),
          dollars=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2), tif=tifs)
    def notional(self, symbol, side, dollars, tif):
        self._place(symbol=symbol, side=side, notional=str(dollars), time_in_force=tif)

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(["buy", "sell", "sell"]), quantity=whole,
          offset_bp=st.integers(-150, 150), limit_bp=st.sampled_from([None, None, -40, 0, 40]),
          tif=st.sampled_from(["day", "gtc"]))
    def stop(self, symbol, side, quantity, offset_bp, limit_bp, tif):
        """A stop (or stop-limit) near the price: on the far side it rests, on the near side it triggers at once."""
        stop = max(cents(self.engine.quote(symbol).last * (10_000 + offset_bp) / 10_000), Decimal("0.01"))
        fields = {"order_type": "stop", "stop_price": str(stop)}
        if limit_bp is not None:
            limit = max(cents(stop * (10_000 + limit_bp) / 10_000), Decimal("0.01"))
            fields = {"order_type": "stop_limit", "stop_price": str(stop), "limit_price": str(limit)}
        if side == "sell":
            quantity = min(quantity, max(self._held(symbol), Decimal(1)))
        self._place(symbol=symbol, side=side, quantity=str(quantity), time_in_force=tif, **fields)

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(["buy", "sell", "sell"]), quantity=whole,
          trail=st.sampled_from([("trail_percent", "0.2"), ("trail_percent", "2"), ("trail_price", "0.05"),
                                 ("trail_price", "1.00")]), tif=st.sampled_from(["day", "gtc"]))
    def trailing_stop(self, symbol, side, quantity, trail, tif):
        if side == "sell":
            quantity = min(quantity, max(self._held(symbol), Decimal(1)))
        self._place(symbol=symbol, side=side, quantity=str(quantity), order_type="trailing_stop", time_in_force=tif,
                    **{trail[0]: trail[1]})

    @rule(symbol=st.sampled_from(SYMBOLS), quantity=whole, take_bp=st.integers(5, 200), loss_bp=st.integers(5, 200),
          limit_entry=st.booleans(), tif=st.sampled_from(["day", "gtc"]))
    def bracket(self, symbol, quantity, take_bp, loss_bp, limit_entry, tif):
        """A market or limit buy with a take-profit above and a stop-loss below: two exits once it fills."""
        last = self.engine.quote(symbol).last
        fields = {"take_profit_price": str(cents(last * (10_000 + take_bp) / 10_000)),
                  "stop_loss_price": str(max(cents(last * (10_000 - loss_bp) / 10_000), Decimal("0.01")))}
        if limit_entry:
            fields.update(order_type="limit", limit_price=str(last))
        self._place(symbol=symbol, side="buy", quantity=str(quantity), time_in_force=tif, **fields)

    @rule(pick=st.integers(0, 50), what=st.sampled_from(["quantity", "price", "price", "time_in_force"]))
    def replace(self, pick, what):
        """Replace a working order (new size, price or time in force), or try to replace a finished one."""
        book = self._book()
        active = [o for o in book.orders.values() if o["status"] in ("queued", "open")]
        done = [o for o in book.orders.values() if o["status"] in TERMINAL]
        count("other_writes_attempted")
        if not active:
            if done:
                order = done[pick % len(done)]
                with pytest.raises(InvalidRequest, match=f"is {order['status']}"):
                    self.engine.replace_order(order["id"], quantity="1")
                assert self._book().snapshot() == book.snapshot()
                COVERED["refused finished replace"] += 1
            return
        order = active[pick % len(active)]
        price_field = {"limit": "limit_price", "stop": "stop_price", "stop_limit": "stop_price",
                       "trailing_stop": "trail_percent" if order["trail_percent"] is not None else "trail_price"}
        field = price_field.get(order["order_type"]) if what == "price" else what
        if field is None or field == "quantity":
            changes = {"quantity": str((order["quantity"] or Decimal(0)) + 1)}
        elif field == "time_in_force":
            changes = {"time_in_force": "gtc" if order["time_in_force"] == "day" else "day"}
        else:
            current = order[field]
            changes = {field: str(max(cents(current * Decimal("0.99")), Decimal("0.01")) if field != "trail_percent"
                                  else (current + Decimal("0.1")))}
        try:
            view = self.engine.replace_order(order["id"], **changes)
        except InvalidRequest:
            assert self._book().snapshot() == book.snapshot()  # refused: nothing written, the old order works on
            COVERED["replace refused"] += 1
            return
        after = self._book()
        assert after.orders[order["id"]]["status"] == "replaced" and after.orders[order["id"]]["reserved_cash"] == 0
        assert view.replaces == order["id"] and view.id in after.orders and len(after.orders) == len(book.orders) + 1
        self.final_status[order["id"]] = "replaced"
        COVERED["replaced"] += 1

    @rule(pick=st.integers(0, 50), by_client_id=st.booleans())
    def cancel(self, pick, by_client_id):
        book = self._book()
        active = [o for o in book.orders.values() if o["status"] in ("queued", "open")]
        done = [o for o in book.orders.values() if o["status"] in TERMINAL]
        if active:
            order = active[pick % len(active)]
            ref = order["client_order_id"] if by_client_id and order["client_order_id"] else order["id"]
            count("other_writes_attempted")
            view = self.engine.cancel_order(ref)
            after = self._book()
            assert view.status.value == "cancelled" and after.orders[order["id"]]["status"] == "cancelled"
            # a cancelled bracket exit leaves its sibling working; nothing else changes state
            assert [i for i, o in after.orders.items() if o["status"] != book.orders.get(i, o)["status"]] == [order["id"]]
            assert after.orders[order["id"]]["reserved_cash"] == 0
            COVERED["cancelled"] += 1
        elif done:
            order = done[pick % len(done)]
            before = book.snapshot()
            count("other_writes_attempted")
            with pytest.raises(InvalidRequest, match=order["status"]):
                self.engine.cancel_order(order["id"])
            assert self._book().snapshot() == before
            COVERED["refused finished cancel"] += 1

    @rule(symbol=st.sampled_from(SYMBOLS), quantity=whole,
          price=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("5000"), places=2))
    def import_position(self, symbol, quantity, price):
        cash = self._book().cash
        count("other_writes_attempted")
        self.engine.add_position(symbol, str(quantity), str(price))
        self.imports.append((symbol, quantity, price))
        assert self._book().cash == cash  # an import moves no cash
        COVERED["import"] += 1

    @rule(how=st.sampled_from(["tick", "tick", "jump", "next_open", "next_open", "close", "restart"]), pick=st.integers(0, 100))
    def time_passes(self, how, pick):
        """Move the clock a few minutes within a session; to the close, overnight, over a weekend or a holiday; to the
        next session's open (queued orders execute there) or a little after it; to just before, at or just after the
        close (cls orders execute, day orders expire); or restart: a new engine (a new process) on the same database.
        One rule for all of them, so time passes about as often as one kind of order is placed."""
        if how == "restart":
            self.engine.db.dispose()
            self.engine = open_engine(self.db, self.broker, self.now)
            COVERED["restart"] += 1
            return
        if how == "tick":
            self.now += timedelta(minutes=TICKS[pick % len(TICKS)])
        elif how == "jump":
            self.now += timedelta(minutes=JUMPS[pick % len(JUMPS)])
        elif how == "next_open":
            self.now = self.engine.clock.next_open(self.now) + timedelta(minutes=(0, 1, 30, 200)[pick % 4])
        else:
            self.now = self.engine.clock.next_close(self.now) + timedelta(minutes=(-2, 0, 1)[pick % 3])
        self.engine.clock.frozen_now = self.now
        COVERED["clock moved into an open session" if self.engine.clock.is_open(self.now) else
                "clock moved into a closed session"] += 1

    @precondition(lambda self: self.client_ids)
    @rule(pick=st.integers(0, 50), same=st.booleans())
    def retry_client_order_id(self, pick, same):
        cid = sorted(self.client_ids)[pick % len(self.client_ids)]
        request = self.client_ids[cid]
        before = self._book()
        existing = next(o for o in before.orders.values() if o["client_order_id"] == cid)
        count("orders_attempted")
        if same:
            view = self.engine.place_order(request)
            assert view.id == existing["id"]
            COVERED["client_order_id retried"] += 1
        else:
            changed = request.model_copy(update={"quantity": (request.quantity or Decimal(1)) + 1, "notional": None})
            with pytest.raises(DuplicateClientOrderId, match=cid):
                self.engine.place_order(changed)
            COVERED["client_order_id reused"] += 1
        after = self._book()
        count("orders_doubled", len(after.orders) - len(before.orders))
        assert len(after.orders) == len(before.orders) and len(after.fills) == len(before.fills)

    # ------------------------------------------------------------------ after every step

    @invariant()
    def book_agrees_with_reference(self):
        assert decimal.getcontext().traps[decimal.FloatOperation], "the FloatOperation trap is not on in the engine's context"
        if not hasattr(self, "engine"):
            return
        self.engine.process_due()  # bring queued/open orders up to the clock, as any call would
        book = audit(self._book(), self.commission)
        imports = [(f["symbol"], f["quantity"], f["price"]) for f in book.fills if f["kind"] == "import"]
        assert imports == [(s, q, p) for s, q, p in self.imports]
        for status in {o["status"] for o in book.orders.values()}:
            event(f"book has {status} orders")
        for order_id, order in book.orders.items():
            if order["order_type"] in STOPS and order["status"] == "filled" and order_id not in self.final_status:
                COVERED["stop triggered and filled"] += 1
        for order_id in list(self.queued_ids):
            status = book.orders[order_id]["status"]
            if status != "queued":
                self.queued_ids.discard(order_id)
                COVERED["queued order filled at its time" if status == "filled" else f"queued order {status}"] += 1
        for order_id, status in self.final_status.items():
            assert book.orders[order_id]["status"] == status, "a finished order changed status"
        self.held_symbols = sorted(s for s, p in book.positions.items() if p["quantity"] > 0)
        self.final_status.update({i: o["status"] for i, o in book.orders.items() if o["status"] in TERMINAL})
        account = self.engine.account()
        assert account.cash == book.cash and account.realized_pnl == book.realized_pnl
        for view in self.engine.positions():
            ref = book.reference[view.symbol]
            assert (view.quantity, view.cost_basis, view.realized_pnl) == (ref.quantity, ref.cost_basis, ref.realized)
            assert view.average_cost == (ref.cost_basis / ref.quantity).quantize(Decimal("0.0001"))


def _scripted_session() -> None:
    """One fixed session through the same machine, checked after every step: every kind of step the promise names
    happens at least once here, whatever the random sessions happen to draw."""
    book = BrokerBook()
    steps = [
        lambda: book.open_book("tradesphere", 0, ["KO"]),  # Tuesday 10:30, open, 40 KO imported
        lambda: book.buy("KO", Decimal(5), Decimal(1), 1, "day", True),
        lambda: book.sell(0, "half", "day"),
        lambda: book.limit("PLUG", "buy", Decimal(3), 300, "day"),  # above the ask: fills
        lambda: book.limit("AAPL", "buy", Decimal(1), -300, "gtc"),  # below it: rests open
        lambda: book.notional("KO", "buy", Decimal("500.00"), "day"),
        lambda: book.cancel(0, False),  # the resting AAPL limit
        lambda: book.cancel(0, False),  # nothing active: a finished order refuses to cancel
        lambda: book.import_position("AZO", Decimal(2), Decimal("3000.00")),
        lambda: book.retry_client_order_id(0, True),
        lambda: book.retry_client_order_id(0, False),
        lambda: book.sell(0, "more", "day"),  # more than held: rejected
        lambda: book.buy("PLUG", Decimal(4), Decimal(1), 1, "opg", False),
        lambda: book.buy("PLUG", Decimal(2), Decimal(1), 1, "cls", False),
        lambda: book.time_passes("close", 1),  # at the close: cls fills, the session closes
        lambda: book.buy("KO", Decimal(1), Decimal(1), 1, "day", False),  # queued while closed
        lambda: book.time_passes("restart", 0),
        lambda: book.time_passes("next_open", 0),  # Wednesday's open: the queued orders fill
        lambda: book.stop("KO", "sell", Decimal(3), -150, None, "gtc"),  # well under the price: rests
        lambda: book.stop("PLUG", "buy", Decimal(5), 150, 40, "gtc"),  # a buy stop-limit above: rests
        lambda: book.stop("KO", "sell", Decimal(2), 5, None, "gtc"),  # above the price: triggers and fills at once
        lambda: book.trailing_stop("KO", "sell", Decimal(4), ("trail_price", "0.05"), "gtc"),
        lambda: book.bracket("AAPL", Decimal(2), 30, 30, False, "gtc"),  # fills: two exits
        lambda: book.replace(0, "price"),
        lambda: book.time_passes("tick", 3),  # an hour: the trail is likely hit, maybe an exit
        lambda: book.time_passes("jump", 2),  # into the next day
        lambda: book.cancel(0, False),
        lambda: book.replace(0, "quantity"),
    ]
    try:
        for step in steps:
            step()
            book.book_agrees_with_reference()
    finally:
        book.teardown()


def _run(max_examples: int, steps: int, derandomize: bool = False, scripted: bool = False) -> None:
    COVERED.clear()
    with decimal.localcontext() as ctx:
        ctx.traps[decimal.FloatOperation] = True  # any float mixed into a Decimal fails the run
        ctx.clear_flags()
        if scripted:
            _scripted_session()
        run_state_machine_as_test(
            BrokerBook,
            settings=settings(max_examples=max_examples, stateful_step_count=steps, deadline=None, database=None,
                              derandomize=derandomize, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
        )
        # Trapped, a float mixed into arithmetic raises; an equality test with a float only sets the flag.
        assert not ctx.flags[decimal.FloatOperation], "a float was compared with a Decimal somewhere in the engine"
    missing = [kind for kind in MUST_COVER if not COVERED[kind]]
    assert not missing, f"the sessions never did: {missing} (did: {dict(COVERED)})"


def test_book_invariants_hold_for_random_sessions():
    """Cash identity, no negative position, cost and realized P&L equal the reference, no float, after every step of a scripted and 30 random sessions."""
    _run(max_examples=30, steps=25, derandomize=True, scripted=True)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a hang guard on a shared 2-CPU box, nothing timed
def test_book_invariants_hold_for_many_random_sessions():
    """The same promise over 200 new random sessions of up to 60 steps each, which alone must do every kind of step (CI)."""
    _run(max_examples=200, steps=60)
