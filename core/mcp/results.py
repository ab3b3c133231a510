"""An MCP tool result as the text the model sees.

- text blocks are joined with newlines;
- structured content is shown as JSON only when there is no text block (a
  server that returns both sends the same data twice: the spec asks servers to
  put the serialized JSON in a text block too);
- images, audio and binary resources are saved under
  ``<workspace>/.facio/mcp/<server>/`` (named by a hash of their bytes) and
  summarized as ``[image image/png, 1.2 kB, saved to .facio/mcp/<server>/<hash>.png]``
  (relative to the workspace: the server's absolute paths are not shown);
- an embedded text resource is shown with its URI, a resource link as its URI,
  name and type;
- ``isError`` makes the text a tool error for the model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
from collections.abc import Callable
from pathlib import Path

from mcp import types

from core.errors import ToolError
from core.shown import shown_path

__all__ = ["MEDIA_DIR", "result_text"]

MEDIA_DIR = Path(".facio") / "mcp"


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB"


def _save(kind: str, data: str, mime: str, folder: Path, workspace: Path) -> str:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"[{kind} {mime}: not valid base64, not saved]"
    extension = mimetypes.guess_extension(mime) or ".bin"
    path = folder / f"{hashlib.sha256(raw).hexdigest()[:16]}{extension}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(raw)
    except OSError as exc:
        return f"[{kind} {mime}, {_size(len(raw))}: could not be saved ({exc.strerror})]"
    return f"[{kind} {mime}, {_size(len(raw))}, saved to {shown_path(path, workspace)}]"


def _block_text(block: types.ContentBlock, folder: Path, workspace: Path) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return _save("image", block.data, block.mimeType, folder, workspace)
    if isinstance(block, types.AudioContent):
        return _save("audio", block.data, block.mimeType, folder, workspace)
    if isinstance(block, types.ResourceLink):
        details = "; ".join(x for x in (block.name, block.mimeType or "") if x)
        return f"[resource link {block.uri} ({details})]"
    resource = block.resource
    if isinstance(resource, types.TextResourceContents):
        return f"[resource {resource.uri}]\n{resource.text}"
    return _save(
        f"resource {resource.uri}",
        resource.blob,
        resource.mimeType or "application/octet-stream",
        folder,
        workspace,
    )


def _same(text: str) -> str:
    return text


def result_text(
    tool: str,
    result: types.CallToolResult,
    folder: Path,
    *,
    workspace: Path | None = None,
    redact: Callable[[str], str] = _same,
) -> str:
    """The model's text for ``result``; ToolError when the server says the call failed.

    ``folder`` is where binary content is saved, shown relative to
    ``workspace`` (default: ``folder``'s parent); ``redact`` cleans an error's
    text of the server's secrets.
    """
    root = workspace if workspace is not None else folder.parent
    parts = [_block_text(block, folder, root) for block in result.content]
    has_text = any(isinstance(b, types.TextContent) for b in result.content)
    if result.structuredContent is not None and not has_text:
        parts.append(json.dumps(result.structuredContent, ensure_ascii=False))
    text = "\n".join(parts)
    if result.isError:
        raise ToolError(redact(text) or f"{tool} failed (the server gave no details)")
    return text
