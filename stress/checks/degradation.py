"""Degradation under load: the same input, answered at low load and under load, compared.

The load engine starts every phase after the baseline by re-sending the inputs the baseline
sent, and keeps those answers' text in the records. Here each answer under load is compared
with the baseline's answer to the same input id (stress.checks.compare). An answer that
differs is a *candidate*; it is *confirmed* when the input, re-sent alone after the run,
gets the baseline's answer again (so the change came with the load), and *unstable* when
the re-sent answer differs too (the endpoint answers differently each time: sampling, not
load). A candidate is confirmed only when the quiet answer agrees with the baseline's by every
method. Candidates beyond the re-send budget stay *unverified* and are not counted.

A text endpoint whose quiet re-sends mostly differ from the baseline (at least
``_MIN_SAMPLING`` verified, half of them or more unstable) *samples*: its answers under
load are judged by distribution instead (stress.checks.sampling: length, vocabulary,
refusals per level, against the baseline and the spread of the quiet re-sends), so a
different sampled answer is never a degradation, and truncated or garbled answers are.

    rate = confirmed / compared, per (phase, users) level
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from stress.checks.compare import Answer, Comparer
from stress.checks.resend import Resend
from stress.checks.sampling import Reference
from stress.scenario import Scenario

COLUMNS = (
    "seq",
    "worker",
    "input_id",
    "family",
    "expect",
    "phase",
    "users",
    "status",
    "output_text",
    "output_chars",
    "output_digest",
)
DEGRADATION = "degradation"
# When this share of verified candidates turns out unstable (with at least a few verified),
# the endpoint is nondeterministic for the methods used, and the note says so.
_UNSTABLE_SHARE = 0.8
_MIN_VERIFIED = 3
# A text endpoint samples when at least this many candidates were re-sent alone and at
# least half of them got an answer that differs from the baseline's again.
_MIN_SAMPLING = 2
DISTRIBUTION = "distribution"


@dataclass(frozen=True)
class Pair:
    """An answer under load that differs from the baseline's answer to the same input."""

    input_id: str
    family: str
    phase: str
    users: int
    seq: int
    baseline: Answer
    load: Answer
    differences: dict[str, str]
    # Filled in by verification: the methods by which the re-sent answer matched the
    # baseline again (confirmed), and whether it was verified at all.
    confirmed: dict[str, str] = field(default_factory=dict)
    verified: bool = False


@dataclass
class Level:
    phase: str
    users: int
    compared: int = 0
    degraded: int = 0
    unstable: int = 0
    unverified: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.degraded / self.compared if self.compared else None

    def to_json(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "users": self.users,
            "compared": self.compared,
            "degraded": self.degraded,
            "rate": self.rate,
            "by_method": dict(sorted(self.by_method.items())),
            "unstable": self.unstable,
            "unverified": self.unverified,
        }


@dataclass
class Result:
    judged: bool
    baseline: str
    methods: list[str]
    note: str
    levels: list[Level] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    # True when the endpoint samples and its answers were judged by distribution.
    sampling: bool = False
    # (unstable, verified): of the changed answers re-sent alone, how many changed again.
    spread: tuple[int, int] = (0, 0)

    @property
    def degraded(self) -> list[Pair]:
        return [pair for pair in self.pairs if pair.confirmed]

    @property
    def candidates(self) -> list[str]:
        """Input ids with a differing answer under load, in the order first seen."""
        return list(dict.fromkeys(pair.input_id for pair in self.pairs))

    def totals(self) -> dict[str, object]:
        compared = sum(level.compared for level in self.levels)
        degraded = sum(level.degraded for level in self.levels)
        return {
            "judged": self.judged,
            "baseline": self.baseline,
            "methods": self.methods,
            "note": self.note,
            "compared": compared,
            "degraded": degraded,
            "rate": degraded / compared if compared else None,
            "unstable": sum(level.unstable for level in self.levels),
            "unverified": sum(level.unverified for level in self.levels),
        }


def baseline_phase(scenario: Scenario) -> str:
    return scenario.degradation.baseline or scenario.load.phases[0].name


