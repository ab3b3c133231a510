"""Splitting long answers at 4,096 UTF-16 units: never mid-code, never mid-pair."""

from __future__ import annotations

import random

import pytest

from channels.telegram.formatted import Entity, Formatted, utf16_len
from channels.telegram.markdown import render_markdown
from channels.telegram.split import split_message


def _check(parts: list[Formatted], limit: int) -> None:
    for part in parts:
        assert 0 < utf16_len(part.text) <= limit
        assert part.text == part.text.strip(" \n") or part.text.startswith(" ")
        for e in part.entities:
            assert 0 <= e.offset < e.end <= len(part.text)
        part.api_entities()  # converts without error


def test_short_text_is_one_message_and_empty_none() -> None:
    assert split_message(Formatted("hi")) == [Formatted("hi")]
    assert split_message(Formatted("")) == []


def test_cuts_at_paragraphs_then_lines_then_spaces() -> None:
    text = "\n\n".join(["a" * 60] * 3)
    assert [p.text for p in split_message(Formatted(text), 130)] == [
        "a" * 60 + "\n\n" + "a" * 60,
        "a" * 60,
    ]
    lines = "\n".join(["b" * 30] * 5)
    assert [len(p.text) for p in split_message(Formatted(lines), 70)] == [61, 61, 30]
    words = " ".join(["c" * 9] * 10)
    assert all(not p.text.startswith(" ") for p in split_message(Formatted(words), 25))
    assert "".join(split_message(Formatted("d" * 100), 30)[0].text) == "d" * 30


def test_surrogate_pairs_are_never_split_and_count_twice() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units
    parts = split_message(Formatted(text))
    assert [utf16_len(p.text) for p in parts] == [4096, 1904]
    assert "".join(p.text for p in parts) == text
    odd = "a" + "😀" * 2048  # the 4,096th unit is the first half of a pair
    first = split_message(Formatted(odd))[0]
    assert utf16_len(first.text) == 4095 and first.text.endswith("😀")


def test_a_code_block_that_fits_moves_whole_to_the_next_message() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(200))
    text = "intro " * 400 + "\n\n```python\n" + code + "\n```\n\nafter"
    parts = split_message(render_markdown(text))
    _check(parts, 4096)
    blocks = [(p, e) for p in parts for e in p.entities if e.type == "pre"]
    assert len(blocks) == 1
    part, pre = blocks[0]
    assert part.text[pre.offset : pre.end] == code


def test_a_code_block_longer_than_a_message_is_cut_at_lines_into_closed_blocks() -> None:
    code = "\n".join(f"    value_{i} = compute({i})  # 😀" for i in range(400))
    parts = split_message(render_markdown("Before.\n\n```py\n" + code + "\n```\n\nAfter."))
    _check(parts, 4096)
    pieces = []
    for part in parts:
        for e in part.entities:
            assert e.type == "pre" and e.language == "py"
            pieces.append(part.text[e.offset : e.end])
    assert "\n".join(pieces) == code  # cut only at line breaks, indentation kept
    assert all(piece.startswith("    value_") for piece in pieces)


def test_inline_formatting_across_the_cut_is_clipped_into_both() -> None:
    text = Formatted("x" * 50 + " " + "y" * 50, (Entity("bold", 40, 20),))
    first, second = split_message(text, 60)
    assert first.entities == (Entity("bold", 40, 10),)
    assert second.entities == (Entity("bold", 0, 9),)


@pytest.mark.parametrize("seed", range(20))
def test_random_markdown_always_splits_into_valid_messages(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["word", "**bold**", "`c`", "😀", "\n", "\n\n", "```\ncode line\n```", "- item\n", " "]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(500, 3000)))
    formatted = render_markdown(text)
    limit = rng.choice([64, 300, 4096])
    parts = split_message(formatted, limit)
    _check(parts, limit)
    joined = "".join(p.text for p in parts).replace("\n", "").replace(" ", "")
    assert joined == formatted.text.replace("\n", "").replace(" ", "")
