"""Helpers for the end-to-end tests: they drive the real ``facio`` program.

Nothing is imported from facio here on purpose: the tests see what a person
at a terminal sees (pexpect on a pseudo-terminal) or what a script sees
(subprocess with stdin not a terminal).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pexpect

from core.tools.builtin.notes import notes_file

ROOT = Path(__file__).resolve().parents[2]
FACIO = str(Path(sys.executable).parent / "facio")
DEMO_CONFIG = str(ROOT / "config" / "demo.json")
PROMPT = "you> "
APPROVE = "Approve? [Y/n/a/s] "
TIMEOUT = 20


def cli_env() -> dict[str, str]:
    """The environment of every run: no colours, a fixed terminal, no stray config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACIO_")}
    env.update(NO_COLOR="1", TERM="xterm", PYTHONUNBUFFERED="1")
    return env


def spawn(args: list[str], workspace: Path, config: str = DEMO_CONFIG) -> pexpect.spawn:
    """``facio <args> --config … --workspace …`` on a pseudo-terminal."""
    return pexpect.spawn(
        FACIO,
        [*args, "--config", config, "--workspace", str(workspace)],
        encoding="utf-8",
        timeout=TIMEOUT,
        env=cli_env(),
        cwd=str(ROOT),
        dimensions=(40, 200),
    )


def spawn_chat(
    workspace: Path, *extra: str, config: str = DEMO_CONFIG, start: float = TIMEOUT
) -> pexpect.spawn:
    """A ``facio chat`` waiting at its first prompt (up to ``start`` seconds)."""
    child = spawn(["chat", *extra], workspace, config)
    child.expect_exact(PROMPT, timeout=start)
    return child


def say(child: pexpect.spawn, text: str, until: str = PROMPT) -> str:
    """Send one line; return everything printed before ``until``."""
    child.sendline(text)
    child.expect_exact(until)
    return str(child.before)


def finish(child: pexpect.spawn) -> int | None:
    """Wait for the program to end; its exit status."""
    child.expect(pexpect.EOF)
    child.close()
    status: int | None = child.exitstatus
    return status


def run_cli(
    args: list[str],
    workspace: Path | None = None,
    config: str | None = DEMO_CONFIG,
    env: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``facio <args>`` with stdin that is not a terminal (``env`` adds variables)."""
    cmd = [FACIO, *args]
    if config is not None:
        cmd += ["--config", config]
    if workspace is not None:
        cmd += ["--workspace", str(workspace)]
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**cli_env(), **(env or {})},
        cwd=str(ROOT),
        check=False,
    )


def note_file(workspace: Path, session: str = "cli:default") -> Path:
    return notes_file(workspace, session)


def slow_config(folder: Path, delay: float = 5) -> str:
    """A config whose scripted model waits ``delay`` seconds before each answer."""
    script = {
        "rules": [
            {
                "on": "user",
                "match": "(?i)remember (?P<what>.+)",
                "text": "Saving.",
                "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<what>"}}],
            },
            {"on": "tool", "match": "(?s)(?P<r>.*)", "text": "Tool said: \\g<r>"},
        ],
        "fallback": "The slow answer has arrived.",
        "chunkSize": 8,
        "delay": delay,
    }
    (folder / "slow.json").write_text(json.dumps(script), encoding="utf-8")
    config = {
        "agent": {"model": "scripted:slow.json"},
        "bots": {
            "main": {
                "model": "scripted:slow.json",
                "tools": ["current_time", "save_note", "list_notes"],
            }
        },
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable_model_config(folder: Path) -> str:
    """A config whose model API is a closed loopback port, with no retries."""
    config = {
        "agent": {"model": "openai:gpt-x"},
        "providers": {
            "openai": {
                "apiKey": "sk-test",
                "apiBase": f"http://127.0.0.1:{closed_port()}/v1",
                "maxRetries": 0,
            }
        },
        "bots": {"main": {"preset": "assistant"}},
        "code": {"poolSize": 0},  # no kernel is needed: the model is unreachable
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


class FacioUp:
    """``facio up --config config`` as a real process, and an API client for it; ready
    (``/healthz`` answers) once made. ``env`` adds variables to :func:`cli_env`."""

    def __init__(
        self, config: Path, port: int, token: str, env: dict[str, str] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            [FACIO, "up", "--config", str(config)],
            env={**cli_env(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5.0,
        )
        try:
            self.until(lambda: self.http.get("/healthz").status_code == 200, "/healthz")
        except BaseException:
            self.stop()
            raise

    def until(self, check: Any, what: str, timeout: float = 30.0) -> Any:
        """Poll ``check`` (an HTTP error counts as not yet) until it is truthy; its value.
        Fails at once, with the output, when ``facio up`` has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = check()
            except httpx.HTTPError:
                value = None
            if value:
                return value
            assert self.proc.poll() is None, f"facio up exited: {self.proc.stdout.read()}"  # type: ignore[union-attr]
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def messages(self, session: str) -> list[dict[str, Any]]:
        reply = self.http.get(f"/api/v1/sessions/{session}")
        return list(reply.json()["messages"]) if reply.status_code == 200 else []

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, then wait: the exit code and everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        self.http.close()
        return self.proc.returncode, out
