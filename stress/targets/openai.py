"""OpenAI-compatible servers: chat completions, completions (both streaming or not), embeddings.

vLLM, llama.cpp's server, Ollama, TGI and the hosted APIs speak this. Requests follow the
OpenAI reference; answers are checked for the fields every client reads. A streaming answer
(``stream: true``) is a server-sent event stream of ``chat.completion.chunk`` objects ending
in ``data: [DONE]``; we ask for a final usage chunk (``stream_options.include_usage``) so the
output token count comes from the server when it can say it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from stress.inputs.corpus import Input
from stress.targets.base import (
    BaseAdapter,
    HttpRequest,
    Outcome,
    dumps,
    mangle,
    mutate,
    parse_json,
    usage_tokens,
)
from stress.targets.sse import Event, decode

# Fields a mutation may drop (required by every server) or retype (typed by the protocol).
# "model" is required by OpenAI but defaulted by most self-hosted servers, so it is not
# dropped: a server that fills it in is right to.
CHAT_REQUIRED = ["messages"]
CHAT_TYPED = ["messages", "model", "max_tokens"]
COMPLETIONS_REQUIRED = ["prompt"]
COMPLETIONS_TYPED = ["prompt", "model", "max_tokens"]
EMBEDDINGS_REQUIRED = ["input"]
EMBEDDINGS_TYPED = ["input", "model"]
# A prompt or an embeddings input may also be a list (of strings or token ids): not wrong.
_LISTS_ALLOWED = {"prompt": ("list",), "input": ("list",)}
_WORD_PIECES = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Output tokens counted without the server's tokenizer: words and punctuation marks.

    Close to a BPE count for English prose, low for CJK text; records say it is an estimate.
    """
    return len(_WORD_PIECES.findall(text))


def prompt_text(prompt: Mapping[str, Any]) -> str:
    """The text of a chat-style input for protocols that take one string: the messages'
    contents, one per line."""
    return "\n".join(str(message.get("content", "")) for message in prompt["messages"])


