"""A facio host process with one running kernel, for the process-hygiene test.

Run as ``python tests/fakes/code_host.py <workspace>``: it runs a cell on a
code toolset that starts a long-lived process of its own (``subprocess``),
prints the pids of the kernel's processes and of that one (as this host sees
them: in a sandbox, the code sees pids of its own) and the kernel's run
folder as one JSON line, then sleeps until it is killed (the test SIGKILLs it).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import psutil

from core.code import CodeToolset
from core.config import CodeConfig
from core.tools.tool import ToolContext


async def main(workspace: Path) -> None:
    toolset = CodeToolset(CodeConfig(pool_size=0, kernel_init_timeout=90), workspace)
    execute = (await toolset.tools())[0]
    code = "import subprocess\nprint(subprocess.Popen(['sleep', '600']).pid)"
    await execute.call({"code": code}, ToolContext(session_key="host:1"))
    kernel = toolset.pool.assigned(("host:1", "main"))
    assert kernel is not None
    # the pid the code printed is its sandbox's own: find the process as this host sees it
    (started,) = [p for p in kernel.pids() if psutil.Process(p).cmdline() == ["sleep", "600"]]
    pids = [pid for pid in kernel.pids() if pid != started]
    assert kernel.executor.run is not None
    run = str(kernel.executor.run.path)
    print(json.dumps({"pids": pids, "started": started, "run": run}), flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
