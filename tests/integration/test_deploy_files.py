"""compose.yaml, the Dockerfile and config/compose.json agree with facio's CLI and config.

No Docker engine runs here: tests/integration/deploy_checks.py parses and
interpolates the files like ``docker compose config`` and checks them against
the real argument parser and config loader. The ``broken_*`` tests feed the
same checks damaged copies, so a check that cannot fail would show. When a
Compose CLI is installed, ``docker compose config`` validates the file too.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from facio.cli import SUBCOMMANDS
from tests.integration.deploy_checks import (
    COMPOSE,
    DOCKERFILE,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    ROOT,
    FacioService,
    MissingVariableError,
    check_config_variables,
    check_facio_service,
    check_named_volumes,
    check_redis,
    check_shared_setup,
    check_worker,
    compose_variables,
    dockerfile,
    final_stage,
    load_compose,
    one,
    parse_facio,
)
from workers.worker import SHUTDOWN_GRACE

HOST_ENV = {
    "FACIO_API_TOKEN": "api-token-from-env",
    "OPENAI_API_KEY": "sk-from-env",
    "ANTHROPIC_API_KEY": "ant-from-env",
    "TELEGRAM_BOT_TOKEN": "123:telegram-from-env",
}
"""What a deployer's .env holds."""


@pytest.fixture
def compose() -> dict[str, Any]:
    return load_compose(HOST_ENV)


def _services(compose: dict[str, Any]) -> dict[str, FacioService]:
    return {
        "gateway": check_facio_service(compose, "gateway", "gateway"),
        "worker": check_facio_service(compose, "worker", "worker"),
    }


def check_all(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"redis", "gateway", "worker"}
    check_named_volumes(compose)
    check_redis(compose)
    services = _services(compose)
    check_shared_setup(compose, services["gateway"], services["worker"])
    check_worker(compose, SHUTDOWN_GRACE)
    check_config_variables(services)


def test_compose_file_is_consistent(compose: dict[str, Any]) -> None:
    check_all(compose)


def test_secrets_reach_the_service_that_uses_them(compose: dict[str, Any]) -> None:
    services = _services(compose)
    gateway, worker = services["gateway"].config, services["worker"].config
    assert gateway.gateway.api_token.get_secret_value() == "api-token-from-env"
    assert gateway.channels.telegram.token.get_secret_value() == "123:telegram-from-env"
    assert worker.providers["openai"].api_key.get_secret_value() == "sk-from-env"
    assert worker.providers["anthropic"].api_key.get_secret_value() == "ant-from-env"
    # least privilege: the gateway never sees a model key, the worker no platform token
    assert gateway.providers["openai"].api_key.get_secret_value() == ""
    assert worker.gateway.api_token.get_secret_value() == ""
    assert worker.channels.telegram.token.get_secret_value() == ""


def test_the_api_token_is_required() -> None:
    env = {k: v for k, v in HOST_ENV.items() if k != "FACIO_API_TOKEN"}
    with pytest.raises(MissingVariableError, match="FACIO_API_TOKEN"):
        load_compose(env)


def test_env_example_lists_what_compose_reads() -> None:
    wanted = compose_variables(COMPOSE.read_text(encoding="utf-8"))
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    example = {line.split("=", 1)[0] for line in lines if "=" in line and line[0] != "#"}
    assert example <= set(wanted), f"unused in compose.yaml: {example - set(wanted)}"
    required = {name for name, op in wanted.items() if op is None or "?" in op}
    assert required <= example, f"required but not in .env.example: {required - example}"


