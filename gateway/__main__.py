"""`python -m gateway serve [--host 127.0.0.1] [--port N] [--workers N]` and `python -m gateway keys create|list|revoke`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from gateway.keys import ENV_KEY_NAME, KeyStore, KeyStoreError, Scope
from gateway.settings import GatewaySettings, get_settings

log = logging.getLogger("gateway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="The trading gateway and its API keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway (uvicorn)")
    serve.add_argument("--host", help="bind address (default GATEWAY_HOST or 127.0.0.1; 0.0.0.0 only when you mean it)")
    serve.add_argument("--port", type=int, help="port (default GATEWAY_PORT, PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default GATEWAY_WORKERS or 1); more than one "
                                                   "serves streamable HTTP only (SSE answers 503) and counts the "
                                                   "memory rate limit per worker")
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="make a key, print it once, store only its hash")
    create.add_argument("--name", required=True, help="who holds it (what the audit log records)")
    create.add_argument("--scope", choices=[s.value for s in Scope], required=True,
                        help="read: read tools only; trade: also place_order, cancel_order, add_position")
    keys.add_parser("list", help="names and scopes of the keys (never the keys)")
    revoke = keys.add_parser("revoke", help="remove a key: it gets 401 from then on")
    revoke.add_argument("name")
    return parser


def _serve(settings: GatewaySettings, host: str | None, port: int | None, workers: int | None) -> int:
    import uvicorn

    host = host or settings.host
    if host in ("0.0.0.0", "::"):
        log.warning("listening on every interface (%s): keep API keys secret and the Host allowlist tight", host)
    workers = settings.workers if workers is None else workers
    if workers < 1:
        print(f"error: --workers must be 1 or more; got {workers}", file=sys.stderr)
        return 2
    if workers > 1:
        os.environ["GATEWAY_WORKERS"] = str(workers)  # each worker process builds its app from the environment
        log.warning("%d workers: SSE (/<broker>/sse) answers 503, since a session lives in one worker while its "
                    "messages reach any of them; streamable HTTP (/<broker>/mcp) is served by every worker", workers)
        if settings.rate_limit_storage.startswith("memory"):
            log.warning("%d workers with the in-memory rate limit: each worker counts %s per key on its own, so a key "
                        "may make up to %d times that; GATEWAY_RATE_LIMIT_STORAGE=redis://... makes it one budget",
                        workers, settings.rate_limit, workers)
    uvicorn.run("gateway.app:app", host=host, port=port or settings.port, workers=workers)
    return 0


def _keys(settings: GatewaySettings, args: argparse.Namespace) -> int:
    store = KeyStore(settings.keys_path, settings.api_key)
    if args.action == "create":
        key = store.create(args.name, args.scope)
        print(key)
        print(f"created key {args.name!r} ({args.scope}) in {store.path}; this is the only time it is shown",
              file=sys.stderr)
        return 0
    if args.action == "list":
        for record in store.known():
            source = "environment" if record.name == ENV_KEY_NAME else f"created {record.created}"
            print(f"{record.name}\t{record.scope}\t{source}")
        return 0
    if not store.revoke(args.name):
        print(f"error: no key named {args.name!r} in {store.path}", file=sys.stderr)
        return 2
    print(f"revoked {args.name}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.workers)
        return _keys(settings, args)
    except ValidationError as exc:
        print(f"error: bad gateway setting: {'; '.join(e['msg'] for e in exc.errors())}", file=sys.stderr)
        return 2
    except KeyStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
