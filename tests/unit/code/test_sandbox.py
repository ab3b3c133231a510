"""The sandbox's parts that need no bubblewrap: the launch spec, the choice, breaches mapped.

(The sandbox itself, with real kernels, is tests/integration/code/test_sandbox.py.)
"""

from __future__ import annotations

import errno
import json
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.code.errors import SandboxUnavailableError
from core.code.kernel_link import limit_of
from core.code.sandbox import (
    Limit,
    SandboxPolicy,
    SandboxStatus,
    breach_text,
    choose_policy,
    exit_limit,
    exit_text,
    forget_checks,
)
from core.code.sandbox.policy import HIDDEN_SESSIONS, STAGE, python_folders
from core.config import CodeConfig, FacioConfig
from core.config.models_code import CodeLimits
from facio.cli.doctor_cmd import _sandbox

WORKSPACE = Path("/srv/bot/workspace")
RUN = Path("/tmp/facio-kernel-test")


def _policy(network: bool = False) -> SandboxPolicy:
    return SandboxPolicy(
        workspace=WORKSPACE,
        ptc_root=WORKSPACE / ".facio" / "ptc",
        network=network,
        limits=CodeLimits(memory_mb=512, processes=64, file_size_mb=8),
        bwrap="/usr/bin/bwrap",
        uid=65533,
        gid=65533,
        python=(Path("/opt/py"), Path("/srv/bot/.venv")),
    )


def _mounts(args: list[str]) -> list[tuple[str, str, str]]:
    """(option, source, destination) of every bind and tmpfs, in order."""
    found, i = [], 0
    while i < len(args) and args[i] != "--":
        option = args[i]
        if option in ("--bind", "--ro-bind"):
            found.append((option, args[i + 1], args[i + 2]))
            i += 3
        elif option == "--tmpfs":
            found.append((option, "", args[i + 1]))
            i += 2
        else:
            i += 1
    return found


def test_the_spec_binds_the_python_ptc_and_sessions_and_nothing_else_of_the_workspace() -> None:
    spec = _policy().launch_spec(RUN, ["kernel", "{connection_file}"])
    assert spec["sources"] == [
        "/opt/py",
        "/srv/bot/.venv",
        str(WORKSPACE / ".facio" / "ptc"),
        str(WORKSPACE / "sessions"),
    ]
    mounts = _mounts(spec["args"])
    staged = {
        dest: spec["sources"][int(src[len(STAGE) :])] for _, src, dest in mounts if STAGE in src
    }
    assert staged == {
        "/opt/py": "/opt/py",
        "/srv/bot/.venv": "/srv/bot/.venv",
        str(WORKSPACE / ".facio" / "ptc"): str(WORKSPACE / ".facio" / "ptc"),
        HIDDEN_SESSIONS: str(WORKSPACE / "sessions"),  # until binding, out of the way
    }
    writable = {dest for option, _, dest in mounts if option == "--bind"}
    assert writable == {str(RUN), HIDDEN_SESSIONS}
    assert ("--ro-bind", str(RUN / "sessions"), str(WORKSPACE / "sessions")) in mounts
    for name in ("passwd", "group"):
        assert ("--ro-bind", str(RUN / name), f"/etc/{name}") in mounts


def test_parents_are_mounted_before_what_is_inside_them() -> None:
    mounts = _mounts(_policy().launch_spec(RUN, ["kernel"])["args"])
    destinations = [Path(dest) for _, _, dest in mounts]
    for later, path in enumerate(destinations):
        inside = [d for d in destinations[:later] if d != path and d.is_relative_to(path)]
        assert not inside, f"{path} is mounted after {inside}, hiding them"
    assert destinations.index(WORKSPACE) < destinations.index(WORKSPACE / "sessions")


def test_the_spec_ends_read_only_and_runs_the_command_under_the_limits() -> None:
    args = _policy().launch_spec(RUN, ["kernel", "-f", "{connection_file}"])["args"]
    tail = args[args.index("--") - 8 : args.index("--")]
    assert tail == [
        "--remount-ro",
        str(WORKSPACE),
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        str(WORKSPACE),
    ]
    command = args[args.index("--") + 1 :]
    assert command[:4] == [sys.executable, "-I", "-S", "-c"]
    assert json.loads(command[5]) == {
        "RLIMIT_DATA": 512 << 20,
        "RLIMIT_NPROC": 64,
        "RLIMIT_FSIZE": 8 << 20,
        "RLIMIT_CORE": 0,
    }
    assert command[6:] == ["kernel", "-f", "{connection_file}"]
    assert "--size" in args and str(512 << 20) in args  # /tmp and /dev/shm are bounded


