"""The bounded read both senders share: the load engine's reader (geventhttpclient, in the
load process) and stress.httpread (httpx, in the parent).

==================  ==========================================================
``Body``            body chunks as they arrive, at most ``max_bytes`` in all:
                    the chunk that passes the limit is cut there, ``too_large``
                    is set and reading stops (error kind body_too_large)
``Stalled``         raised by a chunk source when an event stream sent no bytes
                    for longer than target.stall_timeout (``stall_message``)
``kind_of``         the error kind of a failed request (stress.errorkinds), from
                    its exception and the chain of its causes; each sender names
                    its library's timeout, reset and bad-bytes exceptions
==================  ==========================================================

Imports nothing but stress.errorkinds, so the load process and the parent both use it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator

from stress import errorkinds

# The default limit lives in stress.defaults; re-exported for the readers that name it here.
from stress.defaults import MAX_BODY_BYTES as MAX_BODY_BYTES

_Types = tuple[type[BaseException], ...]


class Body:
    """The body read so far, never more than ``max_bytes``."""

    __slots__ = ("chunks", "max_bytes", "size", "too_large")

    def __init__(self, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.chunks: list[bytes] = []
        self.max_bytes = max_bytes
        self.size = 0
        self.too_large = False

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk`` (cut at the limit); False when the limit is reached: stop reading."""
        if self.size + len(chunk) > self.max_bytes:
            self.chunks.append(chunk[: self.max_bytes - self.size])
            self.size = self.max_bytes
            self.too_large = True
            return False
        self.chunks.append(chunk)
        self.size += len(chunk)
        return True

    def read(self, chunks: Iterable[bytes], each: Callable[[bytes], None] | None = None) -> None:
        """Take chunks from ``chunks`` until it ends or the limit is reached; ``each`` sees
        every chunk kept whole, as it arrives."""
        for chunk in chunks:
            if not chunk:
                continue
            if not self.add(chunk):
                return
            if each is not None:
                each(chunk)

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


class Stalled(Exception):
    """An event stream sent no bytes for longer than target.stall_timeout."""


def stall_message(stall: float, count: int, what: str) -> str:
    """What a stall looked like: the silence and how many ``what`` came before it."""
    return f"stream stalled: no bytes for {stall:g} s (target.stall_timeout) after {count} {what}"


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what caused it: ``original`` (geventhttpclient's wrappers), then
    ``__cause__`` / ``__context__``, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        original = getattr(current, "original", None)
        if isinstance(original, BaseException) and id(original) not in seen:
            current = original
        else:
            current = current.__cause__ or current.__context__


def kind_of(
    error: BaseException,
    *,
    timeouts: _Types = (),
    resets: _Types = (),
    invalid: _Types = (),
    answered: bool = False,
) -> str:
    """The error kind of a request that got no usable answer.

    ``timeouts``, ``resets`` and ``invalid`` are the sender's own exception types for a
    timeout, a connection closed early and bytes that are not HTTP; the standard library's
    are always known. ``answered``: the status line had come (a timeout is then a hang).
    """
    chain = list(causes(error))

    def found(types: _Types) -> bool:
        return any(isinstance(cause, types) for cause in chain)

    if found((TimeoutError, socket.timeout, *timeouts)):
        return errorkinds.HANG if answered else errorkinds.TIMEOUT
    if found((ConnectionRefusedError,)):
        return errorkinds.CONNECTION_REFUSED
    if found((ConnectionResetError, BrokenPipeError, *resets)):
        return errorkinds.CONNECTION_RESET
    if invalid and found(invalid):
        return errorkinds.INVALID_HTTP
    # A timeout some wrapper reports only in words ("0.7 seconds timed out").
    if any("timed out" in str(cause).lower() for cause in chain):
        return errorkinds.HANG if answered else errorkinds.TIMEOUT
    return errorkinds.CONNECTION_ERROR
