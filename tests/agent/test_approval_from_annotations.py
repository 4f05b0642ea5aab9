"""Which broker tools wait for the person's approval comes from the tools' own MCP annotations, not a list of names."""

from __future__ import annotations

from types import SimpleNamespace

from mcp import Client
from mcp_types import Tool, ToolAnnotations

from agent.connections import changes_the_book, needs_approval
from brokers.profiles import get_profile
from brokers.runtime import open_engine
from brokers.server import build_server


def run(autonomous: bool) -> SimpleNamespace:
    return SimpleNamespace(context=SimpleNamespace(autonomous=autonomous))


async def test_every_tool_that_is_not_read_only_waits_for_approval_unless_autonomous():
    profile = get_profile("tradesphere")
    async with Client(build_server(profile, open_engine(profile))) as client:
        tools = (await client.list_tools()).tools
    asked = {tool.name for tool in tools if needs_approval(run(False), None, tool)}
    assert asked == {"place_order", "cancel_order", "replace_order", "add_position"}
    assert not [tool.name for tool in tools if needs_approval(run(True), None, tool)]


def test_a_tool_without_annotations_or_with_read_only_unset_counts_as_changing_the_book():
    schema = {"type": "object", "properties": {}}
    assert changes_the_book(Tool(name="new_tool", input_schema=schema))
    assert changes_the_book(Tool(name="vague", input_schema=schema, annotations=ToolAnnotations(title="Vague")))
    assert not changes_the_book(Tool(name="reader", input_schema=schema, annotations=ToolAnnotations(readOnlyHint=True)))
