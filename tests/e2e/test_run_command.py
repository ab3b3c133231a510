"""``facio run "message"``: one turn, its output, its exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.e2e.support import (
    APPROVE,
    TIMEOUT,
    finish,
    note_file,
    run_cli,
    slow_config,
    spawn,
    unreachable_model_config,
)


def test_hello_prints_the_greeting_and_exits_0(tmp_path: Path) -> None:
    done = run_cli(["run", "hello"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "offline demo bot" in done.stdout
    assert done.stderr == ""


def test_without_a_terminal_approvals_are_rejected_said_so_and_exit_3(tmp_path: Path) -> None:
    done = run_cli(["run", "remember x"], tmp_path)
    assert done.returncode == 3, done.stderr  # a script must not take the turn for done
    assert "rejected save_note" in done.stderr
    assert "not a terminal" in done.stderr
    assert "Rejected: I did not run save_note" in done.stdout
    assert not note_file(tmp_path).exists()


def test_without_a_terminal_a_tool_a_rule_allows_runs_and_exits_0(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"bots": {"main": {"preset": "demo", "allow": ["save_note"]}}}),
        encoding="utf-8",
    )
    done = run_cli(["run", "remember to buy milk"], tmp_path / "ws", config=str(config))
    assert done.returncode == 0, done.stderr
    assert "rejected" not in done.stderr
    assert "buy milk" in note_file(tmp_path / "ws").read_text(encoding="utf-8")


def test_on_a_terminal_the_approval_is_asked(tmp_path: Path) -> None:
    child = spawn(["run", "remember to buy milk"], tmp_path)
    child.expect_exact(APPROVE)
    child.sendline("y")
    child.expect_exact('Done, I saved the note "to buy milk"')
    assert finish(child) == 0
    assert "buy milk" in note_file(tmp_path).read_text(encoding="utf-8")


def test_a_rejection_at_the_terminal_is_the_persons_choice_and_exits_0(tmp_path: Path) -> None:
    child = spawn(["run", "remember to buy milk"], tmp_path)
    child.expect_exact(APPROVE)
    child.sendline("n")
    child.expect_exact("Rejected: I did not run save_note")
    assert finish(child) == 0
    assert not note_file(tmp_path).exists()


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    child = spawn(["run", "take your time"], workspace, slow_config(tmp_path, delay=5))
    history = workspace / ".facio" / "sessions" / "cli%3Adefault.jsonl"
    deadline = time.monotonic() + TIMEOUT
    while not history.exists():  # the prompt is saved first: the turn is under way
        assert time.monotonic() < deadline, "the turn never started"
        time.sleep(0.05)
    child.sendintr()
    child.expect_exact("cancelled", timeout=3)  # not after the slow model's 5 seconds
    assert finish(child) == 130


def test_missing_config_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    done = run_cli(["run", "hello"], tmp_path, config=str(missing))
    assert done.returncode == 2
    assert done.stderr.startswith("facio: ")
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr


def test_provider_error_exits_1_without_a_traceback(tmp_path: Path) -> None:
    path = unreachable_model_config(tmp_path)
    done = run_cli(["run", "hello"], tmp_path / "ws", config=path)
    assert done.returncode == 1
    assert "error" in done.stderr
    assert "openai" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
