"""Replaying findings judged after the load (failures.jsonl lines with ``post_load``).

slow_generation and cost_growth are judged from many records, not from one exchange; their
lines carry what replay re-judges them by (stress.checks.growth.failure_lines):

- ``slow_generation`` (one slow answer): the input is re-sent and its answer judged against
  the run's pace: slow again when it took more than ``slow_factor`` x its output tokens now x
  the pace the run learned (ms a token) and more than ``slow_min_ms`` beyond that. An answer
  without output tokens is not re-judged (its per-request findings stand).
- ``cost_growth`` (a fit over many answers): replay cannot refit it from a few requests. It
  re-sends the smallest and largest inputs the fit was made over (each GROWTH_SENDS times,
  its least latency kept) and reports their latencies now; with both replayed together, the
  exponent between those two points, log((t_large - base) / (t_small - base)) /
  log(size_large / size_small) with the fit's fixed overhead ``base``, is judged against
  ``max_exponent`` (one pair, no confidence bound: a hint for a developer, not the run's
  verdict). A single one (``--id``) is reported, not judged.

health_under_load (a readiness probe against the requests in flight at that moment) is not
written as a line: no exchange of it can be re-sent alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from stress.checks.exchange import Finding
from stress.checks.growth import COST_GROWTH, SLOW_GENERATION
from stress.repro.sender import Observation


def post_load(case: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a post-load line says replay re-judges it by; None for a per-request case."""
    post = case.get("post_load")
    return post if isinstance(post, Mapping) else None


# A cost_growth end is sent this many times; its least latency is the one judged (a single
# request's time holds the noise of the moment: a connection, a scheduler's delay).
GROWTH_SENDS = 3


def sends(case: Mapping[str, Any]) -> int:
    """How many times replay sends ``case`` (its least latency judged)."""
    post = post_load(case)
    return GROWTH_SENDS if post is not None and post.get("check") == COST_GROWTH else 1


def _severity(case: Mapping[str, Any], check: str) -> str:
    for finding in case.get("findings") or []:
        if isinstance(finding, Mapping) and finding.get("check") == check:
            return str(finding.get("severity") or "error")
    return "error"


def rejudge(case: Mapping[str, Any], observation: Observation) -> Observation:
    """``observation`` with slow_generation's finding added when the answer is slow again."""
    post = post_load(case)
    if post is None or post.get("check") != SLOW_GENERATION:
        return observation
    tokens = observation.output_tokens
    if not tokens or observation.error_kind is not None:
        return observation
    expected = float(post["pace_ms_per_token"]) * tokens
    took = observation.latency_ms
    if took <= float(post["slow_factor"]) * expected or took - expected <= float(
        post["slow_min_ms"]
    ):
        return observation
    finding = Finding(
        SLOW_GENERATION,
        f"{took:.0f} ms for {tokens} output tokens: over {float(post['slow_factor']):g} x the "
        f"{expected:.0f} ms the run's pace explains ({float(post['pace_ms_per_token']):.1f} ms "
        f"a token)",
        _severity(case, SLOW_GENERATION),
        expected=f"at most {expected:.0f} ms",
        got=f"{took:.0f} ms",
    )
    return replace(observation, findings=(*observation.findings, finding))


def judge_growth(cases: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]]) -> None:
    """cost_growth rows (``rows[i]`` replays ``cases[i]``), judged in place by pairs: each
    family's smallest and largest input replayed together (module doc)."""
    pairs: dict[str, dict[str, int]] = {}
    for index, case in enumerate(cases):
        post = post_load(case)
        if post is not None and post.get("check") == COST_GROWTH:
            pairs.setdefault(str(post["family"]), {})[str(post["role"])] = index
    for ends in pairs.values():
        small, large = ends.get("smallest"), ends.get("largest")
        for index in ends.values():
            post = post_load(cases[index]) or {}
            rows[index]["now"] = (
                f"{rows[index]['latency_ms']:.0f} ms now (the run: {float(post['time_ms']):.0f} "
                f"ms) for {float(post['size']):g} {post['measure']}"
            )
            rows[index]["still_fails"] = False
        if small is None or large is None:
            for index in ends.values():
                rows[index]["now"] += (
                    "; cost_growth is a fit over many answers: replay judges it from the "
                    "smallest and largest input replayed together"
                )
            continue
        low, high = post_load(cases[small]) or {}, post_load(cases[large]) or {}
        # The fit's fixed overhead (its smallest inputs' latency) is taken off, as the fit did.
        base = float(high.get("base_ms") or 0.0)
        sizes = float(high["size"]) / float(low["size"])
        times = (rows[large]["latency_ms"] - base) / max(rows[small]["latency_ms"] - base, 1e-3)
        if sizes <= 1 or times <= 0:
            continue
        exponent = math.log(times) / math.log(sizes)
        bound = float(high["max_exponent"])
        verdict = f"; two-point exponent {exponent:.2f} (over {bound:g}: fails)"
        if exponent <= bound:
            verdict = f"; two-point exponent {exponent:.2f} (at most {bound:g}: passes)"
        for index in (small, large):
            rows[index]["now"] += verdict
            rows[index]["still_fails"] = exponent > bound
            rows[index]["exponent_now"] = round(exponent, 3)
