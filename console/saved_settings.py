"""The console's saved settings (not secrets): one pydantic-settings model read from console_settings.json in the
data dir, so a hand-edited or older file is validated field by field and a bad value is named, never a crash."""

from __future__ import annotations

import json
import logging
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, JsonConfigSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

log = logging.getLogger(__name__)
FILE_NAME = "console_settings.json"


def data_dir() -> Path:
    """Where the brokers' books, the conversations and these settings live (TRADING_DATA_DIR, else the user's)."""
    return Path(os.environ.get("TRADING_DATA_DIR") or platformdirs.user_data_dir("trading-console"))


def settings_path() -> Path:
    return data_dir() / FILE_NAME


class ConsoleSettings(BaseSettings):
    """What the Settings page saves. Read from the JSON file only: the environment is the agent's (AgentSettings)."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    gateway_url: str = ""
    """Remote mode: the gateway's base URL; empty for the local brokers."""
    gateway_transport: Literal["sse", "streamable-http"] = "sse"
    model: str = "gpt-4.1"
    """The LLM model name, used once an OpenAI key or a base URL is set."""
    openai_base_url: str = ""
    autonomous: bool = False
    """Place orders without asking; off unless the person turns it on."""
    max_order_notional: Decimal | None = None
    """The per-order limit passed to the local brokers; empty for none."""
    default_broker: str = "tradesphere"

    @field_validator("max_order_notional", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value is None or str(value).strip() == "" else str(value).strip()

    @field_validator("max_order_notional")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (not value.is_finite() or value <= 0):
            raise ValueError(f"max order value must be a positive amount of dollars, got {value}")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **_other_sources: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, JsonConfigSettingsSource(settings_cls, json_file=settings_path())


class SettingsError(ValueError):
    """A setting the console cannot use; the message names the field and the value."""


def _described(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')} (got {e.get('input')!r})"
            for e in exc.errors()]


def load() -> tuple[ConsoleSettings, list[str]]:
    """The saved settings and what was wrong with the file (each bad field falls back to its default, by name)."""
    try:
        return ConsoleSettings(), []
    except ValidationError as exc:
        problems = _described(exc)
        defaults = {str(e["loc"][0]): ConsoleSettings.model_fields[str(e["loc"][0])].default for e in exc.errors()
                    if e["loc"] and str(e["loc"][0]) in ConsoleSettings.model_fields}
        log.warning("%s: %s; using the defaults for those", settings_path(), "; ".join(problems))
        return ConsoleSettings(**defaults), problems
    except ValueError as exc:  # not JSON at all
        problems = [f"{settings_path().name} is not valid JSON ({exc}); using the defaults"]
        log.warning("%s", problems[0])
        return ConsoleSettings.model_construct(), problems


def load_saved() -> dict:
    """The saved settings as the Settings form shows them (the per-order limit as text, empty for none)."""
    values = load()[0].model_dump()
    values["max_order_notional"] = "" if values["max_order_notional"] is None else str(values["max_order_notional"])
    return values


def save(values: dict) -> ConsoleSettings:
    """Validate and write the settings atomically (never a half-written file); a bad value raises SettingsError,
    naming it, and nothing is written."""
    known = {k: v for k, v in values.items() if k in ConsoleSettings.model_fields}
    try:
        checked = _validated(known)
    except ValidationError as exc:
        raise SettingsError("; ".join(_described(exc))) from None
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(checked.model_dump(mode="json"), indent=2), encoding="utf-8")
    tmp.replace(path)
    return checked


def _validated(values: dict) -> ConsoleSettings:
    """The values as settings, ignoring the file (init arguments win over it, and every field is given)."""
    defaults = {name: field.default for name, field in ConsoleSettings.model_fields.items()}
    return ConsoleSettings(**{**defaults, **values})
