"""Checks of the deployment files (compose.yaml, Dockerfile) against facio itself.

No Docker engine runs where the tests run, so these checks do what ``docker
compose config`` would (parse, interpolate ``${VAR}`` the way Compose does)
and then what only facio can tell: that each service's command parses with
the real ``facio`` argument parser and names a real subcommand, that the
config file it mounts loads with the real config loader from the environment
the service gets, and that the Dockerfile's entrypoint and command agree.

Every check raises ``AssertionError`` naming what is wrong, so the tests can
also feed them broken copies and expect them to fail.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.config import FacioConfig, load_config
from core.config.jsonc import loads as jsonc_loads
from facio.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

# ---------------------------------------------------------------- Compose

# Compose's interpolation: $$ (a literal $), $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
# ${VAR:?err}, ${VAR?err}.
_COMPOSE_REF = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


class MissingVariableError(AssertionError):
    """A ``${VAR:?message}`` whose variable is unset or empty."""


def _interpolate_text(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("bare") or match.group("name")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-") and unset:
            return arg
        if op in (":?", "?") and unset:
            raise MissingVariableError(f"required variable {name} is missing: {arg}")
        return value or ""

    return _COMPOSE_REF.sub(replace, text)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` (parsed YAML) with Compose's ``${VAR}`` forms resolved from ``env``."""
    if isinstance(value, str):
        return _interpolate_text(value, env)
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    return value


def compose_variables(text: str) -> dict[str, str | None]:
    """Variables compose.yaml reads from the host, each with its operator (None: plain)."""
    found: dict[str, str | None] = {}
    for match in _COMPOSE_REF.finditer(text):
        name = match.group("bare") or match.group("name")
        if name:
            found[name] = match.group("op")
    return found


def load_compose(env: Mapping[str, str], path: Path = COMPOSE) -> dict[str, Any]:
    """compose.yaml parsed (anchors and merge keys resolved) and interpolated."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "compose.yaml must be a mapping"
    resolved: dict[str, Any] = interpolate(data, env)
    return resolved


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command")
    assert command is not None, "the service has no command"
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's ``environment`` as a dict (map or ``KEY=value`` list form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _sep, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def parse_facio(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by the real ``facio`` parser; AssertionError instead of exit 2."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`facio {shlex.join(argv)}` does not parse (exit {exc})") from exc


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool
    named: bool
    """A named volume (declared under top-level ``volumes``), not a bind mount."""


def mounts_of(service: Mapping[str, Any]) -> list[Mount]:
    mounts: list[Mount] = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            source, target = str(item.get("source", "")), str(item["target"])
            read_only = bool(item.get("read_only"))
        else:
            source, target, *rest = str(item).split(":")
            read_only = bool(rest) and "ro" in rest[0].split(",")
        named = not source.startswith((".", "/", "~"))
        mounts.append(Mount(source, target, read_only, named))
    return mounts


def check_named_volumes(compose: Mapping[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for mount in mounts_of(service):
            if mount.named:
                assert mount.source in declared, f"{name} mounts undeclared volume {mount.source}"


def check_redis(compose: Mapping[str, Any]) -> None:
    """The redis service: the official image, AOF on, data on a volume, a PING healthcheck."""
    redis = compose["services"].get("redis")
    assert redis is not None, "no redis service"
    assert str(redis.get("image", "")).startswith("redis:"), "redis must use the official image"
    command = command_of(redis)
    assert command[:1] == ["redis-server"], f"redis runs {command}, not redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert options.get("--appendonly") == "yes", "redis must run with --appendonly yes (AOF)"
    policy = options.get("--maxmemory-policy", "noeviction")
    assert policy == "noeviction", f"maxmemory-policy {policy} could evict queued turns"
    data = [m for m in mounts_of(redis) if m.target == "/data"]
    assert data and data[0].named, "redis must keep /data (the AOF) on a named volume"
    test = " ".join(redis.get("healthcheck", {}).get("test", []))
    assert "redis-cli" in test and "ping" in test, "redis needs a redis-cli ping healthcheck"


# ---------------------------------------------------------------- facio services


@dataclass(frozen=True)
class FacioService:
    name: str
    args: argparse.Namespace
    env: dict[str, str]
    config_file: Path
    """The repository file mounted where ``--config`` points."""
    config: FacioConfig


def check_facio_service(compose: Mapping[str, Any], name: str, subcommand: str) -> FacioService:
    """A gateway/worker service: built from this repo, a facio command, a loadable config."""
    service = compose["services"].get(name)
    assert service is not None, f"no {name} service"
    build = service.get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    assert context == ".", f"{name} must build the image from this repository"
    args = parse_facio(command_of(service))
    assert args.command == subcommand, f"{name} runs `facio {args.command}`, not {subcommand}"
    assert args.config, f"{name} must pass --config"
    mount = next((m for m in mounts_of(service) if m.target == args.config), None)
    assert mount is not None, f"{name}: nothing is mounted at --config {args.config}"
    assert not mount.named and mount.read_only, f"{name}: mount the config read-only from the repo"
    config_file = (ROOT / mount.source).resolve()
    assert config_file.is_file(), f"{name} mounts {mount.source}, which does not exist"
    env = environment_of(service)
    config = load_config(config_file, env=env)
    depends = service.get("depends_on") or {}
    condition = depends.get("redis", {}).get("condition") if isinstance(depends, dict) else None
    assert condition == "service_healthy", f"{name} must wait for a healthy redis"
    return FacioService(name, args, env, config_file, config)


def check_shared_setup(
    compose: Mapping[str, Any], gateway: FacioService, worker: FacioService
) -> None:
    """Both on the compose Redis, on the same image and workspace volume; the port published."""
    for svc in (gateway, worker):
        url = svc.config.redis.url
        assert url.startswith("redis://redis:6379"), f"{svc.name}: redis.url is {url!r}"
        workspace = str(svc.config.workspace)
        mount = next(
            (m for m in mounts_of(compose["services"][svc.name]) if m.target == workspace), None
        )
        assert mount is not None and mount.named, (
            f"{svc.name}: workspace {workspace} is not a volume"
        )
    images = {compose["services"][s.name].get("image") for s in (gateway, worker)}
    assert len(images) == 1, f"gateway and worker must run the same image, not {images}"
    assert gateway.config.gateway.host == "0.0.0.0", (
        "the gateway must listen on 0.0.0.0 in a container"
    )
    port = gateway.config.gateway.port
    published = [str(p) for p in compose["services"]["gateway"].get("ports", [])]
    assert any(p.endswith(f":{port}") for p in published), f"port {port} is not published"
    test = " ".join(compose["services"]["gateway"].get("healthcheck", {}).get("test", []))
    assert f":{port}/healthz" in test, "the gateway healthcheck must probe /healthz on its port"


def check_worker(compose: Mapping[str, Any], shutdown_grace: float) -> None:
    """Replicas, no fixed container name, no gateway healthcheck, time to hand turns back."""
    worker = compose["services"]["worker"]
    replicas = (worker.get("deploy") or {}).get("replicas", 1)
    assert replicas >= 2, f"the worker runs {replicas} replica(s); expected at least 2"
    assert "container_name" not in worker, "a fixed container_name prevents replicas"
    assert (worker.get("healthcheck") or {}).get("disable") is True, (
        "workers serve no HTTP: disable the image's gateway healthcheck"
    )
    grace = duration(str(worker.get("stop_grace_period", "10s")))
    assert grace > shutdown_grace, (
        f"stop_grace_period {grace}s would SIGKILL turns within their {shutdown_grace}s grace"
    )


def duration(text: str) -> float:
    """A Compose duration (``1m30s``, ``15s``, ``500ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    assert parts and "".join(a + b for a, b in parts) == text, f"not a duration: {text!r}"
    return sum(float(amount) * units[unit] for amount, unit in parts)


# ---------------------------------------------------------------- config variables


def config_references(path: Path) -> dict[str, tuple[str, bool]]:
    """``${VAR}`` references of a config file: VAR → (key path, has a default)."""
    found: dict[str, tuple[str, bool]] = {}

    def walk(value: Any, loc: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{loc}.{key}" if loc else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{loc}[{index}]")
        elif isinstance(value, str):
            for match in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-)?", value):
                found[match.group(1)] = (loc, match.group(2) is not None)

    walk(jsonc_loads(path.read_text(encoding="utf-8")), "")
    return found


