"""Substitutes of the same kind and shape: digits and letters redrawn where the shape is all
that matters, checksums recomputed where a validator would look (cards, IBANs), Faker values
where a word is expected (names, e-mails, addresses)."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import random
import re

from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn

from stress.logs.pii.network import DOCUMENTATION_NETS

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@functools.cache
def faker(locale: str) -> Faker:
    return Faker(locale)


def seeded(locale: str, rng: random.Random) -> Faker:
    fake = faker(locale)
    fake.seed_instance(rng.getrandbits(64))
    return fake


def redraw(original: str, rng: random.Random, *, keep: int = 0, letters: bool = False) -> str:
    """``original`` with each ASCII digit (after the first ``keep``) and, with ``letters``,
    each ASCII letter replaced by a random one of its class; everything else kept. A leading
    digit stays non-zero, a leading zero stays zero (national prefixes)."""
    out, seen = [], 0
    for char in original:
        if char.isdecimal() and char.isascii():
            seen += 1
            if seen > keep:
                if seen == keep + 1:
                    char = "0" if char == "0" else str(rng.randint(1, 9))
                else:
                    char = str(rng.randint(0, 9))
        elif letters and char.isascii() and char.isalpha():
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            char = rng.choice(alphabet if char.isupper() else alphabet.lower())
        out.append(char)
    return "".join(out)


def card(original: str, rng: random.Random) -> str:
    digits = [c for c in original if c.isdigit()]
    body = digits[0] + "".join(str(rng.randint(0, 9)) for _ in digits[1:-1])
    number = body + luhn.calc_check_digit(body)
    it = iter(number)
    return "".join(next(it) if c.isdigit() else c for c in original)


def iban(original: str, rng: random.Random) -> str:
    compact = original.replace(" ", "")
    bban = redraw(compact[4:], rng, letters=True)
    check = stdnum_iban.calc_check_digits(compact[:2] + "00" + bban)
    number = compact[:2] + check + bban
    it = iter(number)
    return "".join(" " if c == " " else next(it) for c in original)


def bic(original: str, rng: random.Random) -> str:
    bank = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    return bank + original[4:6] + redraw(original[6:], rng, letters=True)


def ip(version: str, rng: random.Random) -> str:
    nets = [net for net in DOCUMENTATION_NETS if str(net.version) == (version or "4")]
    net = rng.choice(nets)
    return str(ipaddress.ip_address(int(net.network_address) + rng.randint(1, 254)))


def mac(original: str, rng: random.Random) -> str:
    # A locally administered unicast address (second hex digit 2, 6, A or E), in the
    # original's case: a digit's place in 5C-D8-... gets an upper-case letter too.
    upper = original == original.upper()
    out, index = [], 0
    for char in original:
        if char in "0123456789abcdefABCDEF":
            value = rng.choice("26ae") if index == 1 else rng.choice("0123456789abcdef")
            out.append(value.upper() if upper else value)
            index += 1
        else:
            out.append(char)
    return "".join(out)


def dob(original: str, rng: random.Random) -> str:
    """Another date written the same way (digits redrawn within valid ranges)."""
    day = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randint(0, 60 * 365))
    parts = re.split(r"(\D+)", original)
    numbers = [p for p in parts if p.isdigit()]
    if len(numbers) == 3:
        out = []
        order = _date_order(numbers)
        fields = {"y": day.year, "m": day.month, "d": day.day}
        for part in parts:
            if part.isdigit():
                field = order.pop(0)
                width = len(part)
                value = fields[field] % 100 if field == "y" and width == 2 else fields[field]
                out.append(f"{value:0{width}d}")
            else:
                out.append(part)
        return "".join(out)
    # "12 May 1984", "May 12, 1984": the digits redrawn, the month kept.
    return re.sub(r"\d{4}", str(day.year), re.sub(r"\b\d{1,2}\b", str(day.day), original))


def _date_order(numbers: list[str]) -> list[str]:
    if len(numbers[0]) == 4:
        return ["y", "m", "d"]
    if int(numbers[0]) > 12:
        return ["d", "m", "y"]
    if int(numbers[1]) > 12:
        return ["m", "d", "y"]
    return ["d", "m", "y"]


# Street and place words that name no person (Faker's streets and cities are made of names,
# which could bring a name of the log back).
_STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Hill",
    "Lake",
    "River",
    "Park",
    "Mill",
    "Station",
    "Church",
    "Market",
    "Bridge",
    "Meadow",
    "Forest",
    "Spring",
    "Valley",
    "Garden",
    "Harbor",
    "Sunset",
    "Highland",
    "Orchard",
    "Willow",
    "Chestnut",
    "Linden",
    "Birch",
]
_PLACES = [
    "Riverside",
    "Fairview",
    "Lakeside",
    "Greenville",
    "Oakdale",
    "Hillcrest",
    "Brookfield",
    "Westfield",
    "Northgate",
    "Eastbrook",
    "Southport",
    "Millbrook",
    "Stonebridge",
    "Clearwater",
    "Redwood",
    "Pinehurst",
]
_SUFFIXES = ["Street", "Road", "Avenue", "Lane", "Way", "Drive", "Court", "Place"]


def address(original: str, rng: random.Random) -> str:
    """A made-up address with as many lines (or comma-separated parts) as ``original``: a
    street with a number, a place, the original's postcode with other digits."""
    separator = "\n" if "\n" in original else ", "
    wanted = len([part for part in re.split(r"\n|, ", original) if part.strip()])
    street = f"{rng.randint(1, 299)} {rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}"
    code = re.search(r"\d[\d -]{2,8}\d", original.split("\n", 1)[-1].split(",", 1)[-1])
    postcode = (
        redraw(code.group(0), rng) if code and code.start() > 0 else str(rng.randint(10000, 99999))
    )
    parts = [street, rng.choice(_PLACES), postcode]
    return separator.join(parts[: max(1, min(wanted, len(parts)))])


def email(rng: random.Random) -> str:
    """first.last12@example.com/org/net: a reserved domain, names of Faker's en_US lists."""
    first = rng.choice(name_pool("en_US", True)).lower()
    last = rng.choice(name_pool("en_US", False)).lower()
    return f"{first}.{last}{rng.randint(1, 99)}@example.{rng.choice(('com', 'org', 'net'))}"


def ssn(rng: random.Random) -> str:
    """A US social security number the SSA's rules allow (no area 000, 666 or 9xx)."""
    area = rng.choice([a for a in (rng.randint(1, 899), rng.randint(1, 665)) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


@functools.cache
def name_pool(locale: str, first: bool) -> tuple[str, ...]:
    """The one-word first (or last) names of ``locale``'s Faker person provider, sorted."""
    found: set[str] = set()
    for provider in faker(locale).get_providers():
        if ".person." not in f"{type(provider).__module__}.":
            continue
        for attribute in dir(provider):
            if attribute.startswith("first_names" if first else "last_names"):
                values = getattr(provider, attribute)
                if isinstance(values, (dict, list, tuple)):
                    found.update(str(v) for v in values)
        break
    return tuple(sorted(n for n in found if n.isalpha() and len(n) > 1)) or ("Alex",)


def name_word(word: str, first: bool, locale: str, rng: random.Random, tries: int) -> str:
    """A first or last name of ``locale`` (Cyrillic ones for a Cyrillic word); after many
    tries (the log holds them) of any locale."""
    if _CYRILLIC.search(word):
        locale = "ru_RU"
    if tries > 8:
        locale = rng.choice(("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL"))
    pool = name_pool(locale, first)
    return pool[rng.randrange(len(pool))]
