"""Whether a sandbox can be made here, and the policy ``code.sandbox`` asks for.

Whether bubblewrap works is found out the only reliable way: by starting
a sandbox like a kernel's (same namespaces, mounts, user and limits) around
``python -c pass``. That takes about a tenth of a second and is done once per
process and network mode; the answer is kept.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.code.errors import SandboxUnavailableError
from core.code.rundir import RunDir
from core.code.sandbox.box import LAUNCH, write_identity
from core.code.sandbox.policy import SandboxPolicy
from core.config.models_code import CodeConfig, CodeLimits

__all__ = ["SandboxCheck", "check_sandbox", "choose_policy", "forget_checks"]

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class SandboxCheck:
    """Whether bubblewrap works here; if not, why not."""

    works: bool
    reason: str = ""
    bwrap: str | None = None


@functools.cache
def check_sandbox(network: bool = False) -> SandboxCheck:
    """Try a sandbox once (blocks up to a second: call it in a thread); the answer is kept."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxCheck(False, "bubblewrap is not installed (no bwrap on PATH)")
    policy = SandboxPolicy.build(
        workspace=Path("/nonexistent"),
        ptc_root=Path("/nonexistent"),
        network=network,
        limits=CodeLimits(),
        bwrap=bwrap,
    )
    run = RunDir.create()
    try:
        write_identity(policy, run.path)
        command = [sys.executable, "-I", "-S", "-c", "pass"]
        spec = run.path / "launch.json"
        spec.write_text(json.dumps(policy.launch_spec(run.path, command, kernel=False)), "utf-8")
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-S", str(LAUNCH), str(spec)],
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return SandboxCheck(False, f"bubblewrap did not run: {exc}", bwrap)
    finally:
        run.remove()
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        reason = said[-1] if said else f"it exited with code {done.returncode}"
        return SandboxCheck(False, f"bubblewrap does not work here: {reason}", bwrap)
    return SandboxCheck(True, bwrap=bwrap)


@functools.cache
def _warn(reason: str) -> None:
    """Once per process and reason: every toolset of the process would say the same."""
    logger.warning(
        'code.sandbox is "auto" and %s: code actions run WITHOUT a sandbox, as this OS '
        'user (set code.sandbox to "off" to say that is meant, see docs/code-actions.md)',
        reason,
    )


def forget_checks() -> None:
    """Forget what was found and said (bubblewrap installed meanwhile; tests)."""
    check_sandbox.cache_clear()
    _warn.cache_clear()


def choose_policy(config: CodeConfig, *, workspace: Path, ptc_root: Path) -> SandboxPolicy | None:
    """The sandbox kernels run in, or None for none; blocks for the probe (use a thread).

    Raises :class:`SandboxUnavailableError` when ``code.sandbox`` is ``"bwrap"``
    and bubblewrap does not work here.
    """
    if config.sandbox == "off":
        return None
    network = config.network == "on"
    check = check_sandbox(network)
    if not check.works or check.bwrap is None:
        if config.sandbox == "bwrap":
            raise SandboxUnavailableError(
                f'code actions are unavailable: code.sandbox is "bwrap" and {check.reason}'
            )
        _warn(check.reason)
        return None
    return SandboxPolicy.build(
        workspace=workspace,
        ptc_root=ptc_root,
        network=network,
        limits=config.limits,
        bwrap=check.bwrap,
    )
