"""The README and docs/ point only at what is in the repository.

Every relative Markdown link names a file that exists, and a ``#fragment``
names a heading of that file (GitHub's anchors). No page sends the reader to
a DESIGN.md outside the repository: the design notes live in docs/design.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[|\]\([^)]*\)", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {anchor(h) for h in HEADING.findall(text)}


def test_the_anchor_function_matches_githubs() -> None:
    assert anchor("Rule 1: one turn at a time per session, in order, none stranded") == (
        "rule-1-one-turn-at-a-time-per-session-in-order-none-stranded"
    )
    assert anchor("Slack (`tests/bench/test_slack.py`)") == "slack-testsbenchtest_slackpy"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_reach_a_file_and_a_heading(page: Path) -> None:
    broken: list[str] = []
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {file.name}")
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_points_at_a_design_md_outside_the_repository(page: Path) -> None:
    assert "DESIGN.md" not in page.read_text(encoding="utf-8")
    assert (ROOT / "docs" / "design.md").is_file()
