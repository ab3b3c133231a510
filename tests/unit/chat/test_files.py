"""Files people send: in their conversation's folder, whatever the key; never elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.chat.errors import FileNotSaved, FileTooLarge
from channels.chat.files import conversation_path, save_upload, upload_name
from core.paths import session_name


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize(
    ("message", "name", "expected"),
    [
        ("501", "photo.jpg", "501-photo.jpg"),
        ("1700.1", "../../etc/passwd", "1700.1-passwd"),
        ("7", "C:\\Users\\me\\report.pdf", "7-report.pdf"),
        ("8", "..", "8-document"),
        ("../x", "a b?.txt", "x-a_b_.txt"),
    ],
)
def test_an_upload_name_is_one_safe_name(message: str, name: str, expected: str) -> None:
    assert upload_name(message, name, "document") == expected


@pytest.mark.parametrize("key", ["telegram:100", "api:" + "k" * 508, "api:" + "k" * 507 + "!"])
async def test_an_upload_lands_in_the_session_folder(tmp_path: Path, key: str) -> None:
    saved = await save_upload(_chunks(b"a,b\n", b"1,2\n"), tmp_path, key, "5-r.csv", 100)
    folder = tmp_path / "sessions" / session_name(key)
    assert saved.as_posix() == f"sessions/{session_name(key)}/uploads/5-r.csv"
    assert (folder / "uploads" / "5-r.csv").read_bytes() == b"a,b\n1,2\n"
    assert conversation_path(key, saved.as_posix()) == "uploads/5-r.csv"  # as the code opens it
    assert sorted(p.name for p in (folder / "uploads").iterdir()) == ["5-r.csv"]


async def test_long_twin_keys_keep_their_uploads_apart(tmp_path: Path) -> None:
    one, other = "api:" + "k" * 508, "api:" + "k" * 507 + "!"
    await save_upload(_chunks(b"one"), tmp_path, one, "1-f.txt", 100)
    await save_upload(_chunks(b"other"), tmp_path, other, "1-f.txt", 100)
    assert (
        tmp_path / "sessions" / session_name(one) / "uploads" / "1-f.txt"
    ).read_bytes() == b"one"
    assert len(list((tmp_path / "sessions").iterdir())) == 2


async def test_too_much_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(FileTooLarge):
        await save_upload(_chunks(b"x" * 60, b"x" * 60), tmp_path, "api:t", "1-big.bin", 100)
    uploads = tmp_path / "sessions" / session_name("api:t") / "uploads"
    assert list(uploads.iterdir()) == []


async def test_a_link_the_code_made_is_not_followed(tmp_path: Path) -> None:
    """Code shapes its folder: ``uploads`` pointing elsewhere makes the save fail, and the
    reason names no absolute path."""
    workspace, victim = tmp_path / "ws", tmp_path / "etc"
    victim.mkdir()
    folder = workspace / "sessions" / session_name("api:t")
    folder.mkdir(parents=True)
    (folder / "uploads").symlink_to(victim)
    with pytest.raises(FileNotSaved) as info:
        await save_upload(_chunks(b"x"), workspace, "api:t", "1-f.txt", 100)
    assert list(victim.iterdir()) == []
    assert str(tmp_path) not in str(info.value)
    assert str(info.value) == "Not a directory: uploads"
