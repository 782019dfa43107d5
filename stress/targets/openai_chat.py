"""OpenAI-compatible chat completions (POST /v1/chat/completions), streaming and not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stress.inputs.corpus import Input
from stress.scenario import Target
from stress.targets.base import (
    JSON,
    HttpRequest,
    Outcome,
    dumps,
    mangle,
    mutate,
    parse_json,
    raw_headers,
)

PATH = "/v1/chat/completions"
# Fields a mutation may drop (required by every server) or retype (typed by the protocol).
# "model" is required by OpenAI but defaulted by most self-hosted servers, so it is not
# dropped: a server that fills it in is right to.
REQUIRED = ["messages"]
TYPED = ["messages", "model", "max_tokens"]


class OpenAIChatAdapter:
    health_path: str | None = "/health"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.headers = {"Content-Type": JSON, "Accept": JSON, **target.headers}

    def _body(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.target.model,
            "messages": prompt["messages"],
            "max_tokens": self.target.max_tokens,
        }
        if self.target.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind == "prompt":
            body = dumps(self._body(payload))
        elif item.kind == "mutation":
            body = dumps(
                mutate(self._body(payload["base"]), payload, required=REQUIRED, typed=TYPED)
            )
        elif item.kind == "raw":
            body = mangle(payload, dumps(self._body(payload["base"])))
            return HttpRequest("POST", PATH, raw_headers(payload, self.headers), body)
        else:
            raise ValueError(f"openai-chat cannot send a {item.kind!r} input ({item.id})")
        return HttpRequest("POST", PATH, dict(self.headers), body)

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        content_type = headers.get("content-type", "")
        if content_type.startswith("text/event-stream"):
            return _parse_stream(body)
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        return _parse_completion(document)


def _parse_completion(document: Any) -> Outcome:
    if not isinstance(document, dict):
        return Outcome(problem="answer is not a JSON object")
    choices = document.get("choices")
    if not isinstance(choices, list) or not choices:
        return Outcome(problem="answer has no 'choices' list")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        return Outcome(problem="choices[0].message.content is missing or not a string")
    usage = document.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return Outcome(
        text=message["content"],
        output_tokens=tokens if isinstance(tokens, int) else None,
        finish_reason=choice.get("finish_reason"),
    )


def _parse_stream(body: bytes) -> Outcome:
    """Join the content deltas of an SSE answer; a missing [DONE] is a protocol problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Outcome(problem="stream is not valid UTF-8")
    parts: list[str] = []
    finish_reason = None
    tokens = None
    deltas = 0
    done = False
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            return Outcome(problem=f"malformed stream chunk: {data[:80]!r}")
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            tokens = usage["completion_tokens"]
        for choice in chunk.get("choices") or [] if isinstance(chunk, dict) else []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                parts.append(delta["content"])
                deltas += 1
            finish_reason = choice.get("finish_reason") or finish_reason
    if not done:
        return Outcome(problem="stream ended without 'data: [DONE]'", text="".join(parts))
    return Outcome(
        text="".join(parts),
        output_tokens=tokens,
        finish_reason=finish_reason,
        extras={"deltas": deltas, "tokens_estimated": tokens is None},
    )
