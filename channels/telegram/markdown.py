"""The model's Markdown as Telegram entities.

Parsed with mistune (CommonMark, plus tables and ~~strikethrough~~) into its
AST, then walked into a :class:`~channels.telegram.formatted.Formatted`:
headings and ``**strong**`` become bold, ``*emphasis*`` italic, inline code
``code``, fenced and indented blocks ``pre`` (with the fence's language),
links ``text_link`` (http, https and tg URLs only; others are shown as
text), quotes ``blockquote``, lists bullets or numbers, tables a monospace
``pre`` block. Raw HTML in the model's text stays literal text: entities
need no escaping, so ``<b>`` is shown as written, never interpreted.

Partial text (an answer still streaming) parses too: an unclosed fence is a
code block to the end, an unclosed ``**`` is literal.

Telegram's nesting rules are kept: nothing inside ``code``/``pre``, no
``code`` inside a link, no quote inside a quote.
"""

from __future__ import annotations

import html
from typing import Any

import mistune

from channels.telegram.formatted import Formatted, TextBuilder

__all__ = ["render_markdown"]

_PARSER = mistune.create_markdown(renderer="ast", plugins=["strikethrough", "table"])
_LINK_SCHEMES = ("http://", "https://", "tg://")
_INLINE_SPANS = {"strong": "bold", "emphasis": "italic", "strikethrough": "strikethrough"}
_RULE = "———"

Node = dict[str, Any]


def render_markdown(text: str) -> Formatted:
    """The model's Markdown as text with entities (see the module docstring)."""
    tokens = _PARSER(text)
    if isinstance(tokens, str):  # pragma: no cover - the AST renderer returns tokens
        return Formatted(tokens)
    walker = _Walker()
    walker.blocks(tokens, depth=0)
    return walker.out.build()


class _Walker:
    def __init__(self) -> None:
        self.out = TextBuilder()
        self.in_link = False
        self.in_quote = False

    # blocks --------------------------------------------------------------

    def _separate(self, gap: str) -> None:
        """Start a new block: ``gap`` newlines after the text so far (none at the start)."""
        if not self.out.length:
            return
        text = "".join(self.out.parts[-4:])
        have = len(text) - len(text.rstrip("\n"))
        if have < len(gap):
            self.out.add("\n" * (len(gap) - have))

    def blocks(
        self, nodes: list[Node], *, depth: int, tight: bool = False, same_line: bool = False
    ) -> None:
        """Blocks one after another; ``same_line``: the first continues the current line."""
        first = True
        for node in nodes:
            if node["type"] == "blank_line":
                continue
            if not (first and same_line):
                self._separate("\n" if tight else "\n\n")
            first = False
            self.block(node, depth=depth)

    def block(self, node: Node, *, depth: int) -> None:
        kind = node["type"]
        start = self.out.length
        if kind in ("paragraph", "block_text"):
            self.inlines(node.get("children", []))
        elif kind == "heading":
            self.inlines(node.get("children", []))
            self.out.span("bold", start)
        elif kind == "block_code":
            self.code_block(node)
        elif kind == "block_quote":
            self.quote(node, depth=depth)
        elif kind == "list":
            self.bullets(node, depth=depth)
        elif kind == "thematic_break":
            self.out.add(_RULE)
        elif kind == "table":
            self.table(node)
        else:  # block_html and anything unknown: the text as written
            self.out.add(str(node.get("raw", "")).rstrip("\n"))

    def code_block(self, node: Node) -> None:
        code = str(node.get("raw", "")).rstrip("\n")
        if not code.strip():
            return
        info = str(node.get("attrs", {}).get("info") or "").split()
        start = self.out.length
        self.out.add(code)
        self.out.span("pre", start, lang=info[0] if info else None)

    def quote(self, node: Node, *, depth: int) -> None:
        start = self.out.length
        nested, self.in_quote = self.in_quote, True
        self.blocks(node.get("children", []), depth=depth)
        self.in_quote = nested
        if not nested:
            self.out.span("blockquote", start)

    def bullets(self, node: Node, *, depth: int) -> None:
        attrs = node.get("attrs", {})
        ordered = bool(attrs.get("ordered"))
        number = int(attrs.get("start", 1) or 1)
        tight = bool(node.get("tight", True))
        for index, item in enumerate(node.get("children", [])):
            if index:
                self._separate("\n" if tight else "\n\n")
            marker = f"{number + index}." if ordered else "•"
            self.out.add("  " * depth + marker + " ")
            self.blocks(item.get("children", []), depth=depth + 1, tight=True, same_line=True)

    def table(self, node: Node) -> None:
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
            return
        widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[: len(widths)])).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        start = self.out.length
        self.out.add("\n".join(lines))
        self.out.span("pre", start)

    # inlines -------------------------------------------------------------

    def inlines(self, nodes: list[Node]) -> None:
        for node in nodes:
            self.inline(node)

    def inline(self, node: Node) -> None:
        kind = node["type"]
        start = self.out.length
        if kind == "text":
            self.out.add(html.unescape(str(node.get("raw", ""))))
        elif kind in ("softbreak", "linebreak"):
            self.out.add("\n")
        elif kind == "codespan":
            self.out.add(str(node.get("raw", "")))
            if not self.in_link:
                self.out.span("code", start)
        elif kind in _INLINE_SPANS:
            self.inlines(node.get("children", []))
            self.out.span(_INLINE_SPANS[kind], start)
        elif kind == "link":
            self.link(node)
        elif kind == "image":
            alt = _plain(node) or "image"
            self.out.add(f"🖼 {alt}")
            self._link_span(start, str(node.get("attrs", {}).get("url", "")))
        else:  # inline_html and anything unknown: literal
            self.out.add(str(node.get("raw", "")))

    def link(self, node: Node) -> None:
        url = str(node.get("attrs", {}).get("url", ""))
        start = self.out.length
        outer, self.in_link = self.in_link, True
        self.inlines(node.get("children", []))
        self.in_link = outer
        if not self._link_span(start, url) and url and url not in "".join(self.out.parts[-2:]):
            self.out.add(f" ({url})")

    def _link_span(self, start: int, url: str) -> bool:
        if not url.lower().startswith(_LINK_SCHEMES) or self.in_link:
            return False
        self.out.span("text_link", start, url=url)
        return True


def _plain(node: Node) -> str:
    """The text of an inline subtree, without formatting (table cells, image alt text)."""
    if "children" in node:
        return "".join(_plain(child) for child in node["children"])
    if node["type"] in ("softbreak", "linebreak"):
        return " "
    return html.unescape(str(node.get("raw", "")))
