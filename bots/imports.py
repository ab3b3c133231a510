"""Tools of your own in a config-driven bot: ``bots.<name>.tools`` entries that are import paths.

A tool name (``current_time``) has neither ``:`` nor ``.``; an entry with
either is an import path:

- ``"mypkg.invoices:send_invoice"``: the object ``send_invoice`` of module
  ``mypkg.invoices``, which must be a :class:`~core.tools.tool.Tool` (a
  function decorated with ``@tool``);
- ``"mypkg.invoices"``: every tool the module exports — the tools its
  ``__all__`` names or, without ``__all__``, every module-level tool, in
  definition order. A module that exports none is an error.

Modules are imported when a bot is built or checked (worker start,
``facio doctor``, ``facio chat``/``facio run``, the SDK), not by the gateway.
The config file's folder is searched too, after the installed packages, so a
module next to ``config.json`` needs no ``PYTHONPATH``.

Every failure is a :class:`~core.errors.ConfigError` naming
``bots.<bot>.tools[<i>]``, the path and why: the module cannot be imported
(``No module named 'mypkg'``, or what its code raised while importing), it has
no such attribute, the object is not a tool, the module exports no tools, a
tool takes the name of one of facio's own tools, or two entries give two
different tools one name.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from core.errors import ConfigError
from core.tools.tool import Tool

__all__ = ["ImportedTool", "import_tools", "is_import_path"]

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class ImportedTool:
    """A tool of the user's, and the config entry it came from."""

    tool: Tool
    entry: str
    """The ``bots.<bot>.tools`` entry, e.g. ``"mypkg.invoices:send_invoice"``."""


def is_import_path(entry: str) -> bool:
    """True for ``"module:name"`` and ``"package.module"``; tool names have neither."""
    return ":" in entry or "." in entry


def import_tools(
    bot: str,
    entries: Sequence[str],
    *,
    reserved: Collection[str] = (),
    search: Path | None = None,
) -> list[ImportedTool]:
    """The tools of the import-path ``entries`` (the others are skipped), in order.

    ``reserved``: names of facio's own tools, which a user's tool may not take.
    ``search``: a folder to import from after the installed packages (the
    config file's). The same tool named twice (by its module and by itself)
    is offered once.
    """
    if search is not None and any(is_import_path(e) for e in entries):
        _searchable(search)
    found: dict[str, ImportedTool] = {}
    for index, entry in enumerate(entries):
        if not is_import_path(entry):
            continue
        key = f"bots.{bot}.tools[{index}]"
        for item in _load(entry, key):
            name = item.name
            if name in reserved:
                raise ConfigError(
                    f"{entry!r} gives a tool named {name!r}, the name of one of facio's own "
                    f'tools; give yours another name: @tool(name="...")',
                    path=key,
                )
            earlier = found.get(name)
            if earlier is not None and earlier.tool is not item:
                raise ConfigError(
                    f"{entry!r} gives a tool named {name!r}, and so does {earlier.entry!r}; "
                    "tool names must be unique",
                    path=key,
                )
            found.setdefault(name, ImportedTool(item, entry))
    return list(found.values())


def _searchable(folder: Path) -> None:
    """Let modules in ``folder`` be imported, after everything else on ``sys.path``."""
    where = str(folder)
    if where not in sys.path:
        sys.path.append(where)


def _load(entry: str, key: str) -> list[Tool]:
    module_name, colon, attribute = entry.partition(":")
    if not _MODULE.match(module_name) or (colon and not _ATTRIBUTE.match(attribute)):
        raise ConfigError(
            f"{entry!r} is not an import path: write 'package.module:tool' for one tool "
            "or 'package.module' for every tool the module exports",
            path=key,
        )
    module = _import(module_name, entry, key)
    if not colon:
        return _exported(module, entry, key)
    if not hasattr(module, attribute):
        raise ConfigError(
            f"cannot load {entry!r}: module {module_name!r} has no attribute {attribute!r}",
            path=key,
        )
    item = getattr(module, attribute)
    if not isinstance(item, Tool):
        raise ConfigError(
            f"{entry!r} is not a tool but a {type(item).__name__}; "
            "decorate the function with @tool (from facio import tool)",
            path=key,
        )
    return [item]


def _import(module_name: str, entry: str, key: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = ""
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            hint = " (install it, put its folder on PYTHONPATH, or next to the config file)"
        raise ConfigError(f"cannot import {entry!r}: {exc}{hint}", path=key) from exc
    except Exception as exc:
        # The user's module ran and raised: whatever it was, the bot cannot start.
        raise ConfigError(
            f"cannot import {entry!r}: importing {module_name!r} raised "
            f"{type(exc).__name__}: {exc}",
            path=key,
        ) from exc


def _exported(module: ModuleType, entry: str, key: str) -> list[Tool]:
    names = getattr(module, "__all__", None)
    if names is None:
        tools = [value for value in vars(module).values() if isinstance(value, Tool)]
    else:
        tools = [getattr(module, n) for n in names if isinstance(getattr(module, n, None), Tool)]
    if not tools:
        where = "in its __all__" if names is not None else "at module level"
        raise ConfigError(
            f"module {entry!r} exports no tools (no @tool functions {where}); "
            "name one with 'module:tool'",
            path=key,
        )
    return tools
