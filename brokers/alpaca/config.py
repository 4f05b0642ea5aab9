"""Whether an Alpaca broker can start: its keys (environment, else keyring) and a paper endpoint.

Keys come from APCA_API_KEY_ID / APCA_API_SECRET_KEY (Alpaca's own names), else from the keyring entries the
console's Settings page stores. They are held in `SecretStr` and never appear in a log line or an error.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from brokers.profiles import ALPACA_DATA_URL, ALPACA_PAPER_URL, AlpacaProfile

log = logging.getLogger(__name__)

KEY_ID_ENV = "APCA_API_KEY_ID"
SECRET_KEY_ENV = "APCA_API_SECRET_KEY"
KEYRING_SERVICE = "trading-console"
"""The console's keyring service (console/services.py stores the keys under the same names)."""
KEYRING_KEY_ID = "alpaca_key_id"
KEYRING_SECRET_KEY = "alpaca_secret_key"
PAPER_HOSTS = {urlsplit(ALPACA_PAPER_URL).hostname}
DATA_HOSTS = {urlsplit(ALPACA_DATA_URL).hostname, "data.sandbox.alpaca.markets"}


@dataclass(frozen=True)
class AlpacaKeys:
    """An API key pair and where it came from ('environment' or 'keyring')."""

    key_id: SecretStr
    secret_key: SecretStr
    source: str


class EndpointRefused(Exception):
    """The profile points at an endpoint this console never trades on (a live account, an unknown host)."""


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_endpoints(profile: AlpacaProfile) -> None:
    """Refuse anything but Alpaca's paper trading endpoint (and its data API), or a loopback address for tests."""
    trading = urlsplit(profile.base_url)
    if not (_is_loopback(trading.hostname) or (trading.scheme == "https" and trading.hostname in PAPER_HOSTS)):
        raise EndpointRefused(
            f"{profile.id}: base_url {profile.base_url!r} is not Alpaca's paper endpoint ({ALPACA_PAPER_URL}); this "
            "console trades paper accounts only, never a live account. Set base_url to the paper endpoint (or leave it "
            "out).")
    data = urlsplit(profile.data_url)
    if not (_is_loopback(data.hostname) or (data.scheme == "https" and data.hostname in DATA_HOSTS)):
        raise EndpointRefused(
            f"{profile.id}: data_url {profile.data_url!r} is not Alpaca's market data API ({ALPACA_DATA_URL}); the "
            "Alpaca keys are only ever sent to Alpaca.")


def _from_keyring(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError:
            return None
    except Exception as exc:  # a broken keyring backend must not stop the broker: it is then "not configured"
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None


def find_keys(environ: dict[str, str] | None = None) -> AlpacaKeys | None:
    """The Alpaca key pair from the environment, else the keyring; None when neither has both halves."""
    environ = os.environ if environ is None else environ
    key_id, secret = environ.get(KEY_ID_ENV, "").strip(), environ.get(SECRET_KEY_ENV, "").strip()
    if key_id and secret:
        return AlpacaKeys(SecretStr(key_id), SecretStr(secret), "environment")
    key_id, secret = _from_keyring(KEYRING_KEY_ID), _from_keyring(KEYRING_SECRET_KEY)
    if key_id and secret:
        return AlpacaKeys(SecretStr(key_id.strip()), SecretStr(secret.strip()), "keyring")
    return None


NOT_CONFIGURED = (f"not configured: no Alpaca API keys (set {KEY_ID_ENV} and {SECRET_KEY_ENV}, or store them in the "
                  "console's Settings); get paper keys from your Alpaca dashboard")


def configuration_problem(profile: AlpacaProfile, environ: dict[str, str] | None = None) -> str | None:
    """Why this Alpaca broker cannot trade ('refused: ...' or 'not configured: ...'), or None when it can."""
    try:
        check_endpoints(profile)
    except EndpointRefused as exc:
        return f"refused: {exc}"
    if find_keys(environ) is None:
        return NOT_CONFIGURED
    return None
