"""Personal data in logged requests, replaced with consistent substitutes before anything is
written.

``Scrubber`` finds these kinds in every string of a request (keys are left alone):

    email    addresses (RFC 5322's common form)                     → Faker safe_email (example.*)
    phone    numbers Google's libphonenumber calls valid (phonenumbers; national numbers in
             the ``region``, any number with +country code)          → same shape, other digits
    card     13-19 digits, spaces or dashes allowed, Luhn-valid      → same length, first digit
             and separators, other digits, Luhn-valid (python-stdnum)
    ssn      US social security numbers written 123-45-6789 that follow the SSA's rules (no
             area 000, 666 or 9xx, no group 00, no serial 0000; nine digits without dashes
             are too ambiguous to call one)
                                                                     → Faker ssn
    iban     IBANs with valid check digits (python-stdnum)          → same country and shape,
                                                                       valid mod-97 check digits
    ip       IPv4 addresses                                          → documentation ranges
                                                                       (192.0.2.0/24, ...)
    address  street addresses: US style (number, street, suffix, unit, "City, ST 12345"),
             German (Hauptstraße 5, 10115 Berlin), French (12 rue de la Paix, 75002 Paris)
                                                                     → Faker address, same locale
    name     people's names, from Faker's first-name lists of eight locales: a known first
             name followed by a capitalised word, a title (Mr, Dr, Frau, Madame...) followed by
             capitalised words, a known first name after a cue ("I'm", "my name is", "Dear",
             "Thanks,"); every word of a name found once is replaced wherever it recurs
                                                                     → Faker first/last names
    <pattern> a scenario's own regular expressions                   → its Faker bothify
             template, or the match with each digit and letter redrawn

Precision, honestly: names are found by lists and context, not by a language model; a name
that is not in Faker's lists and has no cue or title (a lone "Okafor") is missed unless it
was found elsewhere in the log; a capitalised word after a first name is taken as a surname
("Paris Hilton", but also "Georgia Tech"). Addresses are found by their street suffix; an
address written without one is missed. Numbers stored as JSON numbers are not scrubbed.

Substitutes are consistent: the same original gives the same substitute within a run (seeded
from the run seed and the original), different originals give different substitutes, and no
substitute equals an original found in the log. ``counts`` says how many values of each kind
were replaced.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn

# Numbers are matched with ASCII digits only: \d also matches other scripts' digits, which
# the validators (and card issuers) do not know.
# In the order they win when two overlap (an e-mail beats the name inside it).
KINDS = ("email", "iban", "card", "ssn", "ip", "phone", "address", "name")

# Locales whose first names are recognised (Faker's person providers).
NAME_LOCALES = (
    "en_US",
    "en_GB",
    "en_IN",
    "de_DE",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_BR",
    "ru_RU",
    "tr_TR",
)

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9-])")
_SSN = re.compile(r"(?<![0-9-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9-])")
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}")
_IPV4 = re.compile(r"(?<![0-9])(?<![0-9]\.)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])(?!\.[0-9])")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# Street suffixes: the USPS list Faker's en_US provider carries, and common abbreviations.
_ABBREVIATIONS = "St Ave Rd Blvd Ln Dr Ct Pl Ter Pkwy Cir Sq Hwy Trl Close Row"


@functools.cache
def _address_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    suffixes = sorted(
        {*_provider_list("en_US", "address", "street_suffixes"), *_ABBREVIATIONS.split()},
        key=len,
        reverse=True,
    )
    us_suffix = "|".join(map(re.escape, suffixes))
    us = re.compile(
        r"\b\d{1,6}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th))\s+)"
        rf"{{1,4}}?(?:{us_suffix})\b\.?"
        r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*[\w-]+)?"
        r"(?:,?\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
    )
    return (("en_US", us), *_ADDRESSES)


_ADDRESSES = (
    (
        "de_DE",
        re.compile(
            r"\b[A-ZÄÖÜ][\wäöüß.-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm)"
            r"\s+\d{1,4}[a-z]?\b(?:,\s*\d{5}\s+[A-ZÄÖÜ][\wäöüß-]+)?"
        ),
    ),
    (
        "fr_FR",
        re.compile(
            r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|chemin|place|allée|"
            r"impasse|quai|route)\s+(?:(?:de la|de l'|du|des|de|d')\s*)?[A-ZÉ][\w'-]*"
            r"(?:\s+[A-ZÉ][\w'-]*){0,3}(?:,\s*\d{5}\s+[A-ZÉ][\w-]+)?"
        ),
    ),
)

_TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Herr|Frau|Monsieur|Madame|Mme|Mlle|Señor|Señora|Sr|Sra"
)
_TITLED = re.compile(
    rf"\b(?:{_TITLES})\.?\s+([A-Z][^\W\d_]+(?:[-'’][^\W\d_]+)?)"
    r"(?:\s+([A-Z][^\W\d_]+(?:[-'’][^\W\d_]+)?))?"
)
# Words before a first name that make it one ("Thanks Sam"); the strong ones introduce a
# name even when it is not in the lists ("I'm Okonkwo").
_CUES = re.compile(
    r"(?:\b(?:Dear|Hi|Hello|Hey|Thanks|Thank you|Regards|Cheers|Best|Sincerely|Hallo|Liebe|"
    r"Lieber|Bonjour|Salut|Cordialement|Hola|Ciao|Grazie),?\s*\n?\s*)$"
)
_STRONG_CUES = re.compile(
    r"(?:\b(?:I'm|I am|[Mm]y name is|[Tt]his is|[Ii]ch heiße|[Jj]e m'appelle|[Mm]e llamo|"
    r"[Mm]i chiamo)\s+)$"
)
_CAPITALISED_WORD = r"[A-Z][^\W\d_]+(?:['’-][^\W\d_]+)*"
_CAPITALISED = re.compile(rf"{_CAPITALISED_WORD}(?: {_CAPITALISED_WORD})?")
# Capitalised words that follow a first name without being a surname.
_NOT_NAMES_TEXT = """I A An And Or But If So To In On At For Of From By With As My Your Our Their
His Her We You He She It They This That These Those Is Are Was Were Be Been Can Could Will
Would Shall Should May Might Must Please Thanks Thank Hi Hello Hey Dear Yes No Not Do Does Did
Have Has Had What When Where Why How Who Whom Which Here There Also Just Then Now Today
Tomorrow OK Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
April June July August September October November December Der Die Das Und Oder Ich Sie Er
Es Wir Le La Les Et Ou Je Il Elle Nous Vous El Los Las Y Street Avenue Road"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


