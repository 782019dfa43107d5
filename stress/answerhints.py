"""What `stress init` writes under ``answers:``: the labels and the value range of a correct
answer, as the endpoint itself states them (prediction_values holds every 2xx to them).

From an OpenAPI response schema (``target.response.json_schema`` once the document is read;
the part at the prediction or text path when there is one):

- ``min_value``/``max_value``: the smallest ``minimum`` and largest ``maximum`` of its
  numbers, only when every number is bounded on that side (a field named as a probability
  counts as [0, 1]);
- ``labels``: every ``enum``/``const`` value of its strings, only when every string has one.

From the probe's answer (one valid request):

- ``labels``: the class names a probability dict spells out (``{"setosa": 0.9, ...}``:
  its keys), when every string in the answer is one of them; otherwise the labels it saw go
  in a comment (one answer does not show every class);
- the fields judged as probabilities (by name, or rows summing to 1), in a comment: their
  [0, 1] needs no key.

The schema wins where both say something. An MLflow signature (the MLmodel file) gives column
types only, no ranges or class names, and `mlflow models serve` does not serve it; nothing is
read from it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stress.checks.answers import is_distribution, is_probability_name, prediction_fields
from stress.checks.exchange import Exchange, Settings
from stress.targets.base import Outcome

# Nesting deeper than this in a response schema is not walked (recursive schemas).
MAX_DEPTH = 24
_INDEX = re.compile(r"\[\d+\]")


@dataclass
class Declared:
    """What the scenario's ``answers`` will say, and where each part came from."""

    labels: list[str | int] | None = None
    min_value: float | None = None
    max_value: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    seen_labels: list[str] = field(default_factory=list)
    probabilities: list[str] = field(default_factory=list)


@dataclass
class _Leaves:
    numbers: list[tuple[float | None, float | None]] = field(default_factory=list)
    strings: list[list[Any] | None] = field(default_factory=list)


def from_schema(schema: Mapping[str, Any], path: str | None = None) -> Declared:
    """The range and labels an OpenAPI response schema declares (see the module doc)."""
    from stress.inputs.schemas import _resolve

    node: Mapping[str, Any] = _resolve(schema, schema)
    name = ""
    for key in _keys(path):
        properties = node.get("properties")
        if not isinstance(properties, Mapping) or key not in properties:
            break
        node, name = _resolve(properties[key], schema), key
    leaves = _Leaves()
    _walk_schema(node, schema, is_probability_name(name), leaves, 0)
    declared = Declared()
    if leaves.numbers:
        lows = [low for low, _ in leaves.numbers]
        highs = [high for _, high in leaves.numbers]
        if all(low is not None for low in lows):
            declared.min_value = min(low for low in lows if low is not None)
            declared.sources["min_value"] = "the OpenAPI response schema's minimum"
        if all(high is not None for high in highs):
            declared.max_value = max(high for high in highs if high is not None)
            declared.sources["max_value"] = "the OpenAPI response schema's maximum"
    if leaves.strings and all(values is not None for values in leaves.strings):
        labels: list[str | int] = []
        for values in leaves.strings:
            labels += [v for v in values or [] if isinstance(v, str) and v not in labels]
        if labels:
            declared.labels = labels
            declared.sources["labels"] = "the OpenAPI response schema's enum"
    return declared


def _keys(path: str | None) -> list[str]:
    """The keys of a plain ``$.a.b`` path (anything else: the whole schema)."""
    if not path or not re.fullmatch(r"\$(\.[A-Za-z_][A-Za-z0-9_-]*)+", path):
        return []
    return path.split(".")[1:]


def _walk_schema(
    node: Mapping[str, Any], root: Mapping[str, Any], probability: bool, leaves: _Leaves, depth: int
) -> None:
    from stress.inputs.schemas import _resolve, json_types

    if depth > MAX_DEPTH:
        return
    node = _resolve(node, root)
    for keyword in ("anyOf", "oneOf"):
        for branch in node.get(keyword) or []:
            if isinstance(branch, Mapping):
                _walk_schema(branch, root, probability, leaves, depth + 1)
    types = json_types(node)
    if types & {"number", "integer"}:
        leaves.numbers.append(_bounds(node, probability))
    if "string" in types:
        values = node.get("enum") or ([node["const"]] if "const" in node else None)
        leaves.strings.append(list(values) if values else None)
    for key, child in (node.get("properties") or {}).items():
        if isinstance(child, Mapping):
            named = probability or is_probability_name(str(key))
            _walk_schema(child, root, named, leaves, depth + 1)
    items = node.get("items")
    if isinstance(items, Mapping):
        _walk_schema(items, root, probability, leaves, depth + 1)
    for item in node.get("prefixItems") or []:
        if isinstance(item, Mapping):
            _walk_schema(item, root, probability, leaves, depth + 1)


