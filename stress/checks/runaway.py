"""Runaway generation: more output than the request allowed, or far more time than it explains.

=====================  ========================================================  ========
check                  fires on                                                  default
=====================  ========================================================  ========
runaway_generation     more output tokens than the request's max_tokens (or      error
                       max_completion_tokens) x n allows; an answer slower than
                       answers.runaway.max_ms_per_token per output token (off
                       unless set)
=====================  ========================================================  ========

The limit is the one the request itself carried (numbers.* families send other values than
``target.max_tokens``), read from the body that went on the wire; a request without one is
not judged (the server's own default applies). The tokens are the answer's
``usage.completion_tokens``, else the ones stress counted (stream chunks that carried output,
or words and punctuation of the text): counted tokens are judged against twice the limit,
since a word count can run past a tokenizer's count on punctuation. ``answers.runaway.
token_slack`` (1) tolerates a server that counts its stop token.

A generation that runs on past its limit and is cut before it is sent shows only in time;
the run-wide, learned bound on that is the group check ``slow_generation``
(stress/checks/growth.py); here only a fixed bound per token, when the scenario sets one.
Standard library only: exported reproducers carry it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from stress.checks.exchange import ERROR, Exchange, Finding

GENERATING = ("openai-chat", "openai-completions")
LIMIT_KEYS = ("max_tokens", "max_completion_tokens")
# Counted tokens (no usage in the answer) are judged against this multiple of the limit.
COUNTED_MARGIN = 2


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def requested_limit(body: bytes) -> tuple[int, int] | None:
    """(max tokens per choice, n) the request body asked for; None without a usable limit."""
    if not any(key.encode() in body for key in LIMIT_KEYS):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, Mapping):
        return None
    limits = [c for key in LIMIT_KEYS if (c := _count(document.get(key))) is not None]
    if not limits:
        return None
    return min(limits), _count(document.get("n")) or 1


def runaway_generation(exchange: Exchange) -> Finding | None:
    """More output tokens than the request's max_tokens; far slower than its tokens explain."""
    settings = exchange.settings
    request = exchange.request
    outcome = exchange.outcome
    tokens = outcome.output_tokens
    if (
        request is None
        or settings.protocol not in GENERATING
        or not exchange.parsed
        or tokens is None
    ):
        return None
    limit = requested_limit(request.body) if tokens > settings.runaway_token_slack else None
    if limit is not None:
        per_choice, n = limit
        allowed = per_choice * n
        counted = bool(outcome.tokens_estimated)
        bound = allowed * (COUNTED_MARGIN if counted else 1) + settings.runaway_token_slack
        if tokens > bound:
            source = "counted by stress" if counted else "usage.completion_tokens"
            asked = f"max_tokens {per_choice}" + (f" x n {n}" if n > 1 else "")
            return Finding(
                "runaway_generation",
                f"{tokens} output tokens ({source}) although the request asked for {asked}",
                ERROR,
                expected=f"at most {allowed} output tokens",
                got=f"{tokens} tokens ({source})",
            )
    per_token = settings.runaway_ms_per_token
    if per_token is None:
        return None
    bound_ms = max(settings.runaway_min_ms, per_token * max(tokens, 1))
    if exchange.latency_ms <= bound_ms:
        return None
    return Finding(
        "runaway_generation",
        f"{exchange.latency_ms:.0f} ms for {tokens} output tokens: over "
        f"answers.runaway.max_ms_per_token ({per_token:g} ms a token)",
        ERROR,
        expected=f"at most {bound_ms:.0f} ms for {tokens} tokens",
        got=f"{exchange.latency_ms:.0f} ms",
    )


CHECKS: dict[str, Callable[[Exchange], Finding | None]] = {
    "runaway_generation": runaway_generation,
}

DEFAULT_SEVERITY = {"runaway_generation": ERROR}