@dataclass(frozen=True)
class Pattern:
    """A scenario's own kind: ``regex`` matches it; ``replace`` is a Faker bothify template
    (``#`` a digit, ``?`` a letter), or None to redraw each digit and letter of the match."""

    name: str
    regex: re.Pattern[str]
    replace: str | None = None


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str
    # address: the Faker locale of the substitute.
    detail: str = ""


def _provider_list(locale: str, provider: str, attribute: str) -> list[str]:
    """A word list of one of Faker's providers for ``locale`` (first_names, street_suffixes)."""
    for found in _faker(locale).get_providers():
        values = getattr(found, attribute, None)
        if values is not None and f".{provider}." in f"{type(found).__module__}.":
            return [str(value) for value in values]
    return []


@functools.cache
def _first_names() -> frozenset[str]:
    names = {
        name for locale in NAME_LOCALES for name in _provider_list(locale, "person", "first_names")
    }
    return frozenset(name for name in names if len(name) > 1 and name not in _NOT_NAMES)


@functools.cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


class Scrubber:
    """Find and replace personal data; ``learn`` every value first, then ``scrub`` each.

    ``learn`` finds the names (so a name found in one message is replaced where it recurs
    alone) and the originals no substitute may equal. ``seed`` decides the substitutes;
    ``skip`` names kinds to leave alone; ``patterns`` adds kinds; phone numbers without a
    country code are read as numbers of ``region``; names are replaced with ``locale`` names.
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
        self._found: dict[str, list[_Span]] = {}
        self._tokens: set[str] = set()
        self._token_re: re.Pattern[str] | None = None
        self._originals: set[str] = set()
        self._substitutes: dict[tuple[str, str], str] = {}
        self._used: set[str] = set()

    # -- the two passes ------------------------------------------------------------------

    def learn(self, value: Any) -> None:
        """Pass 1: find what is in ``value`` (every string in it, recursively)."""
        for text in _strings(value):
            spans = self._detect(text)
            for span in spans:
                original = text[span.start : span.end]
                self._originals.add(original)
                if span.kind == "name":
                    words = [w for w in _WORD.findall(original) if not _is_title(w)]
                    self._tokens.update(w for w in words if len(w) > 1 and w not in _NOT_NAMES)
                    self._originals.update(words)
        self._token_re = None

    def scrub(self, value: Any) -> Any:
        """Pass 2: a copy of ``value`` with every finding replaced (keys kept)."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        return value

    def scrub_text(self, text: str) -> str:
        spans = list(self._detect(text))
        if "name" not in self.skip and self._tokens:
            spans += self._recurring(text)
        chosen = _non_overlapping(spans, [p.name for p in self.patterns])
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
        return [word for word in _WORD.findall(text) if word in mine]

    # -- detection -----------------------------------------------------------------------

    def _detect(self, text: str) -> list[_Span]:
        found = self._found.get(text)
        if found is None:
            found = []
            for pattern in self.patterns:
                matches = [m for m in pattern.regex.finditer(text) if m.end() > m.start()]
                found += [_Span(m.start(), m.end(), pattern.name) for m in matches]
            detectors: dict[str, Callable[[str], list[_Span]]] = {
                "email": _emails,
                "iban": _ibans,
                "card": _cards,
                "ssn": _ssns,
                "ip": _ips,
                "phone": self._phones,
                "address": _addresses,
                "name": _names,
            }
            # Digits of other scripts (٤١٥) read as ASCII ones; one character each, so the
            # positions found are the text's own.
            plain = _ascii_digits(text)
            for kind, detect in detectors.items():
                if kind not in self.skip:
                    found += detect(plain)
            self._found[text] = found
        return found

    def _phones(self, text: str) -> list[_Span]:
        if not any(char.isdigit() for char in text):
            return []
        matcher = phonenumbers.PhoneNumberMatcher(
            text, self.region, leniency=phonenumbers.Leniency.VALID
        )
        return [_Span(m.start, m.end, "phone", str(m.number.country_code)) for m in matcher]

    def _recurring(self, text: str) -> list[_Span]:
        if self._token_re is None:
            words = sorted(self._tokens, key=len, reverse=True)
            alternatives = "|".join(map(re.escape, words))
            self._token_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        return [_Span(m.start(), m.end(), "name") for m in self._token_re.finditer(text)]

    # -- substitutes ---------------------------------------------------------------------

    def _replace(self, original: str, span: _Span) -> str:
        if span.kind == "name":
            return _WORD.sub(lambda m: self._word(m.group(0)), original)
        plain = _ascii_digits(original)  # substitutes are written with ASCII digits
        return self._substitute(span.kind, original, lambda rng: self._make(span, plain, rng))

    def _word(self, word: str) -> str:
        if _is_title(word):
            return word
        first = word in _first_names()
        fake = _faker(self.locale)

        def make(rng: random.Random) -> str:
            fake.seed_instance(rng.getrandbits(64))
            return str(fake.first_name() if first else fake.last_name())

        return self._substitute("name", word, make)

    def _substitute(self, kind: str, original: str, make: Callable[[random.Random], str]) -> str:
        key = (kind, original)
        known = self._substitutes.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256(f"{self.seed}\0{kind}\0{original}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        for _ in range(1000):
            candidate = make(rng)
            if candidate not in self._used and candidate not in self._originals:
                break
        else:  # a kind with no substitute left: a placeholder, never the original
            candidate = f"<{kind}-{len(self._used)}>"
        self._used.add(candidate)
        self._substitutes[key] = candidate
        return candidate

    def _make(self, span: _Span, original: str, rng: random.Random) -> str:
        kind = span.kind
        if kind == "email":
            fake = _faker("en_US")
            fake.seed_instance(rng.getrandbits(64))
            return str(fake.safe_email())
        if kind == "phone":
            return _redraw(original, rng, keep=len(span.detail) if "+" in original else 0)
        if kind == "card":
            return _card(original, rng)
        if kind == "ssn":
            fake = _faker("en_US")
            fake.seed_instance(rng.getrandbits(64))
            return str(fake.ssn())
        if kind == "iban":
            return _iban(original, rng)
        if kind == "ip":
            return _ip(rng)
        if kind == "address":
            return _address(span.detail, original, rng)
        pattern = next(p for p in self.patterns if p.name == kind)
        if pattern.replace is None:
            return _redraw(original, rng, letters=True)
        fake = _faker("en_US")
        fake.seed_instance(rng.getrandbits(64))
        return str(fake.bothify(pattern.replace))


def _ascii_digits(text: str) -> str:
    if text.isascii() or not any(char.isdecimal() for char in text):
        return text
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() and not char.isascii() else char
        for char in text
    )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _non_overlapping(spans: list[_Span], custom: Sequence[str]) -> list[_Span]:
    """The spans to replace: custom patterns first, then KINDS' order, longest first."""
    order = [*custom, *KINDS]
    ranked = sorted(spans, key=lambda s: (order.index(s.kind), -(s.end - s.start), s.start))
    taken: list[_Span] = []
    for span in ranked:
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def _emails(text: str) -> list[_Span]:
    if "@" not in text:
        return []
    return [_Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]


