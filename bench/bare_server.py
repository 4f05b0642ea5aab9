"""The baseline server: a bare MCP SDK server with one no-op tool, on the same transports as a broker.

`python -m bench.bare_server [--transport stdio|sse|streamable-http] [--port N]` (HTTP on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import logging
import sys

from mcp.server.mcpserver import MCPServer


def build_bare_server() -> MCPServer:
    server = MCPServer(name="bare", log_level="WARNING")  # as the brokers run: no access log lines

    @server.tool()
    def noop() -> str:
        """Does nothing: what a tool round trip costs without any broker work."""
        return "ok"

    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_server", description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = build_bare_server()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)  # stdout is the protocol on stdio
    if args.transport == "stdio":
        server.run(transport="stdio")
    else:
        server.run(transport=args.transport, host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
