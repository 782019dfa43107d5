"""Comparing two answers to the same input: the methods of degradation and invariance checks.

An answer is what the records keep of it: the output text (the chat answer, or the
predictions as compact JSON, stress.record.kept_output), its length and its digest. Each
method says whether two answers agree:

===========  ==================================================  =======================
method       two answers agree when                              default for
===========  ==================================================  =======================
exact        the outputs are byte-identical (digest)
normalized   equal after NFKC, case folding, whitespace          text protocols
label        the same label per row (argmax of a probability
             row, a dict's label/class field, the value)         tabular protocols
numeric      numbers within ``tolerance`` (scalars: abs/rel;     tabular protocols,
             vectors of >= 16 numbers: element-wise, or cosine   embeddings
             and norm ratio >= tolerance.cosine), the rest equal
length       text lengths within ``min_length_ratio`` of each    text protocols
             other; the same number of predictions
semantic     embedding cosine >= ``min_similarity``
             (optional extra: ``pip install 'stress[semantic]'``)
===========  ==================================================  =======================
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stress.checks.answers import normalize
from stress.scenario import CompareMethod, Comparison, Tolerance

# Protocols whose answer is text; the others answer with predictions (JSON).
TEXT_PROTOCOLS = frozenset({"openai-chat", "openai-completions"})
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_LABEL_KEYS = ("label", "class", "prediction", "predicted_label", "category")
EMBEDDINGS = "openai-embeddings"
# A list of at least this many numbers is a vector (an embedding): it may also agree by
# cosine similarity. Shorter lists (probability rows, a few scores) agree element-wise only.
VECTOR_MIN = 16


@dataclass(frozen=True)
class Answer:
    """One answer as stored: output text (capped), full length, digest."""

    text: str
    chars: int | None = None
    digest: str | None = None


def default_methods(protocol: str) -> list[CompareMethod]:
    if protocol in TEXT_PROTOCOLS:
        return [CompareMethod.NORMALIZED, CompareMethod.LENGTH]
    if protocol == EMBEDDINGS:
        return [CompareMethod.NUMERIC]  # the argmax of an embedding is no label
    return [CompareMethod.LABEL, CompareMethod.NUMERIC]


def invariance_methods(protocol: str) -> list[CompareMethod]:
    """Default methods for invariance. Free-form text has none: a reworded prompt may get a
    different but equally right answer, so judging it by text would be all false alarms.
    Embeddings have none either: a perturbed text has a different vector by design, and how
    close it should stay depends on the model (set methods [numeric] and tolerance.cosine)."""
    return [] if protocol in TEXT_PROTOCOLS or protocol == EMBEDDINGS else [CompareMethod.LABEL]


class Comparer:
    """Compares answers by the configured methods; ``differences`` says how they differ."""

    def __init__(
        self,
        config: Comparison,
        protocol: str,
        *,
        methods: Sequence[CompareMethod] | None = None,
        embed: Callable[[list[str]], list[list[float]]] | None = None,
    ) -> None:
        if methods is None:
            methods = config.methods if config.methods is not None else default_methods(protocol)
        self.methods = list(methods)
        self.config = config
        self.text = protocol in TEXT_PROTOCOLS
        self._embed = embed
        if CompareMethod.SEMANTIC in self.methods and embed is None:
            from stress.checks.semantic import embedder

            self._embed = embedder(config.model)

    def differences(self, reference: Answer, other: Answer) -> dict[str, str]:
        """{method: how ``other`` differs from ``reference``} for each method that disagrees."""
        if reference.digest and other.digest:
            identical = reference.digest == other.digest
        else:
            identical = reference.text == other.text and reference.chars == other.chars
        if identical:
            return {}  # identical answers agree by every method, and most answers are
        found: dict[str, str] = {}
        for method in self.methods:
            reason = self._differs(method, reference, other)
            if reason is not None:
                found[method.value] = reason
        return found

    def _differs(self, method: CompareMethod, a: Answer, b: Answer) -> str | None:
        if method is CompareMethod.EXACT:
            same = a.digest == b.digest if a.digest and b.digest else a.text == b.text
            return None if same else "the output is not byte-identical"
        if method is CompareMethod.NORMALIZED:
            if normalize(a.text) == normalize(b.text):
                return None
            return "the normalized text differs"
        if method is CompareMethod.LABEL:
            left, right = self._labels(a), self._labels(b)
            return None if left == right else f"label {_brief(left)} became {_brief(right)}"
        if method is CompareMethod.NUMERIC:
            return self._numeric(a, b)
        if method is CompareMethod.LENGTH:
            return self._length(a, b)
        return self._semantic(a, b)

    def _value(self, answer: Answer) -> Any:
        if self.text:
            return answer.text
        try:
            return json.loads(answer.text)
        except ValueError:
            return answer.text

    def _labels(self, answer: Answer) -> Any:
        value = self._value(answer)
        if isinstance(value, str):
            return normalize(value).rstrip(".!")
        if isinstance(value, list):
            return [_label(item) for item in value]
        return _label(value)

    def _numeric(self, a: Answer, b: Answer) -> str | None:
        tolerance = self.config.tolerance
        if self.text:
            left = [float(x) for x in _NUMBER.findall(a.text)]
            right = [float(x) for x in _NUMBER.findall(b.text)]
            if len(left) != len(right):
                return f"{len(left)} numbers became {len(right)}"
            for x, y in zip(left, right, strict=True):
                if not close(x, y, tolerance):
                    return f"{x:g} became {y:g} ({_describe(tolerance)})"
            return None
        return numeric_diff(self._value(a), self._value(b), tolerance, "predictions")

    def _length(self, a: Answer, b: Answer) -> str | None:
        if not self.text:
            left, right = self._value(a), self._value(b)
            if isinstance(left, list) and isinstance(right, list) and len(left) != len(right):
                return f"{len(left)} predictions became {len(right)}"
            return None
        left_chars = a.chars if a.chars is not None else len(a.text)
        right_chars = b.chars if b.chars is not None else len(b.text)
        longest = max(left_chars, right_chars)
        if longest == 0:
            return None
        ratio = min(left_chars, right_chars) / longest
        if ratio >= self.config.min_length_ratio:
            return None
        return (
            f"length {left_chars} became {right_chars} characters "
            f"(ratio {ratio:.2f} < {self.config.min_length_ratio:g})"
        )

    def _semantic(self, a: Answer, b: Answer) -> str | None:
        assert self._embed is not None
        left, right = self._embed([a.text, b.text])
        similarity = cosine(left, right)
        if similarity >= self.config.min_similarity:
            return None
        return f"semantic similarity {similarity:.2f} < {self.config.min_similarity:g}"


def _label(value: Any) -> Any:
    if isinstance(value, list) and value and all(_is_number(x) for x in value):
        return max(range(len(value)), key=lambda i: value[i])  # argmax of a score row
    if isinstance(value, dict):
        for key in _LABEL_KEYS:
            if key in value:
                return _label(value[key])
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, str):
        return normalize(value)
    return value


def numeric_diff(left: Any, right: Any, tolerance: Tolerance, path: str) -> str | None:
    """How ``right`` differs from ``left`` beyond ``tolerance`` (None: they agree)."""
    if _is_number(left) and _is_number(right):
        if close(float(left), float(right), tolerance):
            return None
        return f"{path} {left!r} became {right!r} ({_describe(tolerance)})"
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path} has {len(right)} items instead of {len(left)}"
        if _is_vector(left) and _is_vector(right):
            return _vector_diff(left, right, tolerance, path)
        for index, (x, y) in enumerate(zip(left, right, strict=True)):
            found = numeric_diff(x, y, tolerance, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(left, dict) and isinstance(right, dict):
        if set(left) != set(right):
            return f"{path} keys {sorted(left)} became {sorted(right)}"
        for key in left:
            found = numeric_diff(left[key], right[key], tolerance, f"{path}.{key}")
            if found:
                return found
        return None
    return None if left == right else f"{path} {_brief(left)} became {_brief(right)}"


def _is_vector(value: list[Any]) -> bool:
    return len(value) >= VECTOR_MIN and all(_is_number(x) for x in value)


def _vector_diff(
    left: list[float], right: list[float], tolerance: Tolerance, path: str
) -> str | None:
    worst = max(range(len(left)), key=lambda i: _gap(left[i], right[i], tolerance))
    if _gap(left[worst], right[worst], tolerance) <= 1.0:
        return None  # every element within abs/rel
    if any(not math.isfinite(x) for x in (*left, *right)):
        return f"{path}[{worst}] {left[worst]!r} became {right[worst]!r} (not a finite number)"
    similarity = cosine(left, right)
    norms = math.sqrt(sum(x * x for x in left)), math.sqrt(sum(y * y for y in right))
    ratio = min(norms) / max(norms) if max(norms) else 1.0
    if similarity >= tolerance.cosine and ratio >= tolerance.cosine:
        return None
    return (
        f"{path}: vector of {len(left)} changed (cosine {similarity:.6f}, norm ratio "
        f"{ratio:.6f}, tolerance.cosine {tolerance.cosine:g}; largest change at "
        f"[{worst}]: {left[worst]!r} became {right[worst]!r})"
    )


def _gap(x: float, y: float, tolerance: Tolerance) -> float:
    """|x - y| in units of the allowed difference: at most 1 means they agree."""
    if x == y or (math.isnan(x) and math.isnan(y)):
        return 0.0
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.inf
    allowed = max(tolerance.abs, tolerance.rel * max(abs(x), abs(y)))
    difference = abs(x - y)
    if allowed == 0:
        return math.inf
    return difference / allowed


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def close(x: float, y: float, tolerance: Tolerance) -> bool:
    """Two scalars agree: ``|x - y| <= max(abs, rel * max(|x|, |y|))``; NaN only with NaN."""
    return _gap(x, y, tolerance) <= 1.0


def _describe(tolerance: Tolerance) -> str:
    return f"tolerance abs {tolerance.abs:g}, rel {tolerance.rel:g}"


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(left, right, strict=True))
    norm = math.sqrt(sum(x * x for x in left)) * math.sqrt(sum(y * y for y in right))
    return dot / norm if norm else 0.0


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str, allow_nan=True) if not isinstance(value, str) else value
    return repr(text if len(text) <= 60 else text[:59] + "…")
