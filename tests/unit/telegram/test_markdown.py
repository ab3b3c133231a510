"""The model's Markdown as Telegram text + entities."""

from __future__ import annotations

import pytest

from channels.telegram.formatted import Entity, Formatted, utf16_len
from channels.telegram.markdown import render_markdown


def spans(formatted: Formatted) -> list[tuple[str, str]]:
    return [(e.type, formatted.text[e.offset : e.end]) for e in formatted.entities]


def test_inline_formatting_and_nesting() -> None:
    out = render_markdown("Some **bold _nested_** and `code` and ~~gone~~ *it*")
    assert out.text == "Some bold nested and code and gone it"
    assert spans(out) == [
        ("bold", "bold nested"),
        ("italic", "nested"),
        ("code", "code"),
        ("strikethrough", "gone"),
        ("italic", "it"),
    ]


def test_code_blocks_keep_their_language_and_their_text_verbatim() -> None:
    out = render_markdown('Run this:\n\n```python\nprint("<b>&amp;</b>")\n  indented()\n```')
    assert out.text == 'Run this:\n\nprint("<b>&amp;</b>")\n  indented()'
    (pre,) = [e for e in out.entities if e.type == "pre"]
    assert pre.language == "python"
    assert out.text[pre.offset : pre.end] == 'print("<b>&amp;</b>")\n  indented()'


def test_html_in_the_models_text_stays_literal() -> None:
    out = render_markdown("Use <b>tags</b> & <script>alert(1)</script> freely; 5 &lt; 6")
    assert out.text == "Use <b>tags</b> & <script>alert(1)</script> freely; 5 < 6"
    assert out.entities == ()


def test_links_only_for_web_and_tg_urls() -> None:
    out = render_markdown("[docs](https://example.com/a?b=1&c=2) and [local](file:///etc/passwd)")
    assert out.text == "docs and local (file:///etc/passwd)"
    assert out.entities == (Entity("text_link", 0, 4, url="https://example.com/a?b=1&c=2"),)


def test_no_code_entity_inside_a_link() -> None:
    out = render_markdown("[`api.get`](https://example.com)")
    assert spans(out) == [("text_link", "api.get")]


def test_lists_headings_quotes_and_rules() -> None:
    text = (
        "# Plan\n\n- one\n- two\n  1. sub\n\n3. three\n4. four\n\n> quoted\n> > nested\n\n---\nend"
    )
    out = render_markdown(text)
    assert out.text == (
        "Plan\n\n• one\n• two\n  1. sub\n\n3. three\n4. four\n\nquoted\n\nnested\n\n———\n\nend"
    )
    assert spans(out) == [("bold", "Plan"), ("blockquote", "quoted\n\nnested")]


def test_tables_become_aligned_monospace() -> None:
    out = render_markdown("| name | n |\n|---|---|\n| apples | **3** |\n| kiwi | 12 |")
    assert out.text == "name    n\n------  --\napples  3\nkiwi    12"
    assert [e.type for e in out.entities] == ["pre"]


@pytest.mark.parametrize(
    "partial",
    ["Here is **bold", "```python\nprint(1", "a [link](http://x", "- item\n- ", "`unclosed"],
)
def test_partial_text_while_streaming_renders(partial: str) -> None:
    out = render_markdown(partial)
    assert out.text
    assert all(0 <= e.offset < e.end <= len(out.text) for e in out.entities)


def test_entities_are_sent_in_utf16_units() -> None:
    out = render_markdown("😀 **b😀ld** `x`")
    assert out.text == "😀 b😀ld x"
    api = out.api_entities()
    assert api is not None
    assert [(e.type, e.offset, e.length) for e in api] == [("bold", 3, 5), ("code", 9, 1)]
    assert utf16_len(out.text) == 10


def test_leading_and_trailing_blank_lines_are_trimmed() -> None:
    out = render_markdown("\n\n  **hi**  \n\n")
    assert out.text == "hi" and spans(out) == [("bold", "hi")]
