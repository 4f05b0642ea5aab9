"""The broker side: paper-trading domain, engine, persistence, market data and the MCP servers.

Nothing here imports agent/, gateway/ or streamlit.
"""
