"""What Discord checks in a message body, answered the way Discord answers.

Errors are :class:`ApiError` with Discord's HTTP status, JSON error code and
message; form errors (code 50035, "Invalid Form Body") carry Discord's nested
``errors`` object, keyed by the path of the bad field, each leaf an
``{"_errors": [{"code": …, "message": …}]}``:

    {"code": 50035, "message": "Invalid Form Body",
     "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                         "message": "Must be 2000 or fewer in length."}]}}}

Checked (limits from Discord's API reference: message resource, components
reference, allowed mentions): content ≤ 2,000 characters; a message with
nothing to show → 50006 "Cannot send an empty message"; nonce ≤ 25
characters; ≤ 10 embeds, title ≤ 256, description ≤ 4,096, ≤ 25 fields
(name ≤ 256, value ≤ 1,024), footer ≤ 2,048, author name ≤ 256, all text
≤ 6,000; legacy components: ≤ 5 action rows, each 1–5 buttons or exactly
one select; a button's style 1–6, label ≤ 80, custom_id 1–100 and unique in
the message, link buttons (style 5) need a ``url`` (http/https, ≤ 512) and no
``custom_id``, the others a ``custom_id`` and no ``url``; ``allowed_mentions``
with ``parse`` holding "users" (or "roles") and a ``users`` (``roles``) list
is refused as mutually exclusive. The codes of the component errors other
than the documented limits (Discord does not document them) follow what
Discord has been seen to answer; a test should assert the status, the code
50035 and the path, not the exact wording.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ApiError",
    "FormErrors",
    "check_message",
    "mentions_of",
]

CONTENT_MAX = 2000
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15
_SELECTS = {3, 5, 6, 7, 8}


class ApiError(Exception):
    """Discord's error answer: HTTP ``status``, JSON ``code`` and ``message`` (and
    ``errors`` for a form error)."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


