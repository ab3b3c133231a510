"""The sandbox with real kernels under bubblewrap: what a cell can see, reach and use.

One sandboxed toolset (network off, small limits) is shared by the module.
The host plants what the code must not get at: a config file, an API token
and a provider key in facio's environment, another session's file, the
workspace's state. Each limit breach ends its kernel, and the test's next
cell runs in a fresh one (the tests do not depend on their order).

When bubblewrap cannot run here the module is skipped, saying why; with
FACIO_REQUIRE_SANDBOX=1 (CI sets it) that is a failure instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from core import ApprovalRequest
from core.code import CodeToolset
from core.code.sandbox import SANDBOX_UID, check_sandbox
from core.config import CodeConfig
from core.config.models_code import CodeLimits
from tests.integration.code.support import KERNEL_TIMEOUT, code_agent, code_result, of_type, turn

CHECK = check_sandbox(False)
if not CHECK.works and os.environ.get("FACIO_REQUIRE_SANDBOX") != "1":
    pytest.skip(f"bubblewrap cannot run on this machine: {CHECK.reason}", allow_module_level=True)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "facio-api-token-that-code-must-not-see"
PROVIDER_KEY = "sk-provider-key-that-code-must-not-see"
OTHER = "the other session's secret"
LIMITS = CodeLimits(memory_mb=512, cpu_seconds=3, processes=48, file_size_mb=8)
NEW_KERNEL = "[Note: this code ran in another Python kernel"
PIXEL = base64.b64decode(  # a 1×1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A facio home: config.json beside its workspace, secrets in the environment."""
    home = tmp_path_factory.mktemp("home")
    config = {"gateway": {"apiToken": TOKEN}, "providers": {"openai": {"apiKey": PROVIDER_KEY}}}
    (home / "config.json").write_text(json.dumps(config))
    workspace = home / "workspace"
    (workspace / ".facio").mkdir(parents=True)
    (workspace / ".facio" / "permissions.json").write_text('{"allow": ["*"]}')
    other = workspace / "sessions" / "test%3Aother"
    other.mkdir(parents=True)
    (other / "secret.txt").write_text(OTHER)
    saved = {k: os.environ.get(k) for k in ("FACIO_API_TOKEN", "OPENAI_API_KEY")}
    os.environ |= {"FACIO_API_TOKEN": TOKEN, "OPENAI_API_KEY": PROVIDER_KEY}
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolset(host: Path) -> AsyncIterator[CodeToolset]:
    config = CodeConfig(
        sandbox="bwrap",
        network="off",
        limits=LIMITS,
        pool_size=1,
        kernel_init_timeout=KERNEL_TIMEOUT,
    )
    toolset = CodeToolset(config, host / "workspace")
    await toolset.ready()
    try:
        yield toolset
    finally:
        await toolset.aclose()


async def run(toolset: CodeToolset, code: str, session: str = "test:box") -> tuple[str, bool]:
    """Run ``code`` in ``session``'s kernel: the result's text and whether it is an error."""
    events = await turn(code_agent(toolset, session=session), f"run {code}")
    result = code_result(events)
    return result.content, result.is_error


async def test_bubblewrap_works_here() -> None:
    assert CHECK.works, CHECK.reason  # reached only where it must (FACIO_REQUIRE_SANDBOX=1)


async def test_the_sandbox_is_on_and_runs_as_its_own_user(toolset: CodeToolset) -> None:
    assert toolset.sandbox is not None and not toolset.sandbox.network
    text, _ = await run(toolset, "import os\nprint(os.getuid(), os.getcwd())")
    uid = SANDBOX_UID if os.geteuid() == 0 else os.getuid()
    assert text == f"{uid} {toolset.paths.session_dir('test:box')}"
    # an OSError that is no limit is shown as usual (the limit reports see every OSError)
    text, is_error = await run(toolset, "open('/etc/shadow')")
    assert is_error and "FileNotFoundError" in text and "----> 1 open('/etc/shadow')" in text


async def test_no_config_file_token_or_provider_key(toolset: CodeToolset, host: Path) -> None:
    code = (
        "import os, glob\n"
        f"print(os.path.exists({str(host / 'config.json')!r}))\n"
        f"print(sorted(os.listdir({str(host)!r})))\n"
        "found = []\n"
        "for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
        "    try:\n"
        "        data = open(path, 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        f"    found += [path for s in ({TOKEN!r}, {PROVIDER_KEY!r}) if s.encode() in data]\n"
        f"print(found, [v for v in os.environ.values() if v in ({TOKEN!r}, {PROVIDER_KEY!r})])"
    )
    text, is_error = await run(toolset, code)
    assert not is_error
    assert text.splitlines() == ["False", "['workspace']", "[] []"]
    assert os.environ["FACIO_API_TOKEN"] == TOKEN  # the host has them: the kernel does not