def evaluate(
    records: pd.DataFrame,
    scenario: Scenario,
    *,
    resends: Iterable[Resend] = (),
    comparer: Comparer | None = None,
) -> Result:
    """Compare answers under load with the baseline's; ``records`` needs COLUMNS."""
    baseline = baseline_phase(scenario)
    config = scenario.degradation
    if comparer is None and config.enabled:
        comparer = Comparer(config, scenario.target.protocol.value)
    methods = [method.value for method in comparer.methods] if comparer else []
    if not config.enabled or comparer is None:
        return Result(False, baseline, methods, "not judged: degradation.enabled is false")
    if len(scenario.load.phases) < 2:
        return Result(False, baseline, methods, "not judged: the scenario has a single phase")
    if not methods:
        return Result(False, baseline, methods, "not judged: degradation.methods is empty")
    answered = records[
        (records["status"] >= 200)
        & (records["status"] < 300)
        & records["output_text"].notna()
        & (records["expect"] != "reject")
    ].sort_values(["worker", "seq"], kind="stable")
    reference = answered[answered["phase"] == baseline].drop_duplicates("input_id")
    if reference.empty:
        note = f"not judged: the baseline phase {baseline!r} recorded no comparable answers"
        return Result(False, baseline, methods, note)
    answers = {row.input_id: answer_of(row) for row in reference.itertuples(index=False)}
    under_load = answered[
        (answered["phase"] != baseline) & answered["input_id"].isin(answers.keys())
    ]
    levels: dict[tuple[str, int], Level] = {}
    texts: dict[tuple[str, int], list[str]] = {}
    pairs: list[Pair] = []
    for row in under_load.itertuples(index=False):
        key = (str(row.phase), int(row.users))
        level = levels.setdefault(key, Level(*key))
        level.compared += 1
        reference_answer = answers[row.input_id]
        answer = answer_of(row)
        texts.setdefault(key, []).append(answer.text)
        differences = comparer.differences(reference_answer, answer)
        if differences:
            pairs.append(
                Pair(
                    str(row.input_id),
                    str(row.family),
                    key[0],
                    key[1],
                    int(row.seq),
                    reference_answer,
                    answer,
                    differences,
                )
            )
    quiet = _quiet(resends)
    pairs = _verify(pairs, quiet, comparer)
    spread = _spread(pairs)
    sampling = comparer.text and spread[1] >= _MIN_SAMPLING and 2 * spread[0] >= spread[1]
    if sampling:
        baseline_texts = [answer.text for answer in answers.values()]
        quiet_texts = [answer.text for answer in quiet.values()]
        reference = Reference.of(baseline_texts, quiet_texts, config.min_length_ratio)
        pairs = _by_distribution(pairs, texts, reference)
    for pair in pairs:
        level = levels[(pair.phase, pair.users)]
        if pair.confirmed:
            level.degraded += 1
            for method in pair.confirmed:
                level.by_method[method] = level.by_method.get(method, 0) + 1
        elif pair.verified:
            level.unstable += 1
        else:
            level.unverified += 1
    order = {phase.name: index for index, phase in enumerate(scenario.load.phases)}
    ordered = sorted(levels.values(), key=lambda lv: (order.get(lv.phase, len(order)), lv.users))
    result = Result(True, baseline, methods, "", ordered, pairs, sampling, spread)
    result.note = _note(result, comparer)
    return result


def answer_of(row: object) -> Answer:
    chars = getattr(row, "output_chars", None)
    digest = getattr(row, "output_digest", None)
    return Answer(
        str(getattr(row, "output_text", "")),
        int(chars) if isinstance(chars, int | float) and chars == chars else None,
        digest if isinstance(digest, str) else None,
    )


def _quiet(resends: Iterable[Resend]) -> dict[str, Answer]:
    """The first 2xx answer of each input re-sent alone for degradation."""
    quiet: dict[str, Answer] = {}
    for resend in resends:
        if resend.purpose != DEGRADATION or resend.input_id in quiet:
            continue
        if 200 <= resend.status < 300 and resend.output_text is not None:
            quiet[resend.input_id] = Answer(
                resend.output_text, resend.output_chars, resend.output_digest
            )
    return quiet


def _verify(pairs: Sequence[Pair], quiet: dict[str, Answer], comparer: Comparer) -> list[Pair]:
    verified: list[Pair] = []
    for pair in pairs:
        alone = quiet.get(pair.input_id)
        if alone is None:
            verified.append(pair)
            continue
        # Confirmed only when the answer alone is the baseline's again by every method: an
        # answer that still differs alone (by any method) is the endpoint's, not the load's.
        still = comparer.differences(pair.baseline, alone)
        confirmed = {} if still else dict(pair.differences)
        verified.append(dataclasses.replace(pair, confirmed=confirmed, verified=True))
    return verified


def _spread(pairs: Sequence[Pair]) -> tuple[int, int]:
    verified = [pair for pair in pairs if pair.verified]
    return sum(not pair.confirmed for pair in verified), len(verified)


def _by_distribution(
    pairs: Sequence[Pair], texts: dict[tuple[str, int], list[str]], reference: Reference
) -> list[Pair]:
    """Each pair judged by its level's distribution: degraded when the level differs as a
    group and this answer shows the difference itself; else sampling (unstable)."""
    problems = {key: reference.level_problems(answers) for key, answers in texts.items()}
    judged = []
    for pair in pairs:
        found = problems.get((pair.phase, pair.users), {})
        shown = [feature for feature in found if reference.shows(feature, pair.load.text)]
        confirmed = (
            {DISTRIBUTION: "; ".join(f"{feature}: {found[feature]}" for feature in shown)}
            if shown
            else {}
        )
        judged.append(dataclasses.replace(pair, confirmed=confirmed, verified=True))
    return judged


def _note(result: Result, comparer: Comparer) -> str:
    totals = result.totals()
    verified = [pair for pair in result.pairs if pair.verified]
    unstable = [pair for pair in verified if not pair.confirmed]
    parts = [
        f"{totals['compared']} answers under load compared with the baseline "
        f"{result.baseline!r} by {', '.join(result.methods)}"
    ]
    if result.sampling:
        parts.append(
            f"the endpoint is not deterministic, it samples ({result.spread[0]} of "
            f"{result.spread[1]} changed answers changed again when re-sent alone): answers "
            f"under load judged by distribution (length, vocabulary, refusals) against the "
            f"baseline and its re-sends, not by equality (pin temperature 0 and a seed in the "
            f"requests to compare them one by one)"
        )
        return "; ".join(parts)
    if len(verified) >= _MIN_VERIFIED and len(unstable) >= _UNSTABLE_SHARE * len(verified):
        parts.append(
            f"{len(unstable)} of {len(verified)} changed answers changed again when re-sent "
            f"alone: the endpoint is not deterministic for these methods, so they are not "
            f"counted as degradation (use methods such as length or semantic, or a fixed seed "
            f"and temperature 0)"
        )
    if totals["unverified"]:
        parts.append(
            f"{totals['unverified']} changed answers were not re-sent (degradation.max_resends)"
            f" and are not counted"
        )
    return "; ".join(parts)
