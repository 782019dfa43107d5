"""A raw-socket target with transport faults: one fault mode per request, for the tests.

    python tests/integration/transport_faults.py PORT

It speaks just enough HTTP/1.1 to break it on purpose (asyncio streams, no HTTP library,
since every library would refuse to send most of these answers). Every GET gets a clean
OpenAI model list (the preflight passes). A POST's fault mode is its ``X-Fault`` header
(the scenario's ``target.headers``), else picked by its input's number (the
``X-Stress-Input-Id`` header ``family-NNNN``): ``CYCLE[NNNN % len(CYCLE)]``, so one run of a
corpus of ``len(CYCLE)`` inputs meets every mode. The 1st, 3rd, 5th... POST of each (mode,
input) gets the fault, the others a clean chat completion, so a run shows that requests
after a fault still go through, and a replay of a stored failure meets it again first.
``ok``: always clean.

| mode | the faulty answer |
|---|---|
| reset | reads the request, then resets the connection (RST, no answer) |
| slow_headers | a status line, then one header byte every 0.2 s, never finishing |
| never_completes | complete headers (Content-Length 100000), 10 body bytes, then silence |
| endless_chunked | chunked 200, 64 KiB chunks as fast as the reader takes them, no end |
| trickle_chunked | chunked 200, one small chunk every 50 ms, no end |
| large_body | Content-Length 64 MiB, written as fast as the reader takes it |
| large_error | the same as a 500 (error bodies must be capped too) |
| garbage | bytes that are not HTTP, then close |
| invalid_utf8 | 200 application/json whose body is not UTF-8 |
| invalid_utf8_error | 500 whose body is not UTF-8 |
| wrong_content_type | 200 text/html: a proxy's error page instead of JSON |
| close_announced | a clean answer with Connection: close, then the server closes |
| close | every answer is clean, then the server closes the connection without saying so |
|       | (no Connection: close header): every POST of this mode, not every other one |

Endless answers stop when the reader goes away. The server never holds more than one chunk
per connection in memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import signal
import socket
import struct
import sys

from stress.demo.noop import CHAT

MODELS = json.dumps({"object": "list", "data": [{"id": "demo-ngram", "object": "model"}]}).encode()
MODES = (
    "ok",
    "reset",
    "slow_headers",
    "never_completes",
    "endless_chunked",
    "trickle_chunked",
    "large_body",
    "large_error",
    "garbage",
    "invalid_utf8",
    "invalid_utf8_error",
    "wrong_content_type",
    "close_announced",
    "close",
)
# Modes picked by input number: "close" poisons the next request on the connection, whatever
# its input, so it is only ever asked for by header.
CYCLE = tuple(mode for mode in MODES if mode != "close")
CHUNK = b"x" * 65536
# Bytes that no HTTP parser takes for a status line.
GARBAGE = bytes(range(256)) * 4
BAD_UTF8 = (
    b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "\xff\xfe\xc3("}}]}'
)
HTML = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"


def answer(
    body: bytes,
    *,
    status: str = "200 OK",
    content_type: str = "application/json",
) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Faults:
    """How many POSTs each (mode, input) has had (odd ones get the fault)."""

    def __init__(self) -> None:
        self.posts: collections.Counter[tuple[str, str]] = collections.Counter()

    def mode(self, headers: dict[str, str]) -> str:
        if "x-fault" in headers:
            return headers["x-fault"]
        number = headers.get("x-stress-input-id", "").rpartition("-")[2]
        return CYCLE[int(number) % len(CYCLE)] if number.isdigit() else "ok"

    def faulty(self, mode: str, headers: dict[str, str]) -> bool:
        key = (mode, headers.get("x-stress-input-id", ""))
        self.posts[key] += 1
        return mode == "close" or self.posts[key] % 2 == 1


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
    """One request's first line and headers (lower-case names); the body is read and dropped."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    return lines[0], headers


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def endless(writer: asyncio.StreamWriter, piece: bytes, pause: float) -> None:
    """Write ``piece`` again and again (each one drained) until the reader goes away."""
    while True:
        writer.write(piece)
        await writer.drain()
        if pause:
            await asyncio.sleep(pause)


async def fault(mode: str, writer: asyncio.StreamWriter) -> bool:
    """Send ``mode``'s faulty answer; True when the connection may carry another request."""
    if mode == "reset":
        reset(writer)
        return False
    if mode == "slow_headers":
        writer.write(b"HTTP/1.1 200 OK\r\n")
        await endless(writer, b"X", 0.2)
    elif mode == "never_completes":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: 100000\r\n\r\n" + CHAT[:10])
        await writer.drain()
        await asyncio.sleep(3600)
    elif mode in ("endless_chunked", "trickle_chunked"):
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = CHUNK if mode == "endless_chunked" else b" " * 16
        await endless(writer, b"%x\r\n%s\r\n" % (len(piece), piece), 0.05 * (piece != CHUNK))
    elif mode in ("large_body", "large_error"):
        status = b"200 OK" if mode == "large_body" else b"500 Internal Server Error"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024))
        await endless(writer, CHUNK, 0)
    elif mode == "garbage":
        writer.write(GARBAGE)
        await writer.drain()
        return False
    elif mode == "invalid_utf8":
        writer.write(answer(BAD_UTF8))
    elif mode == "invalid_utf8_error":
        writer.write(answer(b"error: \xff\xfe\xc3(", status="500 Internal Server Error"))
    elif mode == "wrong_content_type":
        writer.write(answer(HTML, content_type="text/html"))
    elif mode == "close_announced":
        writer.write(answer(CHAT).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        await writer.drain()
        return False
    elif mode == "close":
        writer.write(answer(CHAT))
        await writer.drain()
        return False
    return True


async def serve_connection(
    faults: Faults, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                break
            line, headers = request
            if line.startswith("GET"):
                writer.write(answer(MODELS))
                await writer.drain()
                continue
            mode = faults.mode(headers)
            if mode not in MODES:
                writer.write(answer(b"unknown X-Fault mode", status="400 Bad Request"))
            elif mode != "ok" and faults.faulty(mode, headers):
                if not await fault(mode, writer):
                    break
            else:
                writer.write(answer(CHAT))
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # the reader went away (that is how every endless answer ends)
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(port: int) -> None:
    faults = Faults()
    server = await asyncio.start_server(
        lambda r, w: serve_connection(faults, r, w), "127.0.0.1", port, reuse_address=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
