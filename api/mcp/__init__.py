"""The Model Context Protocol server: the policy tools for AI assistants, over stdio and streamable HTTP.

- ``tools``: the tools, resources and their results (the official ``mcp`` package's ``MCPServer``)
- ``http``: the ``/mcp`` endpoint of ``rag serve``, authenticated like every ``/v1`` route
"""

__all__: list[str] = []
