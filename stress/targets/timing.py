"""Per-request LLM serving metrics, computed once here from times the engine took.

docs/metrics.md defines each metric and says which tool's definition it matches; this is the
only code that computes them, so the records, the report and the docs cannot drift apart:

    ttft_ms              first event with output - request sent       (vLLM, GuideLLM, GenAI-Perf)
    itl_ms               (last output event - first) / (tokens - 1)   (GuideLLM, GenAI-Perf)
    tpot_ms              (latency - ttft) / (tokens - 1)              (vLLM; excludes token 1)
    max_token_gap_ms     longest wait between two events with output
    output_tokens_per_s  output tokens / latency                      (llmperf, per request)

All times are ``time.perf_counter()`` seconds; results are milliseconds (or tokens per
second), None where a metric does not exist (no output, one token, no stream).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True)  # not frozen: built per request (a frozen one costs more)
class TokenTiming:
    ttft_ms: float | None = None
    itl_ms: float | None = None
    tpot_ms: float | None = None
    max_token_gap_ms: float | None = None
    output_tokens_per_s: float | None = None


def token_timing(
    *,
    started: float,
    finished: float,
    token_times: Sequence[float],
    output_tokens: int | None,
) -> TokenTiming:
    """The metrics of one request sent at ``started`` whose answer ended at ``finished``.

    ``token_times`` are the arrival times of the stream events that carried output (empty for
    an answer that did not stream); ``output_tokens`` is the usage count or the estimate.
    """
    latency = finished - started
    per_second = None
    if output_tokens and latency > 0:
        per_second = output_tokens / latency
    if not token_times:
        return TokenTiming(output_tokens_per_s=per_second)
    first, last = token_times[0], token_times[-1]
    ttft = (first - started) * 1000
    itl = tpot = None
    if output_tokens is not None and output_tokens >= 2:
        itl = (last - first) * 1000 / (output_tokens - 1)
        tpot = (latency * 1000 - ttft) / (output_tokens - 1)
    gap = None
    if len(token_times) >= 2:
        gap = max(b - a for a, b in itertools.pairwise(token_times)) * 1000
    return TokenTiming(
        ttft_ms=ttft,
        itl_ms=itl,
        tpot_ms=tpot,
        max_token_gap_ms=gap,
        output_tokens_per_s=per_second,
    )
