"""The bundled demo model server (`target: {url: builtin:demo}`): real small models on CPU.

It behaves like a model server under load so that a demo run has something to measure:

- ``GET /health``: ``{"status": "ok", "slots": N, "in_use": k, "queued": q}``; never waits
  for a slot, so it stays fast while inference is saturated.
- ``POST /v1/chat/completions``: OpenAI-compatible, streaming or not, answered by a word
  trigram model (lm.py) one token at a time; ``GET /v1/models`` lists that one model, as
  OpenAI-compatible servers do (`stress init` finds the protocol and model there).
- ``POST /invocations``: MLflow-compatible scoring by an iris classifier (tabular.py).
- ``GET /metrics``: the server's own figures in Prometheus text format, as vLLM, TGI and
  Triton publish theirs: ``demo_queue_depth`` (requests waiting for a slot),
  ``demo_busy_slots``, ``demo_slots`` and ``demo_tokens_generated_total`` (chat tokens
  decoded), so ``target.metrics`` works against ``builtin:demo`` out of the box.

Slots and queue. An inference (a whole chat answer, or one scoring batch) holds one of
`slots` slots; later requests wait in a queue, so latency grows with concurrency. When
`max_queue` requests are already waiting, new ones get 503 with ``Retry-After: 1``. Model
work runs in worker threads so the event loop keeps serving /health; each chat token also
sleeps `token_ms`, standing in for accelerator decode time on top of the real numpy work so
that per-token cost is visible even on a fast CPU.

Quirks. With ``quirks=True`` (the default) the server has three deliberate bugs of the kind
real model servers ship, so that a stress run has findings to report:

====  =======================================  =========================================
bug   quirks=True                              quirks=False
====  =======================================  =========================================
(a)   a chat message containing NUL (U+0000)   400 invalid_request_error naming the
      answers 500 with a Python traceback in   message
      the body: an information leak
(b)   an /invocations value that is NaN,       400 BAD_REQUEST naming the row and column
      Infinity or overflows to infinity
      (1e400) answers 500 INTERNAL_ERROR with
      scikit-learn's wording
(c)   a chat prompt over 20,000 characters     normal speed
      takes 2 s longer, holding its slot
====  =======================================  =========================================

(b) exists because the stdlib json parser accepts the non-standard NaN and Infinity tokens,
as many real servers' parsers do, and nothing checks the values before the model sees them.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypedDict, Unpack

import anyio.to_thread
import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .chat import (
    MODEL_NAME,
    ChatRequest,
    ChatRequestError,
    chunk_body,
    completion_body,
    error_body,
    parse_chat_request,
)
from .frames import PayloadError, rows_from_payload
from .lm import Generation, NgramModel, count_tokens
from .tabular import IrisClassifier

__all__ = ["AppOptions", "SlotPool", "create_app", "serve"]

# Real gateways cap bodies at a few MB; without a cap one messy-input request could make the
# demo allocate gigabytes. Large enough for the 20,000-character slow-path prompt many times.
MAX_BODY_BYTES = 4 * 1024 * 1024

SLOW_PROMPT_CHARS = 20_000
SLOW_PATH_SECONDS = 2.0

# Quirk (a): what an unhandled exception looks like when a framework runs in debug mode.
_NUL_TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/model/app.py", line 42, in chat_completions
    prompt_ids = tokenizer.encode(render_chat_template(body["messages"]))
  File "/srv/model/tokenizer.py", line 118, in encode
    pieces = self._normalizer.normalize(text).split(self._separator)
  File "/srv/model/.venv/lib/python3.11/site-packages/fasttok/normalize.py", line 311, in normalize
    return _native.nfkc(text)
ValueError: embedded null character in prompt (MODEL_DIR=/srv/model/weights/chat-7b)
"""


class AppOptions(TypedDict, total=False):
    """Keyword options of `create_app`, also accepted by `serve`."""

    slots: int
    token_ms: float
    max_queue: int
    quirks: bool


class Overloaded(Exception):
    """The slot queue is full; the request should be answered with 503."""


