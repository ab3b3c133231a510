"""The code sandbox: each kernel in bubblewrap, bound to its session, with OS limits.

    policy.py   what a sandbox holds, as bubblewrap arguments (the picture is there)
    probe.py    whether bubblewrap works here (tried once), and code.sandbox's choice
    box.py      one kernel's sandbox: its kernelspec, binding it to a session, its state
    launch.py   run by the kernel gateway: from a launch spec to bubblewrap (a script)
    mount.py    run by facio: binds a warm sandbox to its session (a script)
    limits.py   how a limit breach shows, mapped once to what the model is told

The kernel gateway and the host's tool server stay outside, as facio's user;
only the IPython kernel and what it starts are inside. See docs/code-actions.md.
"""

from core.code.sandbox.box import Sandbox, SandboxStatus
from core.code.sandbox.limits import Limit, breach_text, exit_limit, exit_text
from core.code.sandbox.policy import SANDBOX_UID, SandboxPolicy
from core.code.sandbox.probe import SandboxCheck, check_sandbox, choose_policy, forget_checks

__all__ = [
    "SANDBOX_UID",
    "Limit",
    "Sandbox",
    "SandboxCheck",
    "SandboxPolicy",
    "SandboxStatus",
    "breach_text",
    "check_sandbox",
    "choose_policy",
    "exit_limit",
    "exit_text",
    "forget_checks",
]
