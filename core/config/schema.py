"""The JSON Schema of config.json, generated from the models.

Editors use it for completion and checks; it is committed as
``config/config.schema.json`` and a test fails when it falls behind:

    python -m core.config.schema --write   # regenerate
    python -m core.config.schema --check   # exit 1 when stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.config.models import FacioConfig

__all__ = ["SCHEMA_PATH", "config_json_schema", "main", "render"]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "config.schema.json"
"""Where the committed schema lives in a source checkout."""

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema() -> dict[str, Any]:
    """The schema of config.json: camelCase keys, field docstrings as descriptions."""
    schema = FacioConfig.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": _DIALECT,
        **schema,
        "title": "facio config.json",
        "description": "Configuration of facio: models, bots, chat channels, tools, gateway.",
    }


def render() -> str:
    """The schema file's exact text (stable key order, trailing newline)."""
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.config.schema", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="write the schema file")
    action.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help="schema file to use")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
        return 0
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is stale; run: python -m core.config.schema --write")
            return 1
        print(f"{args.path} is up to date")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
