"""alpaca-py's two clients with what a trading tool needs around them: a timeout on every request, bounded retries
and Alpaca's errors as broker errors that carry Alpaca's reason.

- 429 (rate limited) is retried on every request, waiting what Retry-After says (capped) or backing off
  exponentially, within `RetryPolicy`'s bound: a 429 means Alpaca did nothing.
- A 5xx or a network failure is retried only for reads. For an order it raises `AlpacaUnavailable` with
  `maybe_received` set: the engine then asks Alpaca for the order's client_order_id before anything else, so
  nothing is ever placed twice.
- 403 and 422 (insufficient buying power, an invalid quantity, ...) become `AlpacaRefused` with Alpaca's message.

The SDK's own retry (a fixed 3 s sleep on 429, Retry-After ignored) is turned off and its requests get a timeout
(it sets none): both through the clients' session and retry attributes, which alpaca-py exposes no option for.
Its request models take floats: prices and quantities become floats only there, at the wire, from Decimals with
at most 6 places (exact in a float's shortest repr).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockLatestQuoteRequest, StockLatestTradeRequest
from alpaca.trading.client import TradingClient
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from brokers.alpaca.config import AlpacaKeys
from brokers.errors import BrokerError, OrderNotFound
from brokers.market_data import Prices
from brokers.money import CENT, money
from brokers.profiles import AlpacaProfile

log = logging.getLogger(__name__)
T = TypeVar("T")


class AlpacaError(BrokerError):
    """Base of what talking to Alpaca can go wrong with."""


class AlpacaNotConfigured(AlpacaError):
    """No keys, or an endpoint this console refuses: the broker answers every tool with the reason."""


class AlpacaRefused(AlpacaError):
    """Alpaca answered 4xx: the request is wrong or not allowed (its reason is in the message)."""

    def __init__(self, message: str, status: int, code: int | None, reason: str):
        super().__init__(message)
        self.status, self.code, self.reason = status, code, reason

    @property
    def duplicate_client_order_id(self) -> bool:
        return self.status == 422 and "client_order_id" in self.reason.lower() and "unique" in self.reason.lower()


class AlpacaAuthRefused(AlpacaRefused):
    """401, or 403 without an order in question: the keys are wrong or not allowed."""


class AlpacaUnavailable(AlpacaError):
    """Alpaca could not be reached, answered 5xx, or kept rate-limiting past the retry bound."""

    def __init__(self, message: str, *, maybe_received: bool):
        super().__init__(message)
        self.maybe_received = maybe_received
        """Whether Alpaca may have acted on the request anyway (the answer was lost, or a 5xx)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before an error reaches the caller."""

    attempts: int = 4
    """Tries in all for one request (rate-limited, or a read that failed in passing)."""
    max_total_s: float = 20.0
    """No new try starts after this long: a tool call must answer well within a client's timeout."""
    max_wait_s: float = 5.0
    """The longest single wait; a longer Retry-After is cut to it."""
    base_wait_s: float = 0.5
    """First wait of the exponential back-off when Alpaca gives no Retry-After (then 1 s, 2 s, ...)."""
    timeout_s: float = 10.0
    """Connect and read timeout of one request."""


class _TimeoutSession(requests.Session):
    """A requests session whose every request has a timeout (alpaca-py passes none)."""

    def __init__(self, timeout_s: float):
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN201 - requests' own signature
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, **kwargs)


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, APIError) else None


def _body(exc: APIError) -> dict:
    try:
        body = json.loads(str(exc))
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}


def _retry_after(exc: BaseException) -> float | None:
    response = exc.response if isinstance(exc, APIError) else None
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _network_text(exc: requests.RequestException, host: str) -> str:
    if isinstance(exc, requests.Timeout):
        return f"Alpaca did not answer within the timeout (no response from {host})"
    if isinstance(exc, requests.ConnectionError):
        return f"the network connection to Alpaca ({host}) failed or was dropped before an answer came"
    return f"the request to Alpaca ({host}) failed ({type(exc).__name__})"


