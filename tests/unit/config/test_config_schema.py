"""The committed JSON Schema matches the models and documents every key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config.schema import SCHEMA_PATH, config_json_schema, main, render


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        "config/config.schema.json is stale; run: python -m core.config.schema --write"
    )


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("root", schema), *schema["$defs"].items()]


def test_every_property_has_a_description_and_camel_case_key() -> None:
    for name, definition in _objects(config_json_schema()):
        assert definition.get("description"), name
        assert definition["additionalProperties"] is False, name
        for key, prop in definition["properties"].items():
            assert prop.get("description"), f"{name}.{key}"
            assert "_" not in key, f"{name}.{key}"


def test_secrets_are_marked_write_only() -> None:
    props = config_json_schema()["$defs"]["GatewayConfig"]["properties"]
    assert props["apiToken"]["writeOnly"] is True


def test_check_and_write(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    target.write_text("{}", encoding="utf-8")
    assert main(["--check", "--path", str(target)]) == 1
    assert main(["--write", "--path", str(target)]) == 0
    assert main(["--check", "--path", str(target)]) == 0
