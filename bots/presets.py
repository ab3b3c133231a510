"""Built-in bot presets: how people use facio.

- ``assistant``: one person's assistant (Telegram, terminal): notes, time,
  code actions (Python in a per-session kernel, each cell approved), and
  reminders and scheduled tasks (the runtime's schedule tools; making one is
  approved, and the SDK leaves them out).
- ``team``: a bot in a group chat (Slack, Discord): brief, addresses people
  by name, never acts on one person's say-so for the group without approval.
- ``demo``: runs fully offline on the scripted provider and shows an
  approval ("remember …" asks before saving a note); no kernel.

The shipped scripts (``bots/scripts/``) also hold ``code``: a scripted model
that runs "run <python code>" as a code action, for tests and offline demos
of code actions (``"model": "scripted:code"`` on a bot with the code tools).
"""

from __future__ import annotations

from importlib import resources

from bots.spec import BotSpec
from core.providers.scripted import Script

ASSISTANT_PROMPT = """\
You are a capable personal assistant. Be direct and brief; use Markdown only \
where it helps. Use your tools when they help the person, and say plainly \
what you did. Some tool calls need the person's approval: if one is \
rejected, do not try to get around it — ask what they would prefer."""

TEAM_PROMPT = """\
You are a helpful teammate in a group chat. Messages may be prefixed with \
the sender's name; address people by name when it helps. Keep answers short \
and skimmable. Tool calls that change anything need approval from the \
people allowed to give it; never assume consent from someone else's message."""

DEMO_PROMPT = "You are facio's offline demo bot."

PRESETS: dict[str, BotSpec] = {
    spec.name: spec
    for spec in (
        BotSpec(
            name="assistant",
            model="",
            system_prompt=ASSISTANT_PROMPT,
            tools=(
                "current_time",
                "save_note",
                "list_notes",
                "ipybox_execute_ipython_cell",
                "ipybox_reset",
                "subagent_task",
                "schedule_create",
                "schedule_list",
                "schedule_cancel",
            ),
            # code asks for approval unless a rule allows it; a reset only loses state;
            # a subagent's own tool calls ask like any other, so starting one need not;
            # making or cancelling a schedule asks, listing them does not
            allow=("current_time", "list_notes", "ipybox_reset", "subagent_task", "schedule_list"),
            description="A personal assistant: notes, time, code actions, reminders.",
        ),
        BotSpec(
            name="team",
            model="",
            system_prompt=TEAM_PROMPT,
            tools=("current_time", "save_note", "list_notes"),
            allow=("current_time", "list_notes"),
            description="A team bot for group chats.",
        ),
        BotSpec(
            name="demo",
            model="scripted:demo",
            system_prompt=DEMO_PROMPT,
            tools=("current_time", "save_note", "list_notes"),
            allow=("current_time", "list_notes"),
            description="Runs offline on a scripted model and shows an approval.",
        ),
    )
}


def builtin_scripts() -> dict[str, Script]:
    """Scripts for ``scripted:<name>`` models, shipped in bots/scripts/."""
    folder = resources.files("bots") / "scripts"
    return {
        entry.name.removesuffix(".json"): Script.model_validate_json(entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }
