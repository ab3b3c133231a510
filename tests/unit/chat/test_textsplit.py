"""Splitting Markdown-like text (Discord, Slack): within the limit, code blocks never open."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.chat.textsplit import FENCE, split_text

LINE = st.text(alphabet=st.sampled_from("ab c😀\t`*_"), max_size=60)
CODE = st.lists(LINE, max_size=40).map(lambda lines: "```py\n" + "\n".join(lines) + "\n```")
TEXT = st.lists(st.one_of(LINE, CODE, st.just("")), max_size=60).map("\n".join)


def _fences(part: str) -> int:
    return sum(1 for line in part.splitlines() if re.match(r"^ {0,3}```", line))


def _words(text: str) -> str:
    """The text without blanks and fence lines: what must survive a split."""
    kept = [line for line in text.splitlines() if not re.match(r"^ {0,3}```", line)]
    return "".join("".join(kept).split())


@settings(max_examples=150, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=100, max_value=700))
def test_parts_fit_keep_every_word_and_never_leave_a_block_open(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    if _fences(text) % 2 == 0:  # (a fence the model never closed stays open to the end)
        assert all(_fences(part) % 2 == 0 for part in parts), parts
    assert _words("\n".join(parts)) == _words(text)


def test_a_block_that_fits_moves_whole_to_the_next_message() -> None:
    code = "```python\n" + "\n".join(f"x = {i}" for i in range(20)) + "\n```"
    text = "word " * 60 + "\n\n" + code
    first, second = split_text(text, 400)
    assert FENCE not in first
    assert second == code


def test_a_longer_block_is_closed_and_opened_again_with_its_language() -> None:
    code = "```python\n" + "\n".join(f"value_{i} = {i}" for i in range(300)) + "\n```"
    parts = split_text(code, 2000)
    assert len(parts) > 1
    assert all(p.startswith("```python\n") and p.endswith("\n```") for p in parts)
    assert "value_0 = 0" in parts[0] and "value_299 = 299" in parts[-1]


def test_cuts_prefer_blank_lines_then_lines_then_spaces() -> None:
    text = "a" * 150 + "\n\n" + "b" * 150 + "\n" + "c" * 40
    assert split_text(text, 200) == ["a" * 150, "b" * 150 + "\n" + "c" * 40]
    assert split_text("word " * 100, 100)[0] == ("word " * 20).strip()


def test_short_text_is_one_message_and_limits_below_a_block_are_refused() -> None:
    assert split_text("hello", 2000) == ["hello"]
    assert split_text("\n\n", 2000) == []
    with pytest.raises(ValueError, match="cannot hold a code block"):
        split_text("x", 10)
