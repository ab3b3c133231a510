"""Paths in what tools say: relative to the workspace (or the code's folder), never the server's."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from core.shown import error_text, scrub, shown_path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "ws"
    (folder / "sessions" / "api%3Ax").mkdir(parents=True)
    return folder


def test_a_path_is_shown_relative_to_the_workspace_or_by_its_name(workspace: Path) -> None:
    assert shown_path(workspace / "notes" / "a.md", workspace) == "notes/a.md"
    assert shown_path(workspace, workspace) == "."
    assert shown_path("/etc/ssl/private/key.pem", workspace) == "…/key.pem"
    assert shown_path("relative/x", workspace) == "relative/x"
    assert shown_path(3, workspace) == "3"  # a descriptor, as some OSErrors name it


def test_text_loses_the_workspace_but_keeps_lookalikes(workspace: Path) -> None:
    root = str(workspace)
    text = (
        f"open {root}/notes/a.md failed; root {root}; sibling {root}-old/x; "
        f"longer {root}x/y; inside a/{root}/z"
    )
    assert scrub(text, workspace) == (
        f"open notes/a.md failed; root .; sibling {root}-old/x; longer {root}x/y; inside a/{root}/z"
    )


def test_a_link_to_the_workspace_is_taken_out_too(workspace: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(workspace)
    assert scrub(f"{workspace}/a and {link}/b", link) == "a and b"


def test_the_code_folder_is_shown_as_the_code_sees_it(workspace: Path) -> None:
    cwd = workspace / "sessions" / "api%3Ax"
    text = f"No such file: '{cwd}/data.csv' (cwd {cwd}), notes at {workspace}/notes"
    shown = scrub(text, workspace, cwd=cwd)
    assert shown == "No such file: 'data.csv' (cwd .), notes at notes"


def test_an_os_error_names_its_files_without_the_server_paths(workspace: Path) -> None:
    missing = workspace / "notes" / "x.md"
    with pytest.raises(OSError) as info:
        missing.read_text()
    assert error_text(info.value, workspace) == "No such file or directory: notes/x.md"
    moved = OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(missing), None, "/mnt/other/y.md")
    assert error_text(moved, workspace) == f"{os.strerror(errno.EXDEV)}: notes/x.md -> …/y.md"
    assert error_text(ValueError(f"bad {workspace}/a"), workspace) == "bad a"
