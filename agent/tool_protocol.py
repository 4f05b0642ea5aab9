"""How the agent names broker tool calls and marks a refused one, in one place.

Tool names are the SDK's server-prefixed names, `mcp_<broker id>__<tool>`; a call the person
rejected comes back to the model with `REJECTED_BY_USER` in its output.
"""

from __future__ import annotations

import re

REJECTED_BY_USER = "REJECTED_BY_USER"
_TOOL_NAME = re.compile(r"^mcp_(?P<server>.+?)__(?P<tool>.+)$")


def tool_name(broker_id: str, tool: str) -> str:
    """('tradesphere', 'place_order') -> 'mcp_tradesphere__place_order'."""
    return f"mcp_{broker_id}__{tool}"


def split_tool_name(name: str) -> tuple[str, str]:
    """'mcp_tradesphere__place_order' -> ('tradesphere', 'place_order'); a name without the prefix -> ('', name)."""
    match = _TOOL_NAME.match(name)
    return (match["server"], match["tool"]) if match else ("", name)
