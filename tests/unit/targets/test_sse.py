"""The event-stream decoder: events come out whole however the bytes were split, and keep
the arrival time of the read that completed them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from stress.targets.sse import Event, SseDecoder, decode

# What vLLM sends: role chunk, content chunks, a final chunk with finish_reason, usage, [DONE].
STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":" world"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def test_events_are_split_on_blank_lines() -> None:
    events = decode(STREAM).events
    assert [e.data for e in events][-1] == "[DONE]"
    assert len(events) == 5
    assert events[1].data == '{"choices":[{"index":0,"delta":{"content":"Hello"}}]}'


def test_each_event_keeps_the_time_its_last_bytes_arrived() -> None:
    decoder = SseDecoder()
    decoder.feed(b"data: one\n\ndata: tw", at=1.0)
    decoder.feed(b"o\n", at=2.0)
    decoder.feed(b"\n", at=3.0)
    decoder.feed(b"data: three\n\ndata: four\n\n", at=4.0)
    assert decoder.events == [
        Event("one", 1.0),
        Event("two", 3.0),
        Event("three", 4.0),
        Event("four", 4.0),
    ]


def test_keep_alive_comments_are_counted_and_ignored() -> None:
    decoder = decode(b": keep-alive\n\n: ping\ndata: x\n\n:\n\ndata: [DONE]\n\n")
    assert [e.data for e in decoder.events] == ["x", "[DONE]"]
    assert decoder.comments == 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"data: a\r\n\r\ndata: b\r\n\r\n", ["a", "b"]),  # CRLF (TGI behind some proxies)
        (b"data: a\r\rdata: b\r\r", ["a", "b"]),  # bare CR
        (b"data:a\n\n", ["a"]),  # no space after the colon
        (b"data:  a\n\n", [" a"]),  # only one space is dropped
        (b"data: line1\ndata: line2\n\n", ["line1\nline2"]),  # multi-line data
        (b"event: message\nid: 7\nretry: 10\ndata: a\n\n", ["a"]),
        (b"id: 7\n\n", []),  # an event with no data is not delivered
        (b"data: [DONE]", ["[DONE]"]),  # no final blank line: still delivered at close
        (b"data: a\n\ndata: b\n", ["a", "b"]),
        (b"", []),
    ],
)
def test_line_endings_and_fields(body: bytes, expected: list[str]) -> None:
    assert [e.data for e in decode(body).events] == expected


def test_event_names_are_kept() -> None:
    events = decode(b"event: error\ndata: boom\n\ndata: fine\n\n").events
    assert [(e.name, e.data) for e in events] == [("error", "boom"), (None, "fine")]


def test_invalid_utf8_stops_decoding_with_a_problem() -> None:
    decoder = decode(b"data: ok\n\ndata: \xc3\x28\n\ndata: later\n\n")
    assert [e.data for e in decoder.events] == ["ok"]
    assert decoder.problem is not None
    assert "not valid UTF-8" in decoder.problem


def test_a_utf8_character_split_across_reads_is_whole() -> None:
    body = "data: héllo 日本\n\n".encode()
    decoder = SseDecoder()
    for index in range(len(body)):
        decoder.feed(body[index : index + 1], at=float(index))
    decoder.close()
    assert decoder.problem is None
    assert [e.data for e in decoder.events] == ["héllo 日本"]


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
@example([len(b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n')])
@example([1, 2, 3])
def test_any_split_of_the_bytes_gives_the_same_events(cuts: list[int]) -> None:
    crlf = STREAM.replace(b"\n", b"\r\n")
    for body in (STREAM, crlf):
        points = sorted({min(cut, len(body)) for cut in cuts} | {0, len(body)})
        decoder = SseDecoder()
        for start, end in itertools.pairwise(points):
            decoder.feed(body[start:end])
        decoder.close()
        assert [e.data for e in decoder.events] == [e.data for e in decode(STREAM).events]
