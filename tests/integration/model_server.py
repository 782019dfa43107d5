"""A small model server for integration tests that speaks every protocol stress supports.

Run as ``python model_server.py PORT LOG [options]``. Endpoints:

    GET  /health, /v1/models, /v2/health/ready, /v2/models/{m}/ready, /v1/models/{m}
    POST /v1/chat/completions, /v1/completions  (streaming or not), /v1/embeddings
    POST /v2/models/{m}/infer                   (Open Inference Protocol)
    POST /v1/models/{m}:predict                 (KServe v1 / TF-Serving instances)
    POST /invocations                           (MLflow: all four request formats)
    POST /api/generate                          (a home-grown JSON API for http-json)

Streams follow a known schedule: the first token ``--ttft-ms`` after the request arrived,
then one token every ``--itl-ms``, written with TCP_NODELAY as real servers do. Every
request appends one JSON line to LOG with its X-Stress-Input-Id header and the server-side
times (time.perf_counter, comparable across processes on Linux) of its arrival and of each
token written: the truth the streaming metrics are checked against.

``--api-key K`` requires ``Authorization: Bearer K`` or ``?key=K``; ``--echo-secrets`` makes
unreadable bodies answer 500 with the request's URL and Authorization header in the body
(as debug error pages do), so tests can prove stress scrubs secrets it is sent back.
``--no-done`` ends streams without ``data: [DONE]``; ``--stall-after N --stall-ms X`` pauses
X ms after the N-th token.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "models",
    "answer",
    "every",
    "prompt",
]


class BadRequest(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log", type=Path)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--itl-ms", type=float, default=5.0)
    parser.add_argument("--api-key")
    parser.add_argument("--echo-secrets", action="store_true")
    parser.add_argument("--no-done", action="store_true")
    parser.add_argument("--stall-after", type=int, default=-1)
    parser.add_argument("--stall-ms", type=float, default=0.0)
    options = parser.parse_args()
    lock = threading.Lock()
    log = options.log.open("a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        # ------------------------------------------------------------ plumbing
        def send_json(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def write_log(self, **fields: Any) -> None:
            fields.update(input_id=self.headers.get("X-Stress-Input-Id"), path=self.path)
            with lock:
                log.write(json.dumps(fields) + "\n")
                log.flush()

        def authorised(self) -> bool:
            # Health checks need no key, as on vLLM; everything else does.
            if options.api_key is None or urlsplit(self.path).path in ("/health", "/ping"):
                return True
            query = parse_qs(urlsplit(self.path).query)
            header = self.headers.get("Authorization", "")
            if header == f"Bearer {options.api_key}" or query.get("key") == [options.api_key]:
                return True
            self.send_json(401, {"error": {"message": "invalid API key"}})
            self.write_log(received=time.perf_counter(), status=401)
            return False

        def body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if options.echo_secrets:
                    raise BadRequest(
                        f"debug: {self.path} Authorization={self.headers.get('Authorization')}"
                    ) from None
                raise BadRequest("the body is not valid JSON") from None

        # ------------------------------------------------------------ routes
        def do_GET(self) -> None:
            if not self.authorised():
                return
            self.write_log(received=time.perf_counter(), status=None)
            path = urlsplit(self.path).path
            model = options.model
            if path in ("/health", "/v2/health/ready", "/ping"):
                self.send_json(200, {"status": "ok"})
            elif path == "/v1/models":
                self.send_json(200, {"object": "list", "data": [{"id": model}]})
            elif path in (f"/v2/models/{model}/ready", f"/v1/models/{model}"):
                self.send_json(200, {"name": model, "ready": True})
            else:
                self.send_json(404, {"error": f"no route {path}"})

        def do_POST(self) -> None:
            received = time.perf_counter()
            if not self.authorised():
                return
            path = urlsplit(self.path).path
            model = options.model
            routes = {
                "/v1/chat/completions": self.chat,
                "/v1/completions": self.chat,
                "/v1/embeddings": self.embeddings,
                f"/v2/models/{model}/infer": self.infer_v2,
                f"/v1/models/{model}:predict": self.predict_v1,
                "/invocations": self.invocations,
                "/api/generate": self.generate,
            }
            route = routes.get(path)
            if route is None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_json(404, {"error": f"no model or route at {path}"})
                return
            try:
                route(self.body(), received)
            except BadRequest as exc:
                status = 500 if str(exc).startswith("debug:") else 400
                self.send_json(status, {"error": {"message": str(exc)}})
                self.write_log(received=received, status=status)

        # ------------------------------------------------------------ OpenAI
        def chat(self, request: Any, received: float) -> None:
            if not isinstance(request, dict):
                raise BadRequest("expected an object")
            chat = "messages" in request or self.path.startswith("/v1/chat")
            if request.get("model") not in (None, options.model):
                self.send_json(
                    404, {"error": {"message": f"The model `{request['model']}` does not exist."}}
                )
                self.write_log(received=received, status=404)
                return
            if chat:
                messages = request.get("messages")
                if not isinstance(messages, list) or not messages:
                    raise BadRequest("messages must be a non-empty list")
                if not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
                ):
                    raise BadRequest("each message needs string content")
            elif not isinstance(request.get("prompt"), str):
                raise BadRequest("prompt must be a string")
            max_tokens = request.get("max_tokens", 16)
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
                raise BadRequest("max_tokens must be a positive integer")
            tokens = [WORDS[i % len(WORDS)] + " " for i in range(max_tokens)]
            if not request.get("stream"):
                text = "".join(tokens)
                choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
                choice.update(
                    {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
                )
                usage = {"prompt_tokens": 3, "completion_tokens": len(tokens)}
                self.send_json(
                    200, {"object": "chat.completion", "choices": [choice], "usage": usage}
                )
                self.write_log(received=received, status=200)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def chunk(data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

            def event(document: Any) -> None:
                data = document if isinstance(document, bytes) else json.dumps(document).encode()
                chunk(b"data: " + data + b"\n\n")

            def delta(text: str | None, finish: str | None = None) -> dict[str, Any]:
                if chat:
                    body: dict[str, Any] = {"content": text} if text is not None else {}
                    return {"choices": [{"index": 0, "delta": body, "finish_reason": finish}]}
                return {"choices": [{"index": 0, "text": text or "", "finish_reason": finish}]}

            if chat:
                event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            chunk(b": keep-alive\n\n")
            written = []
            for index, token in enumerate(tokens):
                due = received + (options.ttft_ms + index * options.itl_ms) / 1000
                if index == options.stall_after:
                    due += options.stall_ms / 1000
                while (left := due - time.perf_counter()) > 0:
                    time.sleep(left)
                try:
                    event(delta(token))
                except OSError:  # the client gave up (a stall test)
                    self.write_log(received=received, status=200, tokens=written, aborted=True)
                    return
                written.append(time.perf_counter())
            event(delta(None, "length"))
            if (request.get("stream_options") or {}).get("include_usage"):
                event(
                    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(tokens)}}
                )
            if not options.no_done:
                event(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.write_log(received=received, status=200, tokens=written)

        def embeddings(self, request: Any, received: float) -> None:
            text = request.get("input") if isinstance(request, dict) else None
            if not isinstance(text, str):
                raise BadRequest("input must be a string")
            vector = [round(math.sin(len(text) + i), 6) for i in range(8)]
            self.send_json(
                200,
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": vector}],
                    "usage": {
                        "prompt_tokens": len(text.split()),
                        "total_tokens": len(text.split()),
                    },
                },
            )
            self.write_log(received=received, status=200)

        # ------------------------------------------------------------ tabular
        def infer_v2(self, request: Any, received: float) -> None:
            inputs = request.get("inputs") if isinstance(request, dict) else None
            if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
                raise BadRequest("expected one input tensor")
            tensor = inputs[0]
            shape, data = tensor.get("shape"), tensor.get("data")
            if not isinstance(tensor.get("name"), str) or tensor.get("datatype") not in (
                "FP32",
                "FP64",
            ):
                raise BadRequest("bad tensor name or datatype")
            if not (isinstance(shape, list) and len(shape) == 2 and isinstance(data, list)):
                raise BadRequest("bad shape or data")
            if len(data) != shape[0] * shape[1]:
                raise BadRequest("data does not match shape")
            rows = [data[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]
            predictions = predict(rows)
            output = {
                "name": "output-0",
                "shape": [len(rows)],
                "datatype": "INT64",
                "data": predictions,
            }
            self.send_json(200, {"model_name": options.model, "outputs": [output]})
            self.write_log(received=received, status=200)

        def predict_v1(self, request: Any, received: float) -> None:
            instances = request.get("instances") if isinstance(request, dict) else None
            if not isinstance(instances, list):
                raise BadRequest("expected instances")
            rows = [list(i.values()) if isinstance(i, dict) else i for i in instances]
            self.send_json(200, {"predictions": predict(rows)})
            self.write_log(received=received, status=200)

        def invocations(self, request: Any, received: float) -> None:
            if not isinstance(request, dict) or len(request) != 1:
                raise BadRequest(
                    "expected one of dataframe_split, dataframe_records, instances, inputs"
                )
            ((key, value),) = request.items()
            if key == "dataframe_split" and isinstance(value, dict):
                rows = value.get("data")
            elif key in ("dataframe_records", "instances") and isinstance(value, list):
                rows = [list(r.values()) if isinstance(r, dict) else r for r in value]
            elif key == "inputs" and isinstance(value, dict):
                columns = list(value.values())
                rows = [list(r) for r in zip(*columns, strict=False)] if columns else None
            else:
                raise BadRequest(f"unreadable {key}")
            self.send_json(200, {"predictions": predict(rows)})
            self.write_log(received=received, status=200)

        def generate(self, request: Any, received: float) -> None:
            query = request.get("query") if isinstance(request, dict) else None
            if not isinstance(query, str) or not isinstance(request.get("id"), str):
                raise BadRequest("query and id must be strings")
            text = " ".join(WORDS[: 1 + len(query) % 8])
            self.send_json(200, {"result": {"text": text, "tokens": len(text.split())}})
            self.write_log(received=received, status=200)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", options.port), Handler).serve_forever()


def predict(rows: Any) -> list[int]:
    if not isinstance(rows, list) or not rows:
        raise BadRequest("expected rows")
    out = []
    for row in rows:
        if not isinstance(row, list) or not row:
            raise BadRequest("each row must be a non-empty list")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in row
        ):
            raise BadRequest("values must be finite numbers")
        out.append(int(sum(row)) % 3)
    return out


if __name__ == "__main__":
    main()
