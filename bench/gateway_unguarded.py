"""The gateway's own app with each broker mount's auth layer (BrokerGuard) taken off: the baseline for
the gateway load figure. Same routes, same MCP servers, same transport security, no key check, scope
check, rate limit or audit. `uvicorn bench.gateway_unguarded:app` (bench use only, never serve this)."""

from __future__ import annotations

from starlette.routing import Mount

import gateway.app as gateway_app
from gateway.app import BrokerGuard


def without_auth(app):
    """`app` with every guarded mount pointing straight at the broker app the guard wraps."""
    unwrapped = 0
    for route in app.router.routes:
        if isinstance(route, Mount) and isinstance(route.app, BrokerGuard):
            route.app = route.app.app
            unwrapped += 1
    if not unwrapped:
        raise RuntimeError("no BrokerGuard mount found in the gateway app: the baseline would not be the same mounts")
    return app


app = without_auth(gateway_app.app)
