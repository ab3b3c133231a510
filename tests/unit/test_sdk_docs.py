"""The SDK's documented examples (README "The SDK", docs/sdk.md) import only from
``facio``, and the offline one runs as written and prints what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK_PAGE = ROOT / "docs" / "sdk.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _examples() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return _python_blocks(_section(readme, "## The SDK")) + _python_blocks(
        SDK_PAGE.read_text(encoding="utf-8")
    )


def test_the_sdk_examples_import_only_from_facio() -> None:
    examples = _examples()
    assert len(examples) >= 7
    imported = {
        (found.group(1) or found.group(2)).split(".")[0]
        for code in examples
        for found in re.finditer(r"^\s*(?:from\s+(\S+)\s+import|import\s+(\S+))", code, re.M)
    }
    assert imported == {"facio", "asyncio"}


def test_the_assembled_agent_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    section = _section(SDK_PAGE.read_text(encoding="utf-8"), "## An agent you assemble")
    (code,) = _python_blocks(section)
    exec(compile(code, str(SDK_PAGE), "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert printed == "thinking: A sum: the add tool does it.\nIt is 5.\n"
    assert "`thinking: A sum: the add tool does it.`" in section and "`It is 5.`" in section
