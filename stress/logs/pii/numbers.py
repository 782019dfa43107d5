"""Card numbers, US social security numbers, national ID, tax and account numbers of every
country python-stdnum knows, IBANs and BICs: found by shape, kept only when a checksum (or
a registry's rules) says so."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from types import ModuleType

import stdnum
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.exceptions import InvalidFormat, InvalidLength

from stress.logs.pii.common import NOT_NUMBERS, Span, cue_before, words

_CARD = re.compile(r"(?<![0-9])[0-9](?:[ .-]?[0-9]){11,18}(?![0-9])")
_CARD_CUES = words(
    "card credit_card debit_card cc visa mastercard amex maestro karte kreditkarte carte "
    "carte_bancaire tarjeta carta kaart karta cartão kort kart карта"
)
_SSN = re.compile(r"(?<![0-9-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9-])")
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}")
_BIC = re.compile(r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b")
_BIC_CUES = words("BIC SWIFT SWIFT/BIC BIC/SWIFT")
# UK National Insurance numbers: no checksum, but a strict shape (HMRC's prefix rules).
_NINO = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b"
)
# ID-like tokens: letters and digits with separators inside, or digit groups with spaces
# (an optional letter or two at the end: NIR keys, NINO suffixes).
_ID_TOKEN = re.compile(r"(?<![\w.-])[0-9A-Z](?:[0-9A-Z]|[./-](?=[0-9A-Z])){4,24}(?![\w-]|\.\w)")
_ID_SPACED = re.compile(r"(?<![\w.-])[0-9]{1,6}(?: [0-9]{1,6}){1,7}(?: ?[A-Z]{1,2})?(?![\w-])")
_ID_CUES = words(
    "id id-nr idnr identity identification identifier personal national citizen ssn "
    "social_security tax tax_id tin taxpayer passport insurance pension account ausweis "
    "personalausweis steuer steuer-id steuernummer steueridentifikationsnummer "
    "sozialversicherungsnummer versicherungsnummer numéro_de_sécurité_sociale sécurité_sociale "
    "nir insee fiscal fiscale codice_fiscale documento dni nie nif cif nuss bsn "
    "burgerservicenummer sofinummer pesel nip regon cpf cnpj rg personnummer "
    "samordningsnummer tc kimlik vergi инн снилс паспорт aadhaar pan cpr nhs hetu "
    "henkilötunnus fødselsnummer rodné číslo egn jmbg oib amka afm"
)
# Modules that accept most numbers of their length (no or a weak checksum): only with their
# own name written before the number (measured on random digit strings, stdnum 2.2).
_WEAK = frozenset(
    [
        "ar.dni",
        "cr.cpf",
        "de.stnr",
        "de.wkn",
        "dz.nif",
        "eg.tn",
        "fi.associationid",
        "fi.veronumero",
        "fo.vn",
        "is_.vsk",
        "kr.brn",
        "li.peid",
        "pe.cui",
        "pk.cnic",
        "sm.coe",
        "us.atin",
        "us.ein",
        "us.ssn",
        "us.tin",
        "nl.identiteitskaartnummer",
        "by.unp",
    ]
)
_NEVER = re.compile(r"(?!)")
_NON_DIGIT = re.compile(r"[^0-9]")
_NON_ALNUM = re.compile(r"[^0-9A-Z]")
# Not personal (postal codes) or found by their own detector.
_NOT_IDS = re.compile(
    r"^(?:iso7064|eu|gs1)|postal|postleitzahl|postnummer|iban|\.bic$|isin|wkn|sedol|esr|ogm"
)


@functools.cache
def _id_modules() -> tuple[tuple[str, ModuleType, re.Pattern[str]], ...]:
    """Every country module of python-stdnum with a validator: (name, module, its cue)."""
    found = []
    for info in pkgutil.walk_packages(stdnum.__path__, "stdnum."):
        name = info.name.removeprefix("stdnum.")
        if name.count(".") != 1 or _NOT_IDS.search(name):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # pragma: no cover - an optional dependency of stdnum
            continue
        if not callable(getattr(module, "is_valid", None)):
            continue
        first = (module.__doc__ or "").strip().split("\n")[0]
        tokens = re.findall(r"[^\W\d_]{2,}", first.split("(")[0])
        acronyms = [t for t in tokens if sum(c.isupper() for c in t) >= 2 and len(t) <= 8]
        cue = words(" ".join(acronyms)) if acronyms else _NEVER
        found.append((name, module, cue))
    return tuple(found)


@functools.cache
def _by_length(length: int, digits: bool) -> tuple[tuple[str, ModuleType, re.Pattern[str]], ...]:
    """The modules that do not refuse every number of ``length`` characters outright: their
    ``validate`` of ``1`` * length raises something other than InvalidLength (and, for
    ``digits`` only, other than InvalidFormat: those want letters)."""
    refused: tuple[type[Exception], ...] = (
        (InvalidLength, InvalidFormat) if digits else (InvalidLength,)
    )
    possible = []
    for found in _id_modules():
        validate = getattr(found[1], "validate", None)
        if validate is None:
            possible.append(found)
            continue
        try:
            validate("1" * length)
        except refused:
            continue
        except Exception:
            pass
        possible.append(found)
    return tuple(possible)


def cards(text: str) -> list[Span]:
    spans = []
    for m in _CARD.finditer(text):
        written = m.group(0)
        ends = [len(written)] + [
            i for i in range(len(written) - 1, 11, -1) if not written[i].isdigit()
        ]
        for end in ends:
            digits = _NON_DIGIT.sub("", written[:end])
            if not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
                continue
            # Issuers' first digits (2-6); any other with a word for a card before it.
            if (
                digits[0] in "23456"
                or digits.startswith("1800")
                or cue_before(_CARD_CUES, text, m.start())
            ):
                spans.append(Span(m.start(), m.start() + end, "card"))
                break
    return spans


def ssns(text: str) -> list[Span]:
    # The SSA's structural rules only: stdnum's is_valid also refuses numbers printed in
    # advertisements (219-09-9999), which people still type into forms.
    spans = []
    for m in _SSN.finditer(text):
        area, group, serial = m.group(0).split("-")
        if area not in ("000", "666") and area < "900" and group != "00" and serial != "0000":
            spans.append(Span(m.start(), m.end(), "ssn"))
    return spans


def ibans(text: str) -> list[Span]:
    spans = []
    for m in _IBAN.finditer(text):
        candidate = m.group(0)
        # The pattern may run on into a following word: try the ends at spaces, longest first.
        spaces = [i for i in range(len(candidate) - 1, 14, -1) if candidate[i] == " "]
        for end in [len(candidate), *spaces]:
            if stdnum_iban.is_valid(candidate[:end]):
                spans.append(Span(m.start(), m.start() + end, "iban"))
                break
    return spans


def bics(text: str) -> list[Span]:
    spans = []
    for m in _BIC.finditer(text):
        code = m.group(0)
        if not stdnum_bic.is_valid(code):
            continue
        if any(c.isdigit() for c in code[6:]) or cue_before(_BIC_CUES, text, m.start()):
            spans.append(Span(m.start(), m.end(), "bic"))
    return spans


def national_ids(text: str, taken: Sequence[Span] = ()) -> list[Span]:
    """Numbers a stdnum country validator accepts, when they look like an ID: written in the
    module's own format, mixing letters and digits, or after a word for an ID (the module's
    own name for the weak validators). Candidates inside ``taken`` spans (a card, an IBAN
    found already) are not tried."""
    spans = [Span(m.start(), m.end(), "national_id") for m in _NINO.finditer(text)]
    for pattern in (_ID_TOKEN, _ID_SPACED):
        for m in pattern.finditer(text):
            if any(t.start <= m.start() < t.end for t in taken):
                continue
            found = _national_id(text, m.start(), m.group(0))
            if found:
                spans.append(Span(m.start(), m.start() + found, "national_id"))
    return spans


def _national_id(text: str, start: int, written: str) -> int:
    """The length of the longest ID at the start of ``written`` (0: none): not an IP
    address, a date or a version number."""
    if NOT_NUMBERS.fullmatch(written):
        return 0
    ends = [len(written)] + [i for i in range(len(written) - 1, 4, -1) if written[i] == " "]
    for end in ends:
        candidate = written[:end]
        compact = _NON_ALNUM.sub("", candidate)
        digits = sum(c.isdigit() for c in compact)
        if digits < 5 or len(compact) < 6:
            continue
        if _accepted(text, start, candidate, compact):
            return end
    return 0


@functools.cache
def _any_cue() -> re.Pattern[str]:
    """Every module's own name and the generic words for an ID, in one pattern."""
    names = "|".join(cue.pattern for _, _, cue in _id_modules() if cue is not _NEVER)
    return re.compile(f"{_ID_CUES.pattern}|{names}", re.IGNORECASE)


