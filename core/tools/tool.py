"""A tool is a typed Python callable the model may call.

The JSON Schema the model sees is built from the function's signature with
pydantic, so the same types validate the model's arguments: a call with bad
arguments becomes a clear tool error for the model, never a crash.

A parameter annotated :class:`ToolContext` is not shown to the model; the
agent passes the context of the running call (session, workspace, a way to
emit events while the tool runs, a way to ask for consent from inside it).

An ``async def`` tool runs on the event loop. A plain ``def`` tool runs in a
thread of its own, so that one that blocks (a synchronous HTTP call, a
``time.sleep``) holds up neither the other conversations on the loop nor the
session's lease renewals, and its time limit still cuts it off. The thread
is a daemon: a call cut off runs on to its end unobserved (its result is
dropped) and never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticSerializationError, to_jsonable_python

from core.errors import ToolError
from core.events import AgentEvent, ApprovalRequest
from core.inbound import Inbound

TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


async def _discard(event: AgentEvent) -> None:
    return None


async def _deny(request: ApprovalRequest) -> bool:
    """Outside an agent nobody can be asked: deny by default."""
    request.approve(False)
    return False


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may know and do besides its arguments."""

    session_key: str = "default"
    agent_id: str = "main"
    workspace: Path = field(default_factory=Path.cwd)
    user: str | None = None
    emit: Callable[[AgentEvent], Awaitable[None]] = _discard
    """Send an event (e.g. streamed code output) into the agent's stream."""
    ask: Callable[[ApprovalRequest], Awaitable[bool]] = _deny
    """Ask for consent from inside the running tool (code calling an MCP tool, a
    shell command, a subagent's tool call): the request goes through the same
    hooks, permission rules and person as a tool call, and the decision is
    returned. Such a request cannot park (``parkable`` is set False): only
    this process can resume the code waiting for it. A rejection ends the
    turn once the tool returns."""
    tool_call_id: str = ""
    """The id of the model's call being run ("" outside an agent)."""
    execution_timeout: float | None = None
    """Seconds the call may execute; a tool with ``manages_timeout`` enforces it
    itself (approval waits excluded), for the others the agent does."""
    origin: Inbound | None = None
    """The message whose turn runs this call (its channel, reply target, who asked,
    the approvers, the bot): set by the distributed runtime, None elsewhere (the
    SDK). A schedule made by a tool keeps it, so its turn goes back there."""


def _docstring_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The summary and the ``Args:`` descriptions of a Google-style docstring."""
    doc = inspect.getdoc(fn) or ""
    summary_lines: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            section = "args"
            continue
        if stripped.endswith(":") and " " not in stripped:
            section = "other"
            continue
        if section == "summary":
            summary_lines.append(stripped)
        elif section == "args" and ":" in stripped:
            name, _, text = stripped.partition(":")
            args[name.split("(")[0].strip()] = text.strip()
    return " ".join(s for s in summary_lines if s).strip(), args


def _jsonable(value: Any) -> Any:
    """JSON for what json.dumps cannot do itself (pydantic models, dates, paths)."""
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError:
        return str(value)


def _result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _settleable(exc: BaseException) -> BaseException:
    """``exc`` as a future can hold it: SystemExit and the like (a failure of this
    call only) and StopIteration (which futures refuse) become a RuntimeError."""
    if isinstance(exc, Exception) and not isinstance(exc, StopIteration):
        return exc
    return RuntimeError(f"raised {type(exc).__name__}: {exc}")


async def _in_thread(fn: Callable[..., Any], kwargs: dict[str, Any], *, name: str) -> Any:
    """``fn(**kwargs)`` in a new daemon thread (with this task's context variables);
    its result or exception when it ends. Cancelling the wait leaves the thread
    to finish alone: its outcome is dropped."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the wait was cancelled (a time limit, a stop)
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (context.run(fn, **kwargs), None)
        except BaseException as exc:  # noqa: BLE001 - the thread's end: handed to the caller
            outcome = (None, _settleable(exc))
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class Tool:
    """A callable the model can call by name with JSON arguments."""

    manages_timeout: bool = False
    parallel: bool = False

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        manages_timeout: bool = False,
        parallel: bool = False,
    ) -> None:
        """``manages_timeout``: the tool enforces ``ToolContext.execution_timeout``
        itself (code execution, which must not count approval waits); the agent
        then does not cut it off. ``parallel``: several calls of it in one model
        step run side by side (subagents); other calls run one after another."""
        self.fn = fn
        self._blocking = not inspect.iscoroutinefunction(fn)
        self.manages_timeout = manages_timeout
        self.parallel = parallel
        self.name = fn.__name__ if name is None else name
        if not TOOL_NAME.match(self.name):
            raise ValueError(f"invalid tool name {self.name!r}: use letters, digits, _ and -")
        summary, arg_docs = _docstring_parts(fn)
        self.description = description or summary or self.name
        self._context_param: str | None = None
        self._args_model = self._build_model(fn, arg_docs)
        self.parameters: dict[str, Any] = self._args_model.model_json_schema()
        self.parameters.pop("title", None)

    def _build_model(self, fn: Callable[..., Any], docs: dict[str, str]) -> type[BaseModel]:
        hints = get_type_hints(fn)
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            annotation = hints.get(param.name, Any)
            if annotation is ToolContext or annotation == (ToolContext | None):
                self._context_param = param.name
                continue
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (annotation, Field(default, description=docs.get(param.name)))
        return create_model(f"{self.name}_args", __config__=ConfigDict(extra="forbid"), **fields)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check the model's arguments; raises ToolError with a message for the model."""
        try:
            model = self._args_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from exc
        return {name: getattr(model, name) for name in type(model).model_fields}

    async def call(self, arguments: dict[str, Any], context: ToolContext | None = None) -> str:
        """Validate and run; the result is the text the model sees."""
        kwargs = self.validate(arguments)
        if self._context_param is not None:
            kwargs[self._context_param] = context or ToolContext()
        if self._blocking:
            result = await _in_thread(self.fn, kwargs, name=f"facio-tool-{self.name}")
        else:
            result = self.fn(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return _result_text(result)


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """Decorator: ``@tool`` or ``@tool(name=...)`` turns a function into a :class:`Tool`."""
    if fn is not None:
        return Tool(fn, name=name, description=description)

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description)

    return wrap
