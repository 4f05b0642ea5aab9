"""Gateway settings, read once from the environment (pydantic-settings).

`API_KEY` keeps the name the seed's Render setup used; everything else is `GATEWAY_*`. Validation
errors never echo the input: a rejected `API_KEY` must not end up in a deploy log.
"""

from __future__ import annotations

from pathlib import Path

from limits import parse
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from brokers.settings import get_settings as broker_settings

MIN_API_KEY_LENGTH = 16
PLACEHOLDER_KEYS = frozenset({
    "changeme", "change-me", "change_me", "secret", "password", "apikey", "api_key", "api-key",
    "your-api-key", "your_api_key", "your-secret-key", "your_secret_key", "replace-me", "xxxxxxxxxxxxxxxx",
})


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class GatewaySettings(BaseSettings):
    """Everything the gateway reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True, env_ignore_empty=True)

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("API_KEY", "api_key"))
    """One key with trade scope from the environment (API_KEY), as on Render; named `env:API_KEY` in logs."""
    keys_file: Path | None = None
    """The file of hashed, named, scoped keys (GATEWAY_KEYS_FILE); default `<TRADING_DATA_DIR>/gateway_keys.json`."""
    audit_log: str | None = None
    """Where the audit lines go (GATEWAY_AUDIT_LOG): a file path, or `-` for stderr; default
    `<TRADING_DATA_DIR>/gateway_audit.jsonl`."""
    rate_limit: str = "600/minute"
    """Requests per key under the broker routes (GATEWAY_RATE_LIMIT), in `limits` notation, e.g. `10/second`."""
    rate_limit_storage: str = "memory://"
    """A `limits` storage URI (GATEWAY_RATE_LIMIT_STORAGE); memory is per instance, e.g. redis:// is shared."""
    allowed_hosts: str = "127.0.0.1:*,localhost:*,[::1]:*"
    """Host headers the broker routes accept, comma-separated; `name:*` allows any port (GATEWAY_ALLOWED_HOSTS)."""
    allowed_origins: str = "http://127.0.0.1:*,http://localhost:*,http://[::1]:*"
    """Origin headers the broker routes accept (GATEWAY_ALLOWED_ORIGINS); requests without Origin pass."""
    render_external_hostname: str | None = Field(
        default=None, validation_alias=AliasChoices("RENDER_EXTERNAL_HOSTNAME", "render_external_hostname"))
    """Set by Render itself: the service's public host name, allowed automatically."""
    host: str = "127.0.0.1"
    """Bind address for `python -m gateway serve` (GATEWAY_HOST); 0.0.0.0 only when asked."""
    port: int = Field(default=8000, validation_alias=AliasChoices("GATEWAY_PORT", "PORT", "port"))
    """Port for `python -m gateway serve` (GATEWAY_PORT, or PORT as hosting platforms set it)."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest MCP message accepted, in bytes (GATEWAY_MAX_BODY_BYTES); larger gets 413."""
    max_sse_sessions_per_key: int = Field(default=16, ge=1)
    """Open SSE streams one key may hold at once (GATEWAY_MAX_SSE_SESSIONS_PER_KEY); more gets 429."""
    workers: int = Field(default=1, ge=1, le=64)
    """Worker processes (GATEWAY_WORKERS, or `python -m gateway serve --workers N`). With more than one, SSE is
    refused with 503 (a session lives in the worker that opened it, while each message POST reaches whichever
    worker accepts it) and the `memory://` rate limit counts per worker; streamable HTTP is stateless and is
    served by every worker. Set it too when running `uvicorn --workers N` yourself."""
    health_timeout_s: float = Field(default=3.0, gt=0)
    """How long /health waits for each broker's database (GATEWAY_HEALTH_TIMEOUT_S)."""

    @field_validator("api_key")
    @classmethod
    def _real_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if secret.strip().lower() in PLACEHOLDER_KEYS:
            raise ValueError("API_KEY is a placeholder value; set a random key, e.g. "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        if len(secret) < MIN_API_KEY_LENGTH:
            raise ValueError(f"API_KEY is {len(secret)} characters; use at least {MIN_API_KEY_LENGTH} random characters, "
                             "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"GATEWAY_RATE_LIMIT must look like '600/minute' or '10/second'; got {value[:40]!r}") from None
        return value

    @property
    def keys_path(self) -> Path:
        return self.keys_file or broker_settings().data_dir / "gateway_keys.json"

    @property
    def audit_target(self) -> str:
        return self.audit_log or str(broker_settings().data_dir / "gateway_audit.jsonl")

    @property
    def hosts(self) -> list[str]:
        hosts = _csv(self.allowed_hosts)
        if self.render_external_hostname:
            hosts += [self.render_external_hostname, f"{self.render_external_hostname}:*"]
        return hosts

    @property
    def origins(self) -> list[str]:
        origins = _csv(self.allowed_origins)
        if self.render_external_hostname:
            origins.append(f"https://{self.render_external_hostname}")
        return origins


def get_settings() -> GatewaySettings:
    """Settings from the current environment (re-read on each call: tests and the CLI change it)."""
    return GatewaySettings()
