"""Programmatic tool calls: code in the kernel calls MCP servers through generated APIs.

Real MCP servers over stdio: a small FastMCP server written for the tests
(tests/fakes/ptc_server.py) and the published ``mcp-server-time`` from PyPI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core import ApprovalRequest, Response
from core.code import EXECUTE_TOOL, CodeToolset
from core.code.ptc import DIGEST_FILE, PtcServer, generate_apis
from core.config import CodeConfig, McpServerConfig
from tests.integration.code.support import (
    KERNEL_TIMEOUT,
    code_agent,
    code_result,
    of_type,
    ready,
    turn,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[3]
FAKE = ROOT / "tests" / "fakes" / "ptc_server.py"
MEETING = ROOT / "tests" / "fakes" / "mcp_server.py"  # with --touch and --wait-for
TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"
SECRET = "s3cr3t-for-the-server"


def fake_server(log: Path, **env: str) -> McpServerConfig:
    return McpServerConfig(
        command=sys.executable,
        args=[str(FAKE)],
        env={"FACIO_PTC_SECRET": SECRET, "FACIO_PTC_LOG": str(log), **env},
    )


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ptc-log") / "calls.log"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolset(
    tmp_path_factory: pytest.TempPathFactory, log: Path
) -> AsyncIterator[CodeToolset]:
    servers = {
        "fake": fake_server(log),
        "time": McpServerConfig(command=str(TIME_SERVER), args=["--local-timezone", "UTC"]),
    }
    config = CodeConfig(pool_size=1, kernel_init_timeout=KERNEL_TIMEOUT)
    toolset = CodeToolset(config, tmp_path_factory.mktemp("ptc"), ptc_servers=servers)
    await ready(toolset)
    try:
        yield toolset
    finally:
        await toolset.aclose()


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _only_code(request: ApprovalRequest) -> bool:
    return request.tool_name == EXECUTE_TOOL


async def test_apis_are_generated_listed_and_hold_no_secrets(toolset: CodeToolset) -> None:
    package = toolset.paths.ptc_root / "mcptools"
    assert {p.name for p in (package / "fake").glob("*.py")} == {
        "__init__.py",
        "add.py",
        "fail.py",
        "whisper.py",
    }
    assert (package / "time" / "get_current_time.py").is_file()
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert SECRET not in text and str(FAKE) not in text, path
    assert "CLIENT = ToolRunner('fake')" in (package / "fake" / "__init__.py").read_text()
    (execute,) = [t for t in await toolset.tools() if t.name == EXECUTE_TOOL]
    assert "- mcptools.fake.add: Add two integers." in execute.description
    assert "mcptools.time.convert_time" in execute.description


async def test_an_approved_call_from_code_returns_the_servers_answer(
    toolset: CodeToolset, log: Path
) -> None:
    agent = code_agent(toolset, session="ptc:add")
    code = "from mcptools.fake import add\nprint(add.run(add.Params(a=2, b=3)))"
    events = await turn(agent, f"run {code}")
    inner = [r for r in of_type(events, ApprovalRequest) if r.tool_name != EXECUTE_TOOL]
    assert [(r.tool_name, r.tool_args, r.parkable) for r in inner] == [
        ("fake_add", {"a": 2, "b": 3}, False)
    ]
    assert code_result(events).content == "result=5"
    assert "add 2 3" in calls(log)


async def test_a_rejected_call_never_reaches_the_server(toolset: CodeToolset, log: Path) -> None:
    agent = code_agent(toolset, session="ptc:reject")
    code = "from mcptools.fake import add\nprint(add.run(add.Params(a=7, b=8)))"
    events = await turn(agent, f"run {code}", answer=_only_code)
    assert "ApprovalRejectedError" in code_result(events).content
    assert isinstance(events[-1], Response) and events[-1].content.startswith("Rejected")
    assert "fake_add" in events[-1].content
    assert "add 7 8" not in calls(log)


async def test_the_published_time_server_answers_over_stdio(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, session="ptc:time")
    code = (
        "import json\nfrom mcptools.time import get_current_time as t\n"
        "r = json.loads(t.run(t.Params(timezone='Europe/Berlin')))\n"
        "print(r['timezone'], r['datetime'][:2])"
    )
    events = await turn(agent, f"run {code}")
    inner = [r for r in of_type(events, ApprovalRequest) if r.tool_name != EXECUTE_TOOL]
    assert [(r.tool_name, r.tool_args) for r in inner] == [
        ("time_get_current_time", {"timezone": "Europe/Berlin"})
    ]
    assert code_result(events).content == "Europe/Berlin 20"


async def test_the_servers_secret_stays_in_the_host(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, session="ptc:secret", allow=("fake_*",))  # a rule: no asking
    code = (
        "import os\nfrom mcptools.fake import whisper\n"
        "print(whisper.run(whisper.Params()).result)\nprint(os.environ.get('FACIO_PTC_SECRET'))"
    )
    events = await turn(agent, f"run {code}")
    assert [r.tool_name for r in of_type(events, ApprovalRequest)] == [EXECUTE_TOOL]
    assert code_result(events).content == f"secret={SECRET}\nNone"


async def test_a_failing_servers_secret_reaches_neither_the_code_nor_the_log(
    toolset: CodeToolset, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    agent = code_agent(toolset, session="ptc:fail", allow=("fake_*",))
    events = await turn(agent, "run from mcptools.fake import fail\nfail.run(fail.Params())")
    result = code_result(events)
    assert result.is_error and "fake.fail failed: " in result.content
    assert "the token *** was refused" in result.content
    for _ in range(100):  # its stderr reaches the log through a pipe, redacted
        if "mcp server fake: fail: using ***" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "mcp server fake: fail: using ***" in caplog.text
    assert SECRET not in result.content
    assert SECRET not in caplog.text
    assert SECRET not in capfd.readouterr().err  # not the host's stderr either


async def test_code_cannot_make_the_host_start_another_server(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, session="ptc:evil")
    code = (
        "from facio_kernel import ToolRunner\n"
        "runner = ToolRunner('evil', {'command': 'touch', 'args': ['pwned']})\n"
        "runner.run_sync('anything', {})"
    )
    events = await turn(agent, f"run {code}")
    assert [r.tool_name for r in of_type(events, ApprovalRequest)] == [EXECUTE_TOOL]
    assert "no MCP server named 'evil' is configured" in code_result(events).content
    assert not (toolset.paths.session_dir("ptc:evil") / "pwned").exists()
    assert not (toolset.paths.workspace / "pwned").exists()


async def test_apis_are_regenerated_only_when_the_tool_list_changes(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    root = tmp_path / "ptc"
    digest = root / "mcptools" / "fake" / DIGEST_FILE
    plain = {"fake": PtcServer.from_config("fake", fake_server(log))}
    modules = await generate_apis(plain, root)
    assert sorted(m.module for m in modules) == ["add", "fail", "whisper"]
    first = digest.read_text()
    written_at = digest.stat().st_mtime_ns
    await generate_apis(plain, root)  # unchanged: kept as it is
    assert digest.stat().st_mtime_ns == written_at
    extra = {"fake": PtcServer.from_config("fake", fake_server(log, FACIO_PTC_EXTRA="1"))}
    modules = await generate_apis(extra, root)
    assert sorted(m.module for m in modules) == ["add", "fail", "shout", "whisper"]
    assert digest.read_text() != first
    assert (root / "mcptools" / "fake" / "shout.py").is_file()
    await generate_apis(plain, root)  # the tool went away again: so does its module
    assert not (root / "mcptools" / "fake" / "shout.py").exists()
    assert sorted(p.name for p in (root / "mcptools").iterdir()) == ["__init__.py", "fake"]


async def test_filters_and_unreachable_servers(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    only_add = fake_server(log).model_copy(update={"enabled_tools": ["add"]})
    servers = {
        "fake": PtcServer.from_config("fake", only_add),
        "down": PtcServer.from_config(
            "down", McpServerConfig(command=str(tmp_path / "no-such-server"), timeout=5)
        ),
    }
    modules = await generate_apis(servers, tmp_path / "ptc")
    assert [(m.server, m.module) for m in modules] == [("fake", "add")]  # "down" left out
    assert not (tmp_path / "ptc" / "mcptools" / "down").exists()
    assert os.path.isfile(tmp_path / "ptc" / "mcptools" / "fake" / "add.py")


async def test_servers_are_reached_at_once_not_one_after_another(tmp_path: Path) -> None:
    def meeting(me: str, other: str) -> PtcServer:
        args = [str(MEETING), "--touch", str(tmp_path / me), "--wait-for", str(tmp_path / other)]
        return PtcServer.from_config(me, McpServerConfig(command=sys.executable, args=args))

    # each answers only once the other has started: one after another, the first never would
    servers = {"one": meeting("one", "two"), "two": meeting("two", "one")}
    modules = await asyncio.wait_for(generate_apis(servers, tmp_path / "ptc"), KERNEL_TIMEOUT)
    assert {m.server for m in modules} == {"one", "two"}
