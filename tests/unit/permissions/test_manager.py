"""PermissionManager: deny by default, rules from defaults, the file and the session."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.permissions import PERMISSIONS_FILE, MemoryPermissionStore, PermissionManager


async def _manager(workspace: Path, **kwargs: object) -> PermissionManager:
    manager = PermissionManager(workspace, **kwargs)  # type: ignore[arg-type]
    await manager.load()
    return manager


def _saved_rules(workspace: Path) -> list[str]:
    data = json.loads((workspace / PERMISSIONS_FILE).read_text(encoding="utf-8"))
    assert isinstance(data["allow"], list)
    return data["allow"]


async def test_deny_by_default(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    assert not manager.is_allowed("save_note")
    assert not manager.is_allowed("current_time", {"timezone": "UTC"})
    assert manager.rules == {"defaults": [], "always": [], "session": []}
    assert not (tmp_path / PERMISSIONS_FILE).exists()  # loading creates nothing


async def test_defaults_allow_by_name_and_glob(tmp_path: Path) -> None:
    manager = await _manager(tmp_path, defaults=["current_time", "mcp_time_*"])
    assert manager.is_allowed("current_time")
    assert manager.is_allowed("mcp_time_now")
    assert manager.is_allowed("mcp_time_convert_zone")
    assert not manager.is_allowed("mcp_timezone")
    assert not manager.is_allowed("mcp_fs_write")
    assert not manager.is_allowed("current_time_zone")
    assert not manager.is_allowed("CURRENT_TIME")  # names are case-sensitive
    assert not manager.is_allowed("save_note")


async def test_defaults_apply_without_load(tmp_path: Path) -> None:
    manager = PermissionManager(tmp_path, defaults=["list_notes"])
    assert manager.is_allowed("list_notes")
    assert not manager.is_allowed("save_note")


async def test_allow_always_persists_for_a_new_manager(tmp_path: Path) -> None:
    first = await _manager(tmp_path)
    await first.allow_always("save_note")
    assert first.is_allowed("save_note")
    assert _saved_rules(tmp_path) == ["save_note"]

    second = PermissionManager(tmp_path, session_key="another-session")
    assert not second.is_allowed("save_note")  # not loaded yet
    await second.load()
    assert second.is_allowed("save_note")
    assert not second.is_allowed("list_notes")
    assert second.rules["always"] == ["save_note"]


async def test_allow_always_glob_persists(tmp_path: Path) -> None:
    await (await _manager(tmp_path)).allow_always("mcp_fs_*")
    manager = await _manager(tmp_path)
    assert manager.is_allowed("mcp_fs_read")
    assert not manager.is_allowed("mcp_web_fetch")


async def test_allow_always_from_two_managers_keeps_both(tmp_path: Path) -> None:
    one = await _manager(tmp_path)
    two = await _manager(tmp_path)
    await one.allow_always("save_note")
    await two.allow_always("list_notes")  # must not overwrite the first rule
    assert _saved_rules(tmp_path) == ["list_notes", "save_note"]
    fresh = await _manager(tmp_path)
    assert fresh.is_allowed("save_note") and fresh.is_allowed("list_notes")


async def test_allow_session_is_per_session_key_and_not_persisted(tmp_path: Path) -> None:
    store = MemoryPermissionStore()
    mine = PermissionManager(store=store, session_key="telegram:1")
    theirs = PermissionManager(store=store, session_key="telegram:2")
    await mine.load()
    await theirs.load()

    await mine.allow_session("save_note")
    assert mine.is_allowed("save_note")
    await theirs.load()
    assert not theirs.is_allowed("save_note")

    again = PermissionManager(store=store, session_key="telegram:1")
    await again.load()
    assert again.is_allowed("save_note")
    assert again.rules["session"] == ["save_note"]
    assert again.rules["always"] == []


async def test_allow_session_does_not_touch_the_file(tmp_path: Path) -> None:
    manager = await _manager(tmp_path, session_key="s1")
    await manager.allow_always("list_notes")
    before = (tmp_path / PERMISSIONS_FILE).read_bytes()

    await manager.allow_session("save_note")

    assert manager.is_allowed("save_note")
    assert (tmp_path / PERMISSIONS_FILE).read_bytes() == before
    # a new process on the same workspace, same session key: the rule is gone
    restarted = await _manager(tmp_path, session_key="s1")
    assert not restarted.is_allowed("save_note")
    assert restarted.is_allowed("list_notes")


async def test_load_reads_rules_written_since(tmp_path: Path) -> None:
    manager = await _manager(tmp_path)
    await (await _manager(tmp_path)).allow_always("save_note")
    assert not manager.is_allowed("save_note")
    await manager.load()
    assert manager.is_allowed("save_note")


async def test_hand_written_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / PERMISSIONS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"allow": ["current_time", "mcp_*"]}), encoding="utf-8")
    manager = await _manager(tmp_path)
    assert manager.is_allowed("mcp_time_now")
    assert manager.is_allowed("current_time")
    assert not manager.is_allowed("save_note")


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b'["save_note"]',
        b'{"allow": "save_note"}',
        b'{"allow": ["ok", 3]}',
        b'{"deny": []}',
        b'{"allow": ["\xff\xfe"]}',
    ],
    ids=[
        "invalid-json",
        "empty",
        "list",
        "allow-not-list",
        "non-string-rule",
        "no-allow",
        "not-utf8",
    ],
)
async def test_corrupt_file_is_a_config_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / PERMISSIONS_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    manager = PermissionManager(tmp_path)
    with pytest.raises(ConfigError) as info:
        await manager.load()
    assert str(path) in str(info.value)
    # adding a rule must not overwrite the broken file either
    with pytest.raises(ConfigError):
        await manager.allow_always("save_note")
    assert path.read_bytes() == content


async def test_many_allow_always_calls_leave_valid_json_and_no_temp_files(
    tmp_path: Path,
) -> None:
    manager = await _manager(tmp_path)
    names = [f"tool_{i:02d}" for i in range(40)]
    for name in names:
        await manager.allow_always(name)
        assert _saved_rules(tmp_path)[-1] == name  # valid JSON after every write
    await asyncio.gather(*(manager.allow_always(f"more_{i}") for i in range(20)))

    expected = sorted([*names, *(f"more_{i}" for i in range(20))])
    assert _saved_rules(tmp_path) == expected
    assert sorted(p.name for p in (tmp_path / ".facio").iterdir()) == ["permissions.json"]
    assert (await _manager(tmp_path)).rules["always"] == expected


async def test_workspace_defaults_to_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    manager = PermissionManager()
    await manager.load()
    await manager.allow_always("save_note")
    assert _saved_rules(tmp_path) == ["save_note"]
