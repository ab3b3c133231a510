"""The model's Markdown as Slack mrkdwn.

Parsed with mistune (CommonMark, plus tables and ~~strikethrough~~; already
facio's Markdown parser for Telegram) into its AST, then written as mrkdwn:
``**strong**`` and headings become ``*bold*``, ``*emphasis*`` ``_italic_``,
``~~strike~~`` ``~strike~``, inline code stays ```code```, fenced and
indented blocks become ```` ``` ```` blocks (mrkdwn has no languages: the
fence's language is dropped), links ``<url|text>`` (http, https and mailto
only; others are shown as text), quotes ``>`` lines, lists bullets or
numbers, tables a monospace block.

Escaping is the point of doing this on a parse tree rather than with regular
expressions: Slack reads ``<…>`` as its own syntax — ``<!channel>`` notifies
a whole channel, ``<@U…>`` mentions someone — so every ``&``, ``<`` and ``>``
of the model's text becomes ``&amp;``, ``&lt;``, ``&gt;`` (also inside code,
as Slack asks), and only the links this module writes are Slack syntax. The
converters on PyPI (``markdown-to-mrkdwn``, regular expressions over the
text) do not escape them; this one is ~150 lines over the parser we have.

Partial text (an answer still streaming) parses too: an unclosed fence is a
code block to the end, an unclosed ``**`` is literal.
"""

from __future__ import annotations

import html
from typing import Any

import mistune

__all__ = ["escape", "render_mrkdwn"]

_PARSER = mistune.create_markdown(renderer="ast", plugins=["strikethrough", "table"])
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_MARKS = {"strong": "*", "emphasis": "_", "strikethrough": "~"}
_RULE = "———"
_FENCE = "```"
_BROKEN_FENCE = "``\u200b`"
"""A fence inside code, with a zero-width space that keeps it from closing the block."""

Node = dict[str, Any]


def escape(text: str) -> str:
    """``text`` safe to show in mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_block(code: str) -> str:
    """``code`` as a mrkdwn code block (escaped; a fence inside it cannot close it)."""
    body = escape(code).replace(_FENCE, _BROKEN_FENCE)
    return f"{_FENCE}\n{body}\n{_FENCE}"


def render_mrkdwn(text: str) -> str:
    """The model's Markdown as mrkdwn (see the module docstring)."""
    tokens = _PARSER(text)
    if isinstance(tokens, str):  # pragma: no cover - the AST renderer returns tokens
        return escape(tokens)
    return _blocks(tokens, tight=False).strip("\n")


def _blocks(nodes: list[Node], *, tight: bool) -> str:
    parts = [_block(node) for node in nodes if node["type"] != "blank_line"]
    return ("\n" if tight else "\n\n").join(p for p in parts if p)


def _block(node: Node) -> str:
    kind = node["type"]
    if kind in ("paragraph", "block_text"):
        return _inlines(node.get("children", []))
    if kind == "heading":
        inner = _inlines(node.get("children", [])).strip()
        return f"*{inner}*" if inner else ""
    if kind == "block_code":
        code = str(node.get("raw", "")).rstrip("\n")
        return code_block(code) if code.strip() else ""
    if kind == "block_quote":
        inner = _blocks(node.get("children", []), tight=False)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind == "list":
        return _list(node)
    if kind == "thematic_break":
        return _RULE
    if kind == "table":
        return _table(node)
    return escape(str(node.get("raw", "")).rstrip("\n"))  # block_html and the unknown: as text


def _list(node: Node, depth: int = 0) -> str:
    attrs = node.get("attrs", {})
    ordered = bool(attrs.get("ordered"))
    number = int(attrs.get("start", 1) or 1)
    tight = bool(node.get("tight", True))
    items: list[str] = []
    for index, item in enumerate(node.get("children", [])):
        marker = f"{number + index}." if ordered else "•"
        lines: list[str] = []
        for child in item.get("children", []):
            if child["type"] == "list":
                lines.append(_list(child, depth + 1))
            elif child["type"] != "blank_line":
                lines.append(_block(child))
        body = "\n".join(line for line in lines if line)
        first, _, rest = body.partition("\n")
        head = "    " * depth + f"{marker} {first}"
        items.append(head + (f"\n{rest}" if rest else ""))
    return ("\n" if tight else "\n\n").join(items)


def _table(node: Node) -> str:
    rows: list[list[str]] = []
    for part in node.get("children", []):
        if part["type"] == "table_head":
            rows.append([_plain(cell) for cell in part.get("children", [])])
        else:
            rows.extend(
                [_plain(cell) for cell in row.get("children", [])]
                for row in part.get("children", [])
            )
    if not rows:
        return ""
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[: len(widths)])).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return code_block("\n".join(lines))


def _inlines(nodes: list[Node], *, in_link: bool = False) -> str:
    return "".join(_inline(node, in_link=in_link) for node in nodes)


def _inline(node: Node, *, in_link: bool) -> str:
    kind = node["type"]
    if kind == "text":  # literal backticks the parser left must not open a block in Slack
        return escape(html.unescape(str(node.get("raw", "")))).replace(_FENCE, _BROKEN_FENCE)
    if kind in ("softbreak", "linebreak"):
        return "\n"
    if kind == "codespan":
        code = str(node.get("raw", "")).replace("`", "ˋ")
        return f"`{escape(code)}`" if code.strip() else escape(code)
    if kind in _MARKS:
        inner = _inlines(node.get("children", []), in_link=in_link)
        mark = _MARKS[kind]
        return f"{mark}{inner}{mark}" if inner.strip() else inner
    if kind in ("link", "image"):
        return _link(node, in_link=in_link)
    return escape(str(node.get("raw", "")))  # inline_html and the unknown: literal


def _link(node: Node, *, in_link: bool) -> str:
    url = str(node.get("attrs", {}).get("url", ""))
    label = _inlines(node.get("children", []), in_link=True) if node["type"] == "link" else ""
    if node["type"] == "image":
        label = "🖼 " + escape(_plain(node) or "image")
    usable = url.lower().startswith(_LINK_SCHEMES) and not any(c in url for c in "<>| \n")
    if in_link or not usable:
        shown = label or escape(url)
        return shown if not url or escape(url) in shown else f"{shown} ({escape(url)})"
    if not label.strip() or label == escape(url):
        return f"<{escape(url)}>"
    return f"<{escape(url)}|{label.replace('|', '¦')}>"


def _plain(node: Node) -> str:
    """The text of an inline subtree, without formatting (table cells, image alt text)."""
    if "children" in node:
        return "".join(_plain(child) for child in node["children"])
    if node["type"] in ("softbreak", "linebreak"):
        return " "
    return html.unescape(str(node.get("raw", "")))
