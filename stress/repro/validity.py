"""What is wrong with a request body for its protocol, as a set of named violations.

The shrinker keeps a candidate only when it has exactly the violations of the original: a
valid input stays valid (dropping ``messages`` would make a different, uninteresting bug),
and a malformed one stays malformed in the way its family made it (Schemathesis users saw
"accepted invalid input" reports after shrinking removed the only invalid part). Examples:

    body                                        violations
    {"messages": [{"role": "user", ...}]}       {}
    {"model": "m"}                              {"missing:messages"}
    {"messages": [...], "max_tokens": "x"}      {"type:max_tokens"}
    {"messages": [...], ... (cut short)         {"not_json"}
    b'{"messages": \\xff ...'                   {"not_utf8"}

Protocols without a structural validator here get the encoding and JSON checks only.
"""

from __future__ import annotations

import json
from typing import Any

# Roles an OpenAI-compatible chat server accepts; anything else is refused with a 400.
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def violations(protocol: str, body: bytes) -> frozenset[str]:
    """The named violations of ``body`` as a request of ``protocol`` (empty: valid)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return frozenset({"not_utf8"})
    found: set[str] = set()

    def constant(token: str) -> float:
        found.add("non_finite_number")
        return float(token.replace("Infinity", "inf"))

    try:
        document = json.loads(text, parse_constant=constant)
    except json.JSONDecodeError:
        return frozenset({"not_json"})
    except RecursionError:
        return frozenset({"too_deep"})
    if protocol == "openai-chat":
        found |= _chat(document)
    elif protocol == "mlflow":
        found |= _mlflow(document)
    return frozenset(found)


def has_validator(protocol: str) -> bool:
    return protocol in ("openai-chat", "mlflow")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _chat(document: Any) -> set[str]:
    if not isinstance(document, dict):
        return {"not_an_object"}
    found: set[str] = set()
    if "model" in document and not isinstance(document["model"], str):
        found.add("type:model")
    if "max_tokens" in document and not _is_int(document["max_tokens"]):
        found.add("type:max_tokens")
    if "stream" in document and not isinstance(document["stream"], bool):
        found.add("type:stream")
    if "messages" not in document:
        return found | {"missing:messages"}
    messages = document["messages"]
    if not isinstance(messages, list):
        return found | {"type:messages"}
    if not messages:
        found.add("empty:messages")
    for message in messages:
        if not isinstance(message, dict):
            found.add("type:messages[]")
            continue
        role = message.get("role")
        if "role" not in message:
            found.add("missing:messages[].role")
        elif not isinstance(role, str):
            found.add("type:messages[].role")
        elif role not in CHAT_ROLES:
            found.add("value:messages[].role")
        content = message.get("content")
        if "content" not in message:
            if not (role == "assistant" and "tool_calls" in message):
                found.add("missing:messages[].content")
        elif not isinstance(content, str | list) and not (content is None and role == "assistant"):
            found.add("type:messages[].content")
    return found


def _mlflow(document: Any) -> set[str]:
    if not isinstance(document, dict):
        return {"not_an_object"}
    if "dataframe_split" not in document:
        return {"missing:dataframe_split"}
    split = document["dataframe_split"]
    if not isinstance(split, dict):
        return {"type:dataframe_split"}
    found: set[str] = set()
    columns = split.get("columns")
    data = split.get("data")
    for name, value in (("columns", columns), ("data", data)):
        if name not in split:
            found.add(f"missing:dataframe_split.{name}")
        elif not isinstance(value, list):
            found.add(f"type:dataframe_split.{name}")
    if isinstance(columns, list) and not all(isinstance(c, str) for c in columns):
        found.add("type:dataframe_split.columns[]")
    if isinstance(data, list):
        for row in data:
            if not isinstance(row, list):
                found.add("type:dataframe_split.data[]")
                continue
            if isinstance(columns, list) and len(row) != len(columns):
                found.add("shape:dataframe_split.data[]")
            if not all(_is_number(value) or value is None for value in row):
                found.add("type:dataframe_split.data[][]")
    return found
