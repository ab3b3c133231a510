"""pydantic validation errors → problems a person can act on.

pydantic says "Input should be a valid integer, unable to parse string as an
integer"; a config author wants ``agent.maxTurns: expected an integer ≥ 1,
got "x"``. The expected type and bounds are read from the models, so the
message follows the schema without a table to keep in sync.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from core.config.problems import ConfigProblem, dotted

_KEY_MARK = "[key]"
_TYPE_ERRORS = frozenset(
    {
        "int_parsing", "int_type", "int_from_float", "float_parsing", "float_type",
        "bool_parsing", "bool_type", "string_type", "list_type", "dict_type", "model_type",
        "model_attributes_type", "path_type", "literal_error", "greater_than",
        "greater_than_equal", "less_than", "less_than_equal", "string_too_short",
        "too_short", "finite_number", "int_parsing_size",
    }
)  # fmt: skip
_SCALARS: dict[Any, str] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    SecretStr: "a string",
    Path: "a path (a string)",
}


def problems_from(exc: ValidationError, root: type[BaseModel]) -> list[ConfigProblem]:
    """One problem per pydantic error, at its camelCase key path."""
    return [_problem(error, root) for error in exc.errors(include_url=False)]


def _problem(error: ErrorDetails, root: type[BaseModel]) -> ConfigProblem:
    # A bad dict key (``mcpServers."a b"``) is reported at the key's own path.
    loc = [part for part in error["loc"] if part != _KEY_MARK]
    return ConfigProblem(dotted(loc), _message(error, root, loc))


def _message(error: ErrorDetails, root: type[BaseModel], loc: Sequence[str | int]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "config":
        return error["msg"]
    annotation, metadata = _walk(root, loc)
    if annotation is None:
        return _lower_first(error["msg"])
    expected = _expected(annotation, metadata)
    if kind == "missing":
        return f"required key is missing; expected {expected}"
    if kind in _TYPE_ERRORS:
        if _unwrap_optional(annotation) is SecretStr:
            return f"expected {expected}"
        return f"expected {expected}, got {_show(error['input'])}"
    return f"{_lower_first(error['msg'])}; expected {expected}, got {_show(error['input'])}"


def _unknown_key(root: type[BaseModel], loc: Sequence[str | int]) -> str:
    model = _as_model(_walk(root, loc[:-1])[0])
    if model is None:
        return "unknown key"
    known = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}known keys here: {', '.join(known)}"


def _walk(root: type[BaseModel], loc: Sequence[str | int]) -> tuple[Any, list[Any]]:
    """The annotation and constraints at ``loc``; ``(None, [])`` when it cannot be followed."""
    annotation: Any = root
    metadata: list[Any] = []
    for part in loc:
        annotation, metadata = _unannotate(_unwrap_optional(annotation), [])
        model = _as_model(annotation)
        if model is not None:
            field = _field(model, part)
            if field is None:
                return None, []
            annotation, metadata = field.annotation, list(field.metadata)
        elif get_origin(annotation) in (dict, list):
            annotation, metadata = _unannotate(get_args(annotation)[-1], [])
        else:
            return None, []
    return annotation, metadata


def _field(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    for name, field in model.model_fields.items():
        if key in (field.alias, name):
            return field
    return None


def _unannotate(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        return _unannotate(base, metadata)
    return annotation, metadata


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _expected(annotation: Any, metadata: list[Any]) -> str:
    annotation, metadata = _unannotate(_unwrap_optional(annotation), list(metadata))
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(value) for value in get_args(annotation))
    if origin is list:
        base = "a list"
    elif origin is dict or _as_model(annotation) is not None:
        base = "an object"
    else:
        base = _SCALARS.get(annotation, "a value")
    return base + _bounds(metadata, base)


def _bounds(metadata: list[Any], base: str) -> str:
    found = {type(item): item for item in metadata}
    low, high = found.get(at.Ge), found.get(at.Le)
    if low is not None and high is not None:
        return f" from {low.ge} to {high.le}"
    parts = [
        f"{sign} {getattr(found[kind], attr)}"
        for kind, sign, attr in ((at.Ge, "≥", "ge"), (at.Gt, ">", "gt"), (at.Le, "≤", "le"))
        if kind in found
    ]
    if at.MinLen in found:
        size = found[at.MinLen].min_length
        parts.append("that is not empty" if size == 1 else f"of at least {size} items")
    return (" " + " and ".join(parts)) if parts else ""


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