def _accepted(text: str, start: int, written: str, compact: str) -> bool:
    """Whether a module accepts ``compact`` and something says it is an ID: the module's own
    name before it, a generic word for an ID (not for the weak validators), letters mixed in,
    or the number written in the module's own format. The cheap conditions come first: a
    module's validator runs only when a True answer from it would count."""
    bare = compact.isdigit() and (written == compact or len(compact) < 9)
    if bare and not cue_before(_any_cue(), text, start):
        return False  # a bare or short number: an ID only after a word for one
    generic = cue_before(_ID_CUES, text, start)
    lettered = compact.isalnum() and not compact.isdigit() and len(compact) >= 8
    # A module's format can only give the written form when that differs from the compact.
    shaped = len(compact) >= 9 and written != compact
    strong = generic or lettered or shaped
    for name, module, cue in _by_length(len(compact), compact.isdigit()):
        if not strong or name in _WEAK:
            # Only the module's own name before the number makes its answer count.
            if cue is not _NEVER and cue_before(cue, text, start) and _valid(module, compact):
                return True
            continue
        if not _valid(module, compact):
            continue
        if generic or lettered or cue_before(cue, text, start):
            return True
        if _formatted(module, compact) == written:
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _valid(module: ModuleType, compact: str) -> bool:
    try:
        return bool(module.is_valid(compact))
    except Exception:
        return False


def _formatted(module: ModuleType, compact: str) -> str | None:
    """The module's own written form of ``compact`` (None: it has none). Compared only with
    a written form that differs from the compact one (``shaped``)."""
    format_: Callable[[str], str] | None = getattr(module, "format", None)
    if format_ is None:
        return None
    try:
        return format_(compact)
    except Exception:
        return None
