"""``facio up`` as a real process: serve, answer, stop cleanly, restart without loss."""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.tools.builtin.notes import notes_file
from tests.e2e.support import FacioUp
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_answers_over_the_api_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    up = FacioUp(_config(tmp_path, port), port, TOKEN)
    reply = up.http.post("/api/v1/messages", json={"session": "api:me", "text": "hello"})
    assert reply.status_code == 202
    answer = up.until(
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
    up = FacioUp(config, port, TOKEN)
    up.http.post("/api/v1/messages", json={"session": "api:me", "text": "remember to buy milk"})
    pending = up.until(
        lambda: up.http.get("/api/v1/approvals?status=pending").json()["approvals"],
        "the approval",
    )
    code, out = up.stop()
    assert code == 0, out

    again = FacioUp(config, port, TOKEN)  # same workspace: Redis comes back from its AOF
    listed = again.http.get("/api/v1/approvals?status=pending").json()["approvals"]
    assert [a["approval_id"] for a in listed] == [pending[0]["approval_id"]]
    decided = again.http.post(
        f"/api/v1/approvals/{pending[0]['approval_id']}", json={"decision": "approve"}
    )
    assert decided.status_code == 200
    note = notes_file(tmp_path / "ws", "api:me")
    again.until(lambda: note.exists(), "the note to be saved")
    assert "buy milk" in note.read_text()
    code, out = again.stop()
    assert code == 0, out
