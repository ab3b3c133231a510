"""How stdio servers are started and what is redacted."""

from __future__ import annotations

from pathlib import Path

from core.config.models_servers import McpServerConfig
from core.mcp.transport import Redactor, display_url, server_env, stdio_parameters

HOST = {
    "PATH": "/usr/bin",
    "HOME": "/home/me",
    "LANG": "C.UTF-8",
    "OPENAI_API_KEY": "sk-host",
    "BASH_FUNC_x%%": "() { evil; }",
    "TZ": "() { x; }",
}


def test_env_is_the_safe_base_plus_config() -> None:
    config = McpServerConfig(command="srv", env={"TOKEN": "t", "PATH": "/opt/bin"})
    env = server_env(config, HOST)
    assert env == {"PATH": "/opt/bin", "HOME": "/home/me", "LANG": "C.UTF-8", "TOKEN": "t"}


def test_stdio_parameters_are_exactly_the_config(tmp_path: Path) -> None:
    config = McpServerConfig(command="srv", args=["--flag", "x y"], env={"A": "1"})
    params = stdio_parameters(config, tmp_path)
    assert (params.command, params.args, params.cwd) == ("srv", ["--flag", "x y"], tmp_path)
    assert params.env is not None and params.env["A"] == "1"
    assert "OPENAI_API_KEY" not in params.env


def test_redactor_hides_values_and_their_parts() -> None:
    config = McpServerConfig(url="http://x/mcp", headers={"Authorization": "Bearer abcdef123"})
    redact = Redactor.for_server(config)
    assert redact("sent Bearer abcdef123") == "sent ***"
    assert redact("token abcdef123 seen") == "token *** seen"
    assert redact("Bearer alone") == "Bearer alone"
    assert Redactor(["short"])("a short word") == "a short word"


def test_display_url_drops_credentials() -> None:
    assert display_url("https://u:p@host:8443/mcp?key=s#f") == "https://host:8443/mcp"
    assert display_url("http://127.0.0.1/mcp") == "http://127.0.0.1/mcp"
