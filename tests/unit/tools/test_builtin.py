"""The built-in tools: notes in the workspace and the current time."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.tools import ToolContext
from core.tools.builtin import BUILTIN_TOOLS, CURRENT_TIME, LIST_NOTES, SAVE_NOTE
from core.tools.builtin.notes import LAYOUT_MARK, MAX_NOTE, notes_file


def _ctx(workspace: Path, session_key: str = "telegram:42") -> ToolContext:
    return ToolContext(session_key=session_key, workspace=workspace)


def _files(root: Path) -> list[Path]:
    """The files under ``root``, but the notes folder's layout mark."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != LAYOUT_MARK)


def test_builtin_tools_by_name() -> None:
    assert BUILTIN_TOOLS == {
        "current_time": CURRENT_TIME,
        "save_note": SAVE_NOTE,
        "list_notes": LIST_NOTES,
    }


def test_notes_schema_hides_the_context() -> None:
    assert list(SAVE_NOTE.parameters["properties"]) == ["text"]
    assert SAVE_NOTE.parameters["required"] == ["text"]
    assert SAVE_NOTE.parameters["properties"]["text"]["description"] == "The note, in plain words."
    assert LIST_NOTES.parameters["properties"] == {}


async def test_save_then_list_notes(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    assert await SAVE_NOTE.call({"text": "  buy milk  "}, ctx) == "Saved note: buy milk"
    assert await SAVE_NOTE.call({"text": "call mum"}, ctx) == "Saved note: call mum"
    assert await LIST_NOTES.call({}, ctx) == "- buy milk\n- call mum"


async def test_notes_file_is_under_the_workspace_with_a_safe_name(tmp_path: Path) -> None:
    await SAVE_NOTE.call({"text": "x"}, _ctx(tmp_path, "slack:T1/C 2"))
    assert _files(tmp_path) == [tmp_path / "notes" / "slack%3AT1%2FC%202.md"]
    assert notes_file(tmp_path, "slack:T1/C 2") == tmp_path / "notes" / "slack%3AT1%2FC%202.md"
    assert (tmp_path / "notes" / "slack%3AT1%2FC%202.md").read_text(encoding="utf-8") == "- x\n"


@pytest.mark.parametrize("session_key", ["../../escape", "/etc/passwd", "..", "a\\b\x00c"])
async def test_session_key_cannot_escape_the_notes_folder(tmp_path: Path, session_key: str) -> None:
    workspace = tmp_path / "ws"
    await SAVE_NOTE.call({"text": "x"}, _ctx(workspace, session_key))
    written = _files(tmp_path)
    assert len(written) == 1
    assert written[0].parent == workspace / "notes"
    assert await LIST_NOTES.call({}, _ctx(workspace, session_key)) == "- x"


async def test_notes_are_per_session(tmp_path: Path) -> None:
    await SAVE_NOTE.call({"text": "mine"}, _ctx(tmp_path, "telegram:1"))
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram:2")) == "No notes yet."
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram:1")) == "- mine"


async def test_keys_that_once_shared_a_notes_file_are_apart(tmp_path: Path) -> None:
    """Older versions made every odd character ``_``: ``api:a:b`` and ``api:a_b`` shared."""
    for key in ("api:a:b", "api:a_b", "api_a_b", "api:a.b", "API:a:b"):
        await SAVE_NOTE.call({"text": key}, _ctx(tmp_path, key))
    for key in ("api:a:b", "api:a_b", "api_a_b", "api:a.b", "API:a:b"):
        assert await LIST_NOTES.call({}, _ctx(tmp_path, key)) == f"- {key}"
    assert len(_files(tmp_path)) == 5


@pytest.mark.parametrize("length", [256, 512])
async def test_notes_of_long_keys_are_short_files_of_their_own(tmp_path: Path, length: int) -> None:
    one, other = "api:" + "k" * (length - 4), "api:" + "k" * (length - 5) + "_"
    await SAVE_NOTE.call({"text": "one"}, _ctx(tmp_path, one))
    await SAVE_NOTE.call({"text": "other"}, _ctx(tmp_path, other))
    assert await LIST_NOTES.call({}, _ctx(tmp_path, one)) == "- one"
    assert await LIST_NOTES.call({}, _ctx(tmp_path, other)) == "- other"
    assert all(len(p.name) <= 255 for p in _files(tmp_path)) and len(_files(tmp_path)) == 2


async def test_notes_of_an_older_version_are_taken_over_once(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "telegram_42.md").write_text("- from before\n", encoding="utf-8")
    (notes / "telegram_7.md").write_text("- also before\n", encoding="utf-8")
    old = time.time() - 3600  # written before this version first used the folder
    os.utime(notes / "telegram_42.md", (old, old))
    os.utime(notes / "telegram_7.md", (old, old))
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram:42")) == "- from before"
    assert not (notes / "telegram_42.md").exists()
    assert notes_file(tmp_path, "telegram:42").exists()
    # a file written since is the session's whose new name it is: not taken
    await SAVE_NOTE.call({"text": "mine"}, _ctx(tmp_path, "telegram_9"))
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram:9")) == "No notes yet."
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram_9")) == "- mine"
    # a key as long as the API takes: its old name was never a file; nothing fails
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "api:" + "z" * 508)) == "No notes yet."
    await SAVE_NOTE.call({"text": "new"}, _ctx(tmp_path, "telegram:7"))
    assert await LIST_NOTES.call({}, _ctx(tmp_path, "telegram:7")) == "- also before\n- new"


async def test_multi_line_note_stays_one_entry(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    await SAVE_NOTE.call({"text": "first line\nsecond line"}, ctx)
    await SAVE_NOTE.call({"text": "next"}, ctx)
    assert await LIST_NOTES.call({}, ctx) == "- first line second line\n- next"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
async def test_empty_note_is_rejected(tmp_path: Path, text: str) -> None:
    result = await SAVE_NOTE.call({"text": text}, _ctx(tmp_path))
    assert result == "Nothing saved: the note is empty."
    assert _files(tmp_path) == []


async def test_oversize_note_is_rejected(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    result = await SAVE_NOTE.call({"text": "x" * (MAX_NOTE + 1)}, ctx)
    assert result == f"Nothing saved: a note holds at most {MAX_NOTE} characters."
    assert _files(tmp_path) == []
    # exactly the limit is fine
    assert (await SAVE_NOTE.call({"text": "y" * MAX_NOTE}, ctx)).startswith("Saved note: ")
    assert await LIST_NOTES.call({}, ctx) == "- " + "y" * MAX_NOTE


async def test_list_notes_when_none(tmp_path: Path) -> None:
    assert await LIST_NOTES.call({}, _ctx(tmp_path)) == "No notes yet."
    assert not (tmp_path / "notes").exists()


async def test_list_notes_with_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "telegram%3A42.md").write_text("\n", encoding="utf-8")
    assert await LIST_NOTES.call({}, _ctx(tmp_path)) == "No notes yet."


async def test_current_time_in_a_valid_zone() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    text = await CURRENT_TIME.call({"timezone": "Asia/Kolkata"})
    after = datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(hours=5, minutes=30)  # no DST there
    assert before <= moment <= after


async def test_current_time_defaults_to_utc() -> None:
    moment = datetime.fromisoformat(await CURRENT_TIME.call({}))
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "", "/etc/localtime"])
async def test_current_time_with_an_invalid_zone_explains(zone: str) -> None:
    result = await CURRENT_TIME.call({"timezone": zone})
    assert result.startswith(f"Unknown time zone {zone!r}")
    assert "Europe/Berlin" in result