class FormErrors:
    """Collects field errors into Discord's nested ``errors`` object."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: tuple[str | int, ...], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _check_button(errors: FormErrors, path: tuple[str | int, ...], button: dict[str, Any]) -> None:
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        errors.add(
            (*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."
        )
    label = button.get("label")
    if label is not None and len(str(label)) > 80:
        errors.too_long((*path, "label"), 80)
    custom_id, url = button.get("custom_id"), button.get("url")
    if style == 5:
        if not url:
            errors.add((*path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
        elif not re.match(r"(?i)^https?://", str(url)):
            scheme = str(url).split(":", 1)[0]
            errors.add(
                (*path, "url"),
                "URL_TYPE_INVALID_SCHEME",
                f"Scheme \"{scheme}\" is not supported. Scheme must be one of ('http', 'https').",
            )
        elif len(str(url)) > 512:
            errors.too_long((*path, "url"), 512)
        if custom_id is not None:
            errors.add(
                (*path, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A link button cannot have a custom id",
            )
    elif style in (1, 2, 3, 4):
        if custom_id is None:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        if url is not None:
            errors.add(
                (*path, "url"),
                "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                "Only link buttons can have a url",
            )


def _check_custom_id(
    errors: FormErrors, path: tuple[str | int, ...], item: dict[str, Any], seen: set[str]
) -> None:
    custom_id = item.get("custom_id")
    if custom_id is None:
        return
    custom_id = str(custom_id)
    if not 1 <= len(custom_id) <= 100:
        errors.add(
            (*path, "custom_id"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    elif custom_id in seen:
        errors.add(
            (*path, "custom_id"),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id was already specified",
        )
    seen.add(custom_id)


def _check_row(errors: FormErrors, index: int, row: dict[str, Any], seen: set[str]) -> None:
    path: tuple[str | int, ...] = ("components", index)
    if row.get("type") != 1:
        errors.add(
            (*path, "type"),
            "UNION_TYPE_CHOICES",
            'Value of field "type" must be one of (1,).',
        )
        return
    children = row.get("components") or []
    if not 1 <= len(children) <= 5:
        errors.add(
            (*path, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    kinds = [child.get("type") for child in children]
    if any(kind in _SELECTS for kind in kinds) and len(children) > 1:
        errors.add(
            (*path, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        )
    for position, child in enumerate(children):
        child_path = (*path, "components", position)
        if child.get("type") == 2:
            _check_button(errors, child_path, child)
        elif child.get("type") not in _SELECTS:
            errors.add(
                (*child_path, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
            )
        _check_custom_id(errors, child_path, child, seen)


def _check_components(errors: FormErrors, components: Any, flags: int) -> None:
    if components is None:
        return
    if flags & IS_COMPONENTS_V2:  # not modelled beyond the top-level count
        if len(components) > 40:
            errors.too_long(("components",), 40)
        return
    if len(components) > 5:
        errors.too_long(("components",), 5)
    seen: set[str] = set()
    for index, row in enumerate(components):
        _check_row(errors, index, row, seen)


def _check_embeds(errors: FormErrors, embeds: Any) -> None:
    if not embeds:
        return
    if len(embeds) > 10:
        errors.too_long(("embeds",), 10)
    total = 0
    for index, embed in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            text = str(embed.get(key) or "")
            total += len(text)
            if len(text) > limit:
                errors.too_long(("embeds", index, key), limit)
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            text = str((embed.get(key) or {}).get(sub) or "")
            total += len(text)
            if len(text) > limit:
                errors.too_long(("embeds", index, key, sub), limit)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.too_long(("embeds", index, "fields"), 25)
        for position, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                text = str(item.get(key) or "")
                total += len(text)
                if len(text) > limit:
                    errors.too_long(("embeds", index, "fields", position, key), limit)
    if total > 6000:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def _check_allowed_mentions(errors: FormErrors, allowed: Any) -> None:
    if not allowed:
        return
    parse = allowed.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
    for kind in ("users", "roles"):
        if len(allowed.get(kind) or []) > 100:
            errors.too_long(("allowed_mentions", kind), 100)


def check_message(
    body: dict[str, Any], *, attachments: int = 0, edit: bool = False, has_other: bool = False
) -> None:
    """Raise :class:`ApiError` as Discord would for this create (or, ``edit``, edit)
    body. ``attachments``: files that come with it; ``has_other``: the edited message
    keeps something to show (an edit only changes the fields it names)."""
    errors = FormErrors()
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_MAX:
        errors.too_long(("content",), CONTENT_MAX)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        errors.too_long(("nonce",), 25)
    flags = int(body.get("flags") or 0)
    _check_embeds(errors, body.get("embeds"))
    _check_components(errors, body.get("components"), flags)
    _check_allowed_mentions(errors, body.get("allowed_mentions"))
    errors.raise_if_any()
    visible = bool(
        str(content or "").strip()
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or attachments
    )
    if not visible and not (edit and has_other):
        raise ApiError(400, 50006, "Cannot send an empty message")


_USER = re.compile(r"<@!?(\d{15,21})>")
_ROLE = re.compile(r"<@&(\d{15,21})>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


def mentions_of(content: str, allowed: dict[str, Any] | None) -> tuple[list[int], list[int], bool]:
    """``(user ids, role ids, mention_everyone)`` that Discord parses from ``content``
    under ``allowed`` (``None``: a regular message's default, everything)."""
    users = [int(u) for u in dict.fromkeys(_USER.findall(content))]
    roles = [int(r) for r in dict.fromkeys(_ROLE.findall(content))]
    everyone = bool(_EVERYONE.search(content))
    if allowed is None:
        return users, roles, everyone
    parse = allowed.get("parse") or []
    allowed_users = {int(u) for u in allowed.get("users") or []}
    allowed_roles = {int(r) for r in allowed.get("roles") or []}
    return (
        [u for u in users if "users" in parse or u in allowed_users],
        [r for r in roles if "roles" in parse or r in allowed_roles],
        everyone and "everyone" in parse,
    )
