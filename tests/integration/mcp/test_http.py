"""McpToolset over streamable HTTP: the fake FastMCP server under uvicorn on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.config.models_servers import McpServerConfig
from core.errors import ToolError
from tests.integration.mcp.support import by_name, call, fake, http_server, refused, toolset

TOKEN = "Bearer http-secret-0815"


async def test_tools_over_http_with_headers(tmp_path: Path) -> None:
    with http_server() as server:
        config = McpServerConfig(url=server.url, headers={"Authorization": TOKEN}, timeout=1)
        mcp = toolset(tmp_path, docs=config)
        try:
            tools = by_name(await mcp.tools())
            assert tools["docs_add"].parameters["required"] == ["a", "b"]
            assert await call(tools, "docs_add", tmp_path, a=20, b=22) == "42"
            assert await call(tools, "docs_header", tmp_path, name="authorization") == TOKEN
            with pytest.raises(ToolError, match="timed out after 1 s"):
                await call(tools, "docs_slow", tmp_path, seconds=3)
            assert await call(tools, "docs_echo", tmp_path, text="still") == "still"
            [status] = mcp.status()
            assert (status.transport, status.state, status.where) == (
                "http",
                "connected",
                server.url,
            )
        finally:
            await mcp.aclose()


async def test_refused_http_server_leaves_stdio_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret_url = refused(headers={"Authorization": TOKEN})
    mcp = toolset(tmp_path, web=secret_url, local=fake())
    try:
        tools = by_name(await mcp.tools())
        assert not [n for n in tools if n.startswith("web_")]
        assert await call(tools, "local_echo", tmp_path, text="ok") == "ok"
        web = mcp.status()[0]
        assert web.state == "failed" and "cannot connect to http://127.0.0.1:" in web.error
    finally:
        await mcp.aclose()
    assert "MCP server web" in caplog.text and "http-secret-0815" not in caplog.text


async def test_http_server_down_mid_session_then_back(tmp_path: Path) -> None:
    with http_server() as server:
        mcp = toolset(tmp_path, docs=McpServerConfig(url=server.url))
        try:
            tools = by_name(await mcp.tools())
            assert await call(tools, "docs_echo", tmp_path, text="one") == "one"
            server.kill()
            with pytest.raises(ToolError, match="MCP server docs is not running"):
                await call(tools, "docs_echo", tmp_path, text="two")
            with pytest.raises(ToolError, match="MCP server docs is not running: cannot connect"):
                await call(tools, "docs_echo", tmp_path, text="three")
            server.start()  # the same port again
            assert await call(tools, "docs_echo", tmp_path, text="four") == "four"
        finally:
            await mcp.aclose()


def test_url_with_credentials_is_not_shown(tmp_path: Path) -> None:
    config = McpServerConfig(url="http://user:pw-secret-1@127.0.0.1:9/mcp?key=qs-secret-2")
    [status] = toolset(tmp_path, web=config).status()
    assert status.where == "http://127.0.0.1:9/mcp" and status.state == "not started"
