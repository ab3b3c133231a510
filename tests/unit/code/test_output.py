"""Output limits: what streams to the chat and what the model reads."""

from __future__ import annotations

from pathlib import Path

from core.code.output import NEW_KERNEL, CellResult, OutputBuffer, model_text


def test_output_under_the_limit_is_kept_whole() -> None:
    buffer = OutputBuffer(100)
    assert buffer.add("hello\n") == "hello\n"
    assert buffer.add("world\n") == "world\n"
    assert (buffer.text(), buffer.truncated) == ("hello\nworld", False)


def test_past_the_limit_the_stream_stops_and_the_middle_is_cut() -> None:
    buffer = OutputBuffer(20)
    streamed = [buffer.add(chunk) for chunk in ["0123456789", "abcdefghij", "KLMNOPQRST", "end"]]
    assert streamed[0] == "0123456789"
    assert streamed[1] == "abcdefghij"  # exactly at the limit: nothing cut yet
    assert streamed[2].startswith("\n[… more output") and "the chat shows no more" in streamed[2]
    assert streamed[3] == ""  # the note comes once
    assert buffer.truncated and buffer.total == 33
    text = buffer.text()
    assert text.startswith("0123456789\n[… 13 characters of output left out (33 in all) …]")
    assert text.endswith("NOPQRSTend")


def test_memory_stays_bounded_whatever_is_printed() -> None:
    buffer = OutputBuffer(1000)
    for _ in range(10_000):
        buffer.add("x" * 100)
    assert len(buffer.text()) < 1100


def test_the_model_text_of_each_outcome(tmp_path: Path) -> None:
    image = tmp_path / "images" / "ab.png"
    ok = CellResult(output="42", images=[image])
    assert model_text(ok, cwd=tmp_path, limit=100, new_kernel=False) == (
        "42\n[images saved: images/ab.png]"
    )
    assert model_text(CellResult(), cwd=tmp_path, limit=100, new_kernel=False) == "(no output)"
    failed = CellResult(output="partial", error="ValueError: x\n" + "tb " * 100)
    text = model_text(failed, cwd=tmp_path, limit=60, new_kernel=True)
    assert text.startswith(NEW_KERNEL + "\npartial\nError:\nValueError: x")
    assert "characters left out" in text
    late = CellResult(timeout="Timed out.")
    assert model_text(late, cwd=tmp_path, limit=100, new_kernel=False) == "Timed out."
