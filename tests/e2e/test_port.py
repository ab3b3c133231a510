"""``--port`` on ``facio up`` and ``facio gateway``, and a port that is taken.

Both commands run as real processes; the config file names another port, so
an answer on the ``--port`` one shows the option won without the file being
edited.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import FACIO, cli_env
from tests.ports import free_port


def _config(folder: Path, port: int, **extra: object) -> str:
    path = folder / "config.json"
    config = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo"}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": "e2e"},
        **extra,
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port something listens on for the whole test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield int(sock.getsockname()[1])


def _serves_on(args: list[str], port: int) -> str:
    """Start ``facio <args>``, wait for /healthz on ``port``, stop it; its output."""
    process = subprocess.Popen(
        [FACIO, *args], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"facio exited: {process.stdout.read()}"  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway never answered on --port"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def _fails(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACIO, *args],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_listens_on_port_not_on_the_config_one(tmp_path: Path, taken: int) -> None:
    config = _config(tmp_path, taken)  # the config's port is in use: only --port can work
    before = Path(config).read_text(encoding="utf-8")
    port = free_port()
    out = _serves_on(["up", "--config", config, "--port", str(port)], port)
    assert f"API http://127.0.0.1:{port}/api/v1" in out
    assert Path(config).read_text(encoding="utf-8") == before


def test_gateway_listens_on_port(tmp_path: Path, taken: int, redis_url: str) -> None:
    config = _config(tmp_path, taken, redis={"url": redis_url})
    port = free_port()
    out = _serves_on(["gateway", "--config", config, "--port", str(port)], port)
    assert f"listening on http://127.0.0.1:{port}" in out


def _assert_one_clear_line(done: subprocess.CompletedProcess[str], port: int) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "gateway.port" in line and f"127.0.0.1:{port}" in line
    assert "address already in use" in line and "--port" in line


def test_up_on_a_port_in_use_says_so_in_one_line(tmp_path: Path, taken: int) -> None:
    done = _fails(["up", "--config", _config(tmp_path, taken)])
    _assert_one_clear_line(done, taken)
    assert not (tmp_path / "ws" / ".facio" / "redis" / "redis.pid").exists()  # Redis stopped


def test_gateway_on_a_port_in_use_says_so_in_one_line(
    tmp_path: Path, taken: int, redis_url: str
) -> None:
    config = _config(tmp_path, free_port(), redis={"url": redis_url})
    done = _fails(["gateway", "--config", config, "--port", str(taken)])
    _assert_one_clear_line(done, taken)


@pytest.mark.parametrize("bad", ["0", "65536", "http"])
def test_port_must_be_a_tcp_port(tmp_path: Path, bad: str) -> None:
    done = _fails(["up", "--config", _config(tmp_path, free_port()), "--port", bad])
    assert done.returncode == 2
    assert "--port: expected a TCP port from 1 to 65535" in done.stderr
    assert not (tmp_path / "ws").exists()  # nothing was started
