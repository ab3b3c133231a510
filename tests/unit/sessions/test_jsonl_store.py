"""JsonlSessionStore: one JSONL file per session, atomic writes, strict reads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from core.errors import CorruptSessionError, SessionStoreError
from core.messages import AssistantMessage, UserMessage, message_to_json
from core.sessions import JsonlSessionStore
from tests.unit.sessions.samples import EVERY_KIND

ODD_KEYS = [
    "telegram:123",
    "slack/T01/C02/1700000000.0001",
    "with spaces  and\ttabs",
    "ключ 🔑 鍵",
    "100%",
    "a%2Fb",
    "../x",
    "..",
    ".",
    ".hidden",
    ".tmp-looks-like-a-temp-file",
    "nested/../../escape",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def store(root: Path) -> JsonlSessionStore:
    return JsonlSessionStore(root)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _line(content: str) -> bytes:
    return (message_to_json(UserMessage(content=content)) + "\n").encode()


class _Unserializable(UserMessage):
    """A message whose serialization fails half way through a write."""

    def model_dump_json(self, **kwargs: Any) -> str:
        raise RuntimeError("serialization failed")


async def test_every_message_kind_round_trips(store: JsonlSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    # a fresh store reads the file, not some cache
    assert await JsonlSessionStore(store.root).load("s") == EVERY_KIND


async def test_file_has_one_json_object_per_line(store: JsonlSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    lines = store.path("s").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["role"] for line in lines] == [
        "user",
        "assistant",
        "tool_started",
        "tool",
        "tool",
        "assistant",
        "user",
    ]


async def test_append_adds_at_the_end(store: JsonlSessionStore) -> None:
    await store.append("s", EVERY_KIND[:2])
    await store.append("s", EVERY_KIND[2:])
    assert await store.load("s") == EVERY_KIND


async def test_unknown_session_is_empty(store: JsonlSessionStore, root: Path) -> None:
    assert await store.load("never-seen") == []
    assert await store.keys() == []
    assert not root.exists()


async def test_append_nothing_creates_no_file(store: JsonlSessionStore, root: Path) -> None:
    await store.append("s", [])
    assert await store.keys() == []
    assert _files(root) == []


async def test_sessions_stay_separate(store: JsonlSessionStore) -> None:
    await store.append("a", [UserMessage(content="for a")])
    await store.append("b", [UserMessage(content="for b")])
    await store.append("a", [AssistantMessage(content="answer a")])
    assert await store.load("a") == [
        UserMessage(content="for a"),
        AssistantMessage(content="answer a"),
    ]
    assert await store.load("b") == [UserMessage(content="for b")]
    assert await store.keys() == ["a", "b"]


async def test_replace_sets_whole_history(store: JsonlSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    await store.replace("s", [UserMessage(content="fresh")])
    assert await store.load("s") == [UserMessage(content="fresh")]


async def test_delete_forgets_only_that_session(store: JsonlSessionStore) -> None:
    await store.append("a", [UserMessage(content="x")])
    await store.append("b", [UserMessage(content="y")])
    await store.delete("a")
    assert await store.load("a") == []
    assert await store.keys() == ["b"]
    assert not store.path("a").exists()
    await store.delete("a")  # deleting again is harmless
    await store.delete("never-seen")
    assert await store.load("b") == [UserMessage(content="y")]


@pytest.mark.parametrize("key", ODD_KEYS)
async def test_odd_keys_round_trip_and_stay_in_root(
    store: JsonlSessionStore, root: Path, key: str
) -> None:
    await store.append(key, [UserMessage(content=key)])
    assert store.path(key).parent == root
    assert await store.keys() == [key]
    assert await JsonlSessionStore(root).load(key) == [UserMessage(content=key)]
    # exactly one file, inside the root, and nothing written next to it
    assert len(_files(root)) == 1
    assert _files(root.parent) == ["sessions"]


async def test_all_odd_keys_are_distinct_files(store: JsonlSessionStore, root: Path) -> None:
    for key in ODD_KEYS:
        await store.append(key, [UserMessage(content=key)])
    assert await store.keys() == sorted(ODD_KEYS)
    assert len(_files(root)) == len(ODD_KEYS)
    for key in ODD_KEYS:
        assert await store.load(key) == [UserMessage(content=key)]


@pytest.mark.parametrize("operation", ["load", "append", "replace", "delete"])
async def test_empty_key_is_rejected(store: JsonlSessionStore, root: Path, operation: str) -> None:
    method = getattr(store, operation)
    args = () if operation in ("load", "delete") else ([UserMessage(content="x")],)
    with pytest.raises(SessionStoreError, match="empty"):
        await method("", *args)
    assert _files(root) == []


async def test_writes_leave_no_temporary_files(store: JsonlSessionStore, root: Path) -> None:
    for i in range(5):
        await store.append("s", [UserMessage(content=str(i))])
    await store.replace("s", [UserMessage(content="r")])
    assert _files(root) == [store.path("s").name]


async def test_failed_append_keeps_old_history(store: JsonlSessionStore, root: Path) -> None:
    await store.append("s", EVERY_KIND)
    before = store.path("s").read_bytes()
    with pytest.raises(RuntimeError, match="serialization failed"):
        await store.append("s", [UserMessage(content="ok"), _Unserializable(content="boom")])
    assert store.path("s").read_bytes() == before
    assert _files(root) == [store.path("s").name]
    assert await store.load("s") == EVERY_KIND


async def test_failed_first_append_creates_no_session(store: JsonlSessionStore, root: Path) -> None:
    with pytest.raises(RuntimeError):
        await store.append("s", [_Unserializable(content="boom")])
    assert _files(root) == []
    assert await store.keys() == []


async def test_failed_replace_keeps_old_history(store: JsonlSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    before = store.path("s").read_bytes()
    with pytest.raises(RuntimeError):
        await store.replace("s", [_Unserializable(content="boom")])
    assert store.path("s").read_bytes() == before


async def test_truncated_last_line_is_corrupt_and_left_alone(store: JsonlSessionStore) -> None:
    await store.append("s", [UserMessage(content="one"), UserMessage(content="two")])
    path = store.path("s")
    damaged = path.read_bytes() + _line("three")[:-9]  # cut short, no line end
    path.write_bytes(damaged)

    with pytest.raises(CorruptSessionError) as info:
        await store.load("s")
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)
    assert path.read_bytes() == damaged

    # an append must not "repair" the file by dropping the damaged line
    with pytest.raises(CorruptSessionError):
        await store.append("s", [UserMessage(content="four")])
    assert path.read_bytes() == damaged


async def test_complete_last_line_without_newline_loads(store: JsonlSessionStore) -> None:
    # a hand-edited file often lacks the final newline; the message is whole,
    # so nothing is lost by reading it (a line cut inside the JSON still fails)
    path = store.path("s")
    path.parent.mkdir(parents=True)
    path.write_bytes(_line("one") + _line("two")[:-1])
    loaded = await store.load("s")
    assert [m.content for m in loaded] == ["one", "two"]  # type: ignore[union-attr]
    await store.append("s", [UserMessage(content="three")])
    assert path.read_bytes().endswith(b"\n")
    assert len(await store.load("s")) == 3


@pytest.mark.parametrize("length", [256, 512])
async def test_long_keys_are_short_files_of_their_own(
    store: JsonlSessionStore, root: Path, length: int
) -> None:
    """Keys as long as the API takes: one short file each, told apart, listed back."""
    one, other = "会" * length, "会" * (length - 1) + "x"
    await store.append(one, [UserMessage(content="one")])
    await store.append(other, [UserMessage(content="other")])
    assert await store.load(one) == [UserMessage(content="one")]
    assert await store.load(other) == [UserMessage(content="other")]
    assert sorted(await store.keys()) == sorted([one, other])
    assert all(len(p.name.encode()) <= 255 for p in root.iterdir())
    await store.delete(one)
    assert await store.keys() == [other]
    assert len(list(root.iterdir())) == 2  # the other's history and its key


async def test_a_history_of_an_older_version_is_moved_to_its_new_name(
    store: JsonlSessionStore, root: Path
) -> None:
    key = "api:" + "y" * 150  # older versions named it by the whole encoded key
    root.mkdir(parents=True)
    (root / ("api%3A" + "y" * 150 + ".jsonl")).write_bytes(_line("kept"))
    assert await store.keys() == [key]
    assert await store.load(key) == [UserMessage(content="kept")]
    assert [p.name for p in root.iterdir()] == [store.path(key).name]


async def test_garbage_line_in_the_middle_names_its_line(store: JsonlSessionStore) -> None:
    path = store.path("s")
    path.parent.mkdir(parents=True)
    content = _line("one") + b"\n" + b"{not json at all\n" + _line("four")
    path.write_bytes(content)
    with pytest.raises(CorruptSessionError) as info:
        await store.load("s")
    message = str(info.value)
    assert str(path) in message
    assert "line 3" in message
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    "bad",
    [
        b'{"role": "system", "content": "x"}',
        b'{"role": "user"}',
        b'{"role": "user", "content": "x", "surprise": 1}',
        b"[1, 2, 3]",
        b"\xff\xfe\x00",
    ],
    ids=["unknown-role", "missing-field", "extra-field", "not-an-object", "not-utf8"],
)
async def test_line_that_is_not_a_message_is_corrupt(store: JsonlSessionStore, bad: bytes) -> None:
    path = store.path("s")
    path.parent.mkdir(parents=True)
    path.write_bytes(_line("one") + bad + b"\n")
    with pytest.raises(CorruptSessionError, match="line 2"):
        await store.load("s")


async def test_blank_lines_are_tolerated(store: JsonlSessionStore) -> None:
    path = store.path("s")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\n" + _line("one") + b"   \n\n" + _line("two") + b"\n")
    assert await store.load("s") == [UserMessage(content="one"), UserMessage(content="two")]


async def test_unreadable_history_is_a_store_error(store: JsonlSessionStore) -> None:
    store.path("s").mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(SessionStoreError, match="cannot read"):
        await store.load("s")


async def test_keys_ignore_other_files(store: JsonlSessionStore, root: Path) -> None:
    await store.append("real", [UserMessage(content="x")])
    (root / "notes.txt").write_text("not a session")
    (root / ".tmp-abandoned.jsonl").write_text("left by a crash")
    assert await store.keys() == ["real"]


async def test_concurrent_appends_all_land_in_order_per_task(store: JsonlSessionStore) -> None:
    tasks, per_task = 20, 5

    async def writer(task: int) -> None:
        for i in range(per_task):
            await store.append("shared", [UserMessage(content=f"{task}:{i}")])
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(t) for t in range(tasks)))

    history = await store.load("shared")
    assert len(history) == tasks * per_task
    contents = [m.content for m in history if isinstance(m, UserMessage)]
    for task in range(tasks):
        mine = [c for c in contents if c.split(":")[0] == str(task)]
        assert mine == [f"{task}:{i}" for i in range(per_task)]


async def test_concurrent_multi_message_appends_are_not_interleaved(
    store: JsonlSessionStore,
) -> None:
    async def writer(task: int) -> None:
        batch = [UserMessage(content=f"{task}:{i}") for i in range(3)]
        await store.append("shared", batch)

    await asyncio.gather(*(writer(t) for t in range(10)))

    contents = [m.content for m in await store.load("shared") if isinstance(m, UserMessage)]
    assert len(contents) == 30
    for start in range(0, 30, 3):
        task = contents[start].split(":")[0]
        assert contents[start : start + 3] == [f"{task}:{i}" for i in range(3)]
