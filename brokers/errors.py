"""One exception hierarchy for the broker side, so callers catch one thing."""


class BrokerError(Exception):
    """Base class: a business failure with a message fit to show a trader."""


class InvalidRequest(BrokerError):
    """The request itself is malformed (bad value, missing field): nothing is written."""


class UnknownSymbol(InvalidRequest):
    """The symbol or company name is not in the directory; carries close matches."""

    def __init__(self, text: str, suggestions: list[str]):
        self.text = text
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown symbol or company {shorten(text)!r}.{hint}")


class DuplicateClientOrderId(InvalidRequest):
    """The client_order_id was already used for a different request."""


class OrderNotFound(BrokerError):
    """No order with that id or client_order_id."""


class TradingDisabled(BrokerError):
    """The broker runs in read-only mode."""


def shorten(text: str, limit: int = 40) -> str:
    """A bad value quoted back to the caller, cut so a 5,000-character input does not flood a message."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class TradingHalted(BrokerError):
    """The broker's kill switch is on (`python -m brokers halt`): every order tool is refused, reads work."""


class DailyLimitExceeded(BrokerError):
    """The order would take what was placed today past the broker's per-day limit: nothing was placed."""
