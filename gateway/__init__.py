"""FastAPI gateway: every broker profile over SSE and streamable HTTP, behind API keys."""

__version__ = "0.1.0"


class GatewayError(Exception):
    """Base of the gateway's own errors (bad configuration, an unreadable keys file, a bad key name)."""