def _cards(text: str) -> list[_Span]:
    spans = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"[^0-9]", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            spans.append(_Span(m.start(), m.end(), "card"))
    return spans


def _ssns(text: str) -> list[_Span]:
    # The SSA's structural rules only: stdnum's is_valid also refuses numbers printed in
    # advertisements (219-09-9999), which people still type into forms.
    spans = []
    for m in _SSN.finditer(text):
        area, group, serial = m.group(0).split("-")
        if area not in ("000", "666") and area < "900" and group != "00" and serial != "0000":
            spans.append(_Span(m.start(), m.end(), "ssn"))
    return spans


def _ibans(text: str) -> list[_Span]:
    spans = []
    for m in _IBAN.finditer(text):
        candidate = m.group(0)
        # The pattern may run on into a following word: try the ends at spaces, longest first.
        spaces = [i for i in range(len(candidate) - 1, 14, -1) if candidate[i] == " "]
        ends = [len(candidate), *spaces]
        for end in ends:
            if stdnum_iban.is_valid(candidate[:end]):
                spans.append(_Span(m.start(), m.start() + end, "iban"))
                break
    return spans


_DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


def _ips(text: str) -> list[_Span]:
    spans = []
    for m in _IPV4.finditer(text):
        try:
            address = ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        if any(address in net for net in _DOCUMENTATION_NETS):
            continue  # already a placeholder
        spans.append(_Span(m.start(), m.end(), "ip"))
    return spans


