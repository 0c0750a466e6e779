"""The MCP server through the ``mcp`` package's own client: streamable HTTP at ``/mcp`` of a live app,
and stdio from ``rag mcp`` as a subprocess. The caller's access groups apply to every tool."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from typer.testing import CliRunner

from api.app import create_app
from ingest.embedding import Embedder
from rag.cli import app as cli
from rag.wiring import build_services
from tests.conftest import make_settings
from tests.support.live_server import LiveServer

HR_DOC = "---\naccess_groups: [hr]\n---\n# Salary review\n\nThe quillfeather bonus pool is 4 percent of payroll.\n"
OPEN_DOC = "# Canteen\n\nThe canteen serves lunch from noon until two in the afternoon.\n"
HR_QUESTION = "How big is the quillfeather bonus pool?"
TOOLS = {"ask_policies", "search_policies", "list_indexes"}


def _build_acl_index(data_dir: Path, embedder: Embedder, src: Path) -> None:
    """Index ``acl`` (the default index here): ``open.md`` (everyone) and ``pay.md`` (hr only), built and live."""
    src.mkdir()
    (src / "open.md").write_text(OPEN_DOC)
    (src / "pay.md").write_text(HR_DOC)
    services = build_services(_settings(data_dir), embedder=embedder)
    try:
        services.documents.set_source("acl", src)
        services.builder.build("acl", src, promote=True)
    finally:
        services.close()


def _settings(data_dir: Path, **overrides: Any) -> Any:
    return make_settings(data_dir, worker_enabled=False, default_index="acl", **overrides)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("mcp")
    target = root / "data"
    _build_acl_index(target, embedder, root / "acl-src")
    yield target
    shutil.rmtree(root, ignore_errors=True)


class Server:
    def __init__(self, live: LiveServer, keys: dict[str, str]) -> None:
        self.url = live.url + "/mcp"
        self.keys = keys


@pytest.fixture(scope="module")
def server(data_dir: Path, embedder: Embedder) -> Iterator[Server]:
    settings = _settings(data_dir, public_url="https://policies.example.com")
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with LiveServer(app) as live:
        keys = app.state.services.keys
        made = {
            "hr": keys.create("mcp-hr", "employee", ["hr"], []).secret,
            "outsider": keys.create("mcp-outsider", "employee", ["sales"], []).secret,
        }
        yield Server(live, made)


@asynccontextmanager
async def _client(url: str, key: str) -> AsyncIterator[Client]:
    """The ``mcp`` client over streamable HTTP, sending ``key`` as its bearer credentials."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def _structured(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def _error_text(result: CallToolResult) -> str:
    assert result.is_error
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


async def _session_checks(client: Client) -> dict[str, Any]:
    """Everything one caller sees through the tools (run on both transports)."""
    tools = await client.list_tools()
    seen: dict[str, Any] = {"tools": {t.name: t for t in tools.tools}}
    seen["indexes"] = _structured(await client.call_tool("list_indexes", {}))
    seen["ask"] = _structured(
        await client.call_tool("ask_policies", {"question": "When does the canteen serve lunch?"})
    )
    seen["hr_ask"] = _structured(await client.call_tool("ask_policies", {"question": HR_QUESTION, "index": "acl@1"}))
    seen["search"] = _structured(
        await client.call_tool("search_policies", {"query": "quillfeather bonus pool", "index": "acl", "top_k": 5})
    )
    seen["resources"] = [r.uri for r in (await client.list_resources()).resources]
    seen["bad_top_k"] = await client.call_tool("search_policies", {"query": "leave", "top_k": 0})
    seen["bad_index"] = await client.call_tool("ask_policies", {"question": "leave?", "index": "no-such-index"})
    seen["empty"] = await client.call_tool("ask_policies", {"question": "   "})
    lunch = "When does the canteen serve lunch?"
    seen["as_of_now"] = _structured(
        await client.call_tool("ask_policies", {"question": lunch, "as_of": datetime.now(UTC).isoformat()})
    )
    seen["as_of_before"] = await client.call_tool("ask_policies", {"question": lunch, "as_of": "2001-01-01"})
    seen["missing"] = await client.call_tool("search_policies", {})
    seen["after_errors"] = _structured(await client.call_tool("list_indexes", {}))
    return seen


