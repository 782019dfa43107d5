"""A careful streaming OpenAI-chat server that streams token by token, and its careless twin
whose streams interfere with each other.

    python -m tests.reference.streaming PORT [--careless FAULT,...] [--token-ms N]

Careful: tests.reference.chat's server (the same validation, refusals and deterministic
answers: the same request, the same answer), except that ``stream: true`` answers are sent as
they are generated: one server-sent event a word, ``--token-ms`` (default 15) apart, in a
chunked body, then the finish chunk, usage and ``data: [DONE]``. Concurrent streams are
independent of each other.

Careless faults, each only when streams overlap (a stream alone is always whole and right):

    cut_on_arrival  a running stream is cut when another request arrives: the body ends
                    (cleanly, chunked) without its remaining words, finish chunk or [DONE],
                    as a server that gives its one generation slot to the newest request
    shared_buffer   every stream writes its next word into one buffer the server shares,
                    waits a token's time and sends whatever the buffer then holds: streams in
                    flight together send each other's words
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from tests.reference import chat

FAULTS = ("cut_on_arrival", "shared_buffer")


class Server(chat.Server):
    def __init__(self, port: int, faults: set[str], token_s: float) -> None:
        chat.Server.__init__(self, port, set(), 2048)
        self.RequestHandlerClass = Handler
        self.stream_faults = faults
        self.token_s = token_s
        self.lock = threading.Lock()
        self.arrivals = 0  # POSTs so far: cut_on_arrival cuts a stream when it moves on
        self.buffer = ""  # shared_buffer's one word for every stream


class Handler(chat.Handler):
    server: Server

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.arrivals += 1
            self._arrival = self.server.arrivals
        super().do_POST()

    def _stream(self, answer: dict[str, Any], usage_chunk: bool) -> None:
        server = self.server
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {**answer, "object": "chat.completion.chunk"}
        choice = answer["choices"][0]
        self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for number, word in enumerate(choice["message"]["content"].split()):
            if "cut_on_arrival" in server.stream_faults and server.arrivals != self._arrival:
                self._chunk(b"")  # the newest request took the slot: the body just ends
                return
            if "shared_buffer" in server.stream_faults:
                server.buffer = word
                time.sleep(server.token_s)
                word = server.buffer
            else:
                time.sleep(server.token_s)
            delta = {"content": word if number == 0 else " " + word}
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        done = {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}
        self._event({**base, "choices": [done]})
        if usage_chunk:
            self._event({**answer, "object": "chat.completion.chunk", "choices": []})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, event: dict[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(event)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", default="", help=f"comma-separated: {', '.join(FAULTS)}")
    parser.add_argument("--token-ms", type=float, default=15.0)
    args = parser.parse_args(argv)
    faults = {fault for fault in args.careless.split(",") if fault}
    unknown = faults - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    server = Server(args.port, faults, args.token_ms / 1000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
