"""Markdown → Slack mrkdwn: formatting, escaping of Slack's control characters, splitting."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.slack.blocks import MESSAGE_LIMIT, mrkdwn_parts, plain_text, quoted
from channels.slack.mrkdwn import render_mrkdwn


def test_inline_formatting_becomes_mrkdwn() -> None:
    text = "**bold** *italic* ~~gone~~ `code` [site](https://x.org/a?b=1&c=2)"
    assert render_mrkdwn(text) == (
        "*bold* _italic_ ~gone~ `code` <https://x.org/a?b=1&amp;c=2|site>"
    )


def test_blocks_become_mrkdwn() -> None:
    text = "# Title\n\n- one\n- two\n  1. three\n\n> said\n\n---\n\n```python\nx = 1\n```"
    assert render_mrkdwn(text) == (
        "*Title*\n\n• one\n• two\n    1. three\n\n> said\n\n———\n\n```\nx = 1\n```"
    )


def test_slack_syntax_in_the_models_text_is_escaped_everywhere() -> None:
    text = "<!channel> <@U123> & `a<b` [x](<https://e.com|evil>)\n\n```\nif a > b: pass\n```"
    out = render_mrkdwn(text)
    assert "<!" not in out and "<@" not in out
    assert "&lt;!channel&gt; &lt;@U123&gt; &amp; `a&lt;b`" in out
    assert "if a &gt; b: pass" in out


def test_unsafe_links_are_text_and_tables_are_monospace() -> None:
    assert render_mrkdwn("[x](javascript:alert(1))") == "x (javascript:alert(1))"
    table = render_mrkdwn("| a | b |\n|---|---|\n| 1 | 22 |")
    assert table == "```\na  b\n-  --\n1  22\n```"


def test_a_fence_inside_code_cannot_close_its_block() -> None:
    out = render_mrkdwn("~~~\nprint('```')\n~~~")
    assert out.count("```") == 2 and out.startswith("```\n") and out.endswith("\n```")


def test_partial_text_renders() -> None:
    assert render_mrkdwn("```py\nhalf a blo") == "```\nhalf a blo\n```"
    assert render_mrkdwn("**not closed") == "**not closed"


def test_plain_text_keeps_user_mentions_only() -> None:
    assert plain_text("Sorry <@U0ABC>, <!here> & co") == "Sorry <@U0ABC>, &lt;!here&gt; &amp; co"


def test_thoughts_are_one_quoted_part() -> None:
    part = quoted("line one\n\nline two" + " more" * 2000)
    assert part.text.startswith("💭 \n> _line one_\n>\n> _line two")
    assert len(part.text) <= MESSAGE_LIMIT


_PIECES = st.sampled_from([*"ab <>&*_`~#-\n|[]()", "```", "\n\n", "word ", "[l](https://x.io)"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=3000).map("".join))
def test_any_markdown_becomes_parts_within_the_limit_without_raw_control_characters(
    text: str,
) -> None:
    parts = mrkdwn_parts(text)
    for part in parts:
        assert 0 < len(part.text) <= MESSAGE_LIMIT
        fences = [line for line in part.text.split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0  # every code block of a part is closed in it
        unlinked = part.text.replace("<https://", "").replace("<http://", "")
        assert "<!" not in unlinked and "<@" not in unlinked
