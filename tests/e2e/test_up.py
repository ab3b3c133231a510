"""``facio up`` as a real process: serve, answer, stop cleanly, restart without loss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from core.tools.builtin.notes import notes_file
from tests.e2e.support import FACIO, cli_env
from tests.ports import free_port

TOKEN = "e2e-token"


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "workspace": "ws",
                "bots": {"main": {"preset": "demo"}},
                "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
            }
        )
    )
    return path


class Up:
    def __init__(self, config: Path, port: int) -> None:
        self.proc = subprocess.Popen(
            [FACIO, "up", "--config", str(config)],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5.0,
        )
        self._until(lambda: self._healthy(), "the gateway to answer /healthz")

    def _healthy(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def _until(self, check: Any, what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            assert self.proc.poll() is None, f"facio up exited: {self.proc.stdout.read()}"  # type: ignore[union-attr]
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def messages(self, session: str) -> list[dict[str, Any]]:
        reply = self.http.get(f"/api/v1/sessions/{session}")
        return list(reply.json()["messages"]) if reply.status_code == 200 else []

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        self.http.close()
        return self.proc.returncode, out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_answers_over_the_api_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    up = Up(_config(tmp_path, port), port)
    reply = up.http.post("/api/v1/messages", json={"session": "api:me", "text": "hello"})
    assert reply.status_code == 202
    answer = up._until(
        lambda: [m for m in up.messages("api:me") if m["role"] == "assistant"], "an answer"
    )
    assert answer[0]["content"].startswith("Hi!")
    pid = int((tmp_path / "ws" / ".facio" / "redis" / "redis.pid").read_text())
    code, out = up.stop()
    assert code == 0, out
    assert "facio up: stopped" in out and "Traceback" not in out
    assert not _alive(pid)  # the embedded Redis went down with it


def test_a_pending_approval_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, port)
    up = Up(config, port)
    up.http.post("/api/v1/messages", json={"session": "api:me", "text": "remember to buy milk"})
    pending = up._until(
        lambda: up.http.get("/api/v1/approvals?status=pending").json()["approvals"],
        "the approval",
    )
    code, out = up.stop()
    assert code == 0, out

    again = Up(config, port)  # same workspace: Redis comes back from its AOF
    listed = again.http.get("/api/v1/approvals?status=pending").json()["approvals"]
    assert [a["approval_id"] for a in listed] == [pending[0]["approval_id"]]
    decided = again.http.post(
        f"/api/v1/approvals/{pending[0]['approval_id']}", json={"decision": "approve"}
    )
    assert decided.status_code == 200
    note = notes_file(tmp_path / "ws", "api:me")
    again._until(lambda: note.exists(), "the note to be saved")
    assert "buy milk" in note.read_text()
    code, out = again.stop()
    assert code == 0, out