def needed_by(key_path: str) -> set[str]:
    """Which services read a config key: the gateway owns the platforms and the API,
    the workers own the model (DESIGN.md rule 7); the rest both."""
    top = key_path.split(".")[0]
    if top in ("channels", "gateway"):
        return {"gateway"}
    if top == "providers":
        return {"worker"}
    return {"gateway", "worker"}


SECRET_KEYS = re.compile(r"(apiKey|apiToken|token|Token|Secret|secret)$")


def check_config_variables(services: Mapping[str, FacioService]) -> None:
    """Every variable the config reads reaches the services that use it, secrets no others."""
    files = {svc.config_file for svc in services.values()}
    assert len(files) == 1, f"gateway and worker mount different configs: {files}"
    for var, (key_path, _has_default) in config_references(files.pop()).items():
        readers = needed_by(key_path)
        for name in readers:
            assert var in services[name].env, f"{name} reads {key_path} from ${var}, not passed"
        if SECRET_KEYS.search(key_path):
            for name in set(services) - readers:
                assert var not in services[name].env, f"secret {var} ({key_path}) leaks to {name}"


# ---------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form's arguments; AssertionError for the shell form."""
        text = self.value
        if self.keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1] if "CMD" in text else ""
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{self.keyword} must use the JSON (exec) form") from exc
        assert isinstance(parsed, list), f"{self.keyword} must be a JSON list"
        return [str(p) for p in parsed]


def dockerfile(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions (continuations joined, comments dropped)."""
    instructions: list[Instruction] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not pending):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continuation
        pending += (" " if pending else "") + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _sep, value = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
        pending = ""
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def one(stage: list[Instruction], keyword: str) -> Instruction:
    found = [ins for ins in stage if ins.keyword == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]  # the last one wins, as in Docker
