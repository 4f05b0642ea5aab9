"""Decimal money, price and quantity values: parsing at the boundary, rounding rules, formatting.

Floats never reach the domain: `to_decimal` refuses them. The MCP boundary (JSON numbers) converts
through `from_wire`, which goes via the float's shortest repr so 0.1 stays 0.1.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from brokers.errors import InvalidRequest, shorten

CENT = Decimal("0.01")
ZERO = Decimal("0")
# Commas only group thousands: "1,5" (a European 1.5) must not be read as 15 and trade ten times the size.
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def to_decimal(value: object, field: str) -> Decimal:
    """Parse a domain value (str, int or Decimal) as a finite Decimal; anything else is an error naming it."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{field}: floats are refused in the domain, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().removeprefix("$")
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        # Decimal() itself reads "1_0" and non-ASCII digits ("１", "١"); only plain ASCII numbers get through.
        try:
            if "," in text or "_" in text or not text.isascii():
                raise InvalidOperation
            result = Decimal(text)
        except InvalidOperation:
            hint = " (use '.' for decimals; ',' only between thousands, as in 1,000.50)" if "," in text else ""
            raise InvalidRequest(f"{field} must be a number, got {shorten(value)!r}{hint}") from None
    else:
        raise InvalidRequest(f"{field} must be a number, got {type(value).__name__} {shorten(repr(value))}")
    if not result.is_finite():
        raise InvalidRequest(f"{field} must be a finite number, got {shorten(str(value))!r}")
    return result


def from_wire(value: object, field: str) -> Decimal | None:
    """Parse a JSON value from a tool call: strings and ints exactly, JSON numbers via their shortest repr."""
    if value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"{field} must be a finite number, got {value!r}")
        value = repr(value)
    return to_decimal(value, field)


def money(amount: Decimal) -> Decimal:
    """Round an amount to the cent, half up, as brokers settle cash."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_down(value: Decimal, places: int) -> Decimal:
    """Truncate to `places` decimals: used when a dollar amount buys shares (never buy more than paid for)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def decimal_places(value: Decimal) -> int:
    """Number of digits after the point that carry information (1.50 -> 1)."""
    # Counted on the exact digits: normalize() rounds to the context's 28 digits, which would pass
    # 1.00000000000000000000000000001 as a whole number.
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def usd(amount: Decimal) -> str:
    """$23,051.35 / -$12.00, for messages."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(money(amount)):,.2f}"


def plain(value: Decimal) -> str:
    """A quantity or price without trailing zeros or exponent: 10, 1.5, 0.000001."""
    return format(value.normalize(), "f")


def canonical(value: Decimal) -> Decimal:
    """The same number without trailing zeros and never in exponent form (1E+1 -> 10), for the wire."""
    return Decimal(plain(value))


WireDecimal = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema({"type": "string", "description": "decimal number as a string"}),
]
"""A Decimal in a result model: a plain decimal string on the wire, with a simple schema clients check fast."""
