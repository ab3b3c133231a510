"""Every ``facio`` command starts fast: heavy optional packages load only when used.

``import mcp`` alone takes over a second (it loads its server side too) and
ipybox about two; a ``facio --help`` or a ``facio chat`` on a bot without MCP
servers or code tools must not pay for them. Checked in a fresh interpreter,
by what got imported — not by timing, which is flaky on shared machines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("mcp", "ipybox", "mcpygen", "aiogram", "uvicorn")


def _imported_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(filter(None, out.split(",")))


def test_the_cli_and_the_sdk_import_no_heavy_package() -> None:
    assert _imported_after("import facio.cli, facio") == set()


def test_a_bot_without_mcp_servers_does_not_import_mcp(tmp_path: Path) -> None:
    statement = (
        "from pathlib import Path; from core.config import parse_config; "
        "from bots.sdk import Facio; "
        "Facio(parse_config({'bots': {'main': {'preset': 'assistant'}}, "
        f"'agent': {{'model': 'scripted:demo'}}}}, base_dir=Path({str(tmp_path)!r}), env={{}}))"
    )
    assert _imported_after(statement) == set()
