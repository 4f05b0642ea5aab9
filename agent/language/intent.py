"""What the offline model understood from the person: the `Intent` of one order or question.

Pure data: the readers in this package fill it, the planner turns it into tool calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class IntentKind(StrEnum):
    ORDER = "order"
    CANCEL = "cancel"
    REPLACE = "replace"
    """Change a queued or open order: its size, prices or timing."""
    PORTFOLIO = "portfolio"
    ACCOUNT = "account"
    TOTAL_VALUE = "total_value"
    QUOTE = "quote"
    ORDERS = "orders"
    COMPARE_BROKERS = "compare_brokers"
    COST_COMPARISON = "cost_comparison"
    MARKET = "market"
    """Is the market open, when it opens or closes: the market clock the brokers report."""
    HELP = "help"
    CLARIFY = "clarify"


class FollowUp(StrEnum):
    NONE = "none"
    RESIZE = "resize"
    REPEAT_ON = "repeat_on"
    REVERSE = "reverse"
    CONFIRM = "confirm"
    """'go ahead' after a cost estimate: place what was priced."""


ORDER_PRICES = ("limit_price", "stop_price", "trail_percent", "trail_price", "take_profit_price", "stop_loss_price")
"""The price fields an order intent may carry, named as the order tools name their arguments."""
REPLACEABLE = ("quantity", "limit_price", "stop_price", "trail_percent", "trail_price")
"""What replace_order can change on a working order (besides its time in force)."""


@dataclass(frozen=True)
class BrokerRef:
    id: str
    """The broker id used in tool names, e.g. "tradesphere"."""
    name: str
    """The display name from the broker profile, e.g. "VelocityBrokers"."""


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    side: str | None = None
    """"buy" or "sell"."""
    symbol_text: str | None = None
    """The company or ticker as typed ("Apple", "BRK.B"); the broker's symbol directory resolves it."""
    quantity: Decimal | None = None
    """Shares."""
    portion: Decimal | None = None
    """Fraction of the held position (1, 0.5, 1/3, ...); the caller rounds shares down."""
    notional: Decimal | None = None
    """Dollars to spend or raise."""
    order_type: str = "market"
    """"market", "limit", "stop", "stop_limit" or "trailing_stop" (a bracket is a market or limit entry with exits)."""
    limit_price: Decimal | None = None
    time_in_force: str = "day"
    """"day", "gtc", "opg" (at the open) or "cls" (at the close)."""
    tif_stated: bool = False
    """The timing was said ("right now" is a day order said), not taken as the default."""
    brokers: tuple[str, ...] = ()
    """Broker ids named explicitly; "both brokers" names them all."""
    broker_choice: str | None = None
    """"cheapest", "fastest" or "all" ("both brokers")."""
    follow_up: FollowUp = FollowUp.NONE
    order_ref: str | None = None
    """For CANCEL and REPLACE: an order id or client order id; for CANCEL also "all"."""
    question: str | None = None
    """For CLARIFY: the question to ask back, naming what is missing."""
    other_broker: bool = False
    """For an unmerged follow-up: "the other broker", i.e. every broker the previous order did not use."""
    stop_price: Decimal | None = None
    """For a stop or stop-limit: the price that must trade first ("sell if it drops below 300")."""
    trail_percent: Decimal | None = None
    """For a trailing stop: how far behind the best price it follows, in percent ("trailing stop 5%")."""
    trail_price: Decimal | None = None
    """For a trailing stop: the same in dollars ("trail by $2")."""
    take_profit_price: Decimal | None = None
    """For a bracket: the take-profit exit ("take profit at 250")."""
    stop_loss_price: Decimal | None = None
    """For a bracket: the stop-loss exit ("stop loss at 210")."""
    company: str | None = None
    """The company's name when the directory knew it ("Starbucks Corporation")."""
    understood_from: str | None = None
    """What the person typed when it was a typo of the company ("starbuks")."""
    refers: str | None = None
    """How the stock was named when it was not named: "pronoun" ("grab 3 of them") or "missing" ("grab 2")."""
    size_ref: str | None = None
    """A size named by reference: "same" ("the same number of Texas Instruments shares")."""
    broker_ref: str | None = None
    """A broker named by reference: "answer" ("go with that broker"), "there", or "cash" ("$2,000 of that")."""
    side_unsaid: bool = False
    """For an ORDER said with no verb ("12 abbott labs on velocity"): a buy when the stock is held nowhere (there is
    nothing to sell), else the planner asks which."""
    price_step: Decimal | None = None
    """For REPLACE: how far to move the working order's limit (or stop) price, from what it is now: +1 for "move my
    limit up a dollar", -0.50 for "drop the stop 50 cents"."""
    step_of: str = "limit_price"
    """Which price `price_step` moves: "limit_price" or "stop_price"."""