class _OpenAIAdapter(BaseAdapter):
    """Shared request building (prompt, mutation, raw inputs) and readiness via /v1/models."""

    required: list[str]
    typed: list[str]
    name = "openai"

    def body(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def request(self, item: Input) -> HttpRequest:
        payload = item.payload
        if item.kind == "prompt":
            body = dumps(self.body(payload))
        elif item.kind == "mutation":
            valid = self.body(payload["base"])
            body = dumps(
                mutate(
                    valid,
                    payload,
                    required=self.required,
                    typed=self.typed,
                    valid_types=_LISTS_ALLOWED,
                )
            )
        elif item.kind == "raw":
            body = mangle(payload, dumps(self.body(payload["base"])))
        else:
            raise ValueError(
                f"{self.name} sends text prompts and cannot send a {item.kind!r} input "
                f"({item.id}); use a family made for text models"
            )
        return self.http(item, body)

    def readiness(self) -> HttpRequest | None:
        if self.target.health is not None:
            return self.get(self.target.health)
        endpoint = (self.target.path or self.default_path).split("?")[0]
        base = re.sub(r"/(chat/completions|completions|embeddings)/?$", "", endpoint)
        return self.get(f"{base}/models")

    def judge_readiness(self, status: int, body: bytes) -> tuple[bool | None, str]:
        if self.target.health is not None:
            return super().judge_readiness(status, body)
        if status in (401, 403):
            return False, f"HTTP {status} for the model list: check the API key in target.headers"
        document, problem = parse_json(body)
        data = document.get("data") if isinstance(document, dict) else None
        if not 200 <= status < 300 or problem or not isinstance(data, list):
            return None, ""  # no model list here (the demo server, some proxies): try a request
        ids = [str(m.get("id")) for m in data if isinstance(m, dict)]
        if self.target.model in ids:
            return True, ""
        # llama.cpp and some proxies serve whatever name is asked for: let a request decide.
        listed = ", ".join(ids[:10]) or "none"
        return None, f"the server lists these models: {listed}"


class _StreamingAdapter(_OpenAIAdapter):
    """Chat and completions: optional streaming, one text answer."""

    def stream_options(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.target.temperature is not None:
            body["temperature"] = self.target.temperature
        if self.target.seed is not None:
            body["seed"] = self.target.seed
        if self.target.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        if headers.get("content-type", "").startswith("text/event-stream"):
            decoder = decode(body)
            if decoder.problem:
                return Outcome(anomaly=decoder.problem)
            return self.parse_events(decoder.events)
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        return self.parse_document(document)

    def parse_document(self, document: Any) -> Outcome:
        if not isinstance(document, dict):
            return Outcome(problem="answer is not a JSON object")
        choices = document.get("choices")
        if not isinstance(choices, list) or not choices:
            return Outcome(problem="answer has no 'choices' list")
        choice = choices[0]
        if not isinstance(choice, dict):
            return Outcome(problem="choices[0] is not an object")
        text, problem = self.answer_text(choice)
        if problem:
            return Outcome(problem=problem)
        assert text is not None
        prompt_tokens, tokens = usage_tokens(document)
        return Outcome(
            text=text,
            output_tokens=tokens if tokens is not None else estimate_tokens(text),
            tokens_estimated=tokens is None,
            prompt_tokens=prompt_tokens,
            finish_reason=_string(choice.get("finish_reason")),
        )

    def answer_text(self, choice: dict[str, Any]) -> tuple[str | None, str | None]:
        raise NotImplementedError

    def delta_text(self, choice: dict[str, Any]) -> tuple[str, bool]:
        """(text to show, whether this chunk carried output) of one streamed choice."""
        raise NotImplementedError

    def parse_events(self, events: Sequence[Event]) -> Outcome:
        """Join a stream's output; the times of the events that carried output are kept."""
        parts: list[str] = []
        times: list[float] = []
        finish_reason = None
        prompt_tokens = tokens = None
        anomaly = None
        done = False
        for event in events:
            if event.data == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(event.data)
            except json.JSONDecodeError:
                anomaly = f"malformed stream chunk: {event.data[:80]!r}"
                break
            if not isinstance(chunk, dict):
                anomaly = f"stream chunk is not a JSON object: {event.data[:80]!r}"
                break
            if "error" in chunk or event.name == "error":
                anomaly = f"the stream carried an error: {_error_message(chunk)}"
                break
            prompt_usage, completion_usage = usage_tokens(chunk)
            if completion_usage is not None:
                prompt_tokens, tokens = prompt_usage, completion_usage
            choices = chunk.get("choices")
            if choices is None:
                choices = []
            if not isinstance(choices, list):
                anomaly = f"stream chunk has 'choices' that is not a list: {event.data[:80]!r}"
                break
            for choice in choices:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                text, carried = self.delta_text(choice)
                if text:
                    parts.append(text)
                if carried:
                    times.append(event.at)
                finish_reason = _string(choice.get("finish_reason")) or finish_reason
        text = "".join(parts)
        if anomaly is None and not done:
            anomaly = "stream ended without 'data: [DONE]'"
        estimated = tokens is None
        return Outcome(
            text=text,
            output_tokens=len(times) if estimated else tokens,
            tokens_estimated=estimated,
            prompt_tokens=prompt_tokens,
            finish_reason=finish_reason,
            anomaly=anomaly,
            token_times=times,
            extras={"events": len(events)},
        )


class OpenAIChatAdapter(_StreamingAdapter):
    """POST /v1/chat/completions."""

    default_path = "/v1/chat/completions"
    health_path: str | None = "/health"
    required = CHAT_REQUIRED
    typed = CHAT_TYPED
    name = "openai-chat"

    def body(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.target.model,
            "messages": prompt["messages"],
            "max_tokens": self.target.max_tokens,
        }
        return self.stream_options(body)

    def answer_text(self, choice: dict[str, Any]) -> tuple[str | None, str | None]:
        message = choice.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return None, "choices[0].message.content is missing or not a string"
        return message["content"], None

    def delta_text(self, choice: dict[str, Any]) -> tuple[str, bool]:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return "", False
        content = delta.get("content")
        text = content if isinstance(content, str) else ""
        # Reasoning models (vLLM's reasoning parsers, DeepSeek) stream their thinking in a
        # separate field; those are output tokens too, and the first of them is the first token.
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        return text, bool(text) or (isinstance(reasoning, str) and bool(reasoning))


class OpenAICompletionsAdapter(_StreamingAdapter):
    """POST /v1/completions: a prompt string in, ``choices[0].text`` out."""

    default_path = "/v1/completions"
    health_path: str | None = "/health"
    required = COMPLETIONS_REQUIRED
    typed = COMPLETIONS_TYPED
    name = "openai-completions"

    def body(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.target.model,
            "prompt": prompt_text(prompt),
            "max_tokens": self.target.max_tokens,
        }
        return self.stream_options(body)

    def answer_text(self, choice: dict[str, Any]) -> tuple[str | None, str | None]:
        if not isinstance(choice.get("text"), str):
            return None, "choices[0].text is missing or not a string"
        return str(choice["text"]), None

    def delta_text(self, choice: dict[str, Any]) -> tuple[str, bool]:
        text = choice.get("text")
        text = text if isinstance(text, str) else ""
        return text, bool(text)


class OpenAIEmbeddingsAdapter(_OpenAIAdapter):
    """POST /v1/embeddings: one text in, one vector out (``data[0].embedding``)."""

    default_path = "/v1/embeddings"
    health_path: str | None = "/health"
    required = EMBEDDINGS_REQUIRED
    typed = EMBEDDINGS_TYPED
    name = "openai-embeddings"

    def body(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        return {"model": self.target.model, "input": prompt_text(prompt)}

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if not 200 <= status < 300:
            return Outcome()
        document, problem = parse_json(body)
        if problem:
            return Outcome(problem=problem)
        if not isinstance(document, dict):
            return Outcome(problem="answer is not a JSON object")
        data = document.get("data")
        if not isinstance(data, list) or not data:
            return Outcome(problem="answer has no 'data' list")
        if len(data) != 1:
            return Outcome(problem=f"one input was sent but 'data' has {len(data)} embeddings")
        item = data[0]
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(vector, list) or not vector:
            return Outcome(problem="data[0].embedding is missing or not a non-empty list")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vector):
            return Outcome(problem="data[0].embedding holds something other than numbers")
        prompt_tokens, _ = usage_tokens(document)
        if not all(math.isfinite(v) for v in vector):
            return Outcome(
                problem="data[0].embedding contains NaN or Infinity",
                prediction=vector,
                prompt_tokens=prompt_tokens,
            )
        return Outcome(prediction=vector, prompt_tokens=prompt_tokens)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_message(chunk: dict[str, Any]) -> str:
    error = chunk.get("error")
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error if error is not None else chunk)[:200]
