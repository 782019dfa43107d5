"""People's names: runs of capitalised words (diacritics, hyphens, apostrophes, particles
such as de, van, du, al-, bin inside) that hold a first or last name of Faker's person
providers in many locales, or follow a title or a cue ("I'm", "Dear"); a whole name is one
span, so a replaced first name takes its surname with it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from faker import Faker

from stress.logs.pii.common import Span

NAME_LOCALES = [
    "en_US",
    "en_GB",
    "en_IN",
    "en_AU",
    "de_DE",
    "de_AT",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "pt_BR",
    "pt_PT",
    "sv_SE",
    "da_DK",
    "no_NO",
    "fi_FI",
    "tr_TR",
    "ru_RU",
    "cs_CZ",
    "ro_RO",
    "hu_HU",
]

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
PARTICLES = frozenset(
    [
        "de",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "del",
        "della",
        "dalla",
        "di",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "ten",
        "la",
        "le",
        "y",
        "e",
        "zu",
        "bin",
        "binti",
        "ibn",
        "ben",
        "bint",
        "af",
        "av",
        "al",
        "el",
        "d",
        "l",
    ]
)
_GLUED_PARTICLE = re.compile(r"^(?:al|el|ad|ibn|bin|d|l|o|O|D|L|Mc|Mac)['’-]?(?=[A-Z])")
_TITLES = frozenset(
    [
        "Mr",
        "Mrs",
        "Ms",
        "Miss",
        "Mx",
        "Dr",
        "Prof",
        "Sir",
        "Madam",
        "Dame",
        "Lord",
        "Lady",
        "Herr",
        "Frau",
        "Monsieur",
        "Madame",
        "Mme",
        "Mlle",
        "M",
        "Señor",
        "Señora",
        "Señorita",
        "Sr",
        "Sra",
        "Srta",
        "Don",
        "Doña",
        "Dott",
        "Dottssa",
        "Sig",
        "Signor",
        "Signora",
        "Sig.ra",
        "Ing",
        "Dipl",
        "Mag",
        "Dhr",
        "Mevr",
        "Pan",
        "Pani",
        "Sayın",
        "Bay",
        "Bayan",
        "Hr",
        "Fr",
        "Dra",
        "Jr",
        "Sr",
        "PhD",
        "MD",
        "MSc",
        "BSc",
        "BA",
        "MA",
        "B.Sc",
        "M.Sc",
        "B.Eng",
        "M.Eng",
        "Dipl.-Ing",
        "Prof.Dr",
        "Univ",
        "Yrd",
        "Doç",
        "Doc",
        "Shri",
        "Smt",
        "Kumari",
        "Mst",
    ]
)
_CUE = re.compile(
    r"(?:\b(?:Dear|Hi|Hello|Hey|Thanks|Thank you|Regards|Cheers|Best|Sincerely|Hallo|Liebe|"
    r"Lieber|Bonjour|Salut|Cordialement|Hola|Ciao|Grazie|Saludos|Groeten|Hej|Cześć|"
    r"Obrigado|Obrigada|Merhaba|Здравствуйте|Привет|Спасибо),?\s*\n?\s*)$"
)
_STRONG_CUE = re.compile(
    r"(?:\b(?:I'm|I am|[Mm]y name is|[Tt]his is|[Nn]ame:|[Cc]ustomer:?|[Pp]atient:?|"
    r"[Ii]ch heiße|[Ii]ch bin|[Mm]ein Name ist|[Jj]e m'appelle|[Jj]e suis|[Mm]e llamo|[Ss]oy|"
    r"[Mm]i chiamo|[Ss]ono|[Ii]k ben|[Mm]ijn naam is|[Nn]azywam się|[Mm]eu nome é|"
    r"[Jj]ag heter|[Jj]eg hedder|[Aa]dım|[Бб]енім|[Мм]еня зовут|[Яя])\s+)$"
)
_NOT_NAMES = frozenset(
    [
        "I",
        "A",
        "An",
        "And",
        "Or",
        "But",
        "If",
        "So",
        "To",
        "In",
        "On",
        "At",
        "For",
        "Of",
        "From",
        "By",
        "With",
        "As",
        "My",
        "Your",
        "Our",
        "Their",
        "His",
        "Her",
        "We",
        "You",
        "He",
        "She",
        "It",
        "They",
        "This",
        "That",
        "These",
        "Those",
        "Is",
        "Are",
        "Was",
        "Were",
        "Be",
        "Been",
        "Can",
        "Could",
        "Will",
        "Would",
        "Shall",
        "Should",
        "May",
        "Might",
        "Must",
        "Please",
        "Thanks",
        "Thank",
        "Hi",
        "Hello",
        "Hey",
        "Dear",
        "Yes",
        "No",
        "Not",
        "Do",
        "Does",
        "Did",
        "Have",
        "Has",
        "Had",
        "What",
        "When",
        "Where",
        "Why",
        "How",
        "Who",
        "Whom",
        "Which",
        "Here",
        "There",
        "Also",
        "Just",
        "Then",
        "Now",
        "Today",
        "Tomorrow",
        "OK",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Der",
        "Die",
        "Das",
        "Und",
        "Oder",
        "Ich",
        "Sie",
        "Er",
        "Es",
        "Wir",
        "Le",
        "La",
        "Les",
        "Et",
        "Ou",
        "Je",
        "Il",
        "Elle",
        "Nous",
        "Vous",
        "El",
        "Los",
        "Las",
        "Y",
        "Street",
        "Avenue",
        "Road",
        "Best",
        "Regards",
        "Kind",
        "Cheers",
        "Sincerely",
        "Order",
        "Orders",
        "Customer",
        "Support",
        "Team",
        "Account",
        "Card",
        "Phone",
        "Email",
        "Address",
        "Name",
        "Price",
        "Product",
        "Service",
        "Help",
        "Info",
        "Note",
        "Hallo",
        "Liebe",
        "Lieber",
        "Bonjour",
        "Salut",
        "Hola",
        "Ciao",
        "Grazie",
        "Saludos",
        "Groeten",
        "Hej",
        "Merhaba",
        "Obrigado",
        "Obrigada",
        "Cordialement",
        "Sehr",
        "Geehrte",
        "Geehrter",
        "Mit",
        "Freundlichen",
        "Grüßen",
        "Bitte",
        "Danke",
        "Merci",
        "Gracias",
        "Vielen",
        "Dank",
        "Order",
        "Ship",
        "Shipping",
        "Delivery",
        "Invoice",
        "Refund",
    ]
)


def _values(values: object) -> Iterable[str]:
    if isinstance(values, dict):
        return (str(v) for v in values)
    if isinstance(values, (list, tuple)):
        return (str(v) for v in values)
    return ()


@functools.cache
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names) of Faker's person providers in NAME_LOCALES, each word of a
    compound name on its own too."""
    firsts: set[str] = set()
    lasts: set[str] = set()
    for locale in NAME_LOCALES:
        for provider in Faker(locale).get_providers():
            if ".person." not in f"{type(provider).__module__}.":
                continue
            for attribute in dir(provider):
                if attribute.startswith("first_names"):
                    firsts.update(_values(getattr(provider, attribute)))
                elif attribute.startswith("last_names"):
                    lasts.update(_values(getattr(provider, attribute)))
            break

    def clean(names: set[str]) -> frozenset[str]:
        out = set()
        for name in names:
            for word in [name, *re.split(r"[\s-]+", name)]:
                if len(word) > 1 and word[0].isupper() and word not in _NOT_NAMES:
                    out.add(word)
        return frozenset(out)

    return clean(firsts), clean(lasts)


