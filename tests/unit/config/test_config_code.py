"""The `code` section and the names `ptcServers` may not use."""

from __future__ import annotations

from tests.unit.config.helpers import parse, problems


def test_code_defaults_and_camel_case_keys() -> None:
    code = parse({}).code
    assert (code.pool_size, code.max_kernels, code.idle_timeout) == (1, 16, 900)
    assert (code.kernel_init_timeout, code.max_output_chars, code.env) == (60, 20_000, {})
    data = {
        "code": {
            "poolSize": 0,
            "maxKernels": 2,
            "idleTimeout": 0,
            "kernelInitTimeout": 5,
            "maxOutputChars": 500,
            "env": {"TZ": "${TZ:-UTC}"},
        }
    }
    code = parse(data).code
    assert (code.pool_size, code.max_kernels, code.idle_timeout) == (0, 2, 0)
    assert (code.kernel_init_timeout, code.max_output_chars, code.env) == (5, 500, {"TZ": "UTC"})
    assert "UTC" not in repr(code)  # env values may be secrets


def test_sandbox_network_and_limits() -> None:
    code = parse({}).code
    assert (code.sandbox, code.network) == ("auto", "on")
    limits = code.limits
    assert (limits.memory_mb, limits.cpu_seconds, limits.processes, limits.file_size_mb) == (
        2048,
        3600,
        256,
        1024,
    )
    data = {
        "code": {
            "sandbox": "bwrap",
            "network": "off",
            "limits": {"memoryMb": 512, "cpuSeconds": 60, "processes": 64, "fileSizeMb": 10},
        }
    }
    code = parse(data).code
    assert (code.sandbox, code.network) == ("bwrap", "off")
    assert code.limits.model_dump(by_alias=True) == {
        "memoryMb": 512,
        "cpuSeconds": 60,
        "processes": 64,
        "fileSizeMb": 10,
    }
    found = problems({"code": {"sandbox": "docker", "network": True, "limits": {"processes": 2}}})
    assert set(found) == {"code.sandbox", "code.network", "code.limits.processes"}
    assert found["code.sandbox"] == 'expected one of "auto", "bwrap", "off", got "docker"'


def test_code_limits_are_checked() -> None:
    found = problems({"code": {"poolSize": -1, "kernelInitTimeout": 0, "maxOutputChars": 10}})
    assert set(found) == {"code.poolSize", "code.kernelInitTimeout", "code.maxOutputChars"}
    typo = problems({"code": {"poolsize": 1}})
    assert typo["code.poolsize"].startswith("unknown key; did you mean 'poolSize'?")


def test_ipybox_is_no_ptc_server_name() -> None:
    found = problems({"ptcServers": {"ipybox": {"command": "x"}}})
    assert found == {"ptcServers.ipybox": "'ipybox' is reserved for shell commands in code"}
