"""The bounded body and the error kind of a failed request: the size at the limit, and the
chain of causes walked once each (no loop on a cycle, nothing that is not an exception)."""

from __future__ import annotations

from stress import errorkinds
from stress.bodyread import Body, causes, kind_of


def test_a_body_at_its_limit_says_so_and_keeps_its_size() -> None:
    body = Body(max_bytes=5)
    assert body.add(b"abc")
    assert not body.add(b"defg")
    assert (body.bytes(), body.size, body.too_large) == (b"abcde", 5, True)


def test_causes_follow_cause_then_context_each_once() -> None:
    a, b, c = ValueError("a"), OSError("b"), KeyError("c")
    a.__context__ = b
    assert list(causes(a)) == [a, b]
    b.__cause__ = c
    c.__context__ = a  # a cycle ends the walk
    assert list(causes(a)) == [a, b, c]


def test_causes_prefer_a_wrapper_s_original_exception_once() -> None:
    a, b, c = OSError("a"), TimeoutError("b"), ValueError("c")
    a.original = b  # type: ignore[attr-defined]
    b.original = a  # type: ignore[attr-defined]  # seen already: the cause is next
    b.__cause__ = c
    assert list(causes(a)) == [a, b, c]
    text = ValueError("t")
    text.original = "not an exception"  # type: ignore[attr-defined]
    text.__cause__ = c
    assert list(causes(text)) == [text, c]


def test_a_timeout_in_words_is_a_hang_once_the_status_line_came() -> None:
    worded = OSError("0.7 seconds timed out")
    assert kind_of(worded, answered=True) == errorkinds.HANG
    assert kind_of(worded) == errorkinds.TIMEOUT
