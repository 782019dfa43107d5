"""Path expressions into JSON documents, the small subset an answer extractor needs.

    $                       the whole document
    $.choices[0].text       keys with dots, list indexes in brackets (negative from the end)
    $['odd key'].v          keys that are not identifiers, quoted in brackets
    $.data[*].embedding     every item of a list (the result is a list)

Used by the http-json protocol to find the text or prediction in any JSON API's answer. The
scenario validates expressions when it loads, so a typo is a scenario error, not a finding.
"""

from __future__ import annotations

import re
from typing import Any

# A step is a key, an index, or WILDCARD (every item of a list).
WILDCARD = "*"
Step = str | int

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)
       |\[\s*(?P<index>-?\d+)\s*\]
       |\[\s*'(?P<single>(?:[^'\\]|\\.)*)'\s*\]
       |\[\s*"(?P<double>(?:[^"\\]|\\.)*)"\s*\]
       |\[\s*(?P<star>\*)\s*\]""",
    re.VERBOSE,
)


class Path:
    """A parsed expression; ``find`` applies it to a document."""

    def __init__(self, expression: str, steps: tuple[tuple[str, Step], ...]) -> None:
        self.expression = expression
        self.steps = steps

    def __repr__(self) -> str:
        return f"Path({self.expression!r})"

    def find(self, document: Any) -> tuple[bool, Any]:
        """(True, value) where the path leads somewhere in ``document``, else (False, None)."""
        return _walk(document, self.steps)


def parse(expression: str) -> Path:
    """Parse ``expression``; raises ValueError saying where it goes wrong and the syntax."""
    if not isinstance(expression, str) or not expression.startswith("$"):
        raise ValueError(
            f"expected a path starting with $, like $.choices[0].text, got {expression!r}"
        )
    steps: list[tuple[str, Step]] = []
    position = 1
    while position < len(expression):
        match = _STEP.match(expression, position)
        if match is None:
            raise ValueError(
                f"cannot read {expression!r} from character {position + 1} "
                f"({expression[position:]!r}); use .key, [0], ['key'] or [*], "
                f"e.g. $.data[0].embedding"
            )
        if match.group("name") is not None:
            steps.append(("key", match.group("name")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("star") is not None:
            steps.append(("all", WILDCARD))
        else:
            quoted = match.group("single")
            if quoted is None:
                quoted = match.group("double")
            steps.append(("key", re.sub(r"\\(.)", r"\1", quoted)))
        position = match.end()
    return Path(expression, tuple(steps))


def _walk(value: Any, steps: tuple[tuple[str, Step], ...]) -> tuple[bool, Any]:
    for number, (kind, step) in enumerate(steps):
        if kind == "key":
            if not isinstance(value, dict) or step not in value:
                return False, None
            value = value[step]
        elif kind == "index":
            assert isinstance(step, int)
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return False, None
            value = value[step]
        else:
            if not isinstance(value, list):
                return False, None
            rest = steps[number + 1 :]
            found = [_walk(item, rest) for item in value]
            if not all(ok for ok, _ in found):
                return False, None
            return True, [item for _, item in found]
    return True, value
