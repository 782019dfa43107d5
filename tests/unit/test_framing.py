"""stress.framing: the chunked framing and the request head every sender writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress import framing


def test_one_chunk_by_default_lowercase_hex() -> None:
    body = b"x" * 26
    assert framing.chunked(body) == b"1a\r\n" + body + b"\r\n0\r\n\r\n"


def test_sizes_repeat_the_last_and_the_rest_is_a_short_chunk() -> None:
    assert framing.chunked(b"abcdefg", sizes=(1, 3)) == (
        b"1\r\na\r\n3\r\nbcd\r\n3\r\nefg\r\n0\r\n\r\n"
    )
    assert framing.chunked(b"abcde", sizes=(2,)) == b"2\r\nab\r\n2\r\ncd\r\n1\r\ne\r\n0\r\n\r\n"


def test_upper_case_sizes_and_extensions_on_every_chunk_the_last_included() -> None:
    framed = framing.chunked(b"y" * 300, sizes=(255,), upper=True, extension=";a=1")
    assert (
        framed == b"FF;a=1\r\n" + b"y" * 255 + b"\r\n2D;a=1\r\n" + b"y" * 45 + b"\r\n0;a=1\r\n\r\n"
    )


def test_an_empty_body_is_the_last_chunk_alone() -> None:
    assert framing.chunked(b"") == b"0\r\n\r\n"


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        framing.chunked(b"abc", sizes=(0,))


@given(
    body=st.binary(max_size=300),
    sizes=st.lists(st.integers(1, 40), max_size=4),
    upper=st.booleans(),
    extension=st.sampled_from(["", ";x", ';n="v"']),
)
def test_dechunk_gives_back_the_body(
    body: bytes, sizes: list[int], upper: bool, extension: str
) -> None:
    framed = framing.chunked(body, sizes=sizes, upper=upper, extension=extension)
    assert framing.dechunk(framed) == body


def test_dechunk_reads_trailers_and_names_what_is_wrong() -> None:
    assert framing.dechunk(b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n") == b"abc"
    with pytest.raises(ValueError, match="not hex"):
        framing.dechunk(b"zz\r\nabc\r\n0\r\n\r\n")
    with pytest.raises(ValueError, match="not followed by CRLF"):
        framing.dechunk(b"2\r\nabc\r\n0\r\n\r\n")
    with pytest.raises(ValueError, match="after the last chunk"):
        framing.dechunk(b"0\r\n\r\nGET")
    with pytest.raises(ValueError, match="no CRLF"):
        framing.dechunk(b"3\r\nabc\r\n")


def test_the_head_has_no_content_length_with_a_transfer_encoding() -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    assert framing.head("POST", "/v1/x?a=1", "h:81", headers, b"0\r\n\r\n") == (
        b"POST /v1/x?a=1 HTTP/1.1\r\nHost: h:81\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )


def test_the_head_ends_with_content_length_as_the_wire_contract_says() -> None:
    assert framing.head("POST", "/", "h", {"Expect": "100-continue"}, b"{}") == (
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    # A method that carries a body announces an empty one; GET without a body does not.
    assert framing.head("PUT", "/", "h", {}, b"").endswith(b"Content-Length: 0\r\n\r\n")
    assert framing.head("GET", "/", "h", {}, b"") == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    # The input's own Content-Length is the only one.
    given_length = framing.head("POST", "/", "h", {"content-length": "5"}, b"{}")
    assert given_length.count(b"ontent-") == 1


def test_by_sender_and_expects_continue_in_any_letter_case() -> None:
    assert framing.by_sender({"transfer-ENCODING": "chunked"})
    assert framing.by_sender({"A": "b", "EXPECT": "100-continue"})
    assert not framing.by_sender({"Content-Type": "application/json", "X-Expected": "1"})
    assert framing.expects_continue({"expect": " 100-Continue"})
    assert not framing.expects_continue({"Expect": "something-else"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/", ("127.0.0.1:8000", "")),
        ("https://example.com:443/base/", ("example.com", "/base")),
        ("http://example.com:80", ("example.com", "")),
        ("http://[::1]:9/p", ("[::1]:9", "/p")),
    ],
)
def test_authority(url: str, expected: tuple[str, str]) -> None:
    assert framing.authority(url) == expected


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"sizes": (1,)},
        {"sizes": (7, 100)},
        {"sizes": (26,), "upper": True, "extension": ";a=1"},
        {"sizes": (16,)},
    ],
)
def test_reframer_frames_shorter_data_as_the_original_is_framed(options: dict) -> None:
    body = b'{"messages": [{"role": "user", "content": "' + b"w" * 200 + b'"}]}'
    framed = framing.chunked(body, **options)
    frame = framing.reframer(framed)
    assert frame is not None
    assert frame(body) == framed
    assert frame(b"abc") == framing.chunked(b"abc", **options)


def test_reframer_refuses_framing_it_cannot_give_back() -> None:
    # A last chunk larger than the one before: "the last size repeated" would split it.
    assert framing.reframer(b"1\r\na\r\n3\r\nbcd\r\n0\r\n\r\n") is None
    assert framing.reframer(b"not chunked") is None
