#!/usr/bin/env python3
"""One-command set-up for facio: each command installs what it needs, then runs.

    python3 dev.py up      # install facio[data] into .venv and run `facio up` (offline demo bot)
    python3 dev.py chat    # the same demo bot in a terminal chat
    python3 dev.py test    # install facio[dev,data] into .venv, then lint, types, tests
    python3 dev.py bench   # run the benchmarks in tests/bench/ and print the figures

Only the Python standard library is used here, so a fresh machine with
Python 3.11+ is enough. The virtual environment lives in ./.venv and is
reused; the install is skipped when pyproject.toml has not changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _stamp(extra: str) -> Path:
    return VENV / f".facio-installed-{extra or 'base'}"


def _install(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before the install checks it
        sys.exit(f"facio needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = _stamp(extra)
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    print(
        f"installing facio{'[' + extra + ']' if extra else ''} into {VENV} "
        "(a few minutes the first time; skipped while pyproject.toml is unchanged)",
        flush=True,
    )
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    subprocess.run([*pip, "-e", target], check=True)
    stamp.write_text(digest)


DEMO_EXTRAS = "data"
"""What the demo's code actions are promised beyond facio: numpy, pandas, matplotlib."""

TEST_EXTRAS = "dev,data"
"""The dev tools, and the data extra the code-action tests import in the kernel."""


def _run(*cmd: str) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def _exec_facio(command: str, args: list[str]) -> int:
    _install(DEMO_EXTRAS)
    demo = ROOT / "config" / "demo.json"
    cmd = [str(BIN / "facio"), command, "--config", str(demo), *args]
    print("+", " ".join(cmd), flush=True)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover - execv does not return


def up(args: list[str]) -> int:
    return _exec_facio("up", args)


def chat(args: list[str]) -> int:
    return _exec_facio("chat", args)


TEST_WORKERS = ["-n", "3", "--dist", "worksteal"]
"""pytest-xdist: most tests wait on processes and sockets, so three workers keep two cores
busy (``python3 dev.py test -n 0`` runs them one by one)."""


def test(args: list[str]) -> int:
    """Lint, format check, types, tests: each step announced, timed, the first failure stops."""
    _install(TEST_EXTRAS)
    pytest = [str(PY), "-m", "pytest", "-q", "-m", "not bench", *TEST_WORKERS, *args]
    steps = [
        ("lint", "", [str(BIN / "ruff"), "check", "."]),
        ("format", "", [str(BIN / "ruff"), "format", "--check", "."]),
        ("types", "", [str(BIN / "mypy")]),
        (
            "tests",
            ": about 5 minutes on 2 cores; a dot per passed test, % done at line ends",
            pytest,
        ),
    ]
    for number, (name, note, step) in enumerate(steps, 1):
        print(f"== {number}/{len(steps)} {name}{note}", flush=True)
        started = time.monotonic()
        code = _run(*step)
        verdict = f"FAILED (exit {code})" if code else "ok"
        print(f"== {number}/{len(steps)} {name}: {verdict} in {_took(started)}", flush=True)
        if code:
            return code
    return 0


def _took(started: float) -> str:
    seconds = round(time.monotonic() - started)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def bench(args: list[str]) -> int:
    _install(TEST_EXTRAS)
    return _run(str(PY), "-m", "pytest", "-q", "-s", "-m", "bench", "tests/bench", *args)


COMMANDS = {"up": up, "chat": chat, "test": test, "bench": bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
