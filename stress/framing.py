"""Requests the sender frames itself: a chunked body (``Transfer-Encoding: chunked``) and
``Expect: 100-continue``. Pure bytes, no sockets (stress.framedsend sends them).

HTTP clients re-frame such requests their own way (httpx's h11 chunks a body again, curl
chunks it in its own sizes, geventhttpclient does not wait for the 100), so a request whose
headers ask for either is written here, byte for byte, and every sender (the load, the
parent's sender, the python export) puts exactly these bytes on the wire:

=====================  ===============================================================
``chunked``            a body in chunks of the given sizes, hex sizes in either case,
                       an optional chunk extension, then the last ``0`` chunk
``dechunk``            the body a chunked one carries (a ValueError names what is wrong)
``by_sender``          the headers ask for framing by the sender (a Transfer-Encoding or
                       an Expect header, any letter case)
``head``               the request head: request line, Host, the headers in order and
                       case, Content-Length as the wire contract says, the blank line
``authority``          the Host header and path prefix of a target URL
=====================  ===============================================================

A chunked input carries its framed body as its body bytes: the record, failures.jsonl,
replay and shrink hold what went on the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

# How long a client waits for "100 Continue" before it sends the body anyway: curl's
# default (--expect100-timeout 1), so a server that never sends 100 still gets the body.
EXPECT_WAIT = 1.0
# Methods whose empty body is still announced (Content-Length: 0), as geventhttpclient, httpx
# and curl do (stress.httpread.BODY_METHODS is this set).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_BY_SENDER = frozenset({"transfer-encoding", "expect"})


def chunked(
    body: bytes, *, sizes: Sequence[int] = (), extension: str = "", upper: bool = False
) -> bytes:
    """``body`` as a chunked message body.

    ``sizes``: the chunk sizes in order, the last one repeated until the body is used up
    (empty: the whole body as one chunk). Each size line is the size in hex (``upper``: in
    upper case, as RFC 9112 allows), then ``extension`` (written as given, e.g.
    ``";note=stress"``). The last chunk is ``0`` (with the extension too) and no trailer.
    """
    if any(size < 1 for size in sizes):
        raise ValueError(f"chunk sizes must be positive, got {list(sizes)}")
    spec = "X" if upper else "x"
    out = bytearray()
    position, index = 0, 0
    while position < len(body):
        size = sizes[min(index, len(sizes) - 1)] if sizes else len(body)
        piece = body[position : position + size]
        out += f"{len(piece):{spec}}{extension}\r\n".encode("ascii") + piece + b"\r\n"
        position += len(piece)
        index += 1
    out += f"0{extension}\r\n\r\n".encode("ascii")
    return bytes(out)


def dechunk(framed: bytes) -> bytes:
    """The body a complete chunked message body carries (extensions and trailers dropped).

    Raises ValueError naming the offset of the first thing that is not chunked framing.
    """
    return _parsed(framed)[0]


def _parsed(framed: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(the data, each chunk's size line as (hex size, the rest)), the last chunk's too."""
    out = bytearray()
    lines: list[tuple[bytes, bytes]] = []
    position = 0
    while True:
        end = framed.find(b"\r\n", position)
        if end < 0:
            raise ValueError(f"chunk size line at byte {position} has no CRLF")
        text, semicolon, rest = framed[position:end].partition(b";")
        lines.append((text.strip(), semicolon + rest))
        try:
            size = int(text.strip(), 16)
        except ValueError:
            raise ValueError(f"chunk size {text!r} at byte {position} is not hex") from None
        position = end + 2
        if size == 0:
            break
        if framed[position + size : position + size + 2] != b"\r\n":
            raise ValueError(f"chunk of {size} bytes at byte {position} is not followed by CRLF")
        out += framed[position : position + size]
        position += size + 2
    while True:  # trailer fields, then the empty line
        end = framed.find(b"\r\n", position)
        if end < 0:
            raise ValueError(f"trailer at byte {position} has no CRLF")
        if end == position:
            break
        position = end + 2
    if end + 2 != len(framed):
        raise ValueError(f"{len(framed) - end - 2} bytes after the last chunk")
    return bytes(out), lines


def reframer(framed: bytes) -> Callable[[bytes], bytes] | None:
    """A function framing other data as ``framed`` is framed (its chunk sizes, the last
    repeated; its hex case; its extension), when it gives ``framed`` back from the data
    ``framed`` carries; else None. Shrinking a chunked body shrinks its data, framed so."""
    try:
        data, lines = _parsed(framed)
    except ValueError:
        return None
    sizes = [int(text, 16) for text, _ in lines[:-2]]
    upper = any(text != text.lower() for text, _ in lines)
    extension = lines[0][1].decode("ascii", "replace")

    def frame(body: bytes) -> bytes:
        return chunked(body, sizes=sizes, upper=upper, extension=extension)

    return frame if frame(data) == framed else None


def by_sender(headers: Mapping[str, str]) -> bool:
    """The headers ask for framing the sender does itself (module doc)."""
    return any(name.lower() in _BY_SENDER for name in headers)


def expects_continue(headers: Mapping[str, str]) -> bool:
    """An ``Expect: 100-continue`` header (any case): the body waits for the 100."""
    return any(
        name.lower() == "expect" and value.strip().lower() == "100-continue"
        for name, value in headers.items()
    )


def head(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """The request head as the wire contract (ARCHITECTURE.md) writes it: the request line,
    Host, the input's headers in its order and case, Content-Length when there is a body or
    the method carries one, unless the input gives its own or a Transfer-Encoding (which
    frames the body instead), and the blank line."""
    names = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if (body or method.upper() in BODY_METHODS) and not names & {
        "content-length",
        "transfer-encoding",
    }:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def authority(url: str) -> tuple[str, str]:
    """(Host header, path prefix) of a target URL: host[:port], the port left out when it is
    the scheme's own (as httpx writes it), and the URL's own path without its last slash
    (put before every request's, as httpx's base_url does)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    host = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return host, parts.path.rstrip("/")
