"""The SSE decoder (``liter_llm.sse``): the WHATWG rules, any split of the input, bad input."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liter_llm.errors import StreamingError
from liter_llm.sse import ServerSentEvent, SSEDecoder


def whole(data: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return decoder.feed(data) + decoder.close()


def pieces(data: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        events += decoder.feed(data[start:cut])
        start = cut
    events += decoder.feed(data[start:])
    return events + decoder.close()


def bytewise(data: bytes) -> list[ServerSentEvent]:
    return pieces(data, list(range(len(data) + 1)))


SAMPLE = (
    b": a comment line\n"
    b"data: first\n\n"
    b"event: update\ndata: line one\ndata: line two\nid: 7\nretry: 1500\n\n"
    b"data:no-space\r\n\r\n"
    b"data: cr only\r\rdata: crlf\r\n\r\n"
    b"data: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n\n"
    b"event: ping\n\n"  # an event without data dispatches nothing
    b"data\n\n"  # a field without a colon: an empty data line
    b"data:  two spaces\n\n"
    b"unknown: field\ndata: after unknown\n\n"
    b"data: [DONE]\n\n"
)

EXPECTED = [
    ServerSentEvent(data="first"),
    ServerSentEvent(data="line one\nline two", event="update", id="7", retry=1500),
    ServerSentEvent(data="no-space", id="7"),
    ServerSentEvent(data="cr only", id="7"),
    ServerSentEvent(data="crlf", id="7"),
    ServerSentEvent(data="café € 😀", id="7"),
    ServerSentEvent(data="", id="7"),
    ServerSentEvent(data=" two spaces", id="7"),
    ServerSentEvent(data="after unknown", id="7"),
    ServerSentEvent(data="[DONE]", id="7"),
]


def test_the_specification_cases() -> None:
    assert whole(SAMPLE) == EXPECTED


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    assert bytewise(SAMPLE) == EXPECTED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=40))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    assert pieces(SAMPLE, cuts) == EXPECTED


LINE_ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])
TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """A random stream of events with random line ends, and the (event, data) pairs it must give."""
    out = b""
    expected: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if draw(st.booleans()):
            out += b":" + draw(TEXT).encode() + draw(LINE_ENDS)
        name = draw(st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}", fullmatch=True)))
        if name is not None:
            out += b"event: " + name.encode() + draw(LINE_ENDS)
        lines = draw(st.lists(TEXT, min_size=1, max_size=3))
        end = b""
        for line in lines:
            end = draw(LINE_ENDS)
            out += b"data: " + line.encode() + end
        # the blank line: after a CR, a lone LF would only complete that CR's line end
        out += draw(st.sampled_from([b"\r", b"\r\n"])) if end == b"\r" else draw(LINE_ENDS)
        expected.append((name or "message", "\n".join(lines)))
    return out, expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.randoms(use_true_random=False))
def test_random_streams_split_randomly(stream: tuple[bytes, list[tuple[str, str]]], rnd: random.Random) -> None:
    data, expected = stream
    cuts = [rnd.randint(0, len(data)) for _ in range(rnd.randint(0, 20))]
    # the same events whole, split at random, and one byte at a time
    got = [(e.event, e.data) for e in pieces(data, cuts)]
    assert got == [(e.event, e.data) for e in whole(data)]
    assert got == expected
    assert [(e.event, e.data) for e in bytewise(data)] == expected


def test_a_final_event_without_its_blank_line_is_dispatched_at_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert decoder.close() == [ServerSentEvent(data="tail")]


def test_a_split_utf8_character_waits_for_its_other_half() -> None:
    decoder = SSEDecoder()
    euro = "€".encode()
    assert decoder.feed(b"data: " + euro[:1]) == []
    assert decoder.feed(euro[1:] + b"\n\n") == [ServerSentEvent(data="€")]


@pytest.mark.parametrize("data", [b"data: \xff\xfe\n\n", b"data: ok\n\n\xc3\x28"])
def test_invalid_utf8_is_a_streaming_error(data: bytes) -> None:
    decoder = SSEDecoder()
    with pytest.raises(StreamingError, match="UTF-8"):
        decoder.feed(data)


def test_a_stream_ending_inside_a_character_is_a_streaming_error() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: " + "€".encode()[:2])
    with pytest.raises(StreamingError, match="UTF-8"):
        decoder.close()


def test_an_oversized_event_is_a_streaming_error() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    assert decoder.feed(b"data: " + b"x" * 500 + b"\n\n")[0].data == "x" * 500
    for _ in range(4):
        decoder.feed(b"data: " + b"y" * 200 + b"\n")  # many data lines, never a blank line
    with pytest.raises(StreamingError, match="exceeded 1000 bytes"):
        decoder.feed(b"data: " + b"y" * 200 + b"\n")
    decoder = SSEDecoder(max_event_bytes=1000)
    for _ in range(9):
        decoder.feed(b"z" * 100)  # one line that never ends
    with pytest.raises(StreamingError, match="exceeded 1000 bytes"):
        decoder.feed(b"z" * 200)


def test_many_small_events_do_not_count_towards_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    events = []
    for index in range(1000):
        events += decoder.feed(f"data: {index:040d}\n\n".encode())
    assert len(events) == 1000
