"""Remote mode asks the gateway which brokers it serves, so a broker only the gateway knows is still reachable."""

from __future__ import annotations

from gateway_process import GatewayProcess, free_port, process_env
from market_times import OPEN
from pydantic import SecretStr

from agent.connections import BrokerConnections
from agent.settings import DEFAULT_PROFILES, AgentSettings, BrokerEntry, configured_brokers

KEY = "agent-gateway-list-key-" + "0123456789ab"
THIRD = """
[[broker]]
id = "nimbus"
name = "Nimbus Markets"
specialty = "Only the gateway knows this one"
fill_latency_ms = 50
fractional_shares = true
starting_cash = "5000"
[broker.commission]
per_share = "0.01"
minimum = "2.00"
max_pct_of_value = "2"
"""


def test_remote_mode_lists_and_trades_on_the_gateways_own_brokers(tmp_path):
    """The gateway serves three brokers; the agent's local profiles name two; the agent connects to all three."""
    profiles = tmp_path / "gateway-profiles.toml"
    profiles.write_text(DEFAULT_PROFILES.read_text(encoding="utf-8") + THIRD, encoding="utf-8")
    port = free_port()
    env = process_env(API_KEY=KEY, TRADING_DATA_DIR=str(tmp_path / "gateway-data"), TRADING_NOW=OPEN,
                      TRADING_PROFILES=str(profiles))
    with GatewayProcess(["python", "-m", "gateway", "serve", "--port", str(port)], env, tmp_path / "gw.log", port) as gw:
        settings = AgentSettings(gateway_url=gw.url, gateway_transport="streamable-http", api_key=SecretStr(KEY),
                                 data_dir=tmp_path / "agent-data")
        assert configured_brokers(settings) == [BrokerEntry("tradesphere", "TradeSphere"),
                                                BrokerEntry("velocity", "VelocityBrokers"),
                                                BrokerEntry("nimbus", "Nimbus Markets")]
        connections = BrokerConnections(settings)
        try:
            connections.start()
            assert {s.id: s.state for s in connections.statuses()} == {
                "tradesphere": "connected", "velocity": "connected", "nimbus": "connected"}
            order = connections.call("nimbus", "place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
            assert order["status"] == "filled" and order["broker"] == "nimbus"
        finally:
            connections.close()
        assert KEY not in gw.log()


def test_an_unreachable_gateway_falls_back_to_the_local_profiles(tmp_path):
    """Nothing listens on the port: the local broker list is used, so each broker can show its own error."""
    settings = AgentSettings(gateway_url=f"http://127.0.0.1:{free_port()}", api_key=SecretStr(KEY),
                             data_dir=tmp_path)
    assert [b.id for b in configured_brokers(settings)] == ["tradesphere", "velocity"]


def test_local_mode_reads_the_profiles_file(tmp_path):
    """Without a gateway the profiles file decides, and no request is made."""
    profiles = tmp_path / "p.toml"
    profiles.write_text(DEFAULT_PROFILES.read_text(encoding="utf-8") + THIRD, encoding="utf-8")
    settings = AgentSettings(profiles_path=profiles, data_dir=tmp_path)
    assert [b.id for b in configured_brokers(settings)] == ["tradesphere", "velocity", "nimbus"]