class AlpacaClient:
    """One Alpaca paper account: TradingClient for the account and orders, StockHistoricalDataClient for quotes."""

    def __init__(self, profile: AlpacaProfile, keys: AlpacaKeys, policy: RetryPolicy | None = None):
        self.profile = profile
        self.policy = policy or RetryPolicy()
        key_id, secret = keys.key_id.get_secret_value(), keys.secret_key.get_secret_value()
        self.trading = TradingClient(api_key=key_id, secret_key=secret, paper=True,
                                     url_override=profile.base_url.rstrip("/"))
        self.data = StockHistoricalDataClient(api_key=key_id, secret_key=secret,
                                              url_override=profile.data_url.rstrip("/"))
        for sdk in (self.trading, self.data):
            sdk._session = _TimeoutSession(self.policy.timeout_s)
            sdk._retry = 0  # our Retrying below does it, with Retry-After and a bound
        self.trading_host = urlsplit(profile.base_url).netloc
        self.data_host = urlsplit(profile.data_url).netloc

    # ------------------------------------------------------------------ one call, with retries and our errors

    def call(self, what: str, fn: Callable[[], T], *, read: bool, data: bool = False, retries: bool = True) -> T:
        """Run one SDK call. `read`: safe to repeat after a failure (a GET); `what` names it in errors."""
        policy = self.policy
        host = self.data_host if data else self.trading_host

        def should_retry(exc: BaseException) -> bool:
            if not retries:
                return False
            status = _status(exc)
            if status == 429:
                return True
            return read and ((status is not None and status >= 500) or isinstance(exc, requests.RequestException))

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            told = _retry_after(exc) if exc is not None else None
            backoff = policy.base_wait_s * 2 ** (state.attempt_number - 1)
            return min(told if told is not None else backoff, policy.max_wait_s)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("Alpaca %s: %s, try %d of %d", what, _status(exc) or type(exc).__name__, state.attempt_number,
                        policy.attempts)

        retrying = Retrying(retry=retry_if_exception(should_retry), wait=wait, before_sleep=before_sleep,
                            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_total_s),
                            reraise=True)
        try:
            return retrying(fn)
        except APIError as exc:
            raise self._translate(what, exc, read=read) from None
        except requests.RequestException as exc:
            raise AlpacaUnavailable(f"{what}: {_network_text(exc, host)}", maybe_received=not read) from None

    def _translate(self, what: str, exc: APIError, *, read: bool) -> BrokerError:
        status = exc.status_code or 0
        body = _body(exc)
        reason = str(body.get("message") or str(exc)[:200] or "no reason given").strip()
        code = body.get("code") if isinstance(body.get("code"), int) else None
        details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in body.items()
                            if k not in ("code", "message") and isinstance(v, str | int | float))
        said = f"{reason}" + (f" ({details})" if details else "")
        if status == 401:
            return AlpacaAuthRefused(f"{what}: Alpaca refused the API keys (HTTP 401: {said}); check the paper "
                                     "account's keys", status, code, reason)
        if status == 404:
            return OrderNotFound(f"{what}: Alpaca has no such {'order' if 'order' in what else 'record'} ({said})")
        if status == 429:
            return AlpacaUnavailable(f"{what}: Alpaca kept answering 429 (rate limited) after {self.policy.attempts} "
                                     f"tries; nothing was done, try again in a minute", maybe_received=False)
        if status >= 500:
            return AlpacaUnavailable(f"{what}: Alpaca had an internal error (HTTP {status}: {said})",
                                     maybe_received=not read)
        return AlpacaRefused(f"{what}: Alpaca refused it (HTTP {status}: {said})", status, code, reason)

    # ------------------------------------------------------------------ market data

    def latest_prices(self, symbol: str, *, retries: bool = True) -> tuple[Prices, datetime]:
        """Alpaca's latest bid and ask (and their midpoint as `last`) for one symbol, with the quote's time."""
        feed = self.profile.feed

        def fetch():
            return self.data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=symbol, feed=feed))

        quotes = self.call(f"latest quote for {symbol}", fetch, read=True, data=True, retries=retries)
        quote = quotes.get(symbol) if isinstance(quotes, dict) else None
        if quote is None:
            raise AlpacaRefused(f"Alpaca has no quote for {symbol}", 404, None, "no quote")
        bid, ask = Decimal(str(quote.bid_price)), Decimal(str(quote.ask_price))
        if bid <= 0 or ask <= 0:
            # One side empty (a thin IEX book, outside hours): price that side at the last trade.
            trades = self.call(f"latest trade for {symbol}", lambda: self.data.get_stock_latest_trade(
                StockLatestTradeRequest(symbol_or_symbols=symbol, feed=feed)), read=True, data=True, retries=retries)
            trade = trades.get(symbol) if isinstance(trades, dict) else None
            last_trade = Decimal(str(trade.price)) if trade is not None else Decimal(0)
            bid = bid if bid > 0 else last_trade
            ask = ask if ask > 0 else last_trade
            if bid <= 0 or ask <= 0:
                raise AlpacaRefused(f"Alpaca has no usable quote for {symbol} (bid {bid}, ask {ask})", 404, None,
                                    "no quote")
        last = money((bid + ask) / 2) if (bid + ask) / 2 >= 1 else ((bid + ask) / 2).quantize(CENT / 100)
        return Prices(bid=bid, ask=ask, last=last), quote.timestamp
