"""The load's send of a request it frames itself (a chunked body, Expect: 100-continue:
stress.framing), through stress.framedsend on a connection of its own, read into an Answer
as stress.load.reader reads any other (bounded in time and size, an event stream timed
event by event). Only requests whose ``framed`` is true come here."""

from __future__ import annotations

import time
from typing import Any

import gevent
import h11

from stress import errorkinds, framedsend
from stress.bodyread import MAX_BODY_BYTES, Body, Stalled
from stress.load.records import Answer
from stress.targets import HttpRequest
from stress.targets.sse import SseDecoder


def fetch_framed(
    client: Any,
    request: HttpRequest,
    timeout: float,
    *,
    host: str,
    prefix: str = "",
    stall: float | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Answer:
    """``reader.fetch`` for a framed request: ``client`` (the user's geventhttpclient
    HTTPClient) gives the address only; its pool is not used. TLS is not verified, as
    Locust's FastHttpUser does not verify it."""
    answer = Answer()
    exchange = framedsend.exchange(
        (client.host, client.port),
        method=request.method,
        target=prefix + request.path,
        host=host,
        headers=request.headers,
        body=request.body,
        deadline=time.monotonic() + timeout,
        tls=bool(client.ssl),
        verify=False,
    )
    try:
        with gevent.Timeout(timeout):
            exchange.open()
            answer.status = exchange.status
            answer.headers = exchange.headers
            _read(exchange, answer, stall, max_bytes)
    except gevent.Timeout:
        answer.error_kind = errorkinds.HANG if answer.status else errorkinds.TIMEOUT
    except (OSError, h11.ProtocolError) as exc:
        answer.error_kind = framedsend.classify(exc, answered=bool(answer.status))
    finally:
        exchange.close()
    return answer


def _read(exchange: framedsend.Exchange, answer: Answer, stall: float | None, limit: int) -> None:
    streamed = (answer.headers or {}).get("content-type", "").startswith("text/event-stream")
    body = Body(limit)
    decoder = SseDecoder() if streamed else None

    def arrived(data: bytes) -> None:
        now = time.perf_counter()
        if answer.first_byte is None:
            answer.first_byte = now
        if decoder is not None:
            decoder.feed(data, now)

    try:
        body.read(exchange.pieces(stall=stall if streamed else None), arrived)
    except Stalled as exc:
        answer.error_kind, answer.anomaly = errorkinds.STREAM_STALL, str(exc)
    if body.too_large:
        answer.error_kind = errorkinds.BODY_TOO_LARGE
        if answer.first_byte is None:
            answer.first_byte = time.perf_counter()
    answer.body = body.bytes()
    if decoder is not None:
        decoder.close(time.perf_counter())
        answer.events = decoder.events
        if decoder.problem and answer.anomaly is None:
            answer.anomaly = decoder.problem