def is_title(word: str) -> bool:
    return word.rstrip(".") in _TITLES


@functools.lru_cache(maxsize=65536)
def _name_word(word: str) -> bool:
    if word[0].isupper():
        return not word.isupper() or len(word) == 1
    if word[0] not in "abdeilmoO":  # no glued particle (al-, d', ibn-, Mc...) can start it
        return False
    core = _GLUED_PARTICLE.sub("", word)
    return (bool(core) and core[0].isupper() and not word.isupper()) or (
        len(word) == 1 and word.isupper()
    )


def names(text: str) -> list[Span]:
    firsts, lasts = name_lists()
    found = list(WORD.finditer(text))
    spans: list[Span] = []
    i = 0
    while i < len(found):
        run = _run(text, found, i)
        if not run:
            i += 1
            continue
        members = [found[j] for j in run]
        words_ = [m.group(0) for m in members]
        content = [w for w in words_ if w not in PARTICLES and not is_title(w)]
        before = text[max(0, members[0].start() - 30) : members[0].start()]
        titled = (
            i > 0 and is_title(found[i - 1].group(0)) and _adjacent(text, found[i - 1], found[i])
        )
        known_first = any(_parts_in(w, firsts) for w in content)
        if (
            (len(content) >= 2 and (known_first or sum(_parts_in(w, lasts) for w in content) >= 2))
            or (content and (titled or _STRONG_CUE.search(before) is not None))
            or (len(content) == 1 and known_first and _CUE.search(before))
        ):
            spans.append(Span(members[0].start(), members[-1].end(), "name"))
        i = run[-1] + 1
    return spans


