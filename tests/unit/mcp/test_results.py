"""MCP tool results as the model's text (built with the MCP SDK's own types)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from mcp import types

from core.errors import ToolError
from core.mcp.results import result_text

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def _result(*content: types.ContentBlock, **extra: object) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), **extra)  # type: ignore[arg-type]


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


def test_text_blocks_are_joined(tmp_path: Path) -> None:
    assert result_text("t", _result(_text("a"), _text("b")), tmp_path) == "a\nb"


def test_structured_content_only_without_text(tmp_path: Path) -> None:
    both = _result(_text('{"x": 1}'), structuredContent={"x": 1})
    assert result_text("t", both, tmp_path) == '{"x": 1}'
    only = _result(structuredContent={"x": "ü"})
    assert result_text("t", only, tmp_path) == '{"x": "ü"}'


def test_error_results_are_tool_errors_redacted(tmp_path: Path) -> None:
    failed = _result(_text("bad token s3cret"), isError=True)
    with pytest.raises(ToolError, match=r"^bad token \*\*\*$"):
        result_text("t", failed, tmp_path, redact=lambda s: s.replace("s3cret", "***"))
    with pytest.raises(ToolError, match="t failed"):
        result_text("t", _result(isError=True), tmp_path)


def test_binary_content_is_saved(tmp_path: Path) -> None:
    image = types.ImageContent(type="image", data=PNG, mimeType="image/png")
    text = result_text("t", _result(image, image), tmp_path / "media")
    first, second = text.splitlines()
    assert first == second and first.startswith("[image image/png, 12 B, saved to ")
    [saved] = (tmp_path / "media").iterdir()
    assert saved.suffix == ".png" and saved.read_bytes().startswith(b"\x89PNG")
    audio = types.AudioContent(type="audio", data="not base64!", mimeType="audio/wav")
    assert "not valid base64" in result_text("t", _result(audio), tmp_path)


def test_resources(tmp_path: Path) -> None:
    link = types.ResourceLink(
        type="resource_link", uri="file:///a.txt", name="a.txt", mimeType="text/plain"
    )
    embedded = types.EmbeddedResource(
        type="resource",
        resource=types.TextResourceContents(uri="file:///b.txt", text="hello"),
    )
    blob = types.EmbeddedResource(
        type="resource",
        resource=types.BlobResourceContents(uri="file:///c.bin", blob=PNG),
    )
    text = result_text("t", _result(link, embedded, blob), tmp_path)
    lines = text.splitlines()
    assert lines[0] == "[resource link file:///a.txt (a.txt; text/plain)]"
    assert lines[1:3] == ["[resource file:///b.txt]", "hello"]
    assert lines[3].startswith("[resource file:///c.bin application/octet-stream, 12 B, saved")
