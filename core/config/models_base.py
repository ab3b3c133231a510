"""The base of every config model and the small value types they share.

Every section is strict about its keys (a typo is an error, not a silently
ignored setting), frozen (a loaded config is a value, not shared mutable
state), camelCase in JSON and snake_case in Python, and documents each field
with an attribute docstring, which becomes the JSON Schema description.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

from core.providers.catalog import split_model

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
_NAME_RE = re.compile(NAME_PATTERN)


def _title(name: str, _info: FieldInfo | Any) -> str:
    return name.replace("_", " ").capitalize()


class ConfigModel(BaseModel):
    """Common settings of all config sections."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        field_title_generator=_title,
    )


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"invalid name {value!r}: start with a letter, then letters, digits, '_' or '-'"
        )
    return value


def _check_model(value: str) -> str:
    split_model(value)  # raises ValueError with the expected shape
    return value


def _user_ref(value: Any) -> Any:
    # Telegram user ids are numbers; JSON authors naturally write them unquoted.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Name = Annotated[str, AfterValidator(_check_name)]
"""A name usable inside tool names and keys: `^[A-Za-z][A-Za-z0-9_-]*$`."""

ModelRef = Annotated[str, AfterValidator(_check_model)]
"""`"<provider>:<model>"`; that the provider exists is checked on the root."""

UserRef = Annotated[str, BeforeValidator(_user_ref), Field(min_length=1)]
"""A platform user id or `@username`; numbers are accepted and kept as text."""

Seconds = Annotated[float, Field(ge=0)]
"""A duration in seconds; 0 is allowed."""

PositiveSeconds = Annotated[float, Field(gt=0)]
"""A duration in seconds that must be above 0 (a request timeout)."""

Loc = tuple[str | int, ...]


def fail(title: str, problems: Sequence[tuple[Loc, str]]) -> NoReturn:
    """Raise cross-field problems as a ValidationError with exact key paths.

    pydantic turns a ValidationError raised inside a validator into line errors
    and prefixes the enclosing location, so `("token",)` raised by the
    Telegram section is reported as `channels.telegram.token`.
    """
    raise ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("config", "{message}", {"message": message}),
                loc=loc,
                input=None,
            )
            for loc, message in problems
        ],
    )
