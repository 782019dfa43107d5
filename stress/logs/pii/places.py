"""Postal addresses (street words from Faker's address providers of many locales: suffixes
such as Street, straße, gatan, vej, prefixes such as rue, Calle, Via, ul.) with the house
number, unit, postcode and city that follow; dates of birth next to a word for one."""

from __future__ import annotations

import functools
import re

from faker import Faker

from stress.logs.pii.common import Span, words

ADDRESS_LOCALES = [
    "en_US",
    "en_GB",
    "en_IN",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_BR",
    "sv_SE",
    "da_DK",
    "ru_RU",
]
_EXTRA_SUFFIXES = (
    "St Ave Rd Blvd Ln Dr Ct Pl Ter Pkwy Cir Sq Hwy Trl Close Row Nagar Zila Ganj Marg Allé "
    "Plads Torv Vej Gade Straße Strasse Gasse Weg Platz Ring Allee Damm Ufer Chaussee"
)
_EXTRA_PREFIXES = (
    "ul. al. pl. os. av. avda. c/ rua r. calle via viale piazza corso largo vicolo ronda "
    "rotonda stretto strada borgo contrada ул. пр. Via Viale Piazza Corso Largo Vicolo"
)
_GLUED = "straße strasse gasse weg platz ring allee damm ufer chaussee"
_UNIT = (
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Studio|Piso|Appartamento|Interno|Etage|Wohnung|"
    r"Bloco|Apto|Puerta|Escalera|Esc|Portal|Bajo|Piano|Scala|m\.|кв\.|д\.|к\.|стр\.|#)\.?\s*[\w/-]+"
)
_UNIT_AFTER = re.compile(rf"[ ,]*{_UNIT}")
_POSTCODE = re.compile(
    r"\b(?:\d{5}-\d{3}|\d{2}-\d{3}|\d{3} ?\d{2}|\d{4} ?[A-Z]{2}|\d{4,8}|"
    r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d)\b"
)
_DOB_CUES = words(
    "born birth birthday date_of_birth dob d.o.b. geboren geburtsdatum geburtstag né née "
    "naissance date_de_naissance nacido nacida nacimiento fecha_de_nacimiento nato nata "
    "data_di_nascita urodzony urodzona urodzenia data_urodzenia nascido nascida nascimento "
    "född födelsedatum født fødselsdato doğum родился родилась рождения"
)
_MONTHS = (
    "Jan|January|Feb|February|Mar|March|Apr|April|May|Jun|June|Jul|July|Aug|August|Sep|Sept|"
    "September|Oct|October|Nov|November|Dec|December"
)
_DATE = re.compile(
    r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})|"
    rf"\d{{1,2}}\.? (?:{_MONTHS})\.? \d{{4}}|(?:{_MONTHS})\.? \d{{1,2}},? \d{{4}})\b"
)


@functools.cache
def _prefixes() -> str:
    return "|".join(map(re.escape, sorted(_street_words()[1], key=len, reverse=True)))


@functools.cache
def _street_words() -> tuple[frozenset[str], frozenset[str]]:
    """(suffixes, prefixes): the street words of Faker's address providers and our own."""
    suffixes: set[str] = set(_EXTRA_SUFFIXES.split())
    prefixes: set[str] = set(_EXTRA_PREFIXES.split())
    for locale in ADDRESS_LOCALES:
        for provider in Faker(locale).get_providers():
            if ".address." not in f"{type(provider).__module__}.":
                continue
            for attribute in dir(provider):
                values = getattr(provider, attribute)
                if not isinstance(values, (list, tuple)) or "street" not in attribute:
                    continue
                if "suffix" in attribute and locale == "it_IT":  # Via, Piazza: before the name
                    prefixes.update(str(v) for v in values)
                elif "suffix" in attribute:
                    suffixes.update(
                        str(v) for v in values if str(v) != "Street" or locale != "de_DE"
                    )
                elif "prefix" in attribute and "feminine" not in attribute:
                    prefixes.update(str(v) for v in values if len(str(v)) > 1)
            break
    return frozenset(suffixes), frozenset(prefixes)


