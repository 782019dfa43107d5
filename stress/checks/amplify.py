"""Amplification: answers far larger than the request, and error pages that echo it back.

=====================  ========================================================  ========
check                  fires on                                                  default
=====================  ========================================================  ========
amplification          an answer (error pages included) larger than              error
                       answers.amplification.ratio x the request body, over a
                       floor, and more than its tokens or predictions explain
input_echo             an error page (or unreadable answer) that reflects a      warning
                       request body of answers.amplification.echo_min_bytes+
=====================  ========================================================  ========

An endpoint that answers a small request with a large body hands an attacker a lever: each
byte sent costs the server (and its egress) ``ratio`` bytes. The rule is on absolute size
beyond a floor: an answer fires only when it is larger than the floor (``min_bytes`` for a
2xx, ``error_min_bytes`` for an error page or an unreadable answer), than ``ratio`` x the
request body, and, for an answer the protocol read, than what its content explains (512
bytes per output token, which covers an event stream's framing; 64 bytes per predicted
number; 8 bytes per character of text). A chat answer to a 20-byte prompt is larger than
the prompt and never fires; a 2 MB body to a 1 KB request does.

An echo is judged on letters and digits only (escapes removed), so a body reflected inside a
JSON string (quotes escaped, ``\\uXXXX``) is found as well as a verbatim one; it is a warning
by default since FastAPI's 422 answers quote the input they refused, which costs bytes but
leaks only what the caller sent. Standard library only: exported reproducers carry it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stress.checks.exchange import ERROR, WARNING, Exchange, Finding

# What an answer's content explains, per unit (see the module doc).
BYTES_PER_TOKEN = 512
BYTES_PER_NUMBER = 64
BYTES_PER_CHAR = 8
# Echo search: windows of this many letters and digits, at evenly spaced places.
ECHO_WINDOW = 48
ECHO_WINDOWS = 8
# An echo is most of the windows found again.
ECHO_SHARE = 0.5
# At most this much of either body is normalized (the load path stays cheap).
ECHO_SCAN_BYTES = 262_144
_ESCAPES = re.compile(rb"\\+(?:u[0-9a-fA-F]{4}|[nrtbf])")
_NOT_ALNUM = re.compile(rb"[^A-Za-z0-9]+")


def _request_bytes(exchange: Exchange) -> int | None:
    request = exchange.request
    return None if request is None else len(request.body)


def _leaves(value: Any) -> int:
    if isinstance(value, list):
        return sum(_leaves(item) for item in value)
    if isinstance(value, dict):
        return sum(_leaves(item) for item in value.values())
    return 1


def explained_bytes(exchange: Exchange) -> int:
    """How large the answer's own content makes it legitimately (0 for error pages)."""
    if not exchange.parsed:
        return 0
    outcome = exchange.outcome
    explained = 0
    if outcome.output_tokens:
        explained = max(explained, BYTES_PER_TOKEN * outcome.output_tokens)
    if outcome.text is not None:
        explained = max(explained, BYTES_PER_CHAR * len(outcome.text))
    if outcome.prediction is not None:
        explained = max(explained, BYTES_PER_NUMBER * _leaves(outcome.prediction))
    return explained


def amplification(exchange: Exchange) -> Finding | None:
    """An answer far larger than the request (ratio x its body, over a floor), error pages too."""
    sent = _request_bytes(exchange)
    size = len(exchange.body)
    if sent is None or not exchange.status:
        return None
    settings = exchange.settings
    error_page = not exchange.parsed
    floor = settings.amplify_error_min_bytes if error_page else settings.amplify_min_bytes
    by_ratio = settings.amplify_ratio * sent
    if size <= floor or size <= by_ratio:
        return None  # within the limit whatever the content explains (the usual answer)
    explained = explained_bytes(exchange)
    limit = max(floor, by_ratio, explained)
    if size <= limit:
        return None
    what = f"HTTP {exchange.status} error page" if error_page else f"HTTP {exchange.status} answer"
    ratio = size / sent if sent else float("inf")
    shown = f"{ratio:.3g}x" if sent else "no request body"
    why = f"a floor of {floor} bytes and {settings.amplify_ratio:g}x the request"
    if explained:
        why += f" and the {explained} bytes its content explains"
    return Finding(
        "amplification",
        f"{what} of {size} bytes to a request of {sent} bytes ({shown}): over {why}",
        ERROR,
        expected=f"at most {int(limit)} bytes (answers.amplification)",
        got=f"{size} bytes for {sent} sent",
    )


def _normalized(data: bytes) -> bytes:
    return _NOT_ALNUM.sub(b"", _ESCAPES.sub(b"", data[:ECHO_SCAN_BYTES]))


def echoed_share(sent: bytes, answer: bytes) -> float:
    """The share of ``sent``'s sample windows found in ``answer`` (letters and digits only)."""
    wanted = _normalized(sent)
    if len(wanted) < ECHO_WINDOW * 2:
        return 0.0
    haystack = _normalized(answer)
    last = len(wanted) - ECHO_WINDOW
    starts = sorted({last * i // (ECHO_WINDOWS - 1) for i in range(ECHO_WINDOWS)})
    found = sum(1 for start in starts if wanted[start : start + ECHO_WINDOW] in haystack)
    return found / len(starts)


def input_echo(exchange: Exchange) -> Finding | None:
    """An error page (or unreadable answer) that reflects a large request body back."""
    request = exchange.request
    if request is None or exchange.parsed or not exchange.body or not exchange.status:
        return None
    if len(request.body) < exchange.settings.echo_min_bytes:
        return None
    share = echoed_share(request.body, exchange.body)
    if share < ECHO_SHARE:
        return None
    return Finding(
        "input_echo",
        f"the HTTP {exchange.status} body reflects the {len(request.body)}-byte request body "
        f"({share:.0%} of sampled passages found in its {len(exchange.body)} bytes)",
        WARNING,
        expected="an error message that names the problem, not the input",
        got=f"{share:.0%} of the request body's sampled passages echoed",
    )


CHECKS: dict[str, Callable[[Exchange], Finding | None]] = {
    "amplification": amplification,
    "input_echo": input_echo,
}

DEFAULT_SEVERITY = {"amplification": ERROR, "input_echo": WARNING}
