"""How the console writes trading values for a person: money, percentages, sizes, order types, time in force, times.

One format everywhere (cards, chat, tables, KPIs): "$22,301.35", "-$2.00" (never "$-2.00"), times in New York time
("Wed Dec 2, 09:30 ET"), time in force in words ("At the open", "Good till cancelled"), never the wire codes.
Pure functions of their arguments, no Streamlit: the pages and the tests call them alike.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
CENT = Decimal("0.01")
MISSING = "—"

TIME_IN_FORCE = {"day": "Day", "gtc": "Good till cancelled", "opg": "At the open", "cls": "At the close",
                 "ioc": "Immediate or cancel", "fok": "Fill or kill"}
ORDER_TYPES = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "Stop-limit",
               "trailing_stop": "Trailing stop"}
STATUSES = {"queued": "Queued", "open": "Open", "filled": "Filled", "cancelled": "Cancelled", "rejected": "Rejected",
            "expired": "Expired", "replaced": "Replaced", "partially_filled": "Partially filled"}


def decimal_or_none(value: object) -> Decimal | None:
    """A finite Decimal from a wire value (str, int, Decimal), or None for empty or unreadable input."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip().removeprefix("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def money(value: object) -> str:
    """'$22,301.35', '-$2.00', '$0.35'; '—' when there is no amount. Rounded half up to the cent, as cash settles."""
    amount = decimal_or_none(value)
    if amount is None:
        return MISSING
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents == 0:
        cents = abs(cents)  # never "-$0.00"
    return f"-${abs(cents):,.2f}" if cents < 0 else f"${cents:,.2f}"


def price(value: object) -> str:
    """A share price: money, with more places only when the broker quotes them ('$0.1234')."""
    amount = decimal_or_none(value)
    if amount is None:
        return MISSING
    places = -amount.normalize().as_tuple().exponent if amount != 0 else 0
    if isinstance(places, int) and places > 2:
        sign = "-" if amount < 0 else ""
        return f"{sign}${abs(amount):,.{min(places, 6)}f}"
    return money(amount)


def percent(value: object, places: int = 2) -> str:
    """'12.34%' from 12.34 (the brokers report percentages already multiplied by 100)."""
    amount = decimal_or_none(value)
    if amount is None:
        return MISSING
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}%"


def quantity(value: object) -> str:
    """'100', '1.5', '1,000': shares without trailing zeros."""
    amount = decimal_or_none(value)
    if amount is None:
        return MISSING
    text = f"{amount.normalize():,f}"
    return text


def size(quantity_value: object, notional: object) -> str:
    """'100 shares', '1 share', '$500.00' (a dollar amount instead of a share count)."""
    shares = decimal_or_none(quantity_value)
    if shares is not None:
        return f"{quantity(shares)} share" + ("" if shares == 1 else "s")
    return money(notional)


def parse_time(value: object) -> datetime | None:
    """A timezone-aware datetime from an ISO string or a datetime; None when empty or unreadable."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=NEW_YORK)


def new_york(value: object) -> datetime | None:
    """The moment in New York time (for tables: st.column_config.DatetimeColumn shows it as it is)."""
    moment = parse_time(value)
    return moment.astimezone(NEW_YORK) if moment else None


def eastern(value: object) -> str:
    """'Wed Dec 2, 09:30 ET' (New York time, as the exchange states its hours)."""
    moment = new_york(value)
    return moment.strftime("%a %b ") + str(moment.day) + moment.strftime(", %H:%M ET") if moment else MISSING


def time_in_force(code: object, executes_at: object = None) -> str:
    """'At the open · Wed Dec 2, 09:30 ET', 'Good till cancelled', 'At the close', 'Day'."""
    text = str(code or "day").strip().lower()
    words = TIME_IN_FORCE.get(text, text.replace("_", " ").capitalize())
    if text in ("opg", "cls") and parse_time(executes_at):
        words += f" · {eastern(executes_at)}"
    return words


def order_type(code: object, order_class: object = None) -> str:
    """'Market', 'Limit', 'Stop-limit', 'Trailing stop'; 'Bracket · Limit entry' for a bracket's entry."""
    text = str(code or "market").strip().lower()
    words = ORDER_TYPES.get(text, text.replace("_", " ").capitalize())
    if str(order_class or "").lower() == "bracket":
        return f"Bracket · {words.lower()} entry"
    return words


def status(code: object) -> str:
    text = str(code or "").strip().lower()
    return STATUSES.get(text, text.replace("_", " ").capitalize())


def side(code: object) -> str:
    return str(code or "").strip().capitalize()


def trail(trail_percent: object, trail_price: object) -> str:
    """A trailing stop's distance: '5%' or '$2.50'; '' when it has none."""
    if decimal_or_none(trail_percent) is not None:
        return f"{quantity(trail_percent)}%"
    return money(trail_price) if decimal_or_none(trail_price) is not None else ""


def model_in_use(settings) -> str:
    """Which model answers the chat: 'Offline model (no key needed)', 'OpenAI gpt-4.1', 'llama3 at http://…/v1'.

    Read from the same settings the assistant builds its model from (`uses_llm`, `openai_base_url`, `model`), so the
    label never claims an LLM that is not configured.
    """
    if not settings.uses_llm:
        return "Offline model (no key needed)"
    if settings.openai_base_url:
        return f"{settings.model} at {settings.openai_base_url}"
    return f"OpenAI {settings.model}"
