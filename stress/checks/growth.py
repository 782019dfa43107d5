"""Cost over input size, judged from the records after the load: cost_growth, slow_generation.

``cost_growth`` fits latency against input size on a log-log scale, per family and over every
answered valid input (``(all)``): ``log(latency) = a + b log(size)``, ordinary least squares,
so ``b`` is the exponent (1: linear; 2: quadratic). Size is the prompt tokens the server
reported when every answer in the fit reported them, else the request body's bytes; the
time is ``service_ms`` (the target's own time, without an open loop's wait for a free slot)
where recorded, else ``latency_ms``. Small inputs cost a fixed overhead that flattens the
curve, so the fit uses the largest inputs, those within 8 times the largest ("top"), when
they alone are ``growth.min_points`` answers spanning ``growth.min_span``; else the upper
half of the size range on a log scale ("upper half") on the same terms; else all ("whole").
When the inputs fitted are at least 8 times larger than the smallest tenth, that tenth's
median latency (the fixed overhead) is taken off first: ``latency - base = c size ** b``.
A fit is a finding when its exponent is over ``growth.max_exponent`` (1.5) and its lower
95% bound (exponent - 1.96 standard errors) is over 1: clearly superlinear, not noise.

``slow_generation`` learns the pace of generation from the run itself: for every answer with
output tokens, its time per token; an answer is slow when it took more than
``growth.slow_factor`` x its tokens x the median time per token of its phase and users
level (or of its input-size class there, when that is slower: long prompts cost prefill; an
input more than 4x larger than its level's usual ones and without 3 of its size to learn
from is not judged),
and more than ``growth.slow_min_ms`` beyond that. It catches a generation that ran on past
its limit and was cut before it was sent (the answer is short, the wait is not).

Both read only the run directory (``evaluate(run_dir, scenario)``), so ``stress report``
rebuilds them; summary.json's ``cost_growth`` section holds the fits (docs/checks.md).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.exchange import SECRET_HEADERS
from stress.inputs.corpus import Input
from stress.rundir.read import load_records
from stress.scenario import Scenario
from stress.secrets import REDACTED

COST_GROWTH = "cost_growth"
SLOW_GENERATION = "slow_generation"
COLUMNS = (
    "input_id",
    "family",
    "expect",
    "phase",
    "users",
    "seq",
    "status",
    "error_kind",
    "latency_ms",
    "service_ms",
    "request_bytes",
    "prompt_tokens",
    "output_tokens",
)
ALL = "(all)"
# Two-sided 95% normal quantile: the exponent's bound.
Z95 = 1.96
# The fixed overhead is the median latency of the smallest tenth of the inputs; it is taken
# off only when the fitted inputs are at least OVERHEAD_GAP times larger than those (else
# part of what it takes off would be the growth itself).
BASE_QUANTILE = 0.1
# The fit is made where size drives latency: over the largest inputs, those within this
# factor of the largest, when they are enough (else the upper half, else all).
TOP_SPAN = 8
OVERHEAD_GAP = 8
# slow_generation: a phase and users level needs this many answers to learn a pace from,
# an input-size class (powers of two of the request bytes) this many to refine it.
MIN_PACE_ANSWERS = 10
MIN_CLASS_ANSWERS = 3
# Slow answers listed in summary.json (all are counted).
MAX_LISTED = 20
GENERATING = ("openai-chat", "openai-completions", "http-json")


@dataclass(frozen=True)
class Fit:
    """One log-log fit: ``exponent`` (slope) with its standard error and 95% bounds."""

    family: str
    measure: str  # "tokens" or "bytes"
    points: int
    smallest: float
    largest: float
    range: str  # "top", "upper half" or "whole"
    base_ms: float  # the fixed overhead taken off before the fit (0: none)
    exponent: float
    stderr: float
    low: float
    high: float
    superlinear: bool


@dataclass(frozen=True)
class Slow:
    input_id: str
    family: str
    phase: str
    seq: int
    time_ms: float
    tokens: int
    expected_ms: float


@dataclass
class Result:
    judged: bool
    note: str
    fits: list[Fit] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    slow_judged: bool = False
    slow_note: str = ""
    answers: int = 0
    slow: list[Slow] = field(default_factory=list)

    @property
    def superlinear(self) -> list[Fit]:
        return [fit for fit in self.fits if fit.superlinear]

    def to_json(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "note": self.note,
            "fits": [asdict(fit) for fit in self.fits],
            "skipped": self.skipped,
            "slow_generation": {
                "judged": self.slow_judged,
                "note": self.slow_note,
                "answers": self.answers,
                "slow": len(self.slow),
                "examples": [asdict(slow) for slow in self.slow[:MAX_LISTED]],
            },
        }


def fit_exponent(
    sizes: Sequence[float] | np.ndarray, times: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """(slope, standard error) of log(times) on log(sizes) by least squares; the standard
    error is inf with fewer than three points or no spread in size."""
    x = np.log(np.asarray(sizes, dtype=float))
    y = np.log(np.asarray(times, dtype=float))
    n = len(x)
    sxx = float(np.sum((x - x.mean()) ** 2)) if n else 0.0
    if n < 3 or sxx <= 0:
        return math.nan, math.inf
    slope = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    residuals = y - (y.mean() + slope * (x - x.mean()))
    variance = float(np.sum(residuals**2)) / (n - 2)
    return slope, math.sqrt(variance / sxx)


def fit_family(
    family: str,
    sizes: np.ndarray,
    times: np.ndarray,
    measure: str,
    scenario: Scenario,
) -> Fit | str:
    """The family's fit, or why it was not fitted (see the module doc)."""
    settings = scenario.growth
    if len(sizes) < settings.min_points:
        return f"{len(sizes)} answered inputs, {settings.min_points} needed"
    smallest, largest = float(sizes.min()), float(sizes.max())
    if largest < smallest * settings.min_span:
        return f"sizes span {largest / smallest:.3g}x, {settings.min_span:g}x needed"
    chosen, used = "whole", np.ones(len(sizes), dtype=bool)
    for name, cut in (("top", largest / TOP_SPAN), ("upper half", math.sqrt(smallest * largest))):
        kept = sizes >= cut
        if kept.sum() >= settings.min_points and largest >= sizes[kept].min() * settings.min_span:
            chosen, used = name, kept
            break
    fitted_times = times[used]
    base = 0.0
    small = sizes <= np.quantile(sizes, BASE_QUANTILE)
    if chosen != "whole" and sizes[used].min() >= OVERHEAD_GAP * sizes[small].max():
        # The smallest inputs' latency is the fixed overhead: what grows is the rest.
        base = float(np.median(times[small]))
        fitted_times = fitted_times - base
    kept = fitted_times > 0
    slope, stderr = fit_exponent(sizes[used][kept], fitted_times[kept])
    if math.isnan(slope):
        return "no spread in size"
    low, high = slope - Z95 * stderr, slope + Z95 * stderr
    return Fit(
        family=family,
        measure=measure,
        points=int(kept.sum()),
        smallest=float(sizes[used].min()),
        largest=float(sizes[used].max()),
        range=chosen,
        base_ms=round(base, 3),
        exponent=round(slope, 4),
        stderr=round(stderr, 4),
        low=round(low, 4),
        high=round(high, 4),
        superlinear=slope > settings.max_exponent and low > 1.0,
    )


