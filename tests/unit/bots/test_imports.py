"""Tools of your own named in ``bots.<name>.tools`` by import path (bots/imports.py)."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bots.imports import import_tools, is_import_path
from bots.sdk import Facio
from bots.toolbox import OWN_TOOLS, check_bots, resolve_tools
from core.config import parse_config
from core.errors import ConfigError
from core.tools.builtin import BUILTIN_TOOLS

Write = Callable[[str, str], str]

INVOICES = '''
    from facio import tool


    @tool
    async def send_invoice(customer: str, amount_eur: float) -> str:
        """Send an invoice.

        Args:
            customer: Customer id.
            amount_eur: Amount in euros.
        """
        return f"sent {amount_eur:.2f} EUR to {customer}"


    @tool
    def list_invoices() -> list[str]:
        """List the open invoices."""
        return ["INV-1"]


    def helper() -> None:
        """Not a tool."""


    RATE = 0.19
'''


@pytest.fixture
def lib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Write]]:
    """A folder for modules (not on sys.path) and a writer of modules into a package
    there, named for the test; sys.path and sys.modules come back."""
    folder = tmp_path / "lib"
    prefix = f"facio_t{uuid.uuid4().hex[:8]}"
    (folder / prefix).mkdir(parents=True)
    (folder / prefix / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))

    def write(name: str, source: str) -> str:
        (folder / prefix / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        return f"{prefix}.{name}"

    yield folder, write
    for name in [m for m in sys.modules if m.startswith(prefix)]:
        del sys.modules[name]


def _error(entries: list[str], folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        import_tools("main", entries, reserved=OWN_TOOLS, search=folder)
    return str(caught.value)


def test_import_paths_are_told_from_tool_names() -> None:
    assert is_import_path("mypkg.invoices:send_invoice")
    assert is_import_path("mypkg.invoices")
    assert is_import_path("invoices:send_invoice")
    assert not any(is_import_path(name) for name in OWN_TOOLS)


def test_one_tool_by_module_and_name(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    entry = f"{module}:send_invoice"
    [imported] = import_tools("main", ["current_time", entry], search=folder)
    assert imported.entry == entry and imported.tool.name == "send_invoice"
    assert imported.tool.parameters["required"] == ["customer", "amount_eur"]
    assert str(folder) == sys.path[-1]  # the config's folder comes after the installed packages


def test_a_module_gives_every_tool_it_defines_in_order(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    tools = import_tools("main", [module], search=folder)
    assert [t.tool.name for t in tools] == ["send_invoice", "list_invoices"]
    assert {t.entry for t in tools} == {module}


def test_a_module_with_all_gives_the_tools_all_names(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    exports = '__all__ = ["list_invoices", "helper", "RATE"]\n'
    module = write("invoices", textwrap.dedent(INVOICES) + exports)
    assert [t.tool.name for t in import_tools("main", [module], search=folder)] == ["list_invoices"]


def test_the_same_tool_twice_is_offered_once(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    tools = import_tools("main", [module, f"{module}:list_invoices"], search=folder)
    assert [t.tool.name for t in tools] == ["send_invoice", "list_invoices"]


def test_a_missing_module_names_the_bot_entry_and_path(lib: tuple[Path, Write]) -> None:
    folder, _ = lib
    message = _error(["current_time", "nowhere_pkg.invoices:send_invoice"], folder)
    assert message.startswith("bots.main.tools[1]: cannot import 'nowhere_pkg.invoices:send")
    assert "No module named 'nowhere_pkg'" in message and "PYTHONPATH" in message


def test_a_missing_dependency_of_the_module_is_named(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("needs", "import not_installed_dep_xyz\n")
    message = _error([f"{module}:x"], folder)
    assert "bots.main.tools[0]" in message and "No module named 'not_installed_dep_xyz'" in message
    assert "PYTHONPATH" not in message  # the module was found: its dependency is what is missing


def test_a_module_that_raises_while_importing(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("broken", "raise RuntimeError('no INVOICE_API_KEY')\n")
    message = _error([module], folder)
    assert message.startswith("bots.main.tools[0]: cannot import")
    assert "raised RuntimeError: no INVOICE_API_KEY" in message


def test_a_missing_attribute(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    message = _error([f"{module}:refund"], folder)
    assert message.startswith("bots.main.tools[0]: ")
    assert f"module '{module}' has no attribute 'refund'" in message


@pytest.mark.parametrize(("name", "kind"), [("helper", "function"), ("RATE", "float")])
def test_an_object_that_is_not_a_tool(lib: tuple[Path, Write], name: str, kind: str) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    message = _error([f"{module}:{name}"], folder)
    assert f"'{module}:{name}' is not a tool but a {kind}" in message and "@tool" in message


def test_a_module_without_tools(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("plain", "def helper() -> None: ...\n")
    assert f"module '{module}' exports no tools" in _error([module], folder)


@pytest.mark.parametrize("entry", ["mypkg.:x", "mypkg:", "my-pkg.tools", "mypkg:a.b", ":x"])
def test_what_is_not_an_import_path(lib: tuple[Path, Write], entry: str) -> None:
    folder, _ = lib
    assert f"{entry!r} is not an import path" in _error([entry], folder)


def test_a_tool_may_not_take_a_builtin_name(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write(
        "clash",
        """
        from facio import tool

        @tool(name="save_note")
        def my_save(text: str) -> str:
            return text
        """,
    )
    message = _error([f"{module}:my_save"], folder)
    assert message.startswith("bots.main.tools[0]: ")
    assert "named 'save_note', the name of one of facio's own tools" in message
    # a module re-exporting a built-in clashes the same way: the names would meet
    reexport = write("reexport", "from core.tools.builtin import CURRENT_TIME\n")
    assert "named 'current_time'" in _error([reexport], folder)


def test_two_tools_of_one_name_are_an_error(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    first = write("invoices", INVOICES)
    second = write(
        "other",
        """
        from facio import tool

        @tool
        def send_invoice(customer: str) -> str:
            return customer
        """,
    )
    message = _error([first, f"{second}:send_invoice"], folder)
    assert message.startswith("bots.main.tools[1]: ")
    assert f"and so does '{first}'" in message


def test_a_bot_gets_its_imported_tools_beside_the_builtins(lib: tuple[Path, Write]) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    config = parse_config(
        {"bots": {"main": {"model": "scripted:demo", "tools": ["current_time", module]}}},
        base_dir=folder,
        env={},
        source=folder / "config.json",  # the config's folder is searched
    )
    resolved = resolve_tools("main", ("current_time", module), config=config)
    assert resolved.tools[0] is BUILTIN_TOOLS["current_time"]
    assert [t.name for t in resolved.tools] == ["current_time", "send_invoice", "list_invoices"]
    checked = check_bots(config)["main"]
    assert checked.own == ("current_time",)
    assert [i.tool.name for i in checked.imported] == ["send_invoice", "list_invoices"]


def test_checking_the_bots_stops_at_a_bad_entry(tmp_path: Path) -> None:
    config = parse_config(
        {
            "bots": {
                "main": {"preset": "demo"},
                "billing": {"model": "scripted:demo", "tools": ["no_such_pkg_q.tools"]},
            }
        },
        base_dir=tmp_path,
        env={},
    )
    with pytest.raises(ConfigError, match=r"bots\.billing\.tools\[0\]: cannot import"):
        check_bots(config)


@pytest.mark.parametrize("allow", [[], ["send_*"]])
async def test_your_tool_asks_like_any_tool_unless_allowed(
    lib: tuple[Path, Write], allow: list[str]
) -> None:
    folder, write = lib
    module = write("invoices", INVOICES)
    script = {
        "rules": [
            {
                "on": "user",
                "match": "bill (?P<who>\\w+)",
                "toolCalls": [
                    {"name": "send_invoice", "arguments": {"customer": "\\g<who>", "amount_eur": 5}}
                ],
            },
            {"on": "tool", "match": "(?P<r>.+)", "text": "Tool said: \\g<r>"},
        ]
    }
    (folder / "billing.json").write_text(json.dumps(script), encoding="utf-8")
    bot = {"model": "scripted:billing.json", "tools": [f"{module}:send_invoice"], "allow": allow}
    config = parse_config(
        {"workspace": "ws", "bots": {"main": bot}},
        base_dir=folder,
        env={},
        source=folder / "config.json",
    )
    async with Facio(config) as facio:
        result = await facio.run("bill acme", session_key="t")
    if allow:
        assert result.tools_used == ["send_invoice"] and result.rejected == []
        assert result.content == "Tool said: sent 5.00 EUR to acme"
    else:  # deny by default: nobody approved it, so it did not run
        assert result.tools_used == [] and result.rejected == ["send_invoice"]