@functools.cache
def _street_pattern() -> re.Pattern[str]:
    suffixes = _street_words()[0]
    suffix = "|".join(map(re.escape, sorted(suffixes, key=len, reverse=True)))
    prefix = _prefixes()
    word = r"[^\W\d_][\w'’.-]*"
    capital = r"[^\W\d_a-z][\w'’.-]*"
    number = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?"
    # Written glued to the street's name (Hauptstraße, Ringvägen, Todesvej, Noorsteeg).
    lower = {s for s in suffixes if s[:1].islower() and s.isalpha()} | set(_GLUED.split())
    glued_suffix = "|".join(
        f"{re.escape(s)}|-{re.escape(s.capitalize())}" for s in sorted(lower, key=len, reverse=True)
    )
    glued = rf"[^\W\d_a-z][\w-]*?(?:{glued_suffix}|str\.)"
    return re.compile(
        # 742 Evergreen Terrace / 904, Luthra Nagar
        rf"(?<![\w.])(?:{number},?\s+(?:[NSEW]\.?\s+)?(?:{word}[ \t]+){{0,3}}(?:{suffix})\b\.?"
        # rue de la Paix / Calle Marta Arnau 50 / Via Diana, 996 / ul. Polna 76/23
        rf"|(?:{number},?\s+)?(?<!\w)(?:{prefix})(?:\s+|(?<=\.))(?:{word}\s+){{0,5}}?{word},?\s+(?:д\.\s*)?{number}(?!\d)"
        rf"|{number},\s+(?:{prefix})\s+(?:{word}\s+){{0,5}}?{word}"
        # Hauptstraße 5 / Ringvägen 620 / Todesvej 594 / Baker Street 12
        rf"|{glued}\.?\s+{number}(?!\d)|{capital}\s+(?:{suffix})\.?\s+{number}(?!\d))",
        re.UNICODE,
    )


@functools.cache
def _bare_street_pattern() -> re.Pattern[str]:
    word = r"[^\W\d_][\w'’.-]*"
    return re.compile(rf"(?<!\w)(?:{_prefixes()})\s+(?:{word}\s+){{0,4}}?{word}(?=[ \t]*(?:\n|,))")


_SEGMENT = re.compile(r"(\s*,\s*|\s*\n\s*|\s+)((?:[^,\n.;:!?]|\.(?![\s\n]|$)){1,45})")
_CITY = re.compile(r"^(?:[^\W\d_][\w'’.()-]*)(?:[ -][\w'’.()/-]+){0,5}$")


_ASCII_DIGIT = re.compile(r"[0-9]")
# US military addresses: USS Demir, FPO AE 89782 / PSC 3752, Box 7802, APO AA 31046.
_MILITARY = re.compile(
    r"(?:\b(?:USNS|USNV|USS|USCGC|PSC|Unit)\s[^\n,]{1,30}(?:,\s*Box\s\d+)?(?:,\s*|\s*\n\s*))?"
    r"\b[ADF]PO\sA[AEP]\s\d{5}\b"
)


def addresses(text: str) -> list[Span]:
    if _ASCII_DIGIT.search(text) is None and not any(char.isdigit() for char in text):
        return []
    spans = (
        [Span(m.start(), m.end(), "address") for m in _MILITARY.finditer(text)]
        if "PO" in text
        else []
    )
    for m in _bare_street_pattern().finditer(text):
        # A street without a house number, on its own line: only with a postcode after it.
        end = _extend(text, m.end())
        if _POSTCODE.search(text, m.end(), end):
            spans.append(Span(m.start(), end, "address"))
    for m in _street_pattern().finditer(text):
        end = _extend(text, m.end())
        spans.append(Span(m.start(), end, "address"))
    return spans


def _extend(text: str, end: int) -> int:
    """The end of the address that starts with a street ending at ``end``: units, postcode
    and city segments after it (at most four)."""
    unit = _UNIT_AFTER.match(text, end)
    if unit:
        end = unit.end()
    for _ in range(4):
        m = _SEGMENT.match(text, end)
        if not m:
            break
        segment = m.group(2).strip().rstrip(".")
        separator = m.group(1)
        has_code = _POSTCODE.search(segment) is not None
        if has_code:  # (a segment is 45 characters at most: _SEGMENT)
            end = m.start(2) + len(m.group(2).rstrip().rstrip("."))
            continue
        if separator.strip() in (",", "") and "\n" not in separator and not has_code:
            # A city before a postcode ("Springfield, IL 62704"): only if one follows.
            after = _SEGMENT.match(text, m.end())
            if _CITY.match(segment) and after and _POSTCODE.search(after.group(2)):
                end = after.start(2) + len(after.group(2).rstrip().rstrip("."))
                continue
        if "\n" in separator and _CITY.match(segment):
            end = m.start(2) + len(m.group(2).rstrip())
            continue
        break
    return end


def dates_of_birth(text: str) -> list[Span]:
    spans = []
    for m in _DATE.finditer(text):
        if _DOB_CUES.search(text, max(0, m.start() - 40), m.start()):
            spans.append(Span(m.start(), m.end(), "dob"))
    return spans
