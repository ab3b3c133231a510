"""McpToolset over stdio with real server processes: listing, calls, failures, clean-up."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from core.errors import ToolError
from core.mcp import McpToolset
from core.mcp.names import exposed_name
from tests.fakes.mcp_server import LONG_NAME
from tests.integration.mcp.support import (
    START,
    by_name,
    call,
    children,
    fake,
    gone,
    refused,
    toolset,
)

SECRET = "tok-very-secret-4711"


async def test_tools_are_listed_with_schemas_and_called(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        tools = by_name(await mcp.tools())
        assert {"fake_echo", "fake_add", "fake_place_order", "fake_pid"} <= set(tools)
        add = tools["fake_add"]
        assert add.description == "Add two integers."
        assert add.parameters["type"] == "object"
        assert add.parameters["required"] == ["a", "b"]
        assert add.parameters["properties"]["a"]["type"] == "integer"
        order = tools["fake_place_order"].parameters
        assert order["properties"]["order"] == {"$ref": "#/$defs/Order"}
        assert "Item" in order["$defs"]

        assert await call(tools, "fake_echo", tmp_path, text="héllo") == "héllo"
        assert await call(tools, "fake_add", tmp_path, a=2, b=40) == "42"
        placed = await call(
            tools,
            "fake_place_order",
            tmp_path,
            order={"customer": "Ann", "items": [{"name": "tea", "qty": 2}]},
        )
        assert placed == "order for Ann: 2x tea"
        assert mcp.real_name("fake_add") == ("fake", "add")
        assert await mcp.tools() is await mcp.tools()  # connected once, cached
    finally:
        await mcp.aclose()


async def test_arguments_checked_cheaply_then_by_the_server(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        tools = by_name(await mcp.tools())
        with pytest.raises(ToolError, match=r"invalid arguments for fake_add: missing .*: b"):
            tools["fake_add"].validate({"a": 1})
        with pytest.raises(ToolError, match="qty"):  # nested: the server's own validation
            await call(
                tools,
                "fake_place_order",
                tmp_path,
                order={"customer": "Ann", "items": [{"name": "tea", "qty": 0}]},
            )
        with pytest.raises(ToolError, match="kaput"):  # isError result
            await call(tools, "fake_fail", tmp_path, message="kaput")
        assert await call(tools, "fake_echo", tmp_path, text="still fine") == "still fine"
    finally:
        await mcp.aclose()


async def test_invalid_tool_names_are_sanitized_and_mapped(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        tools = by_name(await mcp.tools())
        dotted = exposed_name("fake", "dotted.name")
        long = exposed_name("fake", LONG_NAME)
        assert dotted.startswith("fake_dotted_name_") and dotted in tools
        assert len(long) == 64 and long in tools
        assert mcp.real_name(dotted) == ("fake", "dotted.name")
        assert mcp.real_name(long) == ("fake", LONG_NAME)
        assert await call(tools, dotted, tmp_path) == "dotted"
        assert await call(tools, long, tmp_path) == "long"
    finally:
        await mcp.aclose()


async def test_enabled_and_excluded_tools(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    mcp = toolset(
        tmp_path,
        only=fake(enabledTools=["echo", "add", "nonsense"]),
        some=fake(excludedTools=["touch", "missing_one"]),
    )
    try:
        names = set(by_name(await mcp.tools()))
        assert {n for n in names if n.startswith("only_")} == {"only_echo", "only_add"}
        assert "some_touch" not in names and "some_echo" in names
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("MCP server only" in w and "nonsense" in w for w in warnings)
        assert any("MCP server some" in w and "missing_one" in w for w in warnings)
    finally:
        await mcp.aclose()


async def test_environment_is_minimal_plus_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACIO_TEST_HOST_SECRET", "host-only")
    monkeypatch.setenv("LANG", "C.UTF-8")
    mcp = toolset(tmp_path, fake=fake(env={"FAKE_TOKEN": SECRET}))
    try:
        tools = by_name(await mcp.tools())
        names = (await call(tools, "fake_env_names", tmp_path)).split(",")
        assert "FACIO_TEST_HOST_SECRET" not in names
        assert {"PATH", "HOME", "LANG", "FAKE_TOKEN"} <= set(names)
        assert await call(tools, "fake_getenv", tmp_path, name="FAKE_TOKEN") == SECRET
        assert await call(tools, "fake_getenv", tmp_path, name="LANG") == "C.UTF-8"
    finally:
        await mcp.aclose()


async def test_no_secrets_in_logs_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mcp = toolset(
        tmp_path,
        fake=fake("--say-env", "FAKE_TOKEN", env={"FAKE_TOKEN": SECRET}),
        broken=fake("--crash", "--say-env", "FAKE_TOKEN", env={"FAKE_TOKEN": SECRET}),
        web=refused(headers={"Authorization": f"Bearer {SECRET}"}),
    )
    try:
        tools = by_name(await mcp.tools())
        with pytest.raises(ToolError) as failed:
            await call(tools, "fake_fail", tmp_path, message=f"leaking {SECRET}")
        assert SECRET not in str(failed.value) and "leaking ***" in str(failed.value)
        statuses = {s.name: s for s in mcp.status()}
    finally:
        await mcp.aclose()
    stderr = [r.getMessage() for r in caplog.records if r.name == "core.mcp.stderr"]
    assert "mcp server fake: FAKE_TOKEN=***" in stderr  # the server's stderr is in the log
    assert caplog.records and SECRET not in caplog.text
    assert all(SECRET not in repr(s) for s in statuses.values())


async def test_failing_servers_leave_the_others_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    mcp = toolset(
        tmp_path,
        nocmd=fake().model_copy(update={"command": "facio-no-such-server"}),
        crash=fake("--crash"),
        refused=refused(),
        good=fake(),
    )
    try:
        tools = by_name(await mcp.tools())
        assert {n.split("_")[0] for n in tools} == {"good"}
        assert await call(tools, "good_echo", tmp_path, text="ok") == "ok"
        status = {s.name: s for s in mcp.status()}
        assert status["good"].state == "connected"
        assert "command not found" in status["nocmd"].error
        assert "exited" in status["crash"].error and "crash requested" in status["crash"].error
        assert "cannot connect to http://127.0.0.1:" in status["refused"].error
        assert {s.state for n, s in status.items() if n != "good"} == {"failed"}
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for name in ("nocmd", "crash", "refused"):
            assert f"MCP server {name} " in logged
    finally:
        await mcp.aclose()


async def test_a_server_that_never_answers_times_out_at_start(tmp_path: Path) -> None:
    mcp = McpToolset({"hang": fake("--hang")}, workspace=tmp_path, connect_timeout=3)
    try:
        assert await mcp.tools() == ()
        [status] = mcp.status()
        assert status.state == "failed" and "did not answer within 3 s" in status.error
        assert children("--hang") == []
    finally:
        await mcp.aclose()


async def test_a_server_that_failed_to_start_is_tried_again_later(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.touch()
    servers = {"fake": fake("--crash-if", str(broken))}
    patient = McpToolset(servers, workspace=tmp_path, connect_timeout=START, retry_after=3600)
    eager = McpToolset(servers, workspace=tmp_path, connect_timeout=START, retry_after=0)
    try:
        assert await patient.tools() == () and await eager.tools() == ()
        broken.unlink()
        assert await patient.tools() == ()  # not due yet
        assert "fake_echo" in by_name(await eager.tools())
        assert eager.status()[0].state == "connected"
    finally:
        await patient.aclose()
        await eager.aclose()


async def test_timeout_is_a_tool_error_and_the_session_stays_usable(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake(timeout=1))
    try:
        tools = by_name(await mcp.tools())
        with pytest.raises(ToolError, match=r"MCP server fake: slow timed out after 1 s"):
            await call(tools, "fake_slow", tmp_path, seconds=5)
        assert await call(tools, "fake_echo", tmp_path, text="after") == "after"
    finally:
        await mcp.aclose()


async def test_a_cancelled_call_leaves_the_session_usable(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        tools = by_name(await mcp.tools())
        slow = asyncio.create_task(call(tools, "fake_slow", tmp_path, seconds=1.5))
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await call(tools, "fake_echo", tmp_path, text="next") == "next"
        await asyncio.sleep(1.5)  # the late answer to the cancelled call arrives and is dropped
        assert await call(tools, "fake_add", tmp_path, a=1, b=1) == "2"
    finally:
        await mcp.aclose()


async def test_killed_server_errors_then_reconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    mcp = toolset(tmp_path, fake=fake(), other=fake())
    try:
        tools = by_name(await mcp.tools())
        pid = int(await call(tools, "fake_pid", tmp_path))
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        with pytest.raises(ToolError, match=r"MCP server fake is not running: .*exited"):
            await call(tools, "fake_echo", tmp_path, text="lost")
        assert await call(tools, "other_echo", tmp_path, text="unaffected") == "unaffected"
        assert await call(tools, "fake_echo", tmp_path, text="back") == "back"
        new_pid = int(await call(tools, "fake_pid", tmp_path))
        assert new_pid != pid and gone(pid)
        assert any("MCP server fake stopped" in r.getMessage() for r in caplog.records)
    finally:
        await mcp.aclose()
    assert gone(new_pid)


async def test_each_call_tries_one_restart(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    mcp = toolset(tmp_path, fake=fake("--crash-if", str(broken)))
    try:
        tools = by_name(await mcp.tools())
        pid = int(await call(tools, "fake_pid", tmp_path))
        broken.touch()  # from now on the server crashes at start
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        with pytest.raises(ToolError, match=r"MCP server fake is not running: .*exited"):
            await call(tools, "fake_echo", tmp_path, text="x")
        with pytest.raises(ToolError, match=r"not running: .*crash requested"):
            await call(tools, "fake_echo", tmp_path, text="x")
        assert mcp.status()[0].state == "failed"
        broken.unlink()
        assert await call(tools, "fake_echo", tmp_path, text="again") == "again"
        assert mcp.status()[0].state == "connected"
    finally:
        await mcp.aclose()


async def test_images_are_saved_in_the_workspace(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        tools = by_name(await mcp.tools())
        text = await call(tools, "fake_picture", tmp_path)
        assert text.startswith("[image image/png, 70 B, saved to ")
        shown = text.removeprefix("[image image/png, 70 B, saved to ").rstrip("]")
        assert shown.startswith(".facio/mcp/fake/")  # relative: no server path shown
        saved = tmp_path / shown
        assert saved.read_bytes().startswith(b"\x89PNG")
    finally:
        await mcp.aclose()


async def test_aclose_stops_every_server_process(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, a=fake(), b=fake())
    tools = by_name(await mcp.tools())
    pids = [int(await call(tools, f"{name}_pid", tmp_path)) for name in ("a", "b")]
    assert all(not gone(pid) for pid in pids)
    await mcp.aclose()
    assert all(gone(pid) for pid in pids)
    await mcp.aclose()  # twice is fine
    assert await mcp.tools() == ()
    with pytest.raises(ToolError, match="closed"):
        await call(tools, "a_echo", tmp_path, text="x")


async def test_fresh_toolset_has_its_own_processes(tmp_path: Path) -> None:
    parent = toolset(tmp_path, fake=fake())
    child = parent.fresh()
    try:
        first = int(await call(by_name(await parent.tools()), "fake_pid", tmp_path))
        second = int(await call(by_name(await child.tools()), "fake_pid", tmp_path))
        assert first != second
        await child.aclose()
        assert gone(second) and not gone(first)
    finally:
        await parent.aclose()
