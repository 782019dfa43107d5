"""OpenAI chat-completions wire format for the demo server: request validation and bodies.

Validation follows OpenAI's rules closely enough that a client written for the real API
works unchanged, and every rejection names the offending parameter the way OpenAI does
(`messages[2].content`). Unknown top-level keys are ignored, as vLLM and most
OpenAI-compatible servers do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MODEL_NAME",
    "ROLES",
    "ChatRequest",
    "ChatRequestError",
    "chunk_body",
    "completion_body",
    "error_body",
    "parse_chat_request",
]

#: The model name every response reports, whatever the request asked for.
MODEL_NAME = "demo-ngram"

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})

DEFAULT_MAX_TOKENS = 64
# The n-gram model has no context window to protect; the cap keeps one request from holding
# a slot for minutes, the way real servers cap max_tokens at their context length.
MAX_MAX_TOKENS = 1024
MAX_TEMPERATURE = 2.0


class ChatRequestError(ValueError):
    """A chat request OpenAI would reject with 400 invalid_request_error."""

    def __init__(self, message: str, *, param: str | None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat request; `messages` holds (role, content) pairs."""

    messages: tuple[tuple[str, str], ...]
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 1.0
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False

    @property
    def prompt(self) -> str:
        """All message contents, one per line: what the model conditions on."""
        return "\n".join(content for _, content in self.messages)


def parse_chat_request(payload: object) -> ChatRequest:
    """Validate a decoded JSON body; raise ChatRequestError for anything OpenAI rejects."""
    if not isinstance(payload, dict):
        raise ChatRequestError(
            f"the request body must be a JSON object, got {_type_name(payload)}",
            param=None,
            code="invalid_type",
        )
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise _wrong_type("model", "a string", model)
    messages = _messages(payload.get("messages"))
    max_tokens = _max_tokens(payload)
    temperature = _temperature(payload.get("temperature"))
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _wrong_type("seed", "an integer", seed)
    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _wrong_type("stream", "a boolean", stream)
    include_usage = _include_usage(payload.get("stream_options"), streaming=bool(stream))
    _optional_parameters(payload)
    return ChatRequest(
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        stream=bool(stream),
        include_usage=include_usage,
    )


# Sampling parameters this model ignores but OpenAI type-checks: (kind, minimum, maximum).
_NUMBERS = {
    "top_p": ("a number", 0.0, 1.0),
    "presence_penalty": ("a number", -2.0, 2.0),
    "frequency_penalty": ("a number", -2.0, 2.0),
    "n": ("an integer", 1, 128),
}


def _optional_parameters(payload: dict[str, Any]) -> None:
    """Reject wrongly typed optional parameters as OpenAI does, even those the model ignores:
    a client sending ``"n": true`` has a bug it should hear about."""
    for name, (kind, low, high) in _NUMBERS.items():
        value = payload.get(name)
        if value is None:
            continue
        integer = kind == "an integer"
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            raise _wrong_type(name, kind, value)
        if not (math.isfinite(value) and low <= value <= high):
            raise ChatRequestError(
                f"Invalid '{name}': must be between {low} and {high}, got {value}.",
                param=name,
                code="invalid_value",
            )
    if payload.get("n", 1) > 1:  # one completion per request: said, not silently ignored
        raise ChatRequestError(
            f"Invalid 'n': this server generates one choice per request: n must be at most "
            f"1, got {payload['n']}.",
            param="n",
            code="invalid_value",
        )
    user = payload.get("user")
    if user is not None and not isinstance(user, str):
        raise _wrong_type("user", "a string", user)
    stop = payload.get("stop")
    if stop is not None and not (
        isinstance(stop, str)
        or (isinstance(stop, list) and all(isinstance(item, str) for item in stop))
    ):
        raise _wrong_type("stop", "a string or an array of strings", stop)


def _messages(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        raise ChatRequestError(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(value, list):
        raise _wrong_type("messages", "an array", value)
    if not value:
        raise ChatRequestError(
            "'messages' must contain at least one message.", param="messages", code="empty_array"
        )
    messages = []
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _wrong_type(where, "an object", message)
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or role not in ROLES:
            raise ChatRequestError(
                f"Invalid value for '{where}.role': expected one of {', '.join(sorted(ROLES))}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        # Content-part arrays (images, audio) are valid OpenAI but this text-only model
        # cannot use them; reject them clearly rather than guess.
        if not isinstance(content, str):
            raise _wrong_type(f"{where}.content", "a string", content)
        messages.append((role, content))
    return tuple(messages)


def _max_tokens(payload: dict[str, Any]) -> int:
    # max_completion_tokens is OpenAI's newer name for the same limit.
    name = "max_tokens" if payload.get("max_tokens") is not None else "max_completion_tokens"
    value = payload.get(name)
    if value is None:
        return DEFAULT_MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(name, "an integer", value)
    if not 1 <= value <= MAX_MAX_TOKENS:
        raise ChatRequestError(
            f"Invalid '{name}': integer must be between 1 and {MAX_MAX_TOKENS}, got {value}.",
            param=name,
            code="invalid_value",
        )
    return value


def _temperature(value: object) -> float:
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type("temperature", "a number", value)
    # math.isfinite also rejects NaN, which json.loads happily produces.
    if not (math.isfinite(value) and 0 <= value <= MAX_TEMPERATURE):
        raise ChatRequestError(
            f"Invalid 'temperature': must be between 0 and {MAX_TEMPERATURE:g}.",
            param="temperature",
            code="invalid_value",
        )
    return float(value)


def _include_usage(value: object, *, streaming: bool) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise _wrong_type("stream_options", "an object", value)
    if not streaming:
        raise ChatRequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    include_usage = value.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise _wrong_type("stream_options.include_usage", "a boolean", include_usage)
    return include_usage


def _wrong_type(param: str, expected: str, value: object) -> ChatRequestError:
    return ChatRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), "a value")


def error_body(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def completion_body(
    *,
    completion_id: str,
    created: int,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """A non-streaming `chat.completion` object."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_NAME,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def chunk_body(
    *,
    completion_id: str,
    created: int,
    delta: dict[str, str] | None = None,
    finish_reason: str | None = None,
    usage: tuple[int, int] | None = None,
    include_usage: bool = False,
) -> dict[str, Any]:
    """One `chat.completion.chunk`.

    With `usage` (prompt, completion) it is the final usage chunk, which has no choices;
    otherwise it carries `delta`. When the client asked for usage, every other chunk has
    `"usage": null`, as OpenAI sends it.
    """
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_NAME,
    }
    if usage is not None:
        body["choices"] = []
        body["usage"] = _usage(*usage)
        return body
    body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}]
    if include_usage:
        body["usage"] = None
    return body


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
