"""The long-running commands pace the garbage collector; the others leave it alone."""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from facio.cli import gateway_cmd, up_cmd, worker_cmd
from facio.cli.gc_pace import THRESHOLDS


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.parametrize("command", [worker_cmd, up_cmd, gateway_cmd])
def test_a_serving_command_sets_the_thresholds_before_it_serves(
    command: Any, thresholds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []

    def serve(main: Any) -> int:
        main.close()  # never started: only the settings it would run with matter
        seen.append(gc.get_threshold())
        return 0

    monkeypatch.setattr(command, "load_config", lambda *a, **k: object())
    monkeypatch.setattr(command, "require_redis_url", lambda *a: "redis://x", raising=False)
    monkeypatch.setattr(command, "check_bots", lambda config: None, raising=False)
    monkeypatch.setattr(command.asyncio, "run", serve)
    for name in ("work", "up", "serve"):
        monkeypatch.setattr(command, name, _never_awaited, raising=False)
    args = argparse.Namespace(config=None, workspace=None, port=None, burst=False, max_jobs=None)
    assert command.run(args) == 0
    assert seen == [THRESHOLDS]


async def _never_awaited(*args: Any, **kwargs: Any) -> int:
    return 0


def test_the_sdk_leaves_the_thresholds_alone() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "import gc, facio; facio.Facio; print(gc.get_threshold())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "(700, 10, 10)"  # the interpreter's defaults
