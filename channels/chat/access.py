"""Who may talk to the bot, and who a clicker is, for any platform.

Deny by default (docs/design.md rule 8): ``allowFrom`` lists user ids and
``@usernames`` (case-insensitive); nobody else gets an agent run. Whether a
message in a group is addressed to the bot (a mention, a reply, a command)
is the platform's to tell (:attr:`channels.chat.intake.Incoming.addressed`);
``open`` group policy answers every message of an allowed person.

Approvals: the record's ``deciders`` hold the turn's user id plus the
configured ``approvers`` exactly as written (ids or ``@usernames``); the
decide script compares exact strings, so :meth:`AccessPolicy.identity` hands
it the entry that names the clicker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from channels.chat.platform import Person

__all__ = ["AccessPolicy"]


def _matches(entry: str, person: Person) -> bool:
    if entry.startswith("@"):
        return bool(person.username) and entry[1:].lower() == person.username.lower()
    return entry == person.id


class AccessPolicy:
    """A channel's ``allowFrom``, ``approvers`` and group policy."""

    def __init__(
        self, allow_from: Sequence[str], approvers: Sequence[str], *, open_groups: bool = False
    ) -> None:
        self.allow_from = tuple(e.strip() for e in allow_from if e.strip())
        self.approvers = tuple(e.strip() for e in approvers if e.strip())
        self.open_groups = open_groups
        """Answer every message of an allowed person in groups, not only those addressed."""

    def allowed(self, person: Person) -> bool:
        """May this person talk to the bot?"""
        return any(_matches(entry, person) for entry in self.allow_from)

    @staticmethod
    def identity(person: Person, deciders: Iterable[str]) -> str:
        """The ``deciders`` entry naming ``person``, or their id (which the script then refuses)."""
        for entry in deciders:
            if _matches(entry, person):
                return entry
        return person.id
