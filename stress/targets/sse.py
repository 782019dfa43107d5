"""An incremental server-sent events (text/event-stream) decoder, timed by the caller.

The load engine feeds body bytes as they come off the socket, with the time they arrived;
each complete event keeps the arrival time of the bytes that completed it, so the time to
first token and the gaps between tokens are measured when the events arrive, not later.

Follows the WHATWG event-stream rules that matter for model servers: lines end in CRLF, LF
or CR; ``data:`` lines of one event are joined with newlines; a line starting with ``:`` is a
comment (a keep-alive), counted and otherwise ignored; one space after the colon is dropped;
a blank line ends an event. Unlike a browser, an event left unterminated when the stream
ends is still delivered (``close``), because a server that forgets the last blank line has
still said what it said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its data lines joined, its ``event:`` name, and when it arrived."""

    data: str
    at: float = 0.0
    name: str | None = None


class SseDecoder:
    """Feed bytes with ``feed(data, at)``; complete events collect in ``events``.

    ``problem`` is set (and decoding stops) when a line is not valid UTF-8.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.comments = 0
        self.problem: str | None = None
        self._pending = b""
        self._skip_lf = False
        self._data: list[str] = []
        self._name: str | None = None

    def feed(self, data: bytes, at: float = 0.0) -> None:
        if self.problem is not None:
            return
        if self._skip_lf:
            # The last read ended in CR: an LF now is the second half of that CRLF.
            self._skip_lf = False
            if data.startswith(b"\n"):
                data = data[1:]
        buffer = self._pending + data
        lines = _LINE_END.split(buffer)
        self._pending = lines.pop()  # the last piece has no line end yet
        self._skip_lf = buffer.endswith(b"\r")
        for line in lines:
            self._line(line, at)

    def close(self, at: float = 0.0) -> None:
        """The stream ended: deliver a last event that had no blank line after it."""
        if self._pending:
            self._line(self._pending, at)
        self._pending = b""
        self._dispatch(at)

    def _line(self, raw: bytes, at: float) -> None:
        if self.problem is not None:
            return
        if not raw:
            self._dispatch(at)
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problem = f"stream is not valid UTF-8 (byte {exc.start} of a line)"
            return
        if line.startswith(":"):
            self.comments += 1
            return
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._name = value
        # id and retry steer browser reconnection; a model client has no use for them.

    def _dispatch(self, at: float) -> None:
        if self._data:
            self.events.append(Event("\n".join(self._data), at, self._name))
        self._data = []
        self._name = None


def decode(body: bytes) -> SseDecoder:
    """Decode a whole stream at once (replay, tests): every event has ``at`` 0.0."""
    decoder = SseDecoder()
    decoder.feed(body)
    decoder.close()
    return decoder
