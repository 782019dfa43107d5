"""Phone numbers of every region libphonenumber (phonenumbers) knows: with a +country code
(or 00 / 011), national numbers of the log's region, and national numbers of any other
region when they are written like phone numbers (digit groups, parentheses) or follow a
word for a phone; extensions included."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import phonenumbers

from stress.logs.pii.common import NOT_NUMBERS, Span, cue_before, words

_CANDIDATE = re.compile(
    r"(?<![\w+.-])(?:\+|\b00|\b011)?[ ]?\(?[0-9][0-9 ().\-/]{4,24}[0-9]"
    r"(?:[ ]?(?:x|ext\.?|extension|#|poste|Durchwahl|доб\.?)[ ]?[0-9]{1,6})?(?![\w-]|\.[0-9])"
)
_CUES = words(
    "phone telephone tel tel. mobile mob cell cellphone call ring text whatsapp fax contact "
    "reach telefon handy rufnummer telefonnummer anrufen mobilnummer téléphone portable "
    "appeler joindre numéro teléfono móvil celular llamar telefono cellulare chiamare "
    "chiamami telefoon mobiel bellen komórka zadzwoń telefone ligar ligue mobiltelefon "
    "ring nummer телефон тел звоните позвоните мобильный telefonu cep arayın numara"
)
_GROUPED = re.compile(r"[0-9][ ().\-/]+[0-9]")
_NON_DIGIT = re.compile(r"[^0-9]")

# libphonenumber compiles its metadata's patterns through the re module's cache (512
# entries); numbers tried in every region use thousands, so keep them compiled instead.
_keep_patterns: Callable[[], None] | None = getattr(phonenumbers, "enable_pattern_cache", None)
if _keep_patterns is not None:
    _keep_patterns()
_NOT_IN_NUMBER = re.compile(r"[^\d ().\-/]")


@functools.cache
def _national_patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """Per region: its national prefix and its numbers' general pattern (a cheap filter
    before libphonenumber's own parse and validation)."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.general_desc is None:
            continue
        pattern = meta.general_desc.national_number_pattern
        if pattern:
            found.append((region, meta.national_prefix or "", re.compile(pattern)))
    return tuple(found)


@functools.lru_cache(maxsize=65536)
def _valid_in(number: str, region: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


@functools.cache
def _patterns_by_region() -> dict[str, tuple[str, re.Pattern[str]]]:
    return {region: (prefix, general) for region, prefix, general in _national_patterns()}


def _may_be(digits: str, prefix: str, general: re.Pattern[str]) -> bool:
    """Whether national ``digits`` fit a region's general pattern (with or without its
    national prefix): libphonenumber's parse is worth trying."""
    national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
    return bool(general.fullmatch(national) or general.fullmatch(digits))


def _national_digits(number: str) -> str:
    return _NON_DIGIT.sub("", _NOT_IN_NUMBER.split(number, maxsplit=1)[0])


def valid_in_region(number: str, region: str) -> bool:
    """Whether national ``number`` is valid in ``region`` (its general pattern first)."""
    known = _patterns_by_region().get(region)
    if known is not None and not _may_be(_national_digits(number), *known):
        return False
    return _valid_in(number, region)


@functools.lru_cache(maxsize=65536)
def valid_anywhere(number: str) -> bool:
    """Whether ``number`` (national digits, extension allowed) is valid in some region."""
    digits = _national_digits(number)
    for region, prefix, general in _national_patterns():
        if _may_be(digits, prefix, general) and _valid_in(number, region):
            return True
    return False


def _international(number: str) -> str | None:
    """``number`` written with + for a leading international prefix (00, 011), else None."""
    stripped = number.lstrip("(")
    if stripped.startswith("+"):
        return stripped
    for prefix in ("00", "011"):
        if stripped.startswith(prefix) and len(_digits(stripped)) > len(prefix) + 6:
            return "+" + stripped[len(prefix) :].lstrip(" ")
    return None


def phones(text: str, region: str | Sequence[str], taken: Sequence[Span] = ()) -> list[Span]:
    """Phone numbers in ``text``; national numbers are read first as those of ``region`` (or
    of each of several: the scenario's region, the locale's country). A span's
    detail is how many leading digits to keep in a substitute (the international prefix and
    country code). Candidates inside ``taken`` spans are not tried."""
    regions = (region,) if isinstance(region, str) else tuple(region)
    spans = []
    for m in _CANDIDATE.finditer(text):
        if any(t.start <= m.start() and m.end() <= t.end for t in taken):
            continue
        # A candidate ends with a digit (the pattern's last), so it needs no trimming.
        found = _phone(text, m.start(), m.group(0), regions)
        if found:
            length, keep = found
            spans.append(Span(m.start(), m.start() + length, "phone", str(keep)))
    return spans


def _phone(text: str, start: int, written: str, regions: Sequence[str]) -> tuple[int, int] | None:
    """(length, digits to keep) of the longest phone number at the start of ``written``."""
    cut = [
        i for i in range(len(written) - 1, 5, -1) if written[i] == " " and written[i - 1].isdigit()
    ]
    for end in [len(written), *cut]:
        number = written[:end]  # ends with a digit: the candidate's last, or one before a cut
        if number.count("(") != number.count(")") or NOT_NUMBERS.fullmatch(number):
            continue
        keep = _one(text, start, number, regions)
        if keep is not None:
            return len(number), keep
    return None


def _digits(text: str) -> str:
    return _NON_DIGIT.sub("", text)


def _one(text: str, start: int, number: str, regions: Sequence[str]) -> int | None:
    international = _international(number)
    if international is not None:
        try:
            parsed = phonenumbers.parse(international, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            prefix = len(_digits(number)) - len(_digits(international))
            return prefix + len(str(parsed.country_code))
        if number.startswith("+"):
            return None  # 00 or 011 may still be a national number's start
    if not 6 <= len(_digits(number)) <= 17:
        return None
    if any(valid_in_region(number, one) for one in regions):
        return 0
    # Another region's number: after a word for a phone, or written like one (an area code in
    # parentheses, or a trunk prefix 0 and digit groups); part numbers are neither.
    looks = "(" in number or (number.startswith("0") and _GROUPED.search(number) is not None)
    if (looks or cue_before(_CUES, text, start, 30)) and valid_anywhere(number):
        return 0
    return None
