"""`python -m brokers serve <id> [--transport stdio|sse|streamable-http --host H --port N]`, `python -m brokers list`,
the kill switch: `python -m brokers halt <id> [--reason TEXT]` / `python -m brokers resume <id>`, and
`python -m brokers launch <id>=<fd> ...` (the local console's brokers from one start-up: brokers/launch.py)."""

from __future__ import annotations

import argparse
import logging
import sys

from brokers.profiles import AlpacaProfile, ProfileError, get_profiles
from brokers.settings import get_settings


def _configure_logging(level: str) -> None:
    # stdout is the MCP protocol on stdio: every log line goes to stderr, plain (no rich boxes).
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("mcp").setLevel(logging.WARNING)


def _list() -> int:
    for profile in get_profiles().values():
        shares = "fractional" if profile.fractional_shares else "whole shares"
        if isinstance(profile, AlpacaProfile):
            from brokers.alpaca.config import configuration_problem, find_keys

            problem = configuration_problem(profile)
            state = problem or f"configured (keys from {find_keys().source})"
            print(f"{profile.id:<14} {profile.name:<18} paper account at Alpaca ({profile.base_url}) | "
                  f"{profile.fee_schedule()} | {shares} | {state}")
            continue
        print(
            f"{profile.id:<14} {profile.name:<18} {profile.specialty} | {profile.commission.describe()} | "
            f"fill ~{profile.fill_latency_ms} ms | {shares} | starts with ${profile.starting_cash:,}"
        )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from brokers.profiles import get_profile
    from brokers.runtime import open_engine
    from brokers.server import build_server

    _configure_logging(args.log_level)
    settings = get_settings()
    profile = get_profile(args.broker)
    if isinstance(profile, AlpacaProfile):
        from brokers.alpaca.config import EndpointRefused, check_endpoints

        try:
            check_endpoints(profile)  # paper only: a live endpoint never gets a server
        except EndpointRefused as exc:
            print(f"error: refused: {exc}", file=sys.stderr)
            return 2
    engine = open_engine(profile, settings, practice_clock=args.practice_clock)
    where = settings.database_url_for(profile.id) if settings.database_url else str(settings.data_dir)
    logging.getLogger("brokers").info("%s data in %s", profile.name, where)
    server = build_server(profile, engine, log_level=args.log_level)
    _configure_logging(args.log_level)  # building the server resets root logging
    if args.transport == "stdio":
        server.run(transport="stdio")
    else:
        server.run(transport=args.transport, host=args.host, port=args.port)
    return 0


def _halt_or_resume(args: argparse.Namespace) -> int:
    """Flip the broker's kill switch in its database: every process serving it sees it on its next order tool call."""
    from datetime import UTC, datetime

    from brokers.controls import set_halted
    from brokers.persistence import BrokerDatabase
    from brokers.profiles import get_profile

    settings = get_settings()
    profile = get_profile(args.broker)
    database = BrokerDatabase(settings.database_url_for(profile.id), profile.id)
    try:
        halted = args.command == "halt"
        reason = (args.reason or "halted by the operator").strip()[:500] if halted else None
        set_halted(database, halted, reason, datetime.now(UTC))
    finally:
        database.dispose()
    if halted:
        print(f"{profile.id} halted: {reason}. Order tools are refused and nothing fills until "
              f"`python -m brokers resume {profile.id}`.")
    else:
        print(f"{profile.id} resumed: order tools work again.")
    return 0


def _channel(text: str) -> tuple[str, int]:
    from brokers.launch import parse_channel

    return parse_channel(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brokers", description="Paper-trading broker MCP servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the broker profiles")
    serve = commands.add_parser("serve", help="run one broker's MCP server")
    serve.add_argument("broker", help="broker id, e.g. tradesphere")
    serve.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="bind address for HTTP transports (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--practice-clock", action="store_true",
                       help="follow the practice clock in the data dir and serve move_practice_clock (the local console)")
    serve.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    launch = commands.add_parser("launch", help="several brokers on stdio channels passed as fds, one forked process "
                                 "each after one shared start-up (the local console, Linux)")
    launch.add_argument("channels", nargs="+", metavar="ID=FD", type=_channel, help="broker id and its socket's fd")
    launch.add_argument("--practice-clock", action="store_true", help="as for serve")
    launch.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    halt = commands.add_parser("halt", help="kill switch: refuse every order tool of a broker, fill nothing")
    halt.add_argument("broker", help="broker id, e.g. tradesphere")
    halt.add_argument("--reason", help="why (repeated in every refusal)")
    resume = commands.add_parser("resume", help="lift a halt")
    resume.add_argument("broker", help="broker id, e.g. tradesphere")
    args = parser.parse_args(argv)
    try:
        if args.command in ("halt", "resume"):
            return _halt_or_resume(args)
        if args.command == "launch":
            from brokers.launch import launch

            return launch(args.channels, args.practice_clock, args.log_level)
        return _list() if args.command == "list" else _serve(args)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