def _bounds(node: Mapping[str, Any], probability: bool) -> tuple[float | None, float | None]:
    def bound(*keys: str) -> float | None:
        values = [node[k] for k in keys if isinstance(node.get(k), int | float)]
        finite = [float(v) for v in values if not isinstance(v, bool) and math.isfinite(v)]
        return finite[0] if finite else None

    low = bound("minimum", "exclusiveMinimum")
    high = bound("maximum", "exclusiveMaximum")
    if probability:
        low = 0.0 if low is None else low
        high = 1.0 if high is None else high
    return low, high


def from_answer(protocol: str, outcome: Outcome, body: bytes) -> Declared:
    """What one valid answer shows: class names, labels seen, probability fields."""
    exchange = Exchange(
        "accept", 200, None, outcome, 0.0, body=body, settings=Settings(protocol=protocol)
    )
    fields = prediction_fields(exchange)
    declared = Declared()
    seen = [f.value for f in fields if isinstance(f.value, str) and not f.probability]
    declared.seen_labels = list(dict.fromkeys(seen))
    classes = list(dict.fromkeys(_class_names(outcome.prediction, named=False)))
    if len(classes) >= 2 and all(label in classes for label in seen):
        declared.labels = list(classes)
        declared.sources["labels"] = "the probe's probability classes"
    paths = [_INDEX.sub("[*]", f.path) for f in fields if f.probability]
    declared.probabilities = list(dict.fromkeys(_collapse(p, classes) for p in paths))
    return declared


def _class_names(value: Any, *, named: bool) -> list[str]:
    """The keys of dicts of probabilities (named as such, or summing to 1)."""
    found: list[str] = []
    if isinstance(value, dict):
        numbers = list(value.values())
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
        if len(value) >= 2 and numeric and (named or is_distribution(numbers)):
            found += [str(key) for key in value]
        for key, item in value.items():
            found += _class_names(item, named=is_probability_name(str(key)))
    elif isinstance(value, list):
        for item in value:
            found += _class_names(item, named=named)
    return found


def _collapse(path: str, classes: list[str]) -> str:
    head, dot, last = path.rpartition(".")
    return f"{head}.*" if dot and last in classes else path


def learn(
    protocol: str,
    outcome: Outcome,
    body: bytes,
    schema: Mapping[str, Any] | None = None,
    path: str | None = None,
) -> Declared:
    """The schema's word first, the probe's answer where the schema says nothing."""
    answer = from_answer(protocol, outcome, body) if outcome.prediction is not None else None
    declared = from_schema(schema, path) if schema is not None else Declared()
    if answer is not None:
        declared.seen_labels = answer.seen_labels
        declared.probabilities = answer.probabilities
        if declared.labels is None and answer.labels is not None:
            declared.labels = answer.labels
            declared.sources["labels"] = answer.sources["labels"]
    return declared


def lines(declared: Declared) -> list[str]:
    """The scenario's ``answers`` section for ``declared`` (comments only when it is empty)."""
    out: list[str] = []
    for key in ("labels", "min_value", "max_value"):
        value = getattr(declared, key)
        if value is None:
            continue
        shown = json.dumps(value) if key == "labels" else f"{value:g}"
        out.append(f"  {key}: {shown}".ljust(28) + f" # from {declared.sources[key]}")
    notes = []
    if declared.labels is None and declared.seen_labels:
        seen = json.dumps(declared.seen_labels)
        notes.append(f"  # labels: {seen}  # seen in the probe: list every class, uncomment")
    if declared.probabilities:
        shown = ", ".join(declared.probabilities[:4])
        notes.append(f"  # probabilities, held to [0, 1] without a key: {shown}")
    header = "answers:".ljust(28) + " # a 2xx outside these is a prediction_values error"
    if out:
        return [header, *out, *notes]
    return [
        "# answers: labels, min_value and max_value bound every prediction (README: answers);",
        "# nothing the endpoint said declared them.",
        *[note[2:] for note in notes],
    ]


def task(scenario: Any, outcome: Outcome, body: bytes) -> tuple[str | None, str]:
    """inputs.task from init's probe answer and the labels it or the OpenAPI document shows
    (stress.inputs.tasks.from_probe), and what showed it."""
    from stress.inputs.tasks import from_probe

    response, protocol = scenario.target.response, scenario.target.protocol.value
    schema = response.json_schema if response is not None else None
    path = (response.prediction or response.text) if response is not None else None
    declared = learn(protocol, outcome, body, schema, path)
    labels = [str(x) for x in declared.labels or declared.seen_labels]
    return from_probe(protocol, scenario.target.takes_rows, outcome.prediction, labels)