def test_the_network_is_the_hosts_only_when_on() -> None:
    assert "--share-net" not in _policy(network=False).launch_spec(RUN, ["k"])["args"]
    assert "--share-net" in _policy(network=True).launch_spec(RUN, ["k"])["args"]
    args = _policy().launch_spec(RUN, ["k"])["args"]
    for option in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"):
        assert option in args


def test_python_folders_are_this_installation_outermost_only() -> None:
    folders = python_folders()
    assert any(Path(sys.prefix).resolve().is_relative_to(f) for f in folders)
    assert not any(a != b and a.is_relative_to(b) for a in folders for b in folders)
    assert not any(f.is_relative_to("/usr") for f in folders)  # /usr is bound anyway


def test_bubblewraps_status_is_read_as_it_is_written() -> None:
    start = '{ "child-pid": 4242, "pid-namespace": 4026532182 }'
    assert SandboxStatus.parse(start) == SandboxStatus(pid=4242)
    assert SandboxStatus.parse(start + '\n{ "exit-code": 152 }\n') == SandboxStatus(4242, 152)
    assert SandboxStatus.parse("") == SandboxStatus()


def test_how_a_kernel_ended_names_the_limit_it_reached() -> None:
    assert exit_limit(128 + signal.SIGXCPU) is Limit.CPU
    assert exit_limit(128 + signal.SIGXFSZ) is Limit.FILE_SIZE
    assert exit_limit(128 + signal.SIGKILL) is None
    assert exit_limit(1) is None
    assert exit_text(128 + signal.SIGKILL) == "was killed by SIGKILL"
    assert exit_text(3) == "exited with code 3"
    limits = CodeLimits(memory_mb=300, cpu_seconds=7, processes=40, file_size_mb=2)
    assert breach_text(Limit.MEMORY, limits).startswith(
        "the cell used more than 300 MiB of memory (code.limits.memoryMb): "
        "the kernel was restarted, its variables are lost"
    )
    assert "7 s of CPU time (code.limits.cpuSeconds)" in breach_text(Limit.CPU, limits)
    assert "40 processes" in breach_text(Limit.PROCESSES, limits)
    assert "larger than 2 MiB (code.limits.fileSizeMb)" in breach_text(Limit.FILE_SIZE, limits)


def test_the_kernel_reports_memory_and_file_size_errors_only() -> None:
    class ArrayMemoryError(MemoryError):  # what numpy raises
        pass

    assert limit_of(MemoryError()) == "memoryMb"
    assert limit_of(ArrayMemoryError()) == "memoryMb"
    assert limit_of(OSError(errno.EFBIG, "File too large")) == "fileSizeMb"
    assert limit_of(OSError(errno.ENOSPC, "No space left on device")) is None
    assert limit_of(ValueError()) is None


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A machine without bubblewrap: nothing on PATH."""
    monkeypatch.setenv("PATH", str(tmp_path))
    forget_checks()
    try:
        yield
    finally:
        forget_checks()


def _choose(sandbox: str) -> SandboxPolicy | None:
    config = CodeConfig.model_validate({"sandbox": sandbox})
    return choose_policy(config, workspace=WORKSPACE, ptc_root=WORKSPACE / ".facio" / "ptc")


def test_without_bubblewrap_bwrap_refuses_auto_warns_once_off_is_quiet(
    no_bwrap: None, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(SandboxUnavailableError, match=r'code\.sandbox is "bwrap" and'):
        _choose("bwrap")
    caplog.set_level(logging.WARNING, logger="core.code.sandbox.probe")
    assert _choose("auto") is None
    assert _choose("auto") is None
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "not installed" in warning and "WITHOUT a sandbox" in warning
    assert _choose("off") is None


def test_doctor_says_how_code_would_run(no_bwrap: None) -> None:
    def line(sandbox: str) -> tuple[bool, bool, str]:
        config = FacioConfig.model_validate({"code": {"sandbox": sandbox}})
        check = _sandbox(config)
        return check.ok, check.warn, check.detail

    ok, warn, detail = line("auto")
    assert (ok, warn) == (True, True) and "WITHOUT a sandbox" in detail
    ok, warn, detail = line("bwrap")
    assert (ok, warn) == (False, False) and "not installed" in detail
    ok, warn, detail = line("off")
    assert (ok, warn) == (True, False) and detail.startswith("off (code.sandbox)")
