from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.providers.sse import SSEDecoder, SSEEvent, aiter_sse


def parse(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def test_fields_of_one_event() -> None:
    events = parse(b'event: add\ndata: {"a": 1}\nid: 7\n\n')
    assert events == [SSEEvent(event="add", data='{"a": 1}', id="7")]


def test_event_type_defaults_to_message_and_id_to_none() -> None:
    assert parse(b"data: x\n\n") == [SSEEvent("message", "x", None)]


def test_data_lines_join_with_newline() -> None:
    assert parse(b"data: one\ndata:two\ndata:  three\n\n")[0].data == "one\ntwo\n three"


def test_comments_and_unknown_fields_and_retry_are_ignored() -> None:
    events = parse(b": keep-alive\nretry: 100\nfoo: bar\ndata: x\n\n:another\n\n")
    assert events == [SSEEvent("message", "x", None)]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(eol: bytes) -> None:
    stream = eol.join([b"event: e", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    assert parse(stream) == [SSEEvent("e", "a\nb", None), SSEEvent("message", "c", None)]


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    # A CR ending a chunk must wait for the next one: were it read as a line
    # ending at once, the LF would be an empty line and dispatch "a" alone.
    events = parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [SSEEvent("message", "a\nb", None)]


def test_byte_by_byte_gives_the_same_events() -> None:
    stream = "event: t\r\ndata: héllo ✓\r\nid: 1\r\n\r\ndata: second\n\n".encode()
    whole = parse(stream)
    assert whole == parse(*(stream[i : i + 1] for i in range(len(stream))))
    assert whole[0].data == "héllo ✓"


def test_leading_bom_is_dropped_once() -> None:
    assert parse(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("message", "x", None)]
    assert parse(b"\xef\xbb", b"\xbfdata: x\n\n") == [SSEEvent("message", "x", None)]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert parse(b"data: \xff\n\n")[0].data == "\ufffd"


def test_field_without_colon_has_empty_value() -> None:
    assert parse(b"data\ndata\n\n") == [SSEEvent("message", "\n", None)]


def test_only_one_leading_space_is_stripped() -> None:
    assert parse(b"data:   x \n\n")[0].data == "  x "


def test_event_without_data_is_not_dispatched_and_resets_type() -> None:
    assert parse(b"event: lonely\n\ndata: x\n\n") == [SSEEvent("message", "x", None)]


def test_last_event_id_persists_and_nul_ids_are_ignored() -> None:
    events = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00\ndata: c\n\nid\ndata: d\n\n")
    assert [e.id for e in events] == ["1", "1", "1", ""]


def test_unterminated_final_event_is_not_dispatched() -> None:
    # Per the standard: the stream ended mid-event, so the event is incomplete.
    assert parse(b"data: a\n\ndata: b") == [SSEEvent("message", "a", None)]
    assert parse(b"data: a\n\ndata: b\n") == [SSEEvent("message", "a", None)]


def test_final_cr_is_a_line_ending_at_end_of_stream() -> None:
    assert parse(b"data: a\r\r") == [SSEEvent("message", "a", None)]


async def test_aiter_sse_reads_a_streaming_httpx_response() -> None:
    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"data: o", b"ne\n\nevent: x\n", b"data: two\n\n"):
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())

    transport = httpx.MockTransport(handler)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", "http://test/") as response,
    ):
        events = [event async for event in aiter_sse(response)]
    assert events == [SSEEvent("message", "one", None), SSEEvent("x", "two", None)]
