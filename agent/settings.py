"""Agent-side settings: which model, which brokers, local or gateway, approvals.

Read from the environment (the CLI) or built by the console from its saved settings and keyring.
Secrets live only in `SecretStr` fields and are never logged or echoed.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROFILES = PROJECT_ROOT / "brokers" / "profiles.toml"
GATEWAY_LIST_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


class AgentSettings(BaseSettings):
    """Everything the agent needs to connect and think."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_ignore_empty=True)

    openai_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"))
    model: str = Field(default="gpt-4.1", validation_alias=AliasChoices("TRADING_MODEL", "model"))
    """LLM model name when a key or base URL is configured."""
    gateway_url: str | None = Field(default=None, validation_alias=AliasChoices("TRADING_GATEWAY_URL", "gateway_url"))
    """Remote mode: the gateway's base URL; unset means local stdio subprocesses."""
    gateway_transport: str = Field(default="sse", validation_alias=AliasChoices("TRADING_GATEWAY_TRANSPORT", "gateway_transport"))
    """'sse' or 'streamable-http' for remote mode."""
    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("TRADING_API_KEY", "api_key"))
    """The gateway API key (remote mode)."""
    autonomous: bool = Field(default=False, validation_alias=AliasChoices("TRADING_AUTONOMOUS", "autonomous"))
    """Execute order tools without asking; off by default."""
    default_broker: str = Field(default="tradesphere", validation_alias=AliasChoices("TRADING_DEFAULT_BROKER", "default_broker"))
    max_order_notional: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("TRADING_MAX_ORDER_NOTIONAL", "max_order_notional")
    )
    """Passed to locally spawned brokers as their per-order limit."""
    data_dir: Path | None = Field(default=None, validation_alias=AliasChoices("TRADING_DATA_DIR", "data_dir"))
    profiles_path: Path | None = Field(default=None, validation_alias=AliasChoices("TRADING_PROFILES", "profiles_path"))
    now: str | None = Field(default=None, validation_alias=AliasChoices("TRADING_NOW", "now"))

    @property
    def uses_llm(self) -> bool:
        return self.openai_api_key is not None or bool(self.openai_base_url)

    @property
    def remote(self) -> bool:
        return bool(self.gateway_url)


@dataclass(frozen=True)
class BrokerEntry:
    """A broker to connect to: its id and display name (details come over MCP)."""

    id: str
    name: str


def configured_brokers(settings: AgentSettings) -> list[BrokerEntry]:
    """The brokers to connect to: the gateway's public `GET /brokers` in remote mode (it may serve brokers this
    machine's profiles file does not know), else the profiles file (read as data: the agent never imports the engine).
    An unreachable gateway falls back to the local list, so each broker shows its own connection error."""
    if settings.remote:
        listed = _gateway_brokers(settings.gateway_url)
        if listed:
            return listed
    path = settings.profiles_path or DEFAULT_PROFILES
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return [BrokerEntry(entry["id"], entry.get("name", entry["id"])) for entry in raw.get("broker", [])]


def _gateway_brokers(gateway_url: str) -> list[BrokerEntry]:
    url = gateway_url.rstrip("/") + "/brokers"
    try:
        answer = httpx.get(url, timeout=GATEWAY_LIST_TIMEOUT_S, follow_redirects=True)
        answer.raise_for_status()
        return [BrokerEntry(str(item["id"]), str(item.get("name") or item["id"])) for item in answer.json()]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("could not list the gateway's brokers at %s (%s); using the local profiles", url, type(exc).__name__)
        return []
