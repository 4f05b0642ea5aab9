"""The console's services in one import, for the pages: each job lives in its own module.

- `console.saved_settings`: the settings file (a pydantic-settings model with a JSON file source)
- `console.keys`: the person's keys in keyring
- `console.broker_connections`: the cached connection manager and the chat assistant
- `console.display`: money and every other value as a person reads it
"""

from __future__ import annotations

from console.broker_connections import (
    agent_settings,
    assistant,
    connections,
    page_painted,
    pending_approvals,
    reset_connections,
    server_lifespan,
    warm_up,
)
from console.display import money
from console.keys import KEYRING_SERVICE, SECRET_NAMES, delete_secret, read_secret, store_secret
from console.saved_settings import data_dir, load_saved, save, settings_path

__all__ = [
    "KEYRING_SERVICE", "SECRET_NAMES", "agent_settings", "assistant", "connections", "data_dir", "delete_secret",
    "load_saved", "money", "page_painted", "pending_approvals", "read_secret", "reset_connections", "save", "server_lifespan", "settings_path",
    "store_secret", "warm_up",
]
