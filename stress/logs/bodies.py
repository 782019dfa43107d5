"""Logged request bodies as corpus payloads for the target's protocol.

A logged body becomes the payload the target's adapter sends (stress.inputs.family):

    openai-chat         body.messages                → {"messages": [{"role", "content"}, ...]}
    openai-completions  body.prompt (a string)       → {"messages": [user(prompt)]}
    openai-embeddings   body.input (a string)        → {"messages": [user(input)]}
    http-json (text)    body.messages or body.prompt → as above
    mlflow, kserve-v1/v2, http-json (rows)            → {"rows": [{column: value}, ...]}
                        from dataframe_split, dataframe_records, instances, inputs
                        (MLflow, KServe v1) or one Open Inference Protocol tensor (KServe v2)

Only what the payload holds is kept: the model, max_tokens and stream come from the target,
other logged parameters (temperature, user, tools) are dropped. A body that does not fit the
protocol is not an error: ``payload`` returns the reason, and the entry is counted as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ROLES = ("system", "developer", "user", "assistant")
TABULAR = ("mlflow", "kserve-v2", "kserve-v1")


def payload(
    body: Mapping[str, Any], protocol: str, *, columns: Sequence[str] = ()
) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) when ``body`` fits ``protocol``, else (None, the reason)."""
    if protocol in TABULAR or (protocol == "http-json" and columns):
        return _rows(body, columns)
    if protocol == "openai-chat":
        return _chat(body)
    if protocol == "openai-completions":
        return _text(body, "prompt")
    if protocol == "openai-embeddings":
        return _text(body, "input")
    if protocol == "http-json":
        if "messages" in body:
            return _chat(body)
        return _text(body, "prompt")
    return None, f"protocol {protocol!r} cannot take logged requests"


def _content(value: Any) -> str | None:
    """A message's text: a string, or a list of text parts joined (None: not text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [part.get("text") for part in value if isinstance(part, dict)]
        strings = [text for text in texts if isinstance(text, str)]
        if strings and len(strings) == len(value):
            return "\n".join(strings)
    return None


def _chat(body: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, "no messages list (not a chat request)"
    out = []
    for message in messages:
        if not isinstance(message, dict):
            return None, "a message is not an object"
        role = message.get("role")
        if role not in ROLES:
            return None, "a message has a tool or unknown role (not supported)"
        if message.get("tool_calls") or message.get("function_call"):
            return None, "a message has tool calls (not supported)"
        text = _content(message.get("content"))
        if text is None:
            return None, "a message's content is not text (images, audio: not supported)"
        out.append({"role": role, "content": text})
    return {"messages": out}, None


def _text(body: Mapping[str, Any], key: str) -> tuple[dict[str, Any] | None, str | None]:
    value = body.get(key)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        if "messages" in body:
            return None, f"a chat request (messages), but the target takes {key!r}"
        return None, f"no {key!r} string"
    return {"messages": [{"role": "user", "content": value}]}, None


def _rows(
    body: Mapping[str, Any], columns: Sequence[str]
) -> tuple[dict[str, Any] | None, str | None]:
    if not columns:
        return None, "the target declares no inputs.features"
    found = _table(body, columns)
    if found is None:
        return None, "no table rows (dataframe_split, dataframe_records, instances, inputs)"
    rows = []
    for values in found:
        if isinstance(values, dict):
            missing = [column for column in columns if column not in values]
            if missing:
                return None, f"a row has no column {missing[0]!r}"
            rows.append({column: values[column] for column in columns})
        elif isinstance(values, list) and len(values) == len(columns):
            rows.append(dict(zip(columns, values, strict=True)))
        else:
            return None, f"a row does not have the {len(columns)} declared features"
    if not rows:
        return None, "no rows"
    return {"rows": rows}, None


def _table(body: Mapping[str, Any], columns: Sequence[str]) -> list[Any] | None:
    """The rows of a tabular body, as dicts or lists in column order; None if none found."""
    split = body.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        names = split.get("columns")
        data = split["data"]
        if isinstance(names, list):
            return [dict(zip(names, row, strict=False)) for row in data if isinstance(row, list)]
        return list(data)
    for key in ("dataframe_records", "instances"):
        if isinstance(body.get(key), list):
            return list(body[key])
    inputs = body.get("inputs")
    if isinstance(inputs, dict):  # MLflow: {column: [values]}
        lists = [inputs.get(column) for column in columns]
        if all(isinstance(values, list) for values in lists):
            table = zip(*lists, strict=False)
            return [dict(zip(columns, values, strict=False)) for values in table]
        return None
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        tensor = inputs[0]  # Open Inference Protocol: one [rows, columns] tensor, row-major
        shape, data = tensor.get("shape"), tensor.get("data")
        if isinstance(shape, list) and len(shape) == 2 and isinstance(data, list):
            width = shape[1]
            if isinstance(width, int) and width > 0:
                flat = _flatten(data)
                return [flat[i : i + width] for i in range(0, len(flat), width)]
        return None
    if isinstance(inputs, list):
        return list(inputs)
    return None


def _flatten(data: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in data:
        if isinstance(value, list):
            out.extend(_flatten(value))
        else:
            out.append(value)
    return out