async def test_no_facio_process_in_proc(toolset: CodeToolset) -> None:
    code = (
        "import os\n"
        f"print(os.path.exists('/proc/{os.getpid()}/environ'))\n"
        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    text, _ = await run(toolset, code)
    exists, pids = text.splitlines()
    assert exists == "False"  # facio's pid (this test process) is not in the sandbox's /proc
    assert json.loads(pids)[:2] == [1, 2]  # its init and the kernel, then what the code runs
    assert len(json.loads(pids)) <= 4


async def test_no_other_session_nor_workspace_state(toolset: CodeToolset) -> None:
    workspace = toolset.paths.workspace
    code = (
        "import os\n"
        f"print(sorted(os.listdir({str(workspace / 'sessions')!r})))\n"
        f"print(os.path.exists({str(workspace / 'sessions' / 'test%3Aother')!r}))\n"
        f"print(sorted(os.listdir({str(workspace)!r})))\n"
        f"print(sorted(os.listdir({str(workspace / '.facio')!r})))\n"
        f"print(os.path.exists({str(workspace / '.facio' / 'permissions.json')!r}))"
    )
    text, _ = await run(toolset, code)
    assert text.splitlines() == [
        "['test%3Abox']",
        "False",
        "['.facio', 'sessions']",
        "['ptc']",  # the generated MCP APIs (read-only), nothing else of facio's state
        "False",
    ]
    assert (workspace / "sessions" / "test%3Aother" / "secret.txt").read_text() == OTHER


async def test_it_writes_only_in_its_folder_and_a_private_tmp(toolset: CodeToolset) -> None:
    workspace = toolset.paths.workspace
    targets = [
        workspace / "escaped.txt",
        workspace / ".facio" / "ptc" / "escaped.txt",
        workspace / "sessions" / "escaped.txt",
        Path("/escaped.txt"),
        Path("/etc/escaped.txt"),
        Path(sys.prefix) / "escaped.txt",
    ]
    code = (
        "import os, errno\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "    except OSError as exc:\n"
        "        print(errno.errorcode[exc.errno])\n"
        "    else:\n"
        "        print('WROTE', path)\n"
        "open('mine.txt', 'w').write('kept')\n"
        "open('/tmp/facio-sandbox-private.txt', 'w').write('x')\n"
        "print(os.listdir('/tmp'))"
    )
    text, _ = await run(toolset, code)
    lines = text.splitlines()
    assert len(lines) == len(targets) + 1
    assert not [line for line in lines[:-1] if line.startswith("WROTE")]
    assert set(lines[:-1]) <= {"EROFS", "EACCES", "ENOENT"}
    assert not any(t.exists() for t in targets)
    assert (toolset.paths.session_dir("test:box") / "mine.txt").read_text() == "kept"
    assert not Path("/tmp/facio-sandbox-private.txt").exists()  # its /tmp is its own
    listed = lines[-1]  # its /tmp: its own run folder (sockets), nobody else's
    assert listed.count("facio-kernel-") == 1 and "facio-sandbox-private.txt" in listed


async def test_facio_saves_no_image_through_a_link_the_code_made(
    toolset: CodeToolset, host: Path
) -> None:
    victim = host / "victim"  # as facio sees it; the code cannot see it, only name it
    victim.mkdir()
    code = (
        "import base64, os\nfrom IPython.display import Image, display\n"
        "os.rename('images', 'images.old') if os.path.exists('images') else None\n"
        f"os.symlink({str(victim)!r}, 'images')\n"
        f"display(Image(data=base64.b64decode({base64.b64encode(PIXEL).decode()!r})))"
    )
    text, _ = await run(toolset, code)
    assert "[facio] the image was not saved: images/" in text
    assert list(victim.iterdir()) == []
    await run(toolset, "os.remove('images')")


async def test_without_network_no_loopback_server_but_its_link_to_facio(
    toolset: CodeToolset,
) -> None:
    reached: list[bool] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(True)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        code = (
            "import errno, socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
            "except OSError as exc:\n"
            "    print(errno.errorcode[exc.errno])\n"
            "!echo linked"
        )
        events = await turn(code_agent(toolset, session="test:box"), f"run {code}")
    finally:
        server.close()
        await server.wait_closed()
    assert code_result(events).content == "ECONNREFUSED\nlinked"  # its own, empty loopback
    assert reached == []
    shell = [r for r in of_type(events, ApprovalRequest) if r.tool_name == "shell"]
    assert [r.tool_args for r in shell] == [{"command": "echo linked"}]  # asked through facio


async def test_its_link_asks_for_approvals_and_cannot_answer_them(toolset: CodeToolset) -> None:
    code = (
        "import http.client, os, socket\n"
        "class Link(http.client.HTTPConnection):\n"
        "    def connect(self):\n"
        "        self.sock = socket.socket(socket.AF_UNIX)\n"
        "        self.sock.connect(os.environ['FACIO_TOOL_SOCKET'])\n"
        "upgrade = {'Upgrade': 'websocket', 'Connection': 'Upgrade',\n"
        "           'Sec-WebSocket-Version': '13',\n"
        "           'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}\n"
        "for method, path, headers in [('GET', '/approval', upgrade), ('PUT', '/reset', {})]:\n"
        "    link = Link('localhost')\n"
        "    link.request(method, path, headers=headers)\n"
        "    print(path, link.getresponse().status)\n"
        "print(os.listdir(os.path.join(os.path.dirname(os.environ['FACIO_TOOL_SOCKET']), 'host')))"
    )
    text, _ = await run(toolset, code)
    # the approval channel (where facio answers) and the reset are facio's, on its own socket
    assert text.splitlines() == ["/approval 403", "/reset 403", "[]"]


async def test_the_gateway_refuses_requests_without_its_token(toolset: CodeToolset) -> None:
    kernel = toolset.pool.assigned(("test:box", "main"))
    assert kernel is not None
    url = f"http://127.0.0.1:{kernel.executor.kernel_gateway_port}/api/kernels"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 401  # code with the network on could reach this port


async def test_a_fork_bomb_is_a_tool_error_and_the_kernel_is_replaced(
    toolset: CodeToolset,
) -> None:
    bomb = (
        "import os, time\n"
        "kernel = os.getpid()\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except BlockingIOError:\n"
        "        if os.getpid() == kernel:\n"
        "            raise\n"
        "        time.sleep(600)  # every other process holds its place"
    )
    await run(toolset, "print('a kernel for the bomb')")
    kernel = toolset.pool.assigned(("test:box", "main"))
    text, is_error = await run(toolset, bomb)
    assert is_error
    assert text.startswith("the code ran more than 48 processes and threads at once")
    assert "(code.limits.processes): the kernel was restarted" in text
    assert kernel is not None and kernel.stopped and kernel.pids() == []
    await _next_cell_runs_in_a_new_kernel(toolset)


async def test_a_4_gib_allocation_is_a_tool_error_and_the_next_cell_runs(
    toolset: CodeToolset,
) -> None:
    text, is_error = await run(toolset, "kept = 1\nx = bytearray(4 << 30)")
    assert is_error
    assert text.startswith("the cell used more than 512 MiB of memory (code.limits.memoryMb)")
    await _next_cell_runs_in_a_new_kernel(toolset)


async def test_an_endless_loop_is_a_tool_error_and_the_next_cell_runs(
    toolset: CodeToolset,
) -> None:
    text, is_error = await run(toolset, "kept = 1\nwhile True:\n    pass")
    assert is_error
    assert text.startswith("the kernel used more than 3 s of CPU time (code.limits.cpuSeconds)")
    await _next_cell_runs_in_a_new_kernel(toolset)


async def test_a_file_too_large_is_a_tool_error_and_the_next_cell_runs(
    toolset: CodeToolset,
) -> None:
    text, is_error = await run(toolset, "kept = 1\nopen('big.bin', 'wb').write(b'x' * (16 << 20))")
    assert is_error
    assert text.startswith("the code wrote a file larger than 8 MiB (code.limits.fileSizeMb)")
    assert (toolset.paths.session_dir("test:box") / "big.bin").stat().st_size == 8 << 20
    await _next_cell_runs_in_a_new_kernel(toolset)


async def _next_cell_runs_in_a_new_kernel(toolset: CodeToolset) -> None:
    """After a breach the next cell runs, in a fresh kernel: the model is told, and
    what the broken one held (``kept``) is gone."""
    text, is_error = await run(toolset, "print('kept' in globals())")
    assert not is_error
    assert text.startswith(NEW_KERNEL) and text.endswith("False")
