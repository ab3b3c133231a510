"""``facio schedules list``: reads redis.url or a running ``facio up``'s embedded Redis,
and says so when none is running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.config import load_config
from facio.cli import main
from facio.cli.schedules_cmd import embedded_socket, show
from tests.redis_fixture import MakeRedis
from workers.schedules import Origin, ScheduleStore, timing_of


def _write(tmp_path: Path, redis_url: str = "") -> Path:
    path = tmp_path / "config.json"
    data = {
        "workspace": "ws",
        "redis": {"url": redis_url},
        "bots": {"main": {"preset": "demo"}},
        "cron": [{"name": "digest", "schedule": "0 8 * * *", "prompt": "Summarize my tasks."}],
    }
    path.write_text(json.dumps(data))
    return path


async def _fill(redis: Redis, path: Path) -> str:
    config = load_config(path)
    store = ScheduleStore(redis, config)
    await store.sync_config()
    made = await store.create(
        session_key="telegram:100",
        prompt="Remind the person to call Ann.",
        timing=timing_of(config, store.clock.now(), in_seconds=3600),
        source="agent",
        created_by="100",
        origin=Origin(channel="telegram", user_id="100"),
    )
    return made.record.schedule_id


async def test_lists_the_schedules_of_redis_url(
    redis: Redis, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, redis_url)
    reminder = await _fill(redis, path)
    assert await show(load_config(path), session=None, as_json=False) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NEXT", "RUN", "WHEN", "SESSION", "SOURCE", "PROMPT"]
    assert lines[1].startswith(reminder) and "agent (100)" in lines[1]
    assert "Remind the person to call Ann." in lines[1]
    assert lines[2].startswith("config:digest") and "config:digest (config)" in lines[2]
    assert await show(load_config(path), session="telegram:100", as_json=True) == 0
    listed = json.loads(capsys.readouterr().out)["schedules"]
    assert [s["schedule_id"] for s in listed] == [reminder]


async def test_reads_a_running_facio_ups_embedded_redis(
    make_redis: MakeRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path)
    config = load_config(path)
    socket = embedded_socket(config)
    socket.parent.mkdir(parents=True)
    server = make_redis(socket.parent / "data", unix_socket=socket, appendonly=False)
    async with server:
        redis = Redis.from_url(server.url)
        reminder = await _fill(redis, path)
        await redis.aclose()
        assert await show(config, session=None, as_json=False) == 0
    assert reminder in capsys.readouterr().out


def test_says_when_no_redis_is_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "list", "--config", str(_write(tmp_path))]) == 1
    assert "no Redis is running: start `facio up`" in capsys.readouterr().err
    gone = _write(tmp_path, "redis://127.0.0.1:9/0")
    assert main(["schedules", "list", "--config", str(gone)]) == 1
    assert "cannot reach Redis at redis://127.0.0.1:9/0" in capsys.readouterr().err
