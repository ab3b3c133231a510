"""``facio up`` with a ``* * * * *`` config job: a turn each minute, in its ``cron:`` session.

The schedules' clock runs 30× real time through the test-only ``FACIO_TEST_CLOCK``
(docs/schedules.md): a cron minute passes every two real seconds, so the test sees several
minutes' turns in a few seconds. Only the schedules read that clock.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.e2e.support import FACIO, cli_env
from tests.ports import free_port

TOKEN = "e2e-token"
SPEED = 30


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.json"
    data = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo"}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
        "cron": [{"name": "tick", "schedule": "* * * * *", "prompt": "hello from cron"}],
    }
    path.write_text(json.dumps(data))
    return path


def _until(check: Any, what: str, proc: subprocess.Popen[str], timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        assert proc.poll() is None, f"facio up exited: {proc.stdout.read()}"  # type: ignore[union-attr]
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _runs(workspace: Path) -> list[int]:
    """The cron runs that were queued: their dedupe keys in the embedded Redis."""
    client = redis.Redis(unix_socket_path=str(workspace / ".facio" / "redis" / "redis.sock"))
    try:
        found = client.keys("facio:seen:cron:schedule:config:tick:*")
    finally:
        client.close()
    return sorted(int(key.decode().rsplit(":", 1)[1]) for key in found)


def test_up_runs_an_every_minute_cron_job_once_a_minute(tmp_path: Path) -> None:
    port = free_port()
    env = {**cli_env(), "FACIO_TEST_CLOCK": f"{SPEED}@{time.time():.3f}"}
    began = time.monotonic()
    proc = subprocess.Popen(
        [FACIO, "up", "--config", str(_config(tmp_path, port))],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5.0,
    )
    try:

        def answered() -> int:
            reply = http.get("/api/v1/sessions/cron:tick")
            if reply.status_code != 200:
                return 0
            return sum(m["role"] == "assistant" for m in reply.json()["messages"])

        _until(lambda: answered() >= 4, "four answered cron turns", proc)
        runs = _runs(tmp_path / "ws")
        ran_for = time.monotonic() - began
        messages = http.get("/api/v1/sessions/cron:tick").json()["messages"]
        listed = http.get("/api/v1/schedules").json()["schedules"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        http.close()
    assert proc.returncode == 0, out
    assert "FACIO_TEST_CLOCK is set" in out  # the override says it is on, loudly
    # one run per (sped-up) minute: consecutive minutes, none doubled or lost, no burst
    assert runs == list(range(runs[0], runs[0] + 60 * len(runs), 60)), runs
    assert len(runs) <= ran_for * SPEED / 60 + 1
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert set(users) == {"hello from cron"} and len(users) <= len(runs)
    [tick] = listed
    assert (tick["schedule_id"], tick["cron"], tick["source"]) == (
        "config:tick",
        "* * * * *",
        "config",
    )
