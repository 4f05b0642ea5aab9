"""FastAPI gateway: every broker profile over SSE and streamable HTTP, behind API keys."""
