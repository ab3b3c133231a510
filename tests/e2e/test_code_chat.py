"""``facio chat`` running code actions in a real kernel, driven on a pseudo-terminal."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pexpect

from tests.e2e.support import APPROVE, PROMPT, ROOT, finish, spawn_chat

KERNEL = 90  # seconds: the first code action may wait for a kernel to start
PTC_SERVER = ROOT / "tests" / "fakes" / "ptc_server.py"


def code_config(folder: Path) -> str:
    """A bot on the shipped scripted ``code`` model, with the code tools."""
    config = {
        "agent": {"model": "scripted:code"},
        "bots": {
            "main": {
                "model": "scripted:code",
                "tools": ["ipybox_execute_ipython_cell", "ipybox_reset"],
            }
        },
        "code": {"poolSize": 1, "kernelInitTimeout": KERNEL},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def say(child: pexpect.spawn, text: str, until: str = PROMPT, timeout: float = KERNEL) -> str:
    child.sendline(text)
    child.expect_exact(until, timeout=timeout)
    return str(child.before)


def test_approved_code_prints_42_and_a_variable_lives_into_the_next_message(
    tmp_path: Path,
) -> None:
    chat = spawn_chat(tmp_path / "ws", config=code_config(tmp_path))
    shown = say(chat, "run print(6*7)", until=APPROVE)
    assert "ipybox_execute_ipython_cell" in shown and "print(6*7)" in shown
    out = say(chat, "y")
    assert "42" in out and "Result:" in out
    say(chat, "run answer = 6 * 7", until=APPROVE)
    say(chat, "y")
    say(chat, "run print(answer + 1)", until=APPROVE)
    assert "43" in say(chat, "y")
    say(chat, "run open('no.txt', 'w').write('x')", until=APPROVE)
    assert "Rejected" in say(chat, "n")
    chat.sendline("/exit")
    assert finish(chat) == 0
    assert not list((tmp_path / "ws" / "sessions").rglob("no.txt"))


def test_ctrl_c_at_a_shell_approval_inside_code_rejects_it_and_the_kernel_goes_on(
    tmp_path: Path,
) -> None:
    chat = spawn_chat(tmp_path / "ws", config=code_config(tmp_path))
    say(chat, "run v = 7; get_ipython().system('echo ran > shell.txt')", until=APPROVE)
    shown = say(chat, "y", until=APPROVE)  # the cell runs, and its shell command asks
    assert "approval needed: shell" in shown and "echo ran > shell.txt" in shown
    chat.sendintr()
    chat.expect_exact("cancelled: shell was rejected with the code", timeout=30)
    chat.expect_exact(PROMPT)
    say(chat, "run print(v * 6)", until=APPROVE)
    assert "42" in say(chat, "y")
    chat.sendeof()
    assert finish(chat) == 0
    assert not list((tmp_path / "ws" / "sessions").rglob("shell.txt"))


def test_a_subagents_approval_shows_its_sub_id_and_its_answer_comes_back(tmp_path: Path) -> None:
    config = json.loads(Path(code_config(tmp_path)).read_text())
    config["bots"]["main"]["tools"].append("subagent_task")
    config["bots"]["main"]["allow"] = ["subagent_task"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    chat = spawn_chat(tmp_path / "ws", config=str(path))
    shown = say(chat, "delegate: run print(6*7)", until=APPROVE)
    assert "ipybox_execute_ipython_cell" in shown
    assert re.search(r"\(agent sub-[0-9a-f]{8}\)", shown), shown
    out = say(chat, "y")
    assert "42" in out
    chat.sendline("/exit")
    assert finish(chat) == 0


def test_code_calls_an_mcp_server_each_step_approved_and_prints_its_answer(
    tmp_path: Path,
) -> None:
    config = json.loads(Path(code_config(tmp_path)).read_text())
    calls = tmp_path / "calls.log"
    config["ptcServers"] = {
        "fake": {
            "command": sys.executable,
            "args": [str(PTC_SERVER)],
            "env": {"FACIO_PTC_LOG": str(calls)},
        }
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    # with ptcServers the prompt comes once the server's Python API is generated:
    # the sandbox probe, ipybox's import and the server's start come first
    chat = spawn_chat(tmp_path / "ws", config=str(path), start=KERNEL)
    code = "from mcptools.fake import add; print(add.run(add.Params(a=20, b=22)))"
    shown = say(chat, f"run {code}", until=APPROVE)
    assert "approval needed: ipybox_execute_ipython_cell" in shown and "add.Params" in shown
    shown = say(chat, "y", until=APPROVE)  # the cell runs; its call to the server asks
    assert "approval needed: fake_add" in shown
    assert '"a": 20' in shown and '"b": 22' in shown
    assert not calls.exists()  # nothing reached the server before the person said yes
    out = say(chat, "y")
    assert "result=42" in out and "Result:" in out
    assert calls.read_text().splitlines() == ["add 20 22"]
    chat.sendline("/exit")
    assert finish(chat) == 0