def _addresses(text: str) -> list[_Span]:
    if not any(char.isdigit() for char in text):
        return []
    return [
        _Span(m.start(), m.end(), "address", locale)
        for locale, pattern in _address_patterns()
        for m in pattern.finditer(text)
    ]


def _is_title(word: str) -> bool:
    return re.fullmatch(_TITLES, word.rstrip(".")) is not None


def _names(text: str) -> list[_Span]:
    spans = []
    for m in _TITLED.finditer(text):
        if m.group(1) in _NOT_NAMES:
            continue
        end = m.end(1) if m.group(2) is None or m.group(2) in _NOT_NAMES else m.end(2)
        spans.append(_Span(m.start(), end, "name"))
    first = _first_names()
    words = list(_WORD.finditer(text))
    for i, word in enumerate(words):
        if word.group(0) not in first:
            continue
        following = words[i + 1] if i + 1 < len(words) else None
        gap = text[word.end() : following.start()] if following else ""
        if (
            following is not None
            and following.group(0)[0].isupper()
            and following.group(0) not in _NOT_NAMES
            and re.fullmatch(r" (?:[A-Z]\. )?", gap)
        ):
            spans.append(_Span(word.start(), following.end(), "name"))
        elif _CUES.search(text[max(0, word.start() - 30) : word.start()]):
            spans.append(_Span(word.start(), word.end(), "name"))
    for word in words:
        if not _STRONG_CUES.search(text[max(0, word.start() - 20) : word.start()]):
            continue
        found = _CAPITALISED.match(text, word.start())
        parts = found.group(0).split(" ") if found else []
        if parts and parts[0] not in _NOT_NAMES:
            if len(parts) > 1 and parts[1] in _NOT_NAMES:
                parts = parts[:1]
            spans.append(_Span(word.start(), word.start() + len(" ".join(parts)), "name"))
    return spans


def _redraw(original: str, rng: random.Random, *, keep: int = 0, letters: bool = False) -> str:
    """``original`` with each digit (after the first ``keep``) and, with ``letters``, each
    ASCII letter replaced by a random one of its class; everything else kept."""
    out, seen = [], 0
    for char in original:
        if char.isdecimal() and char.isascii():
            seen += 1
            if seen > keep:
                low = 1 if seen == keep + 1 else 0  # no leading zero where there was none
                char = str(rng.randint(low if char != "0" else 0, 9))
        elif letters and char.isascii() and char.isalpha():
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            char = rng.choice(alphabet if char.isupper() else alphabet.lower())
        out.append(char)
    return "".join(out)


def _card(original: str, rng: random.Random) -> str:
    digits = [c for c in original if c.isdigit()]
    body = digits[0] + "".join(str(rng.randint(0, 9)) for _ in digits[1:-1])
    number = body + luhn.calc_check_digit(body)
    it = iter(number)
    return "".join(next(it) if c.isdigit() else c for c in original)


def _iban(original: str, rng: random.Random) -> str:
    compact = original.replace(" ", "")
    bban = _redraw(compact[4:], rng, letters=True)
    check = stdnum_iban.calc_check_digits(compact[:2] + "00" + bban)
    number = compact[:2] + check + bban
    it = iter(number)
    return "".join(" " if c == " " else next(it) for c in original)


def _ip(rng: random.Random) -> str:
    net = rng.choice(_DOCUMENTATION_NETS)
    return str(net[rng.randint(1, 254)])


def _address(locale: str, original: str, rng: random.Random) -> str:
    fake = _faker(locale or "en_US")
    fake.seed_instance(rng.getrandbits(64))
    street = str(fake.street_address())
    if locale == "en_US":
        if re.search(r"\d{5}(?:-\d{4})?$", original):
            return f"{street}, {fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
        return street
    if re.search(r",\s*\d{5}\s+\S+$", original):
        return f"{street}, {fake.postcode()} {fake.city()}"
    return street
