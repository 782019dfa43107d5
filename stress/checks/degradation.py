"""Degradation under load: the same input, answered at low load and under load, compared.

The load engine starts every phase after the baseline by re-sending the inputs the baseline
sent, and keeps those answers' text in the records. Here each answer under load is compared
with the baseline's answer to the same input id (stress.checks.compare). An answer that
differs is a *candidate*; it is *confirmed* when the input, re-sent alone after the run,
gets the baseline's answer again (so the change came with the load), and *unstable* when
the re-sent answer differs too (the endpoint answers differently each time: sampling, not
load). Candidates beyond the re-send budget stay *unverified* and are not counted.

    rate = confirmed / compared, per (phase, users) level
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from stress.checks.compare import Answer, Comparer
from stress.checks.resend import Resend
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
    pairs: list[Pair] = []
    for row in under_load.itertuples(index=False):
        key = (str(row.phase), int(row.users))
        level = levels.setdefault(key, Level(*key))
        level.compared += 1
        reference_answer = answers[row.input_id]
        answer = answer_of(row)
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
    pairs = _verify(pairs, resends, comparer)
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
    result = Result(True, baseline, methods, "", ordered, pairs)
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


def _verify(pairs: Sequence[Pair], resends: Iterable[Resend], comparer: Comparer) -> list[Pair]:
    quiet: dict[str, Answer] = {}
    for resend in resends:
        if resend.purpose != DEGRADATION or resend.input_id in quiet:
            continue
        if 200 <= resend.status < 300 and resend.output_text is not None:
            quiet[resend.input_id] = Answer(
                resend.output_text, resend.output_chars, resend.output_digest
            )
    verified: list[Pair] = []
    for pair in pairs:
        alone = quiet.get(pair.input_id)
        if alone is None:
            verified.append(pair)
            continue
        still = comparer.differences(pair.baseline, alone)
        confirmed = {m: reason for m, reason in pair.differences.items() if m not in still}
        verified.append(
            Pair(
                pair.input_id,
                pair.family,
                pair.phase,
                pair.users,
                pair.seq,
                pair.baseline,
                pair.load,
                pair.differences,
                confirmed,
                True,
            )
        )
    return verified


def _note(result: Result, comparer: Comparer) -> str:
    totals = result.totals()
    verified = [pair for pair in result.pairs if pair.verified]
    unstable = [pair for pair in verified if not pair.confirmed]
    parts = [
        f"{totals['compared']} answers under load compared with the baseline "
        f"{result.baseline!r} by {', '.join(result.methods)}"
    ]
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
