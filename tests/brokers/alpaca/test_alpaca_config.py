"""Whether an Alpaca broker may start: a `kind = "alpaca"` profile, paper endpoints only, keys from the
environment or keyring (never shown)."""

from __future__ import annotations

import keyring
import pytest
from broker_support import ROOT
from keyring.backend import KeyringBackend

from brokers.alpaca.config import (
    KEYRING_KEY_ID,
    KEYRING_SECRET_KEY,
    KEYRING_SERVICE,
    EndpointRefused,
    check_endpoints,
    configuration_problem,
    find_keys,
)
from brokers.profiles import AlpacaProfile, BrokerProfile, ProfileError, load_profiles


def alpaca(**fields) -> AlpacaProfile:
    return AlpacaProfile(**{"id": "alpaca", "kind": "alpaca", "name": "Alpaca (paper)", **fields})


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)


def test_a_profiles_file_mixes_kinds_and_an_alpaca_entry_needs_only_its_name(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text((ROOT / "brokers" / "profiles.toml").read_text()
                    + '\n[[broker]]\nid = "alpaca"\nkind = "alpaca"\nname = "Alpaca (paper)"\n')
    profiles = load_profiles(path)
    assert [p.kind for p in profiles.values()] == ["simulated", "simulated", "alpaca"]
    broker = profiles["alpaca"]
    assert (broker.base_url, broker.data_url) == ("https://paper-api.alpaca.markets", "https://data.alpaca.markets")
    assert broker.commission.per_share == 0 and broker.fee_schedule().startswith("No commission")
    assert isinstance(profiles["tradesphere"], BrokerProfile) and not isinstance(profiles["tradesphere"], AlpacaProfile)


@pytest.mark.parametrize("entry, words", [
    ('kind = "ibkr"', "kind 'ibkr'; the kinds are simulated, alpaca"),
    ('kind = "alpaca"\nbase_url = 5', "base_url"),
    ('kind = "simulated"\nbase_url = "https://paper-api.alpaca.markets"', "base_url"),
])
def test_a_bad_entry_is_refused_naming_it(tmp_path, entry, words):
    path = tmp_path / "profiles.toml"
    path.write_text(f'[[broker]]\nid = "odd"\nname = "Odd"\n{entry}\n')
    with pytest.raises(ProfileError, match=words):
        load_profiles(path)


@pytest.mark.parametrize("url", ["https://paper-api.alpaca.markets", "http://127.0.0.1:8123", "http://localhost:9",
                                 "http://[::1]:80"])
def test_the_paper_endpoint_and_loopback_are_accepted(url):
    check_endpoints(alpaca(base_url=url))


@pytest.mark.parametrize("field, url", [
    ("base_url", "https://api.alpaca.markets"),  # the live endpoint
    ("base_url", "http://paper-api.alpaca.markets"),  # not https
    ("base_url", "https://paper-api.alpaca.markets.example.com"),
    ("data_url", "https://data.example.com"),  # the keys go only to Alpaca
])
def test_anything_else_is_refused_with_the_reason(field, url):
    with pytest.raises(EndpointRefused, match=f"{field} '{url}' is not Alpaca's"):
        check_endpoints(alpaca(**{field: url}))
    assert configuration_problem(alpaca(**{field: url})).startswith("refused: ")


def test_keys_come_from_the_environment_then_keyring_and_never_show():
    assert find_keys({}) is None
    assert configuration_problem(alpaca(), {}).startswith("not configured: no Alpaca API keys (set APCA_API_KEY_ID")
    keys = find_keys({"APCA_API_KEY_ID": "PKENV", "APCA_API_SECRET_KEY": "envsecret"})
    assert (keys.key_id.get_secret_value(), keys.source) == ("PKENV", "environment")
    assert "envsecret" not in repr(keys) and "envsecret" not in str(keys)
    memory = MemoryKeyring()
    keyring.set_keyring(memory)  # the fixture puts the previous backend back
    keyring.set_password(KEYRING_SERVICE, KEYRING_KEY_ID, "PKRING")
    assert find_keys({}) is None  # one half is not a key pair
    keyring.set_password(KEYRING_SERVICE, KEYRING_SECRET_KEY, "ringsecret")
    keys = find_keys({"APCA_API_KEY_ID": "PKENV"})
    assert (keys.key_id.get_secret_value(), keys.secret_key.get_secret_value(), keys.source) == (
        "PKRING", "ringsecret", "keyring")
    assert configuration_problem(alpaca(), {}) is None



def test_the_shipped_alpaca_profiles_file_keeps_the_simulated_brokers_as_they_are():
    with_alpaca = load_profiles(ROOT / "brokers" / "profiles-alpaca.toml")
    simulated = load_profiles(ROOT / "brokers" / "profiles.toml")
    assert {k: v for k, v in with_alpaca.items() if k != "alpaca"} == simulated
    assert with_alpaca["alpaca"] == alpaca()  # the defaults, written out
