"""Short, terminal-safe excerpts of inputs: for `stress families`, `stress generate` and docs."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from stress.inputs.corpus import Input, generate
from stress.inputs.family import TABULAR, Cache, Context, Family

# Columns used to show tabular families when no scenario declares any.
SAMPLE_FEATURES = {"sepal_length": (4.3, 7.9), "sepal_width": (2.0, 4.4)}
# A logged request, to show the families that start from a log (inputs.from_log).
SAMPLE_LOG = (
    {
        "payload": {"messages": [{"role": "user", "content": "Where is my order A58213?"}]},
        "line": 1,
        "names": [],
    },
)
# The task shown for families that vary a task's labelled texts (inputs.task).
SAMPLE_TASK = "classify-sentiment"
# Characters a terminal would act on or hide: shown as escapes instead.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def visible(text: str, *, max_size: int = 60) -> str:
    """``text`` with invisible and control characters escaped, cut to ``max_size``."""
    out = []
    size = 0
    for char in text:
        shown = char
        if unicodedata.category(char) in _HIDDEN:
            code = ord(char)
            shown = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
            if code > 0xFFFF:
                shown = f"\\U{code:08x}"
        out.append(shown)
        size += len(shown)
        if size >= max_size:
            return "".join(out)[:max_size] + "…"
    return "".join(out)


def excerpt(item: Input, *, max_size: int = 60) -> str:
    """What is special about an input, in a few dozen characters."""
    payload: dict[str, Any] = item.payload
    if "content_type" in payload:
        return visible(f"Content-Type: {payload['content_type']}", max_size=max_size)
    if "field" in payload:
        value = payload.get("token", json.dumps(payload.get("value"), ensure_ascii=False))
        action = "removed" if payload.get("op") == "delete" else f"= {value}"
        return visible(f"{payload['field']} {action}", max_size=max_size)
    if "mangle" in payload:
        return visible(f"body bytes: {payload['mangle']}", max_size=max_size)
    if "body" in payload:
        return (
            visible(f"body: {payload['body']!s}", max_size=max_size)
            if payload["body"]
            else "body: (empty)"
        )
    if "body_b64" in payload:
        return "body: (binary)"
    if payload.get("op") == "merge":
        added = json.dumps(payload.get("value"), ensure_ascii=False)
        return visible(f"valid body + {added}", max_size=max_size)
    if "op" in payload:
        return visible(f"{payload['op']} {payload.get('path')}", max_size=max_size)
    if "rows" in payload:
        rows = payload["rows"]
        first = json.dumps(rows[0], allow_nan=True) if rows else "[]"
        return visible(f"{len(rows):,} row{'s' * (len(rows) != 1)}: {first}", max_size=max_size)
    messages = payload.get("messages") or []
    if not messages:
        return "messages: []"
    content = str(messages[-1].get("content", ""))
    size = f"{len(content):,} chars: " if len(content) > max_size else ""
    if len(messages) > 4:
        size = f"{len(messages):,} messages, last: {size}"
    canary = payload.get("canary")
    if canary and len(content) > max_size:
        # Show the probe, not the benign text it hides behind.
        end = content.find(canary)
        end = len(content) if end < 0 else end + len(canary)
        return size + "…" + visible(content[max(0, end - max_size) : end], max_size=max_size)
    return size + visible(content, max_size=max_size)


def sample(family: Family, *, seed: int = 0, index: int = 0) -> Input:
    """An example input of ``family`` for its first protocol, with sample features."""
    protocol = family.protocols[0]
    features = SAMPLE_FEATURES if protocol in TABULAR else {}
    context = Context(protocol=protocol, seed=seed, features=features)
    if family.misfit(context) and not family.misfit(Context(protocol, logged=SAMPLE_LOG)):
        context = Context(protocol=protocol, seed=seed, features=features, logged=SAMPLE_LOG)
    if family.misfit(context) and not family.misfit(Context(protocol, task=SAMPLE_TASK)):
        context = Context(protocol=protocol, seed=seed, features=features, task=SAMPLE_TASK)
    return generate(family, context, index, cache=Cache())


def catalog_markdown(families: Iterable[Family]) -> str:
    """The generated part of docs/catalog.md: one table per group."""
    by_group: dict[str, list[Family]] = {}
    for family in families:
        by_group.setdefault(family.group, []).append(family)
    lines: list[str] = []
    for group, members in by_group.items():
        lines += [
            f"### {group} ({len(members)})",
            "",
            "| family | expect | protocols | what it sends | why it matters | example |",
            "|---|---|---|---|---|---|",
        ]
        for family in members:
            example = excerpt(sample(family), max_size=48).replace("|", "\\|").replace("`", "'")
            cells = (
                f"`{family.name}`",
                family.expect.value,
                ", ".join(family.protocols),
                family.description.replace("|", "\\|"),
                family.why.replace("|", "\\|"),
                f"`{example}`",
            )
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