def _answered(records: pd.DataFrame) -> pd.DataFrame:
    ok = records["status"].between(200, 299) & records["error_kind"].isna()
    answered = records[ok & (records["expect"] != "reject")].copy()
    service = answered.get("service_ms")
    latency = answered["latency_ms"]
    answered["time_ms"] = service.fillna(latency) if service is not None else latency
    return answered[answered["time_ms"] > 0]


def growth_fits(answered: pd.DataFrame, scenario: Scenario) -> tuple[list[Fit], dict[str, str]]:
    fits: list[Fit] = []
    skipped: dict[str, str] = {}
    groups = [(ALL, answered), *sorted(answered.groupby("family"), key=lambda g: str(g[0]))]
    for family, rows in groups:
        tokens = pd.to_numeric(rows["prompt_tokens"], errors="coerce")
        if len(rows) and (tokens > 0).all():  # NaN (not reported) is not > 0
            measure, sizes = "tokens", tokens.to_numpy(dtype=float)
        else:
            rows = rows[rows["request_bytes"] > 0]
            measure, sizes = "bytes", rows["request_bytes"].to_numpy(dtype=float)
        result = fit_family(
            str(family), sizes, rows["time_ms"].to_numpy(dtype=float), measure, scenario
        )
        if isinstance(result, Fit):
            fits.append(result)
        else:
            skipped[str(family)] = result
    return fits, skipped


