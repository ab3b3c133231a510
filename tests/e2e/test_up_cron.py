"""``facio up`` with a ``* * * * *`` config job: a turn each minute, in its ``cron:`` session.

The schedules' clock runs 30× real time through the test-only ``FACIO_TEST_CLOCK``
(docs/schedules.md): a cron minute passes every two real seconds, so the test sees several
minutes' turns in a few seconds. Only the schedules read that clock.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from tests.e2e.support import FacioUp
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
    began = time.monotonic()
    up = FacioUp(
        _config(tmp_path, port), port, TOKEN, env={"FACIO_TEST_CLOCK": f"{SPEED}@{time.time():.3f}"}
    )
    try:

        def answered() -> int:
            return sum(m["role"] == "assistant" for m in up.messages("cron:tick"))

        up.until(lambda: answered() >= 4, "four answered cron turns", timeout=40.0)
        runs = _runs(tmp_path / "ws")
        ran_for = time.monotonic() - began
        messages = up.messages("cron:tick")
        listed = up.http.get("/api/v1/schedules").json()["schedules"]
    finally:
        code, out = up.stop()
    assert code == 0, out
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
