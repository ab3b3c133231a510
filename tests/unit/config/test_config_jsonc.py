"""Comments and trailing commas, with JSON error positions kept."""

from __future__ import annotations

import json

import pytest

from core.config import jsonc


def test_line_and_block_comments_are_stripped() -> None:
    text = """// heading
{
  "a": 1, // trailing
  /* block
     over lines */ "b": [1, /* inline */ 2]
}"""
    assert jsonc.loads(text) == {"a": 1, "b": [1, 2]}


def test_comment_markers_inside_strings_are_kept() -> None:
    text = r'{"url": "http://x//y", "glob": "/* not */", "q": "say \"//\" ok"} // end'
    assert jsonc.loads(text) == {"url": "http://x//y", "glob": "/* not */", "q": 'say "//" ok'}


def test_trailing_commas_are_allowed() -> None:
    text = '{"a": [1, 2, ], "b": {"c": 1, /* gone */ }, // note\n}'
    assert jsonc.loads(text) == {"a": [1, 2], "b": {"c": 1}}


def test_a_comma_inside_a_string_is_not_trailing() -> None:
    assert jsonc.loads('{"a": ",", "b": [","]}') == {"a": ",", "b": [","]}


def test_strip_keeps_length_and_lines() -> None:
    text = '{\n  "a": 1, // c\n  /* x\n y */ "b": 2,\n}'
    stripped = jsonc.strip(text)
    assert len(stripped) == len(text)
    assert stripped.count("\n") == text.count("\n")


def test_error_positions_point_into_the_original_text() -> None:
    text = '{\n  /* a comment */ "a": 1, // another\n  "b": tru\n}'
    with pytest.raises(json.JSONDecodeError) as caught:
        jsonc.loads(text)
    assert (caught.value.lineno, caught.value.colno) == (3, 8)


def test_unterminated_block_comment_is_reported_where_it_starts() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        jsonc.loads('{"a": 1,\n /* open')
    assert (caught.value.lineno, caught.value.colno) == (2, 2)
