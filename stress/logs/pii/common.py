"""What every detector shares: the span it reports, digits of other scripts, cue words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# IP addresses, dates, times and version numbers: no phone or ID number.
NOT_NUMBERS = re.compile(
    r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}|[0-9]{1,2}(?:\.[0-9]+){1,3}"
)


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is personal data of ``kind``; ``detail`` helps the substitute
    (a phone's country code, an address's Faker locale, a date's format)."""

    start: int
    end: int
    kind: str
    detail: str = ""


def ascii_digits(text: str) -> str:
    """``text`` with the digits of other scripts (٤١٥) written as ASCII ones; one character
    each, so positions found in the result are the text's own."""
    if text.isascii():
        return text
    table = {
        ord(char): str(unicodedata.decimal(char))
        for char in set(text)
        if char.isdecimal() and not char.isascii()
    }
    return text.translate(table) if table else text


def cue_before(cue: re.Pattern[str], text: str, start: int, reach: int = 40) -> bool:
    """Whether ``cue`` matches in the ``reach`` characters before ``start``."""
    return cue.search(text, max(0, start - reach), start) is not None


def words(*groups: str) -> re.Pattern[str]:
    """A case-insensitive pattern of whole words from whitespace-separated ``groups`` (``_``
    stands for a space inside a cue)."""
    cues = sorted({w.replace("_", " ") for g in groups for w in g.split()}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, cues)) + r")(?!\w)", re.IGNORECASE)