class SlotPool:
    """At most `size` inferences at once and at most `max_queue` waiting for a slot."""

    def __init__(self, size: int, max_queue: int) -> None:
        self.size = size
        self.max_queue = max_queue
        self.in_use = 0
        self.queued = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def acquire(self) -> None:
        """Wait for a slot; raise Overloaded at once if the queue is already full."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            # asyncio primitives belong to the loop that first waits on them; TestClient
            # used without `with` runs every request on a fresh loop.
            self._semaphore, self._loop = asyncio.Semaphore(self.size), loop
        semaphore = self._semaphore
        if semaphore.locked() and self.queued >= self.max_queue:
            raise Overloaded
        self.queued += 1
        try:
            await semaphore.acquire()
        finally:
            self.queued -= 1
        self.in_use += 1

    def release(self) -> None:
        """Give back a slot taken by `acquire`."""
        assert self._semaphore is not None, "release() without acquire()"
        self.in_use -= 1
        self._semaphore.release()


class _LeasedStreamingResponse(StreamingResponse):
    """A streaming response that owns a slot and frees it however the stream ends.

    A finally block inside the body generator is not enough: if the client disconnects
    before the first chunk, Starlette cancels the stream before the generator ever starts,
    and a generator that never started never runs its finally.
    """

    def __init__(self, content: AsyncIterator[bytes], *, release: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


class _Rejected(Exception):
    """The request cannot be read at all (media type, size, JSON syntax)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(
    *, slots: int = 4, token_ms: float = 1.0, max_queue: int = 256, quirks: bool = True
) -> Starlette:
    """Train both demo models (tens of milliseconds, numpy only) and build the app.

    `slots` bounds concurrent inferences, `max_queue` bounds requests waiting for one,
    `token_ms` is the simulated decode time per chat token, and `quirks` switches the
    documented bugs (see the module docstring) on or off.
    """
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        raise ValueError(f"slots: expected a positive integer, got {slots!r}")
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0:
        raise ValueError(f"max_queue: expected an integer >= 0, got {max_queue!r}")
    if not (math.isfinite(token_ms) and token_ms >= 0):
        raise ValueError(f"token_ms: expected a number of milliseconds >= 0, got {token_ms!r}")
    pool = SlotPool(slots, max_queue)
    gauges = _Gauges(pool)
    server = _DemoServer(
        lm=NgramModel.from_corpus(),
        classifier=IrisClassifier.train(),
        pool=pool,
        token_seconds=token_ms / 1000,
        quirks=quirks,
        tokens=gauges.tokens,
    )
    return Starlette(
        routes=[
            Route("/health", server.health, methods=["GET"]),
            Route("/v1/models", server.models, methods=["GET"]),
            Route("/v1/chat/completions", server.chat_completions, methods=["POST"]),
            Route("/invocations", server.invocations, methods=["POST"]),
            Route("/metrics", gauges.metrics, methods=["GET"]),
        ]
    )


def serve(*, host: str = "127.0.0.1", port: int = 8000, **app_options: Unpack[AppOptions]) -> None:
    """Run the demo server until interrupted (blocking); logs only warnings and errors."""
    import uvicorn  # only the serving path needs it

    uvicorn.run(
        create_app(**app_options),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # In-flight streams get this long after SIGTERM; DemoServerProcess kills after 5 s.
        timeout_graceful_shutdown=2,
    )


