"""The transport seam: what every protocol adapter takes and gives."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stress.inputs import damage
from stress.inputs.corpus import Input
from stress.record import EXCERPT_CHARS

JSON = "application/json"


@dataclass(frozen=True)
class HttpRequest:
    """Exactly what goes on the wire: method, path (with query), headers, body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Outcome:
    """An answer as the protocol understands it. ``problem`` says why its shape is wrong."""

    problem: str | None = None
    text: str | None = None
    prediction: Any = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str | None:
        """The answer as a canonical string: the text, or the predictions as JSON."""
        if self.text is not None:
            return self.text
        if self.prediction is not None:
            return json.dumps(self.prediction, sort_keys=True, allow_nan=True)
        return None

    def digest(self) -> str | None:
        output = self.output
        if output is None:
            return None
        encoded = output.encode("utf-8", "surrogatepass")
        return hashlib.sha256(encoded).hexdigest()[:16]

    def excerpt(self) -> str | None:
        output = self.output
        return None if output is None else output[:EXCERPT_CHARS]


class Adapter(Protocol):
    """A protocol adapter. ``health_path`` is probed before load begins (None: TCP only)."""

    health_path: str | None

    def request(self, item: Input) -> HttpRequest: ...

    def parse(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome: ...


def dumps(document: Any) -> bytes:
    """JSON bytes as a typical client sends them: UTF-8, NaN and Infinity as bare tokens.

    Lone surrogates cannot be encoded as UTF-8, so they go out as JSON ``\\udXXX`` escapes.
    """
    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, ensure_ascii=True, allow_nan=True).encode("ascii")


# Replacement values for wrong_type, one per JSON type; null is left out on purpose, since
# many APIs read null as "not set", which is valid.
_WRONG_TYPES: tuple[Any, ...] = (True, 123456789, "not-the-right-type", [1, 2], {"a": 1})


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def mutate(
    body: dict[str, Any],
    payload: Mapping[str, Any],
    *,
    required: list[str],
    typed: list[str],
) -> dict[str, Any]:
    """Break a valid body as a mutation payload says: drop one of the ``required`` fields, or
    give one of the ``typed`` fields a value of another JSON type."""
    pick = payload["pick"]
    broken = dict(body)
    if payload["op"] == "missing_field":
        broken.pop(required[pick % len(required)], None)
        return broken
    name = typed[pick % len(typed)]
    original = _json_type(body.get(name))
    candidates = [payload["wrong_value"], *_WRONG_TYPES]
    wrong = [v for v in candidates if v is not None and _json_type(v) != original]
    broken[name] = wrong[0] if wrong[0] is payload["wrong_value"] else wrong[pick % len(wrong)]
    return broken


def mangle(payload: Mapping[str, Any], body: bytes) -> bytes:
    """Apply a raw family's damage to a valid body (see stress.inputs.damage)."""
    return damage.damage(payload, body)


def raw_headers(payload: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The headers for a raw input: its ``content_type`` (None: no header) replaces ours."""
    return damage.headers(payload, headers)


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """Decode a JSON answer; the second item names the problem, if any."""
    try:
        return json.loads(body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "answer is not valid UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"answer is not valid JSON: {exc.msg} at byte {exc.pos}"
