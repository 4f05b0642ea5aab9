"""Console fixtures: an in-memory keyring, and closing the console's cached broker connections after a test."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in a dict, so tests never touch the machine's keyring."""

    priority = 1

    def __init__(self):
        self.store = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def close_connections():
    """Close the console's broker connections (and their subprocesses) when the test ends."""
    yield
    from console import broker_connections

    broker_connections._connections.clear()  # its on_release closes each manager and ends its brokers
