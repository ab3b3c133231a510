"""What session keys become on disk: collision-free, short, never a path; older names adopted."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.paths import (
    NAME_LIMIT,
    adopt,
    key_of,
    legacy_session_name,
    session_folder,
    session_name,
)

# keys as the API, chats and the SDK make them: separators and escapes of the mapping
# itself, dots, unicode (lone surrogates too: an SDK key may hold one), any length
_TRICKY = ":_%+.~/\\@ -\x00\n" + "éß中😀\u202e\ud800"
_CHARS = st.one_of(st.sampled_from(_TRICKY), st.characters(codec=None), st.characters())
KEYS = st.one_of(
    st.text(_CHARS, max_size=40),
    st.text(_CHARS, min_size=100, max_size=600),
    st.builds(lambda tail: "api:" + tail, st.text(_CHARS, min_size=1, max_size=300)),
)


def _check_name(name: str) -> None:
    assert 0 < len(name.encode()) <= NAME_LIMIT <= 255
    assert name.isascii() and name.isprintable()
    assert "/" not in name and "\x00" not in name and "\\" not in name
    assert ".." not in name and not name.startswith(".")
    assert name not in (".", "..")


@given(KEYS)
@settings(max_examples=500)
def test_every_key_is_one_short_safe_name(key: str) -> None:
    name = session_name(key)
    _check_name(name)
    assert session_name(key) == name  # the same every time
    back = key_of(name)
    assert back is None or back == key  # a short name reads back as its key
    if back is None:
        assert "+" in name  # a long key's name: prefix, "+", digest


@given(KEYS, KEYS)
@settings(max_examples=500)
def test_different_keys_never_share_a_name(a: str, b: str) -> None:
    assume(a != b)
    assert session_name(a) != session_name(b)


@given(st.lists(KEYS, min_size=2, max_size=30, unique=True))
def test_a_batch_of_keys_has_as_many_names(keys: list[str]) -> None:
    assert len({session_name(k) for k in keys}) == len(keys)


@given(st.text(_CHARS, min_size=1, max_size=300))
def test_separator_variants_do_not_collide(tail: str) -> None:
    """``:`` and ``_`` (and the escapes of the mapping) are told apart, short or long."""
    variants = {
        "api:" + tail,
        "api:" + tail.replace(":", "_"),
        "api:" + tail.replace("_", ":"),
        "api_" + tail,
        "api:" + tail.replace("%", "%25"),
        "api:" + tail + "+",
        "api:" + tail + ".",
    }
    assert len({session_name(k) for k in variants}) == len(variants)


@given(st.text(_CHARS, min_size=0, max_size=60), st.text(min_size=1, max_size=3))
def test_long_keys_sharing_a_prefix_differ(tail: str, end: str) -> None:
    common = "api:" + "x" * 300 + tail
    assert session_name(common) != session_name(common + end)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(st.lists(KEYS, min_size=1, max_size=20, unique=True))
def test_the_file_system_takes_every_name_as_one_file(tmp_path: Path, keys: list[str]) -> None:
    folder = tmp_path / str(len(list(tmp_path.iterdir())))
    folder.mkdir()
    for key in keys:
        # the longest suffix facio adds to a session's name
        path = folder / f"{session_name(key)}@{session_name('sub-' + 'f' * 8)}.tmp"
        path.write_text(key, encoding="utf-8", errors="surrogatepass")
    assert len(list(folder.iterdir())) == len(keys)


def test_names_are_stable_across_versions() -> None:
    """Changing any of these orphans existing sessions' files: do not."""
    assert session_name("telegram:42") == "telegram%3A42"
    assert session_name("api:a_b") == "api%3Aa_b"
    assert session_name("api:a:b") == "api%3Aa%3Ab"
    assert session_name("slack:T1:C2:1700.1") == "slack%3AT1%3AC2%3A1700.1"
    assert session_name("me") == "me"
    assert session_name("..") == "%2E%2E"
    assert session_name(".hidden") == "%2Ehidden"
    assert session_name("a..b") == "a.%2Eb"
    assert session_name("a/b") == "a%2Fb"
    assert session_name("") == "+e3b0c44298fc1c149afbf4c8996fb924"
    long = "api:" + "x" * 252
    assert session_name(long) == "api%3A" + "x" * 81 + "+87a0e8906abb27e368bf860e62e4e84d"
    assert len(session_name(long)) == NAME_LIMIT
    # a cut never splits an escape, nor a character's escapes
    assert session_name("é" * 100).startswith("%C3%A9" * 14 + "+")
    assert session_name("a" + "é" * 100).startswith("a" + "%C3%A9" * 14 + "+")
    assert session_name("ab" + "😀" * 100).startswith("ab" + "%F0%9F%98%80" * 7 + "+")


def test_older_names_are_known_where_they_differ() -> None:
    assert legacy_session_name("telegram:42") is None  # the same name: nothing to adopt
    assert legacy_session_name("a" * NAME_LIMIT) is None
    assert legacy_session_name("a" * 200) == "a" * 200
    assert legacy_session_name("a..b") == "a..b"
    assert legacy_session_name("..") == "%2E."
    assert legacy_session_name("a" * 256) is None  # too long a name ever to have worked
    assert legacy_session_name("") is None  # "%00": "\x00" had it too
    assert legacy_session_name("\ud800") is None  # older versions failed on it


def test_a_session_folder_of_an_older_version_is_adopted(tmp_path: Path) -> None:
    key = "api:" + "y" * 150
    old = tmp_path / "sessions" / ("api%3A" + "y" * 150)
    old.mkdir(parents=True)
    (old / "data.csv").write_text("kept")
    folder = session_folder(tmp_path, key)
    assert folder == tmp_path / "sessions" / session_name(key)
    assert (folder / "data.csv").read_text() == "kept"
    assert not old.exists()
    assert session_folder(tmp_path, key) == folder  # once


def test_adopting_never_replaces_and_only_one_process_takes_a_file(tmp_path: Path) -> None:
    legacy, new = tmp_path / "old.md", tmp_path / "new.md"
    legacy.write_text("old")
    new.write_text("new")
    assert adopt(new, legacy) is False
    assert new.read_text() == "new" and legacy.read_text() == "old"
    new.unlink()
    takers = [tmp_path / f"t{i}.md" for i in range(8)]
    barrier = threading.Barrier(len(takers))
    results: dict[Path, bool] = {}

    def take(path: Path) -> None:
        barrier.wait()
        results[path] = adopt(path, legacy)

    threads = [threading.Thread(target=take, args=(p,)) for p in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results.values()) == 1
    (winner,) = [p for p, took in results.items() if took]
    assert winner.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == [winner.name]  # no claim left behind


def test_adopting_nothing_is_nothing(tmp_path: Path) -> None:
    assert adopt(tmp_path / "new", tmp_path / "missing") is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["", "..", "/etc/passwd", "../../x", "a\x00b"])
def test_a_session_folder_is_always_inside_sessions(tmp_path: Path, key: str) -> None:
    folder = session_folder(tmp_path, key)
    assert folder.parent == tmp_path / "sessions" and folder.is_dir()
