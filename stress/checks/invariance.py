"""Invariance: a perturbed input must get the same answer as its seed input.

Perturbation families (stress.inputs.perturbation) store the seed input's id in the payload
(``payload["seed"]``) and the kind of change (``payload["variant"]``, e.g. "typos" or
"case"); the seed itself is variant "original". Each perturbed input's answer is compared
with its seed's (stress.checks.compare); a difference is a flip.

    flip_rate = flips / compared, per perturbation kind

Answers from the baseline phase are preferred, so that load effects (degradation's
business) do not show up as flips.

The methods, unless invariance.methods names them: with a classification task
(inputs.task classify-*) the label (the top class, a label/class field, or the answer text
itself for a chat model used as a classifier), whatever the protocol; with the embed task
none (a perturbed text's vector differs by design: set methods [numeric] and
tolerance.cosine); otherwise stress.checks.compare.invariance_methods by protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from stress.checks.compare import EMBEDDINGS, Answer, Comparer, invariance_methods
from stress.checks.degradation import answer_of, baseline_phase
from stress.inputs.corpus import Input
from stress.scenario import CompareMethod, Scenario

INVARIANCE = "invariance"
UNKNOWN_KIND = "unknown"


@dataclass(frozen=True)
class Flip:
    input_id: str
    seed_id: str
    family: str
    kind: str
    seed: Answer
    perturbed: Answer
    differences: dict[str, str]


@dataclass
class Kind:
    kind: str
    seeds: set[str] = field(default_factory=set)
    compared: int = 0
    flips: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    unanswered: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "groups": len(self.seeds),
            "compared": self.compared,
            "flips": self.flips,
            "flip_rate": self.flips / self.compared if self.compared else None,
            "by_method": dict(sorted(self.by_method.items())),
            "unanswered": self.unanswered,
        }


@dataclass
class Result:
    judged: bool
    methods: list[str]
    note: str
    kinds: list[Kind] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)

    def totals(self) -> dict[str, object]:
        compared = sum(kind.compared for kind in self.kinds)
        flips = sum(kind.flips for kind in self.kinds)
        return {
            "judged": self.judged,
            "methods": self.methods,
            "note": self.note,
            "groups": len(set().union(*(kind.seeds for kind in self.kinds))),
            "compared": compared,
            "flips": flips,
            "flip_rate": flips / compared if compared else None,
        }


def default_methods(protocol: str, task: str | None) -> list[CompareMethod]:
    """Invariance's methods when the scenario names none (see the module doc)."""
    if task is not None and task.startswith("classify-"):
        return [CompareMethod.LABEL]
    if task == "embed":
        return []
    return invariance_methods(protocol)


def perturbations(corpus: Iterable[Input]) -> list[tuple[Input, str, str]]:
    """(perturbed input, seed id, kind) for every corpus input that names a seed."""
    found = []
    for item in corpus:
        payload = item.payload if isinstance(item.payload, dict) else {}
        seed = payload.get("seed")
        if not isinstance(seed, str) or seed == item.id:
            continue
        kind = payload.get("variant")
        found.append((item, seed, kind if isinstance(kind, str) and kind else UNKNOWN_KIND))
    return found


def evaluate(
    records: pd.DataFrame,
    corpus: Iterable[Input],
    scenario: Scenario,
    *,
    comparer: Comparer | None = None,
) -> Result:
    """Compare each perturbed input's answer with its seed's; ``records`` as degradation's."""
    config = scenario.invariance
    protocol = scenario.target.protocol.value
    groups = perturbations(corpus)
    if comparer is None and config.enabled:
        task = scenario.inputs.task
        chosen = config.methods if config.methods is not None else default_methods(protocol, task)
        comparer = Comparer(config, protocol, methods=chosen)
    methods = [method.value for method in comparer.methods] if comparer else []
    if not config.enabled or comparer is None:
        return Result(False, methods, "not judged: invariance.enabled is false")
    if not groups:
        return Result(False, methods, "not judged: the corpus has no perturbed inputs")
    if not methods and (protocol == EMBEDDINGS or scenario.inputs.task == "embed"):
        note = (
            f"not judged: {len(groups)} perturbed inputs, but a perturbed text's embedding "
            f"differs by design; to require similar vectors set invariance.methods [numeric] "
            f"and invariance.tolerance.cosine (e.g. 0.9)"
        )
        return Result(False, methods, note)
    if not methods:
        note = (
            f"not judged: {len(groups)} perturbed inputs, but free-form {protocol} answers "
            f"have no default comparison; set invariance.methods (label for classification "
            f"prompts, semantic with stress[semantic])"
        )
        return Result(False, methods, note)
    answered = records[
        (records["status"] >= 200) & (records["status"] < 300) & records["output_text"].notna()
    ]
    # The baseline's answers first, then any other phase's, each in send order.
    baseline = baseline_phase(scenario)
    answered = answered.assign(_later=answered["phase"] != baseline).sort_values(
        ["_later", "worker", "seq"], kind="stable"
    )
    first = {
        row.input_id: answer_of(row)
        for row in answered.drop_duplicates("input_id").itertuples(index=False)
    }
    kinds: dict[str, Kind] = {}
    flips: list[Flip] = []
    for item, seed, kind_name in groups:
        kind = kinds.setdefault(kind_name, Kind(kind_name))
        seed_answer, answer = first.get(seed), first.get(item.id)
        if seed_answer is None or answer is None:
            kind.unanswered += 1
            continue
        kind.seeds.add(seed)
        kind.compared += 1
        differences = comparer.differences(seed_answer, answer)
        if differences:
            kind.flips += 1
            for method in differences:
                kind.by_method[method] = kind.by_method.get(method, 0) + 1
            flips.append(
                Flip(item.id, seed, item.family, kind_name, seed_answer, answer, differences)
            )
    ordered = sorted(kinds.values(), key=lambda k: k.kind)
    compared = sum(kind.compared for kind in ordered)
    note = (
        f"{compared} perturbed answers compared with their seed's by {', '.join(methods)}"
        if compared
        else "no perturbed input and its seed were both answered"
    )
    return Result(True, methods, note, ordered, flips)