def test_http_tools_for_an_hr_employee(server: Server) -> None:
    async def run() -> dict[str, Any]:
        async with _client(server.url, server.keys["hr"]) as client:
            seen = await _session_checks(client)
            text = await client.read_resource("policy://acl/1/pay.md")
            seen["pay"] = text.contents[0]
            return seen

    seen = anyio.run(run)
    assert set(seen["tools"]) == TOOLS
    assert all(len(t.description or "") > 80 for t in seen["tools"].values())  # written for an assistant to pick
    assert "question" in seen["tools"]["ask_policies"].input_schema["required"]
    indexes = {i["name"]: i for i in seen["indexes"]["result"]}
    assert indexes["acl"]["live_version"] == 1 and indexes["acl"]["versions"] == 1
    ask = seen["ask"]
    assert not ask["refused"] and ask["index"] == "acl" and ask["version"] == 1 and ask["citations"]
    first = ask["citations"][0]
    assert first["doc_id"] == "open.md" and "noon" in ask["answer"]
    assert first["link"].startswith("https://policies.example.com/view?index=acl&version=1&doc=open.md&chunk=")
    assert first["resource"] == "policy://acl/1/open.md"
    hr = seen["hr_ask"]
    assert "4 percent" in hr["answer"] and hr["citations"][0]["doc_id"] == "pay.md"
    assert seen["search"]["passages"][0]["doc_id"] == "pay.md"
    assert "policy://acl/1/pay.md" in seen["resources"]
    assert "quillfeather bonus pool is 4 percent" in seen["pay"].text
    assert "top_k" in _error_text(seen["bad_top_k"])
    assert "index_not_found" in _error_text(seen["bad_index"])
    assert "question" in _error_text(seen["empty"])
    assert "query" in _error_text(seen["missing"])
    assert seen["after_errors"]["result"]  # the session survived every refused call
    as_of = seen["as_of_now"]  # the version live at that moment, and since when
    assert as_of["version"] == 1 and as_of["live_from"] is not None and as_of["live_until"] is None
    assert "noon" in as_of["answer"] and seen["ask"]["live_from"] is None  # only as-of answers say it
    assert "no_version_live_then" in _error_text(seen["as_of_before"])


def test_http_caller_outside_a_group_gets_nothing_from_it(server: Server) -> None:
    async def run() -> dict[str, Any]:
        async with _client(server.url, server.keys["outsider"]) as client:
            seen = await _session_checks(client)
            with pytest.raises(MCPError) as refused:
                await client.read_resource("policy://acl/1/pay.md")
            seen["pay_error"] = str(refused.value)
            return seen

    seen = anyio.run(run)
    assert "document_not_found" in seen["pay_error"]
    assert "quillfeather" not in json.dumps(seen["hr_ask"]) and seen["hr_ask"]["refused"]
    assert all(p["doc_id"] != "pay.md" for p in seen["search"]["passages"])
    assert "policy://acl/1/pay.md" not in seen["resources"] and "policy://acl/1/open.md" in seen["resources"]


def test_http_without_credentials_is_401_in_the_error_shape(server: Server) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    anonymous = httpx.post(server.url, json=body)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    wrong = httpx.post(server.url, json=body, headers={"Authorization": "Bearer rag_0123456789abcdef_" + "x" * 43})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    # stateless: no server-initiated stream to open, no session to end
    stream = httpx.get(server.url, headers={"Accept": "text/event-stream"})
    assert stream.status_code == 405 and stream.json()["error"]["code"] == "method_not_allowed"
    assert httpx.delete(server.url).status_code == 405


@pytest.fixture()
def stdio_data(tmp_path: Path, embedder: Embedder) -> Path:
    """Its own data folder: the stdio server is another process, opening the index itself."""
    target = tmp_path / "data"
    _build_acl_index(target, embedder, tmp_path / "acl-src")
    return target


def test_stdio_tools_act_for_the_key_they_were_started_with(stdio_data: Path, embedder: Embedder) -> None:
    services = build_services(_settings(stdio_data), embedder=embedder)
    try:
        outsider = services.keys.create("stdio-outsider", "employee", ["sales"], []).secret
    finally:
        services.close()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(stdio_data),
        "RAG_EXTRACTIVE_SEMANTIC": "false",
        "RAG_WORKER_ENABLED": "false",
        "RAG_DEFAULT_INDEX": "acl",
        "RAG_KEY": outsider,
    }
    env.pop("RAG_QDRANT_URL", None)
    env.pop("RAG_LLM_MODEL", None)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag.cli", "mcp"], env=env, cwd=str(stdio_data.parent)
    )

    async def run() -> dict[str, Any]:
        async with Client(params) as client:
            return await _session_checks(client)

    seen = anyio.run(run)
    assert set(seen["tools"]) == TOOLS
    assert not seen["ask"]["refused"] and seen["ask"]["citations"]
    assert seen["hr_ask"]["refused"] and "quillfeather" not in json.dumps(seen["hr_ask"])
    assert all(p["doc_id"] != "pay.md" for p in seen["search"]["passages"])
    assert "policy://acl/1/pay.md" not in seen["resources"]
    assert "top_k" in _error_text(seen["bad_top_k"])
    assert "index_not_found" in _error_text(seen["bad_index"])
    assert seen["after_errors"]["result"]


def test_rag_mcp_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    env = {"RAG_DATA_DIR": str(tmp_path / "data"), "RAG_KEY": "", "RAG_WORKER_ENABLED": "false"}
    result = CliRunner().invoke(cli, ["mcp"], env=env)
    assert result.exit_code == 1 and "needs an API key" in result.output
