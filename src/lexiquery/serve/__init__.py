"""The HTTP edge: FastAPI routers (and, later, the app factory, A2A and MCP adapters)."""
