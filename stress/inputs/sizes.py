"""Sizes: empty, whitespace-only, exactly at and just over the declared limits, very long,
huge batches, deep nesting and long arrays.

Limits come from ``inputs.limits`` (max_prompt_chars, max_rows, max_tokens); "at" a limit is
valid and must be answered, "over" it must be refused cleanly and fast.
"""

from __future__ import annotations

from typing import Any

from stress.inputs import fastrandom
from stress.inputs.family import ALL_PROTOCOLS, CHAT, TABULAR, Context, Draw, Expect, Family, Kind
from stress.inputs.realistic import prompt_payload, row, rows, user, valid, within_limit
from stress.inputs.vocab import long_text, vocabulary

WHITESPACE = (" ", "\t", "\n", "\r\n", "\u3000", "\u00a0")


def _text_of_size(draw: Draw, size: int) -> dict[str, Any]:
    payload, _ = prompt_payload(draw)
    head = payload["messages"][-1]["content"][: max(0, size // 2)]
    filler = long_text(draw.random, payload["locale"], max(0, size - len(head) - 1))
    content = f"{head} {filler}"[:size] if size else ""
    payload["messages"][-1]["content"] = content
    return payload


def _empty_prompt(draw: Draw) -> dict[str, Any]:
    content = draw.random.choice(("", " ", "\n", "\t \n  "))
    return {"messages": [user(content)]}


def _whitespace_only(draw: Draw) -> dict[str, Any]:
    size = draw.random.randint(1, min(5_000, draw.context.limits.max_prompt_chars))
    text = fastrandom.text(draw.random, WHITESPACE, size)
    return {"messages": [user(within_limit(draw, text))]}


def _single_char(draw: Draw) -> dict[str, Any]:
    return {"messages": [user(draw.random.choice("a?.1!ßé中😀 "))]}


def _empty_list(draw: Draw) -> dict[str, Any]:
    return {"rows": []} if draw.context.tabular else {"messages": []}


def _at_limit(draw: Draw) -> dict[str, Any]:
    limits = draw.context.limits
    if draw.context.tabular:
        return rows(draw, limits.max_rows)
    return _text_of_size(draw, limits.max_prompt_chars)


def _over_limit(draw: Draw) -> dict[str, Any]:
    limits = draw.context.limits
    over = draw.random.choice((1, 1, 2, 100))
    if draw.context.tabular:
        return rows(draw, limits.max_rows + over)
    return _text_of_size(draw, limits.max_prompt_chars + over)


def _long_prompt(draw: Draw) -> dict[str, Any]:
    limit = draw.context.limits.max_prompt_chars
    return _text_of_size(draw, draw.random.randint(limit // 4, limit))


def _very_long(draw: Draw) -> dict[str, Any]:
    floor = max(100_000, draw.context.limits.max_prompt_chars + 1)
    return _text_of_size(draw, draw.random.randint(floor, floor * 3 // 2))


def _huge_batch(draw: Draw) -> dict[str, Any]:
    limit = draw.context.limits.max_rows
    size = draw.random.randint(10 * limit, 20 * limit)
    # Rows repeat a few templates: a huge batch costs the server, not the generator.
    templates = [row(draw) for _ in range(8)]
    return {"rows": [templates[i % 8] for i in range(size)]}


def _whitespace_padding(draw: Draw) -> dict[str, Any]:
    payload, _ = prompt_payload(draw)
    rng = draw.random
    budget = max(0, draw.context.limits.max_prompt_chars - len(payload["messages"][-1]["content"]))
    pad = min(budget // 2, rng.randint(1_000, 10_000))
    left = fastrandom.text(rng, WHITESPACE, pad // 2)
    right = fastrandom.text(rng, WHITESPACE, pad - pad // 2)
    payload["messages"][-1]["content"] = left + payload["messages"][-1]["content"] + right
    return payload


def _long_conversation(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    words = vocabulary("en_US")
    turns = rng.randint(100, max(101, min(1_000, draw.context.limits.max_prompt_chars // 120)))
    messages = []
    for index in range(turns):
        role = "user" if index % 2 == 0 else "assistant"
        messages.append({"role": role, "content": words.sentence(rng)})
    if messages[-1]["role"] != "user":
        messages.append(user(words.sentence(rng)))
    return {"messages": messages}


def _deep_nesting(draw: Draw) -> dict[str, Any]:
    return {
        "mangle": "deep_nesting",
        "mangle_seed": draw.random.randrange(1 << 30),
        "base": valid(draw),
    }


def _long_array(draw: Draw) -> dict[str, Any]:
    rng = draw.random
    size = rng.randint(10_000, 50_000)
    if draw.context.tabular:
        path: list[str | int] = ["dataframe_split", "data", rng.randrange(1 << 16)]
        change = {"field": "dataframe_split.data[*]", "path": path, "value": [1.5] * size}
    else:
        change = {"field": "stop", "path": ["stop"], "value": ["x"] * size}
    return {"op": "set", **change, "base": valid(draw)}


def _long_array_fits(context: Context) -> str | None:
    """The array it lengthens: MLflow's dataframe_split rows or OpenAI's stop list."""
    if context.protocol == "mlflow" and context.body_format in (None, "dataframe_split"):
        return None
    if context.protocol in ("openai-chat", "openai-completions"):
        return None
    return "it lengthens MLflow's dataframe_split rows or OpenAI's stop list, not in this body"


def families() -> list[Family]:
    accept, reject, either = Expect.ACCEPT, Expect.REJECT, Expect.ACCEPT_OR_REFUSE
    return [
        Family(
            "size.empty_prompt",
            "an empty or whitespace-only user message",
            either,
            Kind.PROMPT,
            CHAT,
            _empty_prompt,
            "the model gets nothing to condition on: answer or refuse cleanly, never crash",
        ),
        Family(
            "size.whitespace_only",
            "a user message of 1-5,000 spaces, tabs, newlines and ideographic spaces",
            either,
            Kind.PROMPT,
            CHAT,
            _whitespace_only,
            "strip() makes it empty after length checks passed: answer or refuse cleanly",
        ),
        Family(
            "size.single_char",
            "a one-character message (letter, digit, punctuation, CJK or emoji)",
            accept,
            Kind.PROMPT,
            CHAT,
            _single_char,
            "the smallest valid input: tokenizers and templates must cope",
        ),
        Family(
            "size.empty_list",
            "no messages at all (chat) or a batch of zero rows (tabular)",
            reject,
            Kind.PROMPT,
            # Completions and embeddings send one prompt string: no list to leave empty (an
            # empty string there is size.empty_prompt).
            ("openai-chat", *TABULAR),
            _empty_list,
            "code that takes messages[-1] or rows[0] raises IndexError",
        ),
        Family(
            "size.at_limit",
            "a prompt of exactly limits.max_prompt_chars, or exactly limits.max_rows rows",
            accept,
            Kind.PROMPT,
            ALL_PROTOCOLS,
            _at_limit,
            "the limit itself is valid: off-by-one checks refuse it",
        ),
        Family(
            "size.over_limit",
            "1-100 characters (or rows) over the declared limit",
            either,
            Kind.PROMPT,
            ALL_PROTOCOLS,
            _over_limit,
            "the server's real limit may be higher: answer or refuse cleanly (a 4xx naming "
            "the limit), never crash",
        ),
        Family(
            "size.long_prompt",
            "a long prompt, 25-100% of limits.max_prompt_chars",
            accept,
            Kind.PROMPT,
            CHAT,
            _long_prompt,
            "long but legal prompts hold a slot longest: latency and memory under load",
        ),
        Family(
            "size.very_long",
            "a prompt of 100,000+ characters (and over limits.max_prompt_chars)",
            either,
            Kind.PROMPT,
            CHAT,
            _very_long,
            "long-context models take it: answer or refuse cleanly (400/413), never crash "
            "the worker",
        ),
        Family(
            "size.huge_batch",
            "a batch of 10-20 times limits.max_rows rows",
            either,
            Kind.ROWS,
            TABULAR,
            _huge_batch,
            "a client bug that sends a whole table: answer or refuse cleanly, do not run out "
            "of memory",
        ),
        Family(
            "size.whitespace_padding",
            "a realistic prompt padded with 1,000-10,000 whitespace characters both sides",
            accept,
            Kind.PROMPT,
            CHAT,
            _whitespace_padding,
            "copy-paste padding wastes tokens; the answer must not change",
        ),
        Family(
            "size.long_conversation",
            "a conversation of 100-1,000 short turns",
            accept,
            Kind.PROMPT,
            ("openai-chat", "http-json"),  # one prompt string elsewhere: no turns
            _long_conversation,
            "a long messages array: per-message overhead and history truncation",
        ),
        Family(
            "size.deep_nesting",
            "a valid body with an extra value nested 1,000-100,000 arrays deep",
            reject,
            Kind.RAW,
            ALL_PROTOCOLS,
            _deep_nesting,
            "recursive JSON parsers overflow the stack (RecursionError, segfault)",
        ),
        Family(
            "size.long_array",
            "a 10,000-50,000 element array where a few items belong (stop list, a row)",
            reject,
            Kind.RAW,
            ALL_PROTOCOLS,
            _long_array,
            "unbounded arrays cost memory and time in validation and the model",
            fits=_long_array_fits,
        ),
    ]