@functools.lru_cache(maxsize=65536)
def _parts_in(word: str, names: frozenset[str]) -> bool:
    core = _GLUED_PARTICLE.sub("", word)
    return word in names or core in names or any(p in names for p in re.split(r"[-'’]", core) if p)


def _adjacent(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    return re.fullmatch(r"\.? ", text[left.end() : right.start()]) is not None


_CAPITAL_PARTICLES = frozenset(
    [
        "Le",
        "La",
        "De",
        "Van",
        "Von",
        "Da",
        "Di",
        "Du",
        "Del",
        "Della",
        "Dos",
        "Das",
        "Ter",
        "Ten",
        "Den",
        "Der",
    ]
)


def _particle(word: str) -> bool:
    return word in PARTICLES or word in _CAPITAL_PARTICLES


@functools.lru_cache(maxsize=65536)
def _common(word: str) -> bool:
    """A word that is no name: a common one, or its contraction (I'm, Don't, It's)."""
    if word in _NOT_NAMES:
        return True
    if "'" not in word and "’" not in word:
        return False
    head = re.split(r"['’]", word)[0]
    return head in _NOT_NAMES or head in _CONTRACTED


_CONTRACTED = frozenset(
    [
        "Don",
        "Doesn",
        "Didn",
        "Isn",
        "Aren",
        "Wasn",
        "Weren",
        "Won",
        "Can",
        "Couldn",
        "Shouldn",
        "Let",
    ]
)


def _run(text: str, found: list[re.Match[str]], i: int) -> list[int]:
    """The indexes of the name run starting at word ``i`` (empty: none starts there)."""
    word = found[i].group(0)
    if _common(word) or not _name_word(word) or is_title(word):
        return []
    run = [i]
    j = i + 1
    while j < len(found) and len(run) < 7:
        gap = text[found[j - 1].end() : found[j].start()]
        if gap not in (" ", ". ") or (gap == ". " and len(found[j - 1].group(0)) > 1):
            break
        nxt = found[j].group(0)
        if nxt in PARTICLES or nxt in _CAPITAL_PARTICLES:
            # Particles (van den, de la) count only when a name word follows them.
            k = j
            while k < len(found) and _particle(found[k].group(0)) and k - j < 3:
                k += 1
            if k >= len(found) or not _name_word(found[k].group(0)) or _common(found[k].group(0)):
                break
            if any(text[found[x - 1].end() : found[x].start()] != " " for x in range(j, k + 1)):
                break
            run.extend(range(j, k))
            j = k
            continue
        if _common(nxt) or not _name_word(nxt) or is_title(nxt):
            break
        run.append(j)
        j += 1
    while run and _particle(found[run[-1]].group(0)):
        run.pop()
    return run
