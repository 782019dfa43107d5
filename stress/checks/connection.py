"""The server's connection handling: ``connection_dropped_after_answer``.

A server that closes a kept-alive connection right after an answer without saying
``Connection: close`` makes the client's next request on it fail (reset, or closed before any
byte of its answer). That failure is not the next input's: the readers (stress.load.reader,
stress.sender) send that input again on a new connection and judge it on that answer, and the
drop is charged to the exchange before it, as this check's finding (error by default: a
client cannot safely retry a POST it may have delivered, so in production the next user's
request fails; RFC 9112 section 9.6 asks the server to say ``Connection: close``).

Imports only the standard library and stress.checks.exchange.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from stress.checks.exchange import ERROR, Finding

DROPPED = "connection_dropped_after_answer"
DESCRIPTION = (
    "The server closed a kept connection after this answer without Connection: close; "
    "the next request on it was reset."
)
DEFAULT_SEVERITY = {DROPPED: ERROR}
# The next input's id as ``dropped_after`` writes it into the message.
_NEXT = re.compile(r"the next request on it \(([^()\s]+)\) was reset")


def enabled(names: Sequence[str] | None) -> bool:
    """Whether a scenario's checks list runs the check (every built-in list does)."""
    return names is None or "default" in names or DROPPED in names


def dropped_after(
    previous_id: str, previous_status: int, next_id: str, *, severity: str = ERROR
) -> Finding:
    """The finding charged to ``previous_id``, whose answer (``previous_status``) was
    followed by a dropped connection that ``next_id`` found."""
    return Finding(
        DROPPED,
        f"the server closed the connection after answering {previous_id} "
        f"(HTTP {previous_status}) without Connection: close; the next request on it "
        f"({next_id}) was reset before any answer and was sent again on a new connection",
        severity,
        expected="Connection: close on an answer after which the server closes",
        got="the connection dropped under the next request",
    )


def next_input(message: str) -> str | None:
    """The id of the input whose request found the connection dropped, as ``dropped_after``
    wrote it into the finding's message (replay sends that input second); None when the
    message does not name one."""
    match = _NEXT.search(message)
    return match.group(1) if match else None