def slow_answers(answered: pd.DataFrame, scenario: Scenario) -> tuple[list[Slow], int, str]:
    """(slow answers, answers judged, note)."""
    if scenario.target.protocol.value not in GENERATING:
        return [], 0, f"not judged: {scenario.target.protocol.value} does not generate tokens"
    rows = answered[answered["output_tokens"].fillna(0) > 0].copy()
    if rows.empty:
        return [], 0, "not judged: no answer reported output tokens"
    settings = scenario.growth
    rows["pace"] = rows["time_ms"] / rows["output_tokens"]
    rows["size_class"] = np.floor(np.log2(rows["request_bytes"].clip(lower=1))).astype(int)
    level = rows.groupby(["phase", "users"])["pace"]
    rows["level_pace"] = level.transform("median")
    rows["level_n"] = level.transform("size")
    sized = rows.groupby(["phase", "users", "size_class"])["pace"]
    class_n = sized.transform("size")
    class_pace = sized.transform("median").where(class_n >= MIN_CLASS_ANSWERS)
    rows["expected_pace"] = np.fmax(rows["level_pace"], class_pace.fillna(0.0))
    # An input far larger than its level's usual ones, alone in its size class, has no pace
    # to be held to: its prefill (a 100,000-character prompt) is not generation running on.
    usual = rows.groupby(["phase", "users"])["size_class"].transform("median")
    unknown_prefill = (class_n < MIN_CLASS_ANSWERS) & (rows["size_class"] > usual + 1)
    judged = rows[(rows["level_n"] >= MIN_PACE_ANSWERS) & ~unknown_prefill]
    if judged.empty:
        return [], 0, f"not judged: fewer than {MIN_PACE_ANSWERS} answers with tokens per level"
    expected = judged["expected_pace"] * judged["output_tokens"]
    slow_rows = judged[
        (judged["time_ms"] > settings.slow_factor * expected)
        & (judged["time_ms"] - expected > settings.slow_min_ms)
    ]
    slow = [
        Slow(
            input_id=str(row.input_id),
            family=str(row.family),
            phase=str(row.phase),
            seq=int(row.seq),
            time_ms=round(float(row.time_ms), 1),
            tokens=int(row.output_tokens),
            expected_ms=round(float(row.expected_pace * row.output_tokens), 1),
        )
        for row in slow_rows.sort_values("time_ms", ascending=False).itertuples()
    ]
    note = f"{len(judged)} answers with output tokens judged against their level's pace"
    return slow, len(judged), note


def evaluate_records(records: pd.DataFrame, scenario: Scenario) -> Result:
    """Both checks over records with ``COLUMNS``."""
    if records.empty:
        return Result(False, "not judged: no requests were recorded", slow_note="not judged")
    answered = _answered(records)
    fits, skipped = growth_fits(answered, scenario)
    note = (
        f"{len(fits)} fits of latency against input size"
        if fits
        else "not judged: no family had enough answered inputs of varied size"
    )
    slow, answers, slow_note = slow_answers(answered, scenario)
    return Result(
        judged=bool(fits),
        note=note,
        fits=fits,
        skipped=skipped,
        slow_judged=answers > 0,
        slow_note=slow_note,
        answers=answers,
        slow=slow,
    )


def evaluate(run_dir: Path, scenario: Scenario) -> Result:
    """Both checks from a run directory's records."""
    return evaluate_records(load_records(run_dir, COLUMNS), scenario)


# --- failures.jsonl lines: what replay re-sends of these findings -------------------------

# Lines written per check: the slowest answers of slow_generation; the smallest and the
# largest input of each superlinear cost_growth fit (the (all) fit first).
MAX_FAILURE_LINES = 5


def failure_lines(
    run_dir: Path,
    scenario: Scenario,
    items: Mapping[str, Input],
    adapter: Any,
    *,
    enabled: Sequence[str],
    severity: Callable[[str], str],
) -> list[dict[str, Any]]:
    """failures.jsonl lines for this run's slow_generation and cost_growth findings, so
    `stress replay` re-sends them (ARCHITECTURE.md, failures.jsonl: ``post_load``). Each
    carries the corpus input's request (secret headers redacted) and what replay re-judges
    them by: a slow answer's pace, or a fit's size, time and exponent."""
    records = load_records(run_dir, COLUMNS)
    return failure_lines_of(records, scenario, items, adapter, enabled=enabled, severity=severity)


