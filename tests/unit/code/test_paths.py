"""Workspace layout of code actions and the "which kernel ran last" records."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.code.continuity import KernelMarks
from core.code.paths import CodePaths, write_new
from core.code.rundir import PREFIX, RunDir, remove_orphans


def test_session_folders_are_one_readable_name_inside_the_workspace(tmp_path: Path) -> None:
    paths = CodePaths(tmp_path)
    assert paths.session_dir("telegram:42") == tmp_path / "sessions" / "telegram%3A42"
    for key in ["", "..", "../x", "/etc", "a b", "slack:T1:C2:1700.1", "api:" + "x" * 508]:
        folder = paths.session_dir(key)
        assert folder.parent == tmp_path / "sessions", key
        assert folder.name not in (".", "..") and len(folder.name) <= 120
        assert paths.open_session(key) == folder and folder.is_dir()
    assert paths.images_dir("s") == tmp_path / "sessions" / "s" / "images"
    assert paths.ptc_root == tmp_path / ".facio" / "ptc"


def test_a_different_kernel_is_noticed_and_clearing_forgets(tmp_path: Path) -> None:
    marks = KernelMarks(tmp_path / "kernels")
    assert marks.switch("s:1", "main", "k1") is False  # the first kernel ever: nothing lost
    assert marks.switch("s:1", "main", "k1") is False  # the same kernel
    assert marks.switch("s:1", "main", "k2") is True  # another one: state may be missing
    assert marks.switch("s:1", "sub-1", "k3") is False  # a subagent's own kernel
    again = KernelMarks(tmp_path / "kernels")  # another process on the same workspace
    assert again.switch("s:1", "main", "k4") is True
    again.clear("s:1", "main")
    assert again.switch("s:1", "main", "k5") is False
    again.clear("s:1")
    assert not list((tmp_path / "kernels").iterdir())


def test_kernel_records_of_long_keys_are_short_and_apart(tmp_path: Path) -> None:
    marks = KernelMarks(tmp_path / "kernels")
    long, other = "api:" + "k" * 508, "api:" + "k" * 507 + "!"
    assert marks.switch(long, "main", "k1") is False
    assert marks.switch(other, "main", "k2") is False  # not the same record
    assert marks.switch(long, "main", "k3") is True
    marks.clear(long)
    assert marks.switch(other, "main", "k2") is False  # its record stays
    assert all(len(p.name) <= 255 for p in (tmp_path / "kernels").iterdir())


def test_images_are_written_without_following_a_link_the_code_made(tmp_path: Path) -> None:
    session = tmp_path / "sessions" / "s"
    session.mkdir(parents=True)
    assert write_new(session / "images", "a.png", b"png") == session / "images" / "a.png"
    assert (session / "images" / "a.png").read_bytes() == b"png"
    with pytest.raises(FileExistsError):  # a name is never reused, nothing is replaced
        write_new(session / "images", "a.png", b"other")
    victim = tmp_path / "etc"
    victim.mkdir()
    (session / "images").rename(session / "old")
    (session / "images").symlink_to(victim)  # the code pointed images/ elsewhere
    with pytest.raises(OSError):
        write_new(session / "images", "b.png", b"png")
    assert list(victim.iterdir()) == []


def test_run_folders_of_facio_processes_that_are_gone_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # Python's own setting for it
    mine = RunDir.create()
    assert mine.path.parent == tmp_path and (mine.path / "host").is_dir()
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = tmp_path / f"{PREFIX}{done.stdout.strip()}-12345-abcd"  # its maker has exited
    reused = tmp_path / f"{PREFIX}{os.getpid()}-1-abcd"  # this pid, another start: not us
    other = tmp_path / f"{PREFIX}abcd1234"  # not a name run folders have: not judged
    for folder in (gone, reused, other):
        folder.mkdir()
    assert remove_orphans() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.path.name, other.name])
    mine.remove()
    assert not mine.path.exists()
