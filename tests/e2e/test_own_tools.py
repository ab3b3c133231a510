"""Tools of your own in a config-driven bot, through the real ``facio`` program.

A bot names a module of ``@tool`` functions by import path; ``facio up`` imports
it, the model (the fake LLM server, OpenAI wire) calls its tools, the one that
is not allowed waits for an approval given over the HTTP API, and its result
goes back to the model. ``facio doctor`` lists the tools or says what is wrong.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ROOT, FacioUp, closed_port, run_cli
from tests.ports import free_port

TOKEN = "e2e-token"

BILLING = '''
    """Acme's billing tools, for a facio bot."""

    from facio import ToolContext, tool


    @tool
    async def send_invoice(customer: str, amount_eur: float, ctx: ToolContext) -> str:
        """Send an invoice to a customer.

        Args:
            customer: The customer's id.
            amount_eur: The amount in euros.
        """
        with (ctx.workspace / "invoices.log").open("a", encoding="utf-8") as log:
            log.write(f"{ctx.session_key} {customer} {amount_eur:.2f}\\n")
        return f"invoice INV-7 sent to {customer} for {amount_eur:.2f} EUR"


    @tool
    def list_invoices() -> list[str]:
        """List the open invoices."""
        return ["INV-5 globex 80.00 EUR"]
'''

REPLIES = [
    {"tool_calls": [{"name": "list_invoices", "arguments": {}, "id": "call_list"}]},
    {
        "tool_calls": [
            {
                "name": "send_invoice",
                "arguments": {"customer": "acme", "amount_eur": 120},
                "id": "call_send",
            }
        ]
    },
    {"text": "Done: the invoice went out."},
]


def _package(folder: Path, name: str = "acme_billing") -> Path:
    """``<folder>/<name>/invoices.py``: the billing tools, in a package."""
    package = folder / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "invoices.py").write_text(textwrap.dedent(BILLING), encoding="utf-8")
    return folder


@pytest.fixture
def llm(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The fake LLM server as a process, scripted with :data:`REPLIES`; its addresses."""
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(REPLIES), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm_server", "--script", str(script), "--api-key", "k"],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def _config(folder: Path, *, tools: list[str], port: int = 8765, api_base: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "workspace": "ws",
        "agent": {"model": "fake:m"},
        "providers": {
            "fake": {
                "protocol": "openai",
                "apiBase": api_base or "http://127.0.0.1:9/v1",
                "apiKey": "k",
                "maxRetries": 0,
            }
        },
        "bots": {"main": {"model": "fake:m", "tools": tools, "allow": ["list_invoices"]}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_up_runs_a_tool_of_your_own_after_its_approval(tmp_path: Path, llm: dict[str, str]) -> None:
    lib = _package(tmp_path / "lib")  # on PYTHONPATH, not next to the config
    port = free_port()
    config = _config(
        tmp_path / "bot",
        tools=["current_time", "acme_billing.invoices"],
        port=port,
        api_base=llm["openai_base"],
    )
    up = FacioUp(config, port, TOKEN, env={"PYTHONPATH": str(lib)})
    log = tmp_path / "bot" / "ws" / "invoices.log"
    try:
        sent = up.http.post("/api/v1/messages", json={"session": "api:me", "text": "bill acme 120"})
        assert sent.status_code == 202

        def pending() -> list[dict[str, Any]]:
            return list(up.http.get("/api/v1/approvals?status=pending").json()["approvals"])

        [approval] = up.until(pending, "the approval of send_invoice")
        assert approval["tool_name"] == "send_invoice"
        assert approval["tool_args"] == {"customer": "acme", "amount_eur": 120}
        assert not log.exists()  # deny by default: nothing ran before the approval
        results = {m["tool_call_id"]: m for m in up.messages("api:me") if m["role"] == "tool"}
        assert results["call_list"]["content"] == '["INV-5 globex 80.00 EUR"]'  # allowed: ran

        decided = up.http.post(
            f"/api/v1/approvals/{approval['approval_id']}", json={"decision": "approve"}
        )
        assert decided.status_code == 200
        answers = up.until(
            lambda: [m for m in up.messages("api:me") if m["role"] == "assistant" and m["content"]],
            "the answer",
        )
        assert answers[-1]["content"] == "Done: the invoice went out."
        assert log.read_text(encoding="utf-8") == "api:me acme 120.00\n"
    finally:
        code, out = up.stop()
    assert code == 0, out
    assert "Traceback" not in out

    requests = httpx.get(f"{llm['url']}/_fake/requests").json()
    assert len(requests) == 3
    offered = {t["function"]["name"]: t["function"] for t in requests[0]["body"]["tools"]}
    assert set(offered) == {"current_time", "send_invoice", "list_invoices"}
    send = offered["send_invoice"]
    assert send["description"] == "Send an invoice to a customer."
    assert set(send["parameters"]["properties"]) == {"customer", "amount_eur"}  # no ctx
    assert send["parameters"]["properties"]["customer"]["description"] == "The customer's id."
    last = requests[2]["body"]["messages"][-1]
    assert last["role"] == "tool" and last["tool_call_id"] == "call_send"
    assert last["content"] == "invoice INV-7 sent to acme for 120.00 EUR"  # back to the model


def test_doctor_lists_your_tools_and_fails_on_a_bad_path(tmp_path: Path) -> None:
    folder = _package(tmp_path / "bot")  # next to the config: no PYTHONPATH needed
    config = _config(folder, tools=["current_time", "acme_billing.invoices"])
    result = run_cli(["doctor"], config=str(config), workspace=tmp_path / "ws")
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    tools = lines["ok    bot main tools"]
    assert tools == (
        "ok    bot main tools: current_time; yours: "
        "send_invoice (from acme_billing.invoices, asks for approval), "
        "list_invoices (from acme_billing.invoices, allowed)"
    )

    bad = _config(folder, tools=["current_time", "acme_billing.invoices:refund"])
    result = run_cli(["doctor"], config=str(bad), workspace=tmp_path / "ws")
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("FAIL  bot main tools")]
    assert "bots.main.tools[1]" in line and "'acme_billing.invoices:refund'" in line
    assert "has no attribute 'refund'" in line


@pytest.mark.parametrize("command", ["up", "worker"])
def test_a_tool_that_does_not_import_stops_the_start(tmp_path: Path, command: str) -> None:
    config = _config(tmp_path / "bot", tools=["acme_billing.invoices:send_invoice"])
    if command == "worker":  # a worker needs redis.url; nothing may reach it
        data = json.loads(config.read_text(encoding="utf-8"))
        data["redis"] = {"url": f"redis://127.0.0.1:{closed_port()}"}
        config.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli([command], config=str(config))
    assert result.returncode == 2, result.stderr
    assert "bots.main.tools[0]: cannot import 'acme_billing.invoices:send_invoice'" in (
        result.stderr
    )
    assert "No module named 'acme_billing'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bot" / "ws" / ".facio" / "redis").exists()  # nothing started