def failure_lines_of(
    records: pd.DataFrame,
    scenario: Scenario,
    items: Mapping[str, Input],
    adapter: Any,
    *,
    enabled: Sequence[str],
    severity: Callable[[str], str],
) -> list[dict[str, Any]]:
    """``failure_lines`` over records with ``COLUMNS``."""
    if records.empty:
        return []
    answered = _answered(records)
    result = evaluate_records(records, scenario)
    lines: list[dict[str, Any]] = []
    if SLOW_GENERATION in enabled:
        level = severity(SLOW_GENERATION)
        for slow in result.slow:
            if len(lines) >= MAX_FAILURE_LINES:
                break
            item = items.get(slow.input_id)
            if item is None:
                continue
            pace = slow.expected_ms / slow.tokens if slow.tokens else 0.0
            message = (
                f"{slow.time_ms:.0f} ms for {slow.tokens} output tokens: over "
                f"{scenario.growth.slow_factor:g} x the {slow.expected_ms:.0f} ms its phase's "
                f"pace explains ({pace:.1f} ms a token)"
            )
            post = {
                "check": SLOW_GENERATION,
                "pace_ms_per_token": round(pace, 3),
                "slow_factor": scenario.growth.slow_factor,
                "slow_min_ms": scenario.growth.slow_min_ms,
                "time_ms": slow.time_ms,
                "tokens": slow.tokens,
            }
            line = _failure_line(item, adapter, slow.phase, slow.seq, SLOW_GENERATION, message)
            lines.append(_with(line, level, f"at most {slow.expected_ms:.0f} ms", post))
    if COST_GROWTH in enabled:
        level = severity(COST_GROWTH)
        found = 0
        for fit in sorted(result.superlinear, key=lambda f: f.family != ALL):
            for role, row in _ends(answered, fit):
                if found >= MAX_FAILURE_LINES:
                    break
                item = items.get(str(row["input_id"]))
                if item is None:
                    continue
                size = float(row["size"])
                message = (
                    f"latency grows as {fit.measure} ** {fit.exponent:.2f} in {fit.family} "
                    f"(95%: {fit.low:.2f}-{fit.high:.2f}); this is its {role} input "
                    f"({size:g} {fit.measure}, {float(row['time_ms']):.0f} ms)"
                )
                post = {
                    "check": COST_GROWTH,
                    "family": fit.family,
                    "role": role,
                    "measure": fit.measure,
                    "size": size,
                    "time_ms": round(float(row["time_ms"]), 1),
                    "exponent": round(fit.exponent, 3),
                    "base_ms": fit.base_ms,
                    "max_exponent": scenario.growth.max_exponent,
                }
                line = _failure_line(
                    item, adapter, str(row["phase"]), int(row["seq"]), COST_GROWTH, message
                )
                expected = f"exponent at most {scenario.growth.max_exponent:g}"
                lines.append(_with(line, level, expected, post))
                found += 1
    return lines


def _ends(answered: pd.DataFrame, fit: Fit) -> list[tuple[str, pd.Series]]:
    """The smallest and the largest answered input of the sizes ``fit`` was made over (its
    family, within its range), with ``size``."""
    rows = answered if fit.family == ALL else answered[answered["family"] == fit.family]
    column = "prompt_tokens" if fit.measure == "tokens" else "request_bytes"
    sizes = pd.to_numeric(rows[column], errors="coerce")
    rows = rows.assign(size=sizes)[(sizes >= fit.smallest) & (sizes <= fit.largest)]
    if len(rows) < 2:
        return []
    ordered = rows.sort_values(["size", "time_ms"])
    return [("smallest", ordered.iloc[0]), ("largest", ordered.iloc[-1])]


def stored_request(request: Any) -> dict[str, Any]:
    """A request as failures.jsonl stores it: secret headers <redacted>, the body as UTF-8
    text or base64 (the group checks' lines too)."""
    try:
        body: dict[str, str] = {"body": request.body.decode("utf-8")}
    except UnicodeDecodeError:
        body = {"body_b64": base64.b64encode(request.body).decode("ascii")}
    headers = {
        name: (REDACTED if name.lower() in SECRET_HEADERS else value)
        for name, value in request.headers.items()
    }
    return {"method": request.method, "path": request.path, "headers": headers, **body}


def _failure_line(
    item: Input, adapter: Any, phase: str, seq: int, check: str, message: str
) -> dict[str, Any]:
    return {
        "input_id": item.id,
        "family": item.family,
        "expect": item.expect,
        "phase": phase,
        "seq": seq,
        "sent_at": None,
        "check": check,
        "message": message,
        "request": stored_request(adapter.request(item)),
    }


def _with(
    line: dict[str, Any], severity: str, expected: str, post: dict[str, Any]
) -> dict[str, Any]:
    got = f"{post['time_ms']:.0f} ms"
    finding = {
        "check": line["check"],
        "message": line["message"],
        "severity": severity,
        "expected": expected,
        "got": got,
    }
    return {
        **line,
        "findings": [finding],
        "response": {"status": 200, "error_kind": None, "latency_ms": post["time_ms"]},
        "post_load": post,
    }
