"""A tabular model server (MLflow protocol) and how it handles its connections.

Careful: a row with a non-finite cell (a NaN or Infinity token) is refused with a clean 400
and a machine-readable error; every answer keeps the connection open, and when the server
does close one (``--close-after-errors``) it says ``Connection: close`` on that answer.

Careless (``--careless``), two planted faults:

- ``server_error``: a non-finite cell gets a 500 instead of a 400;
- ``silent_close``: after an error answer (4xx/5xx) the server keeps the connection only
  until the next request arrives on it, then closes it unanswered (a reset), without having
  said ``Connection: close``. The next input is innocent: a client that re-sends it on a new
  connection gets a clean answer.

    python -m tests.reference.closer PORT [--careless server_error,silent_close]
        [--close-after-errors]

``GET /health`` answers 200, ``GET /stats`` the POSTs answered and the connections dropped.
Raw asyncio HTTP/1.1 (keep-alive, Content-Length bodies): only as much HTTP as the tests
need. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
from typing import Any

FAULTS = ("server_error", "silent_close")
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class Server:
    def __init__(self, careless: set[str], close_after_errors: bool) -> None:
        self.careless = careless
        self.close_after_errors = close_after_errors
        self.posts = 0
        self.dropped = 0

    def answer(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """The status and JSON document of one prediction request."""
        try:
            document = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            if "server_error" in self.careless and "non-finite" in str(exc):
                return 500, {"error": "internal server error"}
            return 400, {"error_code": "BAD_REQUEST", "message": str(exc)[:200]}
        rows = _rows(document)
        if rows is None:
            return 400, {"error_code": "BAD_REQUEST", "message": "no rows in the request"}
        return 200, {"predictions": [0] * rows}


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} in the request")


def _rows(document: Any) -> int | None:
    if not isinstance(document, dict):
        return None
    split = document.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        rows = len(split["data"])
    elif isinstance(document.get("dataframe_records"), list):
        rows = len(document["dataframe_records"])
    elif isinstance(document.get("inputs"), list):
        rows = len(document["inputs"])
    elif isinstance(document.get("instances"), list):
        rows = len(document["instances"])
    else:
        return None
    return rows or None


def _response(status: int, document: dict[str, Any], *, close: bool) -> bytes:
    body = json.dumps(document).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Status')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    )
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path = ([*lines[0].split(" "), "", ""])[:2]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    if length > MAX_BODY:
        return None
    try:
        body = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return method, path, body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (SO_LINGER 0), as a server whose worker went away does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _serve(
    server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            request = await _read_request(reader)
            if request is None:
                return
            method, path, body = request
            if method == "GET":
                document: dict[str, Any] = (
                    {"posts": server.posts, "dropped": server.dropped}
                    if path == "/stats"
                    else {"status": "ok"}
                )
                writer.write(_response(200, document, close=False))
                await writer.drain()
                continue
            server.posts += 1
            status, document = server.answer(body)
            error = status >= 400
            announce = error and server.close_after_errors and "silent_close" not in server.careless
            writer.write(_response(status, document, close=announce))
            await writer.drain()
            if announce:
                return
            if error and "silent_close" in server.careless:
                # Wait for the next request on this connection, then drop it unanswered.
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(1), timeout=10)
                server.dropped += 1
                _reset(writer)
                return
    finally:
        if not writer.is_closing():
            writer.close()


async def main(port: int, careless: set[str], close_after_errors: bool) -> None:
    server = Server(careless, close_after_errors)
    listener = await asyncio.start_server(
        lambda r, w: _serve(server, r, w), "127.0.0.1", port, limit=MAX_HEAD
    )
    async with listener:
        await listener.serve_forever()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", default="", help=f"comma-separated faults: {FAULTS}")
    parser.add_argument("--close-after-errors", action="store_true")
    args = parser.parse_args()
    faults = {name for name in args.careless.split(",") if name}
    unknown = faults - set(FAULTS)
    if unknown:
        parser.error(f"--careless: unknown faults {sorted(unknown)}; known: {FAULTS}")
    asyncio.run(main(args.port, faults, args.close_after_errors))


if __name__ == "__main__":
    cli()
