"""``${ENV_VAR}`` references in scenario values, and scrubbing their values from what we write.

A scenario never holds a secret itself: ``Authorization: Bearer ${OPENAI_API_KEY}`` names the
variable, the value is read from the environment of the process that sends (the load process,
replay). The resolved scenario.yaml in a run directory keeps the reference, never the value.
Every value read this way counts as a secret: failures, records, logs and console messages
pass through a ``Redactor`` that replaces it with ``<redacted>``.

``$${X}`` is a literal ``${X}`` (for the rare API that wants the characters themselves).
This module imports nothing of ours, so the scenario model and the adapters can both use it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

REDACTED = "<redacted>"
_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Values shorter than this are not treated as secrets when scrubbing free text: replacing every
# "1" or "on" in an answer would destroy the answer and protect nothing real.
MIN_SECRET_CHARS = 4


class MissingVariable(KeyError):
    """A referenced environment variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def references(value: str) -> list[str]:
    """The variable names ``value`` refers to; raises ValueError for a malformed reference."""
    names = []
    for match in _TOKEN.finditer(value):
        if match.group(0) == "$$":
            continue
        name = match.group(1)
        if not match.group(0).endswith("}"):
            raise ValueError(f"unclosed ${{ in {value!r}; write ${{NAME}} (or $${{ for a literal)")
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"{'${' + name + '}'!r} is not a variable reference; a name is letters, digits "
                f"and _, not starting with a digit, e.g. ${{OPENAI_API_KEY}}"
            )
        names.append(name)
    return names


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with every ``${NAME}`` replaced from ``environ`` (default os.environ).

    Raises MissingVariable for an unset variable, ValueError for a malformed reference.
    """
    env = os.environ if environ is None else environ
    references(value)  # syntax first, so a typo is never half-resolved

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            raise MissingVariable(name)
        return env[name]

    return _TOKEN.sub(substitute, value)


def secret_values(values: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the variables that ``values`` refer to (set ones only): the secrets."""
    env = os.environ if environ is None else environ
    found = []
    for value in values:
        for name in references(value):
            secret = env.get(name)
            if secret and secret not in found:
                found.append(secret)
    return found


def encodings(secret: str) -> set[str]:
    """``secret`` as it is and as it appears URL-encoded or JSON-escaped."""
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


class Redactor:
    """Replaces known secret values in text. Cheap when there are none (the common case)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Each secret also in the forms it takes on the way: URL-encoded in a query string
        # ("a+b/c=" is "a%2Bb%2Fc%3D" there) and escaped inside a JSON string.
        unique = {form for s in secrets if len(s) >= MIN_SECRET_CHARS for form in encodings(s)}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(unique, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def scrub(self, text: str) -> str:
        # A replacement can join with its neighbours into the secret again (a secret starting
        # with ">" right after another): repeat until none is left, and give up on the text
        # rather than let one through.
        for _ in range(8):
            found = [secret for secret in self.secrets if secret in text]
            if not found:
                return text
            for secret in found:
                text = text.replace(secret, REDACTED)
        return REDACTED

    def scrub_optional(self, text: str | None) -> str | None:
        if text is None or not self.secrets:
            return text
        return self.scrub(text)
