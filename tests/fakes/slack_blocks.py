"""Block Kit checks of the fake Slack, with the limits of Slack's Block Kit reference.

:func:`block_errors` returns what Slack puts in an ``invalid_blocks`` answer's
``errors``: one string per violation, ``"<what> [json-pointer:/blocks/…]"``,
e.g. ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``
(Slack's own wording for lengths and item counts; the wording of the other
checks is this fake's). The limits (docs.slack.dev/reference/block-kit):

- a message: at most 50 blocks; ``block_id`` at most 255 and unique;
- text objects: ``plain_text`` or ``mrkdwn``, 1–3,000 characters; ``emoji``
  only on plain_text, ``verbatim`` only on mrkdwn;
- section: ``text`` or ``fields`` (at most 10, each at most 2,000), accessory;
- header: plain_text only, at most 150; context: 1–10 elements;
- actions: 1–25 elements, ``action_id`` unique within the block;
- button: plain_text ``text`` at most 75, ``action_id`` at most 255,
  ``value`` at most 2,000, ``url`` at most 3,000, ``style`` primary|danger;
- confirm: title at most 100, text 300, confirm/deny 30 (plain_text);
- image: ``alt_text`` at most 2,000, ``image_url`` at most 3,000;
- markdown block: at most 12,000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MAX_BLOCKS", "block_errors"]

MAX_BLOCKS = 50
Errors = list[str]

_INTERACTIVE = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "multi_static_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "multi_external_select",
    "overflow",
    "radio_buttons",
    "static_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "external_select",
    "timepicker",
    "workflow_button",
}


def _at(path: str, what: str) -> str:
    return f"{what} [json-pointer:{path}]"


def _too_long(errors: Errors, path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(_at(path, f"must be less than {limit + 1} characters"))


def _text(
    errors: Errors, path: str, obj: Any, limit: int = 3000, *, plain_only: bool = False
) -> None:
    """A text object (composition-objects#text)."""
    if not isinstance(obj, dict):
        errors.append(_at(path, "must be an object"))
        return
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        expected = " or ".join(allowed)
        errors.append(_at(f"{path}/type", f"must be {expected}"))
        errors.append(_at(path, "failed to match all allowed schemas"))
        return
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(_at(f"{path}/text", "must be a string"))
        return
    if not text:
        errors.append(_at(f"{path}/text", "must be more than 0 characters"))
    _too_long(errors, f"{path}/text", text, limit)
    if "emoji" in obj and kind != "plain_text":
        errors.append(_at(f"{path}/emoji", "is not allowed on mrkdwn text"))
    if "verbatim" in obj and kind != "mrkdwn":
        errors.append(_at(f"{path}/verbatim", "is not allowed on plain_text text"))


def _confirm(errors: Errors, path: str, obj: Any) -> None:
    if not isinstance(obj, dict):
        errors.append(_at(path, "must be an object"))
        return
    _text(errors, f"{path}/title", obj.get("title"), 100, plain_only=True)
    _text(errors, f"{path}/text", obj.get("text"), 300)
    _text(errors, f"{path}/confirm", obj.get("confirm"), 30, plain_only=True)
    _text(errors, f"{path}/deny", obj.get("deny"), 30, plain_only=True)


def _element(errors: Errors, path: str, element: Any) -> None:
    """An interactive element (block-elements)."""
    if not isinstance(element, dict) or element.get("type") not in _INTERACTIVE:
        errors.append(_at(path, "failed to match all allowed schemas"))
        return
    _too_long(errors, f"{path}/action_id", element.get("action_id"), 255)
    if "confirm" in element:
        _confirm(errors, f"{path}/confirm", element["confirm"])
    if element["type"] != "button":
        return
    _text(errors, f"{path}/text", element.get("text"), 75, plain_only=True)
    _too_long(errors, f"{path}/value", element.get("value"), 2000)
    _too_long(errors, f"{path}/url", element.get("url"), 3000)
    _too_long(errors, f"{path}/accessibility_label", element.get("accessibility_label"), 75)
    if "style" in element and element["style"] not in ("primary", "danger"):
        errors.append(_at(f"{path}/style", "must be one of primary, danger"))


def _items(errors: Errors, path: str, items: Any, most: int) -> list[Any]:
    if not isinstance(items, list):
        errors.append(_at(path, "must be an array"))
        return []
    if not items:
        errors.append(_at(path, "must provide at least 1 items"))
    if len(items) > most:
        errors.append(_at(path, f"no more than {most} items allowed"))
    return items


def _section(errors: Errors, path: str, block: dict[str, Any]) -> None:
    if "text" not in block and "fields" not in block:
        errors.append(_at(path, "must provide either text or fields"))
    if "text" in block:
        _text(errors, f"{path}/text", block["text"])
    if "fields" in block:
        for i, item in enumerate(_items(errors, f"{path}/fields", block["fields"], 10)):
            _text(errors, f"{path}/fields/{i}", item, 2000)
    accessory = block.get("accessory")
    if isinstance(accessory, dict) and accessory.get("type") == "image":
        _image(errors, f"{path}/accessory", accessory)
    elif accessory is not None:
        _element(errors, f"{path}/accessory", accessory)


def _actions(errors: Errors, path: str, block: dict[str, Any]) -> None:
    seen: set[str] = set()
    for i, element in enumerate(_items(errors, f"{path}/elements", block.get("elements"), 25)):
        _element(errors, f"{path}/elements/{i}", element)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(_at(f"{path}/elements/{i}/action_id", "must be unique"))
            seen.add(action_id)


def _context(errors: Errors, path: str, block: dict[str, Any]) -> None:
    for i, element in enumerate(_items(errors, f"{path}/elements", block.get("elements"), 10)):
        if isinstance(element, dict) and element.get("type") == "image":
            _image(errors, f"{path}/elements/{i}", element)
        else:
            _text(errors, f"{path}/elements/{i}", element)


def _header(errors: Errors, path: str, block: dict[str, Any]) -> None:
    _text(errors, f"{path}/text", block.get("text"), 150, plain_only=True)


def _image(errors: Errors, path: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("alt_text"), str):
        errors.append(_at(f"{path}/alt_text", "is required"))
    _too_long(errors, f"{path}/alt_text", block.get("alt_text"), 2000)
    if "image_url" not in block and "slack_file" not in block:
        errors.append(_at(path, "must provide either image_url or slack_file"))
    _too_long(errors, f"{path}/image_url", block.get("image_url"), 3000)
    if "title" in block:
        _text(errors, f"{path}/title", block["title"], 2000, plain_only=True)


def _markdown(errors: Errors, path: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("text"), str):
        errors.append(_at(f"{path}/text", "must be a string"))
    _too_long(errors, f"{path}/text", block.get("text"), 12000)


def _elements_list(errors: Errors, path: str, block: dict[str, Any]) -> None:
    if not isinstance(block.get("elements"), list):
        errors.append(_at(f"{path}/elements", "must be an array"))


def _nothing(errors: Errors, path: str, block: dict[str, Any]) -> None:
    return None


_BLOCKS: dict[str, Callable[[Errors, str, dict[str, Any]], None]] = {
    "section": _section,
    "actions": _actions,
    "context": _context,
    "header": _header,
    "image": _image,
    "markdown": _markdown,
    "rich_text": _elements_list,
    "divider": _nothing,
    "file": _nothing,
    "video": _nothing,
    "table": _nothing,
}


def block_errors(blocks: list[Any], pointer: str = "/blocks") -> list[str]:
    """Every Block Kit violation in a message's ``blocks`` (empty when Slack would accept it)."""
    errors: Errors = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(_at(pointer, f"no more than {MAX_BLOCKS} items allowed"))
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"{pointer}/{i}"
        check = _BLOCKS.get(block.get("type", "")) if isinstance(block, dict) else None
        if check is None or not isinstance(block, dict):
            errors.append(_at(path, "failed to match all allowed schemas"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id:
                errors.append(_at(f"{path}/block_id", "must be a non-empty string"))
            else:
                _too_long(errors, f"{path}/block_id", block_id, 255)
                if block_id in block_ids:
                    errors.append(_at(f"{path}/block_id", "must be unique within a message"))
                block_ids.add(block_id)
        check(errors, path, block)
    return errors
