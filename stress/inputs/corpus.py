"""The corpus: every input of a run, generated before the load starts, deterministic from a seed.

Each input has a stable id (``<family>-<index>``) and is a pure function of (seed, family,
index, protocol, features): the same scenario gives the same bytes in any process, on any
machine with the same library versions. Generation never happens on the load path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from faker import Faker

from stress.inputs.families import LOCALES, Draw, Family


@dataclass(frozen=True)
class Input:
    """One input of the corpus."""

    id: str
    family: str
    expect: str
    kind: str
    payload: dict[str, Any]


def allocate(weights: Mapping[str, float], count: int) -> dict[str, int]:
    """Split ``count`` over families by weight (largest remainder), at least one each.

    Every family gets one input first, so a rare family is never left out; when there are
    more families than ``count``, the corpus is that much bigger.
    """
    names = list(weights)
    counts = dict.fromkeys(names, 1)
    spare = max(0, count - len(names))
    total = sum(weights.values())
    exact = {name: spare * weights[name] / total for name in names}
    for name in names:
        counts[name] += int(exact[name])
    left = spare - sum(int(value) for value in exact.values())
    by_remainder = sorted(names, key=lambda name: (-(exact[name] - int(exact[name])), name))
    for name in by_remainder[:left]:
        counts[name] += 1
    return counts


def input_seed(seed: int, family: str, index: int) -> int:
    """The seed of one input; independent of every other input and of the process."""
    digest = hashlib.sha256(f"{seed}:{family}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def build(
    families: Mapping[str, Family],
    weights: Mapping[str, float],
    *,
    seed: int,
    count: int,
    protocol: str,
    features: Mapping[str, tuple[float, float]],
) -> list[Input]:
    """Generate the corpus: ``count`` inputs spread over ``weights``' families."""
    faker = Faker(list(LOCALES))
    inputs = []
    for name, size in allocate(weights, count).items():
        family = families[name]
        for index in range(size):
            draw = Draw(
                input_seed(seed, name, index),
                faker=faker,
                protocol=protocol,
                features=dict(features),
            )
            inputs.append(
                Input(
                    id=f"{name}-{index:04d}",
                    family=name,
                    expect=family.expect.value,
                    kind=family.kind.value,
                    payload=family.generate(draw),
                )
            )
    return inputs


def to_line(item: Input) -> str:
    """One corpus.jsonl line. ASCII-escaped, so lone surrogates and NUL survive the round trip;
    NaN and Infinity are written as the bare tokens Python's json module reads back."""
    return json.dumps(asdict(item), ensure_ascii=True, allow_nan=True)


def write(path: Path, inputs: Iterable[Input]) -> None:
    with path.open("w", encoding="ascii") as handle:
        for item in inputs:
            handle.write(to_line(item) + "\n")


def read(path: Path) -> list[Input]:
    with path.open(encoding="ascii") as handle:
        return [Input(**json.loads(line)) for line in handle if line.strip()]