def test_dockerfile_runs_facio_as_an_unprivileged_user() -> None:
    stage = final_stage(dockerfile())
    base = one(stage, "FROM").value.split()[0]
    assert base.startswith("python:3.1") and base.endswith("-slim"), base
    assert one(stage, "USER").value not in ("root", "0")
    assert one(stage, "ENTRYPOINT").exec_form() == ["facio"]
    args = parse_facio(one(stage, "CMD").exec_form())
    assert args.command in {name.removesuffix("_cmd") for name in SUBCOMMANDS}
    env = " ".join(ins.value for ins in stage if ins.keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in env


def test_dockerfile_matches_compose(compose: dict[str, Any]) -> None:
    services = _services(compose)
    stage = final_stage(dockerfile())
    probe = " ".join(one(stage, "HEALTHCHECK").exec_form())
    assert f":{services['gateway'].config.gateway.port}/healthz" in probe
    assert str(services["worker"].config.workspace) in one(stage, "VOLUME").value
    assert f"{services['gateway'].config.gateway.port}" in one(stage, "EXPOSE").value


def test_dockerfile_copies_every_package() -> None:
    """The image's ``pip install .`` needs every package pyproject.toml includes."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {
        source
        for ins in dockerfile()
        if ins.keyword == "COPY" and not ins.value.startswith("--from")
        for source in ins.value.split()[:-1]
    }
    needed = packages | {"pyproject.toml", "README.md"}
    assert needed <= copied, f"not copied into the image: {needed - copied}"
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").split())
    assert {".venv", ".git", "workspace", ".env"} <= ignored
    assert not needed & ignored, f"ignored but needed: {needed & ignored}"


# ------------------------------------------------ the checks fail on broken files


def _broken(compose: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy with the item at ``path`` (``a/b/0``) replaced; None deletes it."""
    broken = copy.deepcopy(compose)
    *parents, last = path.split("/")
    node: Any = broken
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("services/gateway/command/0", "gatway", "does not parse"),
        ("services/worker/command", ["gateway", "--config", "/config/config.json"], "not worker"),
        (
            "services/worker/command",
            ["worker", "--config", "/etc/facio.json"],
            "nothing is mounted",
        ),
        ("services/redis/command/2", "no", "appendonly"),
        ("services/redis/healthcheck", None, "healthcheck"),
        ("services/worker/deploy/replicas", 1, "replica"),
        ("services/worker/stop_grace_period", "5s", "stop_grace_period"),
        ("services/worker/healthcheck", None, "healthcheck"),
        ("services/worker/environment/OPENAI_API_KEY", None, "OPENAI_API_KEY"),
        ("services/worker/environment/TELEGRAM_BOT_TOKEN", "leak", "leaks"),
        ("services/gateway/environment/FACIO_API_TOKEN", None, "FACIO_API_TOKEN"),
        ("services/gateway/depends_on", None, "healthy redis"),
        ("services/gateway/ports", ["127.0.0.1:8765:9000"], "not published"),
        ("services/gateway/volumes/1", "./workspace:/workspace", "not a volume"),
        ("volumes/workspace", None, "undeclared"),
    ],
)
def test_broken_compose_fails(compose: dict[str, Any], path: str, value: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_all(_broken(compose, path, value))


def test_broken_dockerfile_fails(tmp_path: Path) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    entry = tmp_path / "Dockerfile"
    entry.write_text(text.replace('ENTRYPOINT ["facio"]', "ENTRYPOINT facio"), encoding="utf-8")
    with pytest.raises(AssertionError, match="exec"):
        one(final_stage(dockerfile(entry)), "ENTRYPOINT").exec_form()
    cmd = tmp_path / "Dockerfile.cmd"
    cmd.write_text(text.replace('CMD ["gateway"', 'CMD ["gatewy"'), encoding="utf-8")
    with pytest.raises(AssertionError, match="does not parse"):
        parse_facio(one(final_stage(dockerfile(cmd)), "CMD").exec_form())


# ------------------------------------------------ a real Compose CLI, where installed


def _compose_cli() -> list[str] | None:
    """``docker compose`` (v2) or ``docker-compose`` (v1), whichever works without an engine."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_cli_accepts_the_file(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose / docker-compose CLI installed")
    path = COMPOSE
    if cli != ["docker", "compose"]:
        # Compose v1 predates the top-level `name` of the Compose specification.
        text = COMPOSE.read_text(encoding="utf-8").replace("name: facio\n", "", 1)
        path = tmp_path / "compose.yaml"
        path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [*cli, "-f", str(path), "--project-directory", str(ROOT), "config", "-q"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **HOST_ENV},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
