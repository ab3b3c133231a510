"""Subagents through a configured bot: a fresh kernel and fresh MCP connections per child,
its approvals with its ``sub-`` id, its kernel released when it ends."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import psutil

from bots.sdk import Facio
from core import ApprovalRequest, CodeExecutionOutput, Response
from core.code import CodeToolset
from core.config import parse_config
from tests.integration.code.support import SANDBOXED, of_type, turn
from tests.integration.mcp.support import FAKE


def _facio(tmp_path: Path, **extra: object) -> Facio:
    data = {
        "workspace": "ws",
        "agent": {"model": "scripted:code"},
        "bots": {"main": {"preset": "assistant"}},
        "code": {"poolSize": 1},
    }
    data.update(extra)
    return Facio(parse_config(data, base_dir=tmp_path, env={}))


def _toolset(facio: Facio, kind: type) -> object:
    (found,) = [t for t in facio.toolsets if isinstance(t, kind)]
    return found


async def test_a_subagents_code_asks_with_its_sub_id_and_runs_in_a_fresh_kernel(
    tmp_path: Path,
) -> None:
    facio = _facio(tmp_path)
    code = _toolset(facio, CodeToolset)
    assert isinstance(code, CodeToolset)
    try:
        async with facio.agent("api:sub", user="ann") as agent:
            await turn(agent, "run secret = 'parent only'")
            assert (code.sandbox is not None) == SANDBOXED  # the child's kernel is sandboxed too
            events = await turn(agent, "delegate: run print(6*7, 'secret' in globals())")
        requests = of_type(events, ApprovalRequest)
        # subagent_task itself is allowed by the preset; the child's code asks
        assert [(r.tool_name, r.parkable) for r in requests] == [
            ("ipybox_execute_ipython_cell", False)
        ]
        child = requests[0].agent_id
        assert child.startswith("sub-")
        outputs = [o for o in of_type(events, CodeExecutionOutput) if o.agent_id == child]
        # 42, and the parent's variable is not there: the child had a kernel of its own
        assert [o.text.strip() for o in outputs] == ["42 False"]
        last = events[-1]
        assert isinstance(last, Response) and last.agent_id == "main"
        assert "42 False" in last.content
        # the child's kernel was released; the parent's lives on
        assert ("api:sub", child) not in code.pool.assigned_keys()
        assert ("api:sub", "main") in code.pool.assigned_keys()
    finally:
        await facio.aclose()


async def test_a_rejected_subagent_action_never_runs(tmp_path: Path) -> None:
    facio = _facio(tmp_path)
    marker = tmp_path / "ws" / "sessions" / "child-wrote-this"
    try:
        async with facio.agent("api:sub") as agent:
            events = await turn(
                agent, f"delegate: run open({str(marker)!r}, 'w').write('x')", answer=False
            )
        assert not marker.exists()
        last = events[-1]
        assert isinstance(last, Response) and last.content.startswith("Rejected")
    finally:
        await facio.aclose()


PID_SCRIPT = {
    "rules": [
        {
            "on": "user",
            "match": "delegate: (?P<task>.+)",
            "toolCalls": [{"name": "subagent_task", "arguments": {"prompt": "\\g<task>"}}],
        },
        {"on": "user", "match": "pid", "toolCalls": [{"name": "fake_pid"}]},
        {"on": "tool", "tool": "fake_pid", "match": "(\\d+)", "text": "\\1"},
        {"on": "tool", "tool": "subagent_task", "match": "(\\d+)", "text": "\\1"},
    ]
}


async def test_each_subagent_gets_fresh_mcp_connections(tmp_path: Path) -> None:
    script = tmp_path / "pid.json"
    script.write_text(json.dumps(PID_SCRIPT))
    server = {"command": sys.executable, "args": [FAKE]}
    bot = {"preset": "assistant", "model": f"scripted:{script}", "allow": ["fake_pid"]}
    facio = _facio(tmp_path, mcpServers={"fake": server}, bots={"main": bot})
    try:
        async with facio.agent("api:mcp") as agent:
            parent = await turn(agent, "pid")
            child = await turn(agent, "delegate: pid")
        parent_pid = int(_last(parent))
        child_pid = int(_last(child))
        # the child's server was a process of its own, stopped when the child ended
        assert child_pid != parent_pid
        assert psutil.pid_exists(parent_pid)
        await _until_gone(child_pid)
    finally:
        await facio.aclose()


def _last(events: list[object]) -> str:
    last = events[-1]
    assert isinstance(last, Response), events
    return last.content


async def _until_gone(pid: int) -> None:
    for _ in range(100):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the subagent's MCP server {pid} is still running")
