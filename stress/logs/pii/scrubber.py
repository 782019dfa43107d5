"""The two passes (learn every value of a log, then scrub each) and the consistent map from
originals to substitutes."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stress.logs.pii import names as names_
from stress.logs.pii import network, numbers, phones, places, substitutes
from stress.logs.pii.common import Span, ascii_digits
from stress.logs.pii.keys import kind_of_key

# In the order they win when two overlap (an e-mail beats the name inside it).
KINDS = (
    "email",
    "url",
    "iban",
    "card",
    "ssn",
    "national_id",
    "bic",
    "ip",
    "mac",
    "dob",
    "address",
    "phone",
    "name",
)
_TOKEN = re.compile(r"[\w@.+:/-]+")
_DIGIT = re.compile(r"[0-9]")
_GLUED = re.compile(r"^(?:al|el|ad|ibn|bin)[-’']")
_Detect = Callable[[str, list[Span]], list[Span]]


@dataclass(frozen=True)
class Pattern:
    """A scenario's own kind: ``regex`` matches it; ``replace`` is a Faker bothify template
    (``#`` a digit, ``?`` a letter), or None to redraw each digit and letter of the match."""

    name: str
    regex: re.Pattern[str]
    replace: str | None = None


class Scrubber:
    """Find and replace personal data; ``learn`` every value first, then ``scrub`` each.

    ``learn`` finds the names (so a name found in one message is replaced where it recurs
    alone) and the log's words no substitute may equal. ``seed`` decides the substitutes;
    ``skip`` names kinds to leave alone; ``patterns`` adds kinds; phone numbers without a
    country code are read first as numbers of ``region`` and of ``locale``'s country (then of
    any region when written like one); names are replaced with ``locale`` names.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        skip: Iterable[str] = (),
        patterns: Sequence[Pattern] = (),
        region: str = "US",
        locale: str = "en_US",
    ) -> None:
        self.seed = seed
        self.skip = frozenset(skip)
        self.patterns = list(patterns)
        self.region = region
        self.locale = locale
        self.counts: Counter[str] = Counter()
        self._found: dict[tuple[str, str], list[Span]] = {}
        self._tokens: set[str] = set()
        self._originals: set[str] = set()
        self._substitutes: dict[tuple[str, str], str] = {}
        self._used: set[str] = set()
        self._rng = random.Random()
        self._order = [*(p.name for p in self.patterns), *KINDS]
        # National phone numbers are read as the region's, then as the locale's country's.
        # (A locale without a country, "en", adds none.)
        country = locale.rsplit("_", 1)[-1] if "_" in locale else ""
        self._regions = tuple(dict.fromkeys([region, country] if len(country) == 2 else [region]))
        self._detectors = self._make_detectors()

    # -- the two passes ------------------------------------------------------------------

    def learn(self, value: Any) -> None:
        """Pass 1: find what is in ``value`` (every string and number in it, recursively)."""
        for text, key in _leaves(value):
            self._originals.update(token.strip(".,:;-/") for token in _TOKEN.findall(text))
            self._originals.update(names_.WORD.findall(text))
            for span in self._detect(text, key):
                original = text[span.start : span.end]
                self._originals.add(original)
                if span.kind == "name":
                    found = [w for w in names_.WORD.findall(original) if _personal_word(w)]
                    self._tokens.update(found)

    def scrub(self, value: Any, key: str = "") -> Any:
        """Pass 2: a copy of ``value`` with every finding replaced (keys kept); numbers that
        are personal data (a phone or card stored as a JSON number) get a number of the same
        digits' count, JSON documents inside strings are scrubbed as documents."""
        if isinstance(value, str):
            document = _json_document(value)
            if document is not None:
                return json.dumps(self.scrub(document, key), ensure_ascii=False)
            return self.scrub_text(value, key)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            clean = self.scrub_text(str(value), key)
            return int(clean) if clean.isdigit() else clean
        if isinstance(value, list):
            return [self.scrub(item, key) for item in value]
        if isinstance(value, dict):
            columns = value.get("columns")
            if isinstance(columns, list) and isinstance(value.get("data"), list):
                # A table (dataframe_split): each cell under its column's name.
                return {
                    name: [self._row(columns, row) for row in item]
                    if name == "data"
                    else item
                    if name == "columns"
                    else self.scrub(item, str(name))
                    for name, item in value.items()
                }
            return {name: self.scrub(item, str(name)) for name, item in value.items()}
        return value

    def _row(self, columns: list[Any], row: Any) -> Any:
        if not isinstance(row, list):
            return self.scrub(row)
        return [
            self.scrub(cell, str(columns[i]) if i < len(columns) else "")
            for i, cell in enumerate(row)
        ]

    def scrub_text(self, text: str, key: str = "") -> str:
        spans = list(self._detect(text, key))
        if "name" not in self.skip and self._tokens:
            spans += self._recurring(text)
        chosen = _non_overlapping(spans, self._order)
        out, last = [], 0
        for span in chosen:
            out.append(text[last : span.start])
            out.append(self._replace(text[span.start : span.end], span))
            self.counts[span.kind] += 1
            last = span.end
        out.append(text[last:])
        return "".join(out)

    def names(self, text: str) -> list[str]:
        """The substitute names in a scrubbed text (perturbation's name_swap swaps them)."""
        mine = {value for (kind, _), value in self._substitutes.items() if kind == "name"}
        return [word for word in names_.WORD.findall(text) if word in mine]

    # -- detection -----------------------------------------------------------------------

    def _detect(self, text: str, key: str = "") -> list[Span]:
        cache_key = (text, key)
        found = self._found.get(cache_key)
        if found is not None:
            return found
        found = []
        for pattern in self.patterns:
            matches = [m for m in pattern.regex.finditer(text) if m.end() > m.start()]
            found += [Span(m.start(), m.end(), pattern.name) for m in matches]
        plain = ascii_digits(text)
        keyed = kind_of_key(key, plain) if key else None
        if keyed is not None and keyed not in self.skip:
            stripped = plain.strip()
            start = plain.index(stripped) if stripped else 0
            found.append(Span(start, start + len(stripped), keyed))
        taken: list[Span] = []  # what the kinds run before found (phones, IDs skip them)
        numeric = _DIGIT.search(plain) is not None
        for kind, detect, digits_only in self._detectors:
            if kind not in self.skip and (numeric or not digits_only):
                spans = detect(plain, taken)
                found += spans
                taken += spans
        self._found[cache_key] = found
        return found

    def _make_detectors(self) -> tuple[tuple[str, _Detect, bool], ...]:
        """(kind, detector of the text and what was found before, digits needed) in the
        order they run (phones before IDs: an ID is not tried inside a phone number); which
        kind wins an overlap is KINDS' order."""
        regions = self._regions
        return (
            ("email", lambda text, taken: network.emails(text), False),
            ("url", lambda text, taken: network.urls(text), False),
            ("iban", lambda text, taken: numbers.ibans(text), True),
            ("card", lambda text, taken: numbers.cards(text), True),
            ("ssn", lambda text, taken: numbers.ssns(text), True),
            ("bic", lambda text, taken: numbers.bics(text), False),
            ("ip", lambda text, taken: network.ips(text), True),
            ("mac", lambda text, taken: network.macs(text), True),
            ("dob", lambda text, taken: places.dates_of_birth(text), True),
            ("phone", lambda text, taken: phones.phones(text, regions, taken), True),
            ("national_id", numbers.national_ids, True),
            ("address", lambda text, taken: places.addresses(text), True),
            ("name", lambda text, taken: names_.names(text), False),
        )

    def _recurring(self, text: str) -> list[Span]:
        """Every word of a name found anywhere in the log, wherever it recurs."""
        return [
            Span(m.start(), m.end(), "name")
            for m in names_.WORD.finditer(text)
            if m.group(0) in self._tokens
        ]

    # -- substitutes ---------------------------------------------------------------------

    def _replace(self, original: str, span: Span) -> str:
        if span.kind == "name":
            return names_.WORD.sub(lambda m: self._word(m.group(0)), original)
        plain = ascii_digits(original)  # substitutes are written with ASCII digits
        return self._substitute(span.kind, original, lambda rng: self._make(span, plain, rng))

    def _word(self, word: str) -> str:
        if not _personal_word(word):
            return word
        glued = _GLUED.match(word)
        if glued:
            return glued.group(0) + self._word(word[glued.end() :])
        first = word in names_.name_lists()[0]

        tries = [0]

        def make(rng: random.Random) -> str:
            tries[0] += 1
            return substitutes.name_word(word, first, self.locale, rng, tries[0])

        return self._substitute("name", word, make)

    def _substitute(self, kind: str, original: str, make: Callable[[random.Random], str]) -> str:
        key = (kind, original)
        known = self._substitutes.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256(f"{self.seed}\0{kind}\0{original}".encode()).digest()
        rng = self._rng  # reseeded: the same draws as a new Random of this seed
        rng.seed(int.from_bytes(digest[:8], "big"))
        for _ in range(1000):
            candidate = make(rng)
            if (
                candidate not in self._used
                and candidate not in self._originals
                and not self._holds_a_name(candidate)
            ):
                break
        else:  # a kind with no substitute left: a placeholder, never the original
            candidate = f"<{kind}-{len(self._used)}>"
        self._used.add(candidate)
        self._substitutes[key] = candidate
        return candidate

    def _holds_a_name(self, candidate: str) -> bool:
        """Whether a name of the log begins a word of ``candidate`` (Faker's cities: "Port
        Elizabeth", "Danielfurt")."""
        tokens = self._tokens
        return any(
            word[:end] in tokens
            for word in names_.WORD.findall(candidate)
            for end in range(min(len(word), 20), 2, -1)
        )

    def _make(self, span: Span, original: str, rng: random.Random) -> str:
        kind = span.kind
        makers: dict[str, Callable[[], str]] = {
            "email": lambda: substitutes.email(rng),
            "phone": lambda: substitutes.redraw(original, rng, keep=int(span.detail or 0)),
            "card": lambda: substitutes.card(original, rng),
            "iban": lambda: substitutes.iban(original, rng),
            "bic": lambda: substitutes.bic(original, rng),
            "ip": lambda: substitutes.ip(span.detail, rng),
            "mac": lambda: substitutes.mac(original, rng),
            "dob": lambda: substitutes.dob(original, rng),
            "address": lambda: substitutes.address(original, rng),
            "ssn": lambda: substitutes.ssn(rng),
        }
        if kind in makers:
            return makers[kind]()
        if kind in ("national_id", "url"):
            return substitutes.redraw(original, rng, letters=True)
        pattern = next(p for p in self.patterns if p.name == kind)
        if pattern.replace is None:
            return substitutes.redraw(original, rng, letters=True)
        return str(substitutes.seeded("en_US", rng).bothify(pattern.replace))


def _personal_word(word: str) -> bool:
    return (
        len(word) > 1
        and word not in names_.PARTICLES
        and not names_.is_title(word)
        and word not in ("al", "el")
    )


def _json_document(text: str) -> Any:
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] not in "{[" or stripped[-1] not in "}]":
        return None
    try:
        document = json.loads(stripped)
    except ValueError:
        return None
    return document if isinstance(document, (dict, list)) else None


def _leaves(value: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """Every string (and integer, as text) in ``value`` with the key it is stored under."""
    if isinstance(value, str):
        document = _json_document(value)
        if document is not None:
            yield from _leaves(document, key)
        else:
            yield value, key
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        yield str(value), key
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    elif isinstance(value, dict):
        columns = value.get("columns")
        if isinstance(columns, list) and isinstance(value.get("data"), list):
            for row in value["data"]:
                for i, cell in enumerate(row if isinstance(row, list) else [row]):
                    yield from _leaves(cell, str(columns[i]) if i < len(columns) else "")
        for name, item in value.items():
            if isinstance(columns, list) and name in ("columns", "data"):
                continue
            yield from _leaves(item, str(name))


def _non_overlapping(spans: list[Span], order: Sequence[str]) -> list[Span]:
    """The spans to replace: custom patterns first, then KINDS' order, longest first."""
    rank = {kind: i for i, kind in enumerate(order)}
    ranked = sorted(spans, key=lambda s: (rank.get(s.kind, len(rank)), -(s.end - s.start), s.start))
    taken: list[Span] = []
    for span in ranked:
        if span.end > span.start and all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)
