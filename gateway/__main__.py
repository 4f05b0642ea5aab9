"""`python -m gateway serve [--host 127.0.0.1] [--port 8000]` and `python -m gateway keys create|list|revoke`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import platformdirs

from gateway.keys import SCOPES, KeyStore


def _store() -> KeyStore:
    data = Path(os.environ.get("TRADING_DATA_DIR") or platformdirs.user_data_dir("trading-console"))
    return KeyStore(Path(os.environ.get("GATEWAY_KEYS_FILE") or data / "gateway_keys.json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 only when you mean it)")
    serve.add_argument("--port", type=int, default=8000)
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", choices=SCOPES, default="read")
    keys.add_parser("list")
    revoke = keys.add_parser("revoke")
    revoke.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "serve":
        import uvicorn

        uvicorn.run("gateway.app:app", host=args.host, port=args.port)
        return 0
    store = _store()
    if args.action == "create":
        try:
            key = store.create(args.name, args.scope)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(key)
        print(f"key {args.name!r} ({args.scope}) created; it is shown only this once", file=sys.stderr)
        return 0
    if args.action == "list":
        for key in store.keys():  # noqa: SIM118 (a KeyStore, not a dict)
            print(f"{key.name}\t{key.scope}")
        return 0
    if not store.revoke(args.name):
        print(f"error: no key named {args.name!r}", file=sys.stderr)
        return 2
    print(f"revoked {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
