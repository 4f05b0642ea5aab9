"""`python -m agent [--json] [--yes] [--session ID] [--remote URL] "request"`: one request from a terminal.

Exit status: 0 done, 2 bad usage or configuration, 3 orders are waiting for approval (not placed).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from pydantic import SecretStr, ValidationError

from agent.errors import AgentError
from agent.settings import AgentSettings

EXIT_OK, EXIT_USAGE, EXIT_PENDING = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent", description="Trade on the paper brokers in plain English.")
    parser.add_argument("request", nargs="+", help='what you want, e.g. "Buy 10 Apple on TradeSphere"')
    parser.add_argument("--json", action="store_true", help="print one JSON object: reply, tool_calls, pending_approvals, model")
    parser.add_argument("--yes", action="store_true", help="approve pending orders without asking")
    parser.add_argument("--session", metavar="ID", help="keep the conversation under this id (follow-ups work across runs)")
    parser.add_argument("--remote", metavar="URL", help="use the gateway at URL (key from TRADING_API_KEY)")
    parser.add_argument("--transport", choices=["sse", "streamable-http"], help="gateway transport (default sse)")
    parser.add_argument("--autonomous", action="store_true", help="let the agent place orders without approval")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def _settings(args: argparse.Namespace) -> AgentSettings:
    settings = AgentSettings()
    updates: dict = {}
    if args.remote:
        updates["gateway_url"] = args.remote
        key = os.environ.get("TRADING_API_KEY")
        if not key:
            raise AgentError("--remote needs the gateway API key in the TRADING_API_KEY environment variable")
        updates["api_key"] = SecretStr(key)
    if args.transport:
        updates["gateway_transport"] = args.transport
    if args.autonomous:
        updates["autonomous"] = True
    if settings.data_dir is None:
        from platformdirs import user_data_dir

        updates["data_dir"] = user_data_dir("trading-console")
    return settings.model_copy(update=updates)


def _print(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json(), default=str))
        return
    for call in result.tool_calls:
        print(f"  [{call.server}] {call.tool}({json.dumps(call.arguments)})", file=sys.stderr)
    print(result.reply)
    for pending in result.pending_approvals:
        print(f"PENDING {pending.call_id}: {pending.tool} on {pending.broker_name} {json.dumps(pending.arguments)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = _settings(args)
    except (AgentError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from agent.assistant import TradingAssistant
    from agent.connections import BrokerConnections

    try:
        connections = BrokerConnections(settings)
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        connections.start()
        down = [s for s in connections.statuses() if not s.connected]
        for status in down:
            print(f"warning: {status.name} is not connected: {status.last_error}", file=sys.stderr)
        if len(down) == len(connections.statuses()):
            print("error: no broker could be reached", file=sys.stderr)
            return EXIT_USAGE
        assistant = TradingAssistant(connections, settings)
        result = assistant.ask(" ".join(args.request), session_id=args.session)
        while result.pending_approvals:
            if args.yes:
                approve = True
            elif sys.stdin.isatty() and not args.json:
                _print(result, False)
                approve = input("Approve? [y/N] ").strip().lower() in ("y", "yes")
            else:
                _print(result, args.json)
                print("not placed: pending approval (rerun with --yes to approve)", file=sys.stderr)
                return EXIT_PENDING
            result = assistant.decide(args.session, {p.call_id: approve for p in result.pending_approvals})
        _print(result, args.json)
        return EXIT_OK if result.error is None else 1
    finally:
        connections.close()
