"""The console's settings file: a pydantic-settings model over console_settings.json; a bad value is named, never a
crash, and nothing half-valid is written."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from console import saved_settings
from console.saved_settings import ConsoleSettings, SettingsError


def test_no_file_means_the_defaults():
    settings, problems = saved_settings.load()
    assert settings == ConsoleSettings.model_construct(**{n: f.default for n, f in ConsoleSettings.model_fields.items()})
    assert problems == [] and settings.gateway_transport == "sse" and settings.autonomous is False


def test_saved_values_round_trip_and_unknown_keys_are_ignored(trading_env):
    saved_settings.save({"gateway_url": "https://gw.example", "gateway_transport": "streamable-http",
                         "max_order_notional": " 2500 ", "autonomous": True, "not_a_setting": "x"})
    on_disk = json.loads((trading_env / "console_settings.json").read_text())
    assert "not_a_setting" not in on_disk and on_disk["max_order_notional"] == "2500"
    settings, problems = saved_settings.load()
    assert (settings.gateway_url, settings.gateway_transport, settings.max_order_notional, settings.autonomous) == (
        "https://gw.example", "streamable-http", Decimal("2500"), True)
    assert problems == [] and saved_settings.load_saved()["max_order_notional"] == "2500"


def test_a_bad_value_in_the_file_falls_back_to_its_default_by_name(trading_env):
    trading_env.mkdir(parents=True, exist_ok=True)
    (trading_env / "console_settings.json").write_text(json.dumps(
        {"gateway_transport": "carrier-pigeon", "model": "gpt-4.1-mini", "max_order_notional": "lots"}))
    settings, problems = saved_settings.load()
    assert settings.gateway_transport == "sse" and settings.max_order_notional is None
    assert settings.model == "gpt-4.1-mini"  # the good field is kept
    assert any("gateway_transport" in p and "carrier-pigeon" in p for p in problems)
    assert any("max_order_notional" in p and "lots" in p for p in problems)


def test_a_file_that_is_not_json_gives_the_defaults_and_says_so(trading_env):
    trading_env.mkdir(parents=True, exist_ok=True)
    (trading_env / "console_settings.json").write_text("{gateway_url: nope")
    settings, problems = saved_settings.load()
    assert settings.gateway_url == "" and len(problems) == 1 and "not valid JSON" in problems[0]


@pytest.mark.parametrize(("field", "value"), [("max_order_notional", "-5"), ("max_order_notional", "ten"),
                                               ("gateway_transport", "ftp")])
def test_saving_a_bad_value_names_it_and_writes_nothing(trading_env, field, value):
    saved_settings.save({"model": "kept"})
    with pytest.raises(SettingsError, match=field) as refused:
        saved_settings.save({"model": "changed", field: value})
    assert repr(value) in str(refused.value)
    assert json.loads((trading_env / "console_settings.json").read_text())["model"] == "kept"