class _Gauges:
    """The server's own Prometheus metrics, one registry per app (two apps in one test
    process must not share the library's global registry)."""

    def __init__(self, pool: SlotPool) -> None:
        self.registry = CollectorRegistry()
        queued = Gauge("demo_queue_depth", "Requests waiting for a slot", registry=self.registry)
        busy = Gauge("demo_busy_slots", "Inferences running now", registry=self.registry)
        size = Gauge("demo_slots", "Inference slots", registry=self.registry)
        # Read when scraped: the pool's own counts are the one truth.
        queued.set_function(lambda: pool.queued)
        busy.set_function(lambda: pool.in_use)
        size.set_function(lambda: pool.size)
        self.tokens = Counter(
            "demo_tokens_generated", "Chat tokens decoded", registry=self.registry
        )

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _DemoServer:
    """The endpoints, sharing the models and the slot pool of one app."""

    def __init__(
        self,
        *,
        lm: NgramModel,
        classifier: IrisClassifier,
        pool: SlotPool,
        token_seconds: float,
        quirks: bool,
        tokens: Counter,
    ) -> None:
        self.lm = lm
        self.tokens = tokens
        self.classifier = classifier
        self.pool = pool
        self.token_seconds = token_seconds
        self.quirks = quirks

    async def health(self, request: Request) -> Response:
        pool = self.pool
        return _json(
            {"status": "ok", "slots": pool.size, "in_use": pool.in_use, "queued": pool.queued}
        )

    async def models(self, request: Request) -> Response:
        model = {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "stress"}
        return _json({"object": "list", "data": [model]})

    async def chat_completions(self, request: Request) -> Response:
        try:
            chat = parse_chat_request(await _json_body(request))
        except _Rejected as exc:
            return _json(error_body(exc.message), status=exc.status)
        except ChatRequestError as exc:
            return _json(error_body(exc.message, param=exc.param, code=exc.code), status=400)
        with_nul = [i for i, (_, content) in enumerate(chat.messages) if "\x00" in content]
        if with_nul and self.quirks:
            return Response(_NUL_TRACEBACK, status_code=500, media_type="text/plain")
        if with_nul:
            param = f"messages[{with_nul[0]}].content"
            message = f"Invalid value for '{param}': NUL characters (U+0000) are not allowed."
            return _json(error_body(message, param=param, code="invalid_value"), status=400)

        try:
            await self.pool.acquire()
        except Overloaded:
            message = "The server is overloaded: every slot is busy and the queue is full."
            body = error_body(message, kind="server_overloaded_error", code="overloaded")
            return _json(body, status=503, headers={"Retry-After": "1"})
        slot_passed_on = False
        try:
            if self.quirks and len(chat.prompt) > SLOW_PROMPT_CHARS:
                await asyncio.sleep(SLOW_PATH_SECONDS)  # quirk (c)
            # Tokenising a multi-megabyte prompt takes a while: keep it off the event loop.
            generation, prompt_tokens = await anyio.to_thread.run_sync(self._start, chat)
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
            created = int(time.time())
            if chat.stream:
                events = self._events(generation, chat, prompt_tokens, completion_id, created)
                slot_passed_on = True
                return _LeasedStreamingResponse(events, release=self.pool.release)
            pieces = []
            while (piece := await self._decode(generation)) is not None:
                pieces.append(piece)
            return _json(
                completion_body(
                    completion_id=completion_id,
                    created=created,
                    content="".join(pieces),
                    finish_reason=generation.finish_reason or "stop",
                    prompt_tokens=prompt_tokens,
                    completion_tokens=generation.completion_tokens,
                )
            )
        finally:
            if not slot_passed_on:
                self.pool.release()

    def _start(self, chat: ChatRequest) -> tuple[Generation, int]:
        prompt = chat.prompt
        generation = self.lm.generate(
            prompt, max_tokens=chat.max_tokens, temperature=chat.temperature, seed=chat.seed
        )
        return generation, sum(count_tokens(content) for _, content in chat.messages)

    async def _decode(self, generation: Generation) -> str | None:
        """The next piece of an answer: real numpy work in a thread, then simulated decode."""
        piece = await anyio.to_thread.run_sync(generation.step)
        if piece is not None:
            self.tokens.inc()
        if piece is not None and self.token_seconds > 0:
            await asyncio.sleep(self.token_seconds)
        return piece

    async def _events(
        self,
        generation: Generation,
        chat: ChatRequest,
        prompt_tokens: int,
        completion_id: str,
        created: int,
    ) -> AsyncIterator[bytes]:
        ids: dict[str, Any] = {
            "completion_id": completion_id,
            "created": created,
            "include_usage": chat.include_usage,
        }
        yield _event(chunk_body(delta={"role": "assistant", "content": ""}, **ids))
        while (piece := await self._decode(generation)) is not None:
            yield _event(chunk_body(delta={"content": piece}, **ids))
        yield _event(chunk_body(finish_reason=generation.finish_reason, **ids))
        if chat.include_usage:
            usage = (prompt_tokens, generation.completion_tokens)
            yield _event(chunk_body(completion_id=completion_id, created=created, usage=usage))
        yield b"data: [DONE]\n\n"

    async def invocations(self, request: Request) -> Response:
        try:
            rows = rows_from_payload(await _json_body(request), self.classifier.columns)
        except _Rejected as exc:
            code = "REQUEST_LIMIT_EXCEEDED" if exc.status == 413 else "BAD_REQUEST"
            return _json({"error_code": code, "message": exc.message}, status=exc.status)
        except PayloadError as exc:
            return _json({"error_code": "BAD_REQUEST", "message": str(exc)}, status=400)
        finite = np.isfinite(rows)
        if not self.quirks and not finite.all():
            row, column = (int(i) for i in np.argwhere(~finite)[0])
            message = (
                f"row {row}, column {self.classifier.columns[column]}: expected a finite"
                " number, got NaN or Infinity"
            )
            return _json({"error_code": "BAD_REQUEST", "message": message}, status=400)

        try:
            await self.pool.acquire()
        except Overloaded:
            message = "The server is overloaded: every slot is busy and the queue is full."
            body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": message}
            return _json(body, status=503, headers={"Retry-After": "1"})
        try:
            predictions = await anyio.to_thread.run_sync(self.classifier.predict, rows)
        except ValueError as exc:
            # Quirk (b): scikit-learn's complaint about NaN/Infinity, reported as a server
            # fault. Only reachable with quirks on; otherwise the check above answered 400.
            return _json({"error_code": "INTERNAL_ERROR", "message": str(exc)}, status=500)
        finally:
            self.pool.release()
        return _json({"predictions": predictions})


async def _json_body(request: Request) -> object:
    """The decoded JSON body, or _Rejected with the status a careful server would send."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        shown = repr(media_type[:60]) if media_type else "none"
        raise _Rejected(415, f"Content-Type must be application/json, got {shown}")
    too_large = f"the request body is larger than {MAX_BODY_BYTES} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Rejected(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _Rejected(413, too_large)
    try:
        return json.loads(body)
    # ValueError covers syntax errors, bad UTF-8 and over-long integers; RecursionError is
    # what deeply nested arrays ([[[[...]]]]) raise.
    except (ValueError, RecursionError) as exc:
        raise _Rejected(400, f"the request body is not valid JSON: {exc}") from None


def _json(payload: object, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # ensure_ascii: error messages may quote client text with lone surrogates, which a UTF-8
    # encoder (Starlette's JSONResponse) would turn into a 500.
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return Response(text, status_code=status, headers=headers, media_type="application/json")


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, separators=(",", ":")).encode("ascii") + b"\n\n"
