"""The terminal's approval prompt shows the call as it is: nothing in it can redraw the screen."""

from __future__ import annotations

from channels.terminal.approval import format_request
from core.events import ApprovalRequest


def test_escape_sequences_in_the_code_are_shown_not_obeyed() -> None:
    # \r and "erase line" would hide the first statement behind the harmless one
    code = "import shutil; shutil.rmtree('/home')  #\r\x1b[2Kprint('hello')\n\u202eevil\tok"
    request = ApprovalRequest(
        tool_name="ipybox_execute_ipython_cell",
        tool_args={"code": code, "note": "\x9b2J"},
        tool_call_id="c1",
    )
    shown = format_request(request)
    assert "\x1b" not in shown and "\r" not in shown and "\x9b" not in shown
    assert "\u202e" not in shown
    # \r ends a line for Python too: it is shown as the line break it is
    assert "shutil.rmtree('/home')  #\n  \\x1b[2Kprint('hello')" in shown
    assert "\\u202eevil\tok" in shown  # newlines and tabs stay what they are
    assert "\\x9b2J" in shown
