"""The PII detectors one by one, their exact spans at the edges (fast: no Scrubber, no Faker).

Written against the mutants that survived `make mutation` (docs/testing.md): each case says
what the detector must (not) find, so a changed guard, offset, kind or detail is caught.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import pytest
from stdnum import iban as stdnum_iban
from stdnum import luhn

from stress.logs.pii import keys, substitutes
from stress.logs.pii import names as names_module
from stress.logs.pii import scrubber as scrubber_module
from stress.logs.pii.common import Span, ascii_digits, cue_before, words
from stress.logs.pii.keys import kind_of_key
from stress.logs.pii.network import emails, ips, macs, urls
from stress.logs.pii.numbers import bics, cards, ibans, national_ids, ssns
from stress.logs.pii.phones import _international, phones, valid_in_region
from stress.logs.pii.places import addresses, dates_of_birth
from stress.logs.pii.scrubber import Pattern, Scrubber


def found(detect: Callable[[str], list[Span]], text: str) -> list[tuple[str, str, str]]:
    return [(text[s.start : s.end], s.kind, s.detail) for s in detect(text)]


# --- common -----------------------------------------------------------------------------------


def test_words_are_whole_case_insensitive_and_an_underscore_is_a_space() -> None:
    cue = words("date_of_birth born", "dob")
    assert cue.flags & re.IGNORECASE
    assert [m.group(0) for m in cue.finditer("Date of Birth: x; BORN in; dob? reborn dobs")] == [
        "Date of Birth",
        "BORN",
        "dob",
    ]
    # The longest cue wins where one is the start of another.
    assert words("foo foo_bar").search("a foo bar b").group(0) == "foo bar"  # type: ignore[union-attr]
    # By length, not by spelling: a lower-case "foo" sorts after "FOO BAR".
    assert words("foo", "FOO_BAR").search("a foo bar b").group(0) == "foo bar"  # type: ignore[union-attr]


def test_a_cue_counts_only_within_its_reach_before_the_start() -> None:
    call = re.compile("call")
    text = "call" + "y" * 36 + "555"
    assert cue_before(call, text, 40)  # the default reach is 40: "call" starts 40 back
    assert not cue_before(call, text, 41)
    assert cue_before(call, text, 41, reach=41)
    assert not cue_before(call, "555 call", 0)  # after the start does not count


def test_digits_of_other_scripts_become_ascii_one_for_one() -> None:
    assert ascii_digits("٤١٥-٢٦٧١ x") == "415-2671 x"
    assert ascii_digits("१२३ é") == "123 é"
    assert ascii_digits("é and ² stay") == "é and ² stay"


# --- keys -------------------------------------------------------------------------------------


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    # The key → kind lookup is cached per process: start empty so the lookup itself runs.
    keys._kind_named.cache_clear()
    yield
    keys._kind_named.cache_clear()


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("customerName", "Ana García", "name"),
        ("customer_name", "Ana", "name"),
        ("Customer-Name", "Ana", "name"),
        ("customer.name", "Ana", "name"),
        ("customer name", "Ana", "name"),
        ("billing address", "1 Main St", "address"),
        ("e-mail", "a@b.co", "email"),
        ("user.email", "x@y.io", "email"),
        ("IPAddress", "8.8.8.8", "ip"),
        ("phoneNumber", "+1 415 555 2671", "phone"),
        ("id_number", "AB123456", "national_id"),
        ("Geburtsdatum", "12.03.1985", "dob"),
        ("iban", "DE89 3704 0044 0532 0130 00", "iban"),
        ("card", "4111 1111 1111 1111", "card"),
        # Not personal whatever the rest says.
        ("productName", "Widget", None),
        ("fileName", "a.txt", None),
        ("HTTPStatus", "200", None),
        ("", "Ana", None),
        ("__", "Ana", None),
    ],
)
def test_a_key_announces_its_kind(fresh_keys: None, key: str, value: str, kind: str | None) -> None:
    assert kind_of_key(key, value) == kind


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("name", "", None),
        ("name", "   ", None),
        ("name", " Ana ", "name"),
        ("name", "a" * 200, "name"),
        ("name", "a" * 201, None),
        ("name", "4711", None),  # a name has the look of one
        # Numbers need six digits at least, however they are written.
        ("phone", "123-45", None),
        ("phone", "123-456", "phone"),
        ("card", "1 - 2 - 3 - 4", None),
        ("card", "1-2-3-4-5-6-7", "card"),
        ("ssn", "AB-CDE-1", None),
        ("ssn", "AB-123456", "national_id"),
        ("dob", "ab 1999", None),
        ("dob", "12.03.1985", "dob"),
    ],
)
def test_a_value_needs_the_look_of_its_kind(
    fresh_keys: None, key: str, value: str, kind: str | None
) -> None:
    assert kind_of_key(key, value) == kind


# --- network ----------------------------------------------------------------------------------


def test_emails() -> None:
    assert found(emails, "to ana.garcia+x@mail.example.com, cc: a@b, c@d.e1") == [
        ("ana.garcia+x@mail.example.com", "email", "")
    ]
    assert found(emails, "no address here") == []


def test_ips_of_both_versions_but_not_loopback_unspecified_or_documentation() -> None:
    text = "10.0.0.1 and 0.0.0.0 127.0.0.1 192.0.2.5 8.8.8.8 1.2.3.4.5 999.1.1.1"
    assert found(ips, text) == [("10.0.0.1", "ip", "4"), ("8.8.8.8", "ip", "4")]
    text = "::1 :: 2001:db8::1 fe80::1 2a00:1450:4001:81b::200e"
    assert found(ips, text) == [("fe80::1", "ip", "6"), ("2a00:1450:4001:81b::200e", "ip", "6")]
    assert found(ips, "the 8.8.8.8 resolver and 2606:4700::1111") == [
        ("8.8.8.8", "ip", "4"),
        ("2606:4700::1111", "ip", "6"),
    ]


def test_macs_with_colons_dashes_or_dots() -> None:
    assert found(macs, "5c:d8:6e:cb:27:13 and 5C-D8-6E-CB-27-13 or 5cd8.6ecb.2713") == [
        ("5c:d8:6e:cb:27:13", "mac", ""),
        ("5C-D8-6E-CB-27-13", "mac", ""),
        ("5cd8.6ecb.2713", "mac", ""),
    ]
    assert found(macs, "dashes only 5C-D8-6E-CB-27-13") == [("5C-D8-6E-CB-27-13", "mac", "")]
    assert found(macs, "mixed 5c:d8-6e:cb:27:13, bare 5cd86ecb2713") == []


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "see https://bob:hunter2@example.com/users/jdoe/settings?id=42&page=2&lang=en#token=abc1",
            ["bob:hunter2", "jdoe", "42", "abc1"],
        ),
        # No scheme; a segment starting with @ or ~ is an account, and so is what follows one.
        ("www.site.org/profile/ana.garcia/photos", ["ana.garcia"]),
        ("WWW.SITE.ORG/profile/ana", []),
        ("and http://x.io/@mike/posts", ["@mike", "posts"]),
        (
            "https://shop.example/~karl?q=red+shoes;sort=asc&ref=newsletter2024&empty=&flag",
            ["~karl", "red+shoes", "newsletter2024"],
        ),
        # An empty segment ends a personal run.
        ("https://a.example/users/jo//x", ["jo"]),
        ("https://a.example/people//x/ plain https://a.example/a/b?user=jo", ["jo"]),
        ("https://host.example", []),
        ("https://host.example?name=Jo%20Ann", ["Jo%20Ann"]),
        ("https://jo@corp:pw@host.example/x", ["jo"]),
        ("https://host.example/a?x=b?user=jo", ["b?user=jo"]),
        ("no link here at all, only http words", []),
        # Only / ? # end the host; only @ and ~ start an account segment; a fragment is no path.
        ("https://JOX@host.example/Xavier", ["JOX"]),
        ("https://host.example#section/x", []),
    ],
)
def test_the_personal_parts_of_urls(text: str, parts: list[str]) -> None:
    assert found(urls, text) == [(part, "url", "") for part in parts]


# --- phones -----------------------------------------------------------------------------------


def phone_spans(
    text: str, region: str | Sequence[str] = "US", taken: Sequence[Span] = ()
) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.detail) for s in phones(text, region, taken)]


@pytest.mark.parametrize(
    ("written", "international"),
    [
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("(+44 20", "+44 20"),
        ("(((+1 2", "+1 2"),
        ("0044 20 7946 0958", "+44 20 7946 0958"),
        ("011 44 20 7946 0958", "+44 20 7946 0958"),
        ("00 44 20 7946", "+44 20 7946"),
        # More than six digits after 00 / 011, else it may be a national number.
        ("00123456", None),
        ("001234567", "+1234567"),
        ("011123456", None),
        ("0111234567", "+1234567"),
        ("44 20", None),
    ],
)
def test_an_international_prefix_is_written_as_plus(
    written: str, international: str | None
) -> None:
    assert _international(written) == international


@pytest.mark.parametrize(
    ("text", "region", "spans"),
    [
        # The detail is how many leading digits a substitute keeps: prefix and country code.
        ("call +44 20 7946 0958 now", "US", [("+44 20 7946 0958", "2")]),
        ("call 0044 20 7946 0958 now", "US", [("0044 20 7946 0958", "4")]),
        ("call 011 44 20 7946 0958", "US", [("011 44 20 7946 0958", "5")]),
        (
            "a +44 20 7946 0958 / +1 (415) 555-2671",
            "US",
            [("+44 20 7946 0958", "2"), ("+1 (415) 555-2671", "1")],
        ),
        ("+999 1234567", "US", []),
        # Cut at a space after a digit, the longest valid number first; any cut position.
        ("call +44 20 7946 0958 1", "US", [("+44 20 7946 0958", "2")]),
        ("call +44 20 7946 0958 (1", "US", [("+44 20 7946 0958", "2")]),
        ("ring (415) 555-2671 x123 please", "US", [("(415) 555-2671 x123", "0")]),
        # National numbers: of the region (or one of several), keep nothing.
        ("612345678", "FR", [("612345678", "0")]),
        ("612345678", ["US", "FR"], [("612345678", "0")]),
        ("ref 612345678", "US", []),
        # Another region's: after a word for a phone (within 30 characters), or looking like one.
        ("call 612345678", "US", [("612345678", "0")]),
        ("call" + " " * 27 + "612345678", "US", [(" 612345678", "0")]),
        ("call" + " " * 28 + "612345678", "US", []),
        ("ref (0)612345678", "US", [("(0)612345678", "0")]),
        ("ref 06-12-34-56-78", "US", [("06-12-34-56-78", "0")]),
        ("ref 0612345678", "US", []),
        # Six digits at least.
        ("call 123456", "US", [("123456", "0")]),
        ("call 12345", "US", []),
    ],
)
def test_phone_numbers(text: str, region: str | list[str], spans: list[tuple[str, str]]) -> None:
    assert phone_spans(text, region) == spans


def test_a_phone_inside_a_taken_span_is_not_tried_but_one_sticking_out_is() -> None:
    text = "+44 20 7946 0958"
    assert phone_spans(text, "US", [Span(0, 16, "card")]) == []
    assert phone_spans(text, "US", [Span(1, 16, "card")]) == [(text, "2")]
    assert phone_spans(text, "US", [Span(0, 15, "card")]) == [(text, "2")]


def test_a_region_libphonenumber_does_not_know_validates_nothing() -> None:
    assert valid_in_region("0301234567", "ZZ") is False
    assert valid_in_region("030 1234567", "DE") is True


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found_cards"),
    [
        ("pay 4111 1111 1111 1111", ["4111 1111 1111 1111"]),
        # The pattern runs on into a following group: cut at a separator, longest first.
        ("pay 4111 1111 1111 1111 2", ["4111 1111 1111 1111"]),
        ("pay 4111-1111-1111-1111-22", ["4111-1111-1111-1111"]),
        ("pay 411111111117 7", ["411111111117"]),  # twelve digits, the shortest card
        # First digits of no issuer: 1800 (JCB), or after a word for a card.
        ("ref 1800111111111113", ["1800111111111113"]),
        ("ref 7111111111111114", []),
        ("visa 7111111111111114", ["7111111111111114"]),
        ("card 1111111111111111113", ["1111111111111111113"]),
        ("x 1111111111111111113", []),
        ("pay 4111 1111 1111 1112", []),  # Luhn says no
    ],
)
def test_cards(text: str, found_cards: list[str]) -> None:
    assert [text[s.start : s.end] for s in cards(text)] == found_cards


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        # Six characters, five digits at least.
        ("id 623857", ["623857"]),  # fo.vn, a weak validator: a word for an ID is enough
        ("ref 623857", []),
        ("id 62385", []),
        ("id ACUPA7085R", []),  # four digits only
        # Letters mixed in, eight characters or more: no word needed.
        ("x U132950X", ["U132950X"]),
        # Written in the module's own format, nine characters or more: no word needed.
        ("ref 59-119/9013", ["59-119/9013"]),
        ("x 576937-K", []),  # gt.nit's own format, but seven characters only
        ("id 576937-K", ["576937-K"]),
        # The module's own name before it, written otherwise.
        ("VSNR 1237-010180", ["1237-010180"]),
        # Cut at a space, longest first.
        ("id 8032056031 7", ["8032056031"]),
        ("x 8032056031", []),
    ],
)
def test_national_ids(text: str, ids: list[str]) -> None:
    assert [text[s.start : s.end] for s in national_ids(text)] == ids


# --- places -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found_addresses"),
    [
        # A unit, then a city only where a postcode follows it.
        (
            "Ship to 742 Evergreen Terrace, Apt 4B, Springfield, IL 62704. Thanks",
            ["742 Evergreen Terrace, Apt 4B, Springfield, IL 62704"],
        ),
        (
            "Ship to 742 Evergreen Terrace Apt. 4B, Springfield. Thanks",
            ["742 Evergreen Terrace Apt. 4B"],
        ),
        ("Ship to 742 Evergreen Terrace, Springfield, USA. Thanks", ["742 Evergreen Terrace"]),
        ("742 Evergreen Terrace, a b c 62704, x", ["742 Evergreen Terrace, a b c 62704"]),
        # A segment with a postcode is 45 characters at most.
        ("742 Evergreen Terrace, " + "1" * 46 + " ok", ["742 Evergreen Terrace"]),
        (
            "742 Evergreen Terrace, " + "a" * 39 + " 62704, ok",
            ["742 Evergreen Terrace, " + "a" * 39 + " 62704"],
        ),
        # A street without a number, on its own line before a postcode (the street pattern
        # finds it with the postcode as its number too; the scrubber keeps the longer).
        ("Calle Mayor\n28013 Madrid\n", ["Calle Mayor\n28013 Madrid", "Calle Mayor\n28013"]),
        # Lines: a city line, a postcode line.
        (
            "To 742 Evergreen Terrace\n62704 Springfield",
            ["742 Evergreen Terrace\n62704 Springfield"],
        ),
        # At most four segments after the street.
        ("Hauptstraße 5, 10115 Berlin, Germany, Europe, Earth", ["Hauptstraße 5, 10115 Berlin"]),
        # US military addresses.
        ("Send to PSC 3752, Box 7802, APO AA 31046 now", ["PSC 3752, Box 7802, APO AA 31046"]),
        ("Send to USS Demir, FPO AE 89782 now", ["USS Demir, FPO AE 89782"]),
        # A street without a number only on its own line before a postcode.
        ("Calle Mayor\nMadrid\n", []),
        # The digits of other scripts count as a house number.
        ("рядом ул. Ленина ٤٢", ["ул. Ленина ٤٢"]),
        ("no address here", []),
    ],
)
def test_addresses(text: str, found_addresses: list[str]) -> None:
    spans = addresses(text)
    assert [text[s.start : s.end] for s in spans] == found_addresses
    assert {(s.kind, s.detail) for s in spans} <= {("address", "")}


# --- substitutes (many draws of one seeded generator: what every draw keeps, what varies) ------

DRAWS = 400


def test_a_mac_substitute_is_a_local_unicast_address_written_the_same_way() -> None:
    rng = random.Random(7)
    for original in ("5c:d8:6e:cb:27:13", "5C-D8-6E-CB-27-13", "5cd8.6ecb.2713"):
        outs = [substitutes.mac(original, rng) for _ in range(DRAWS)]
        hex_at = [i for i, c in enumerate(original) if c in string.hexdigits]
        upper = original.isupper()
        for out in outs:
            assert len(out) == len(original)
            for i, (new, old) in enumerate(zip(out, original, strict=True)):
                if i in hex_at:
                    assert new in ("0123456789ABCDEF" if upper else "0123456789abcdef")
                else:
                    assert new == old
        # The second hex digit says "locally administered, unicast"; the others are any.
        assert {out[hex_at[1]] for out in outs} == set("26AE" if upper else "26ae")
        assert len({out[hex_at[0]] for out in outs}) == 16
        assert len({out[hex_at[2]] for out in outs}) == 16


def test_a_bic_substitute_keeps_its_country_and_redraws_bank_and_branch() -> None:
    rng = random.Random(7)
    outs = [substitutes.bic("DEUTDEFF500", rng) for _ in range(DRAWS)]
    assert all(re.fullmatch(r"[A-Z]{4}DE[A-Z]{2}[1-9][0-9]{2}", out) for out in outs)
    banks = Counter(char for out in outs for char in out[:4])
    assert set(banks) == set(string.ascii_uppercase)
    assert max(banks.values()) < 2 * 4 * DRAWS / 26  # every letter about as likely
    assert len({out[6:8] for out in outs}) > 100


def test_an_ssn_substitute_follows_the_ssa_rules_and_spans_their_range() -> None:
    rng = random.Random(7)
    parts = [tuple(map(int, substitutes.ssn(rng).split("-"))) for _ in range(30_000)]
    areas, groups, serials = (set(column) for column in zip(*parts, strict=True))
    assert 666 not in areas
    assert (min(areas), max(areas)) == (1, 899)
    assert (min(groups), max(groups)) == (1, 99)
    assert min(serials) >= 1
    assert max(serials) <= 9999
    rng = random.Random(7)
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", substitutes.ssn(rng)) for _ in range(30_000))


@pytest.mark.parametrize(
    ("original", "pattern"),
    [
        ("742 Evergreen Terrace", r"{street}"),
        ("742 Evergreen Terrace, Springfield", r"{street}, {place}"),
        ("742 Evergreen Terrace, Springfield, IL 62704", r"{street}, {place}, [1-9]\d{{4}}"),
        ("742 Evergreen Terrace\nSpringfield\nIL 62704", r"{street}\n{place}\n[1-9]\d{{4}}"),
        ("742 Evergreen Terrace\nSpringfield\nIL 62704\nUSA", r"{street}\n{place}\n[1-9]\d{{4}}"),
        # No postcode after the street: a made-up one.
        ("Hauptstraße 5\nBerlin\nDeutschland", r"{street}\n{place}\n\d{{5}}"),
        # The original's postcode, redrawn in its own shape (after the first line or part).
        ("742 Evergreen Terrace\nSpringfield\n1234 56", r"{street}\n{place}\n[1-9]\d{{3}} \d{{2}}"),
        ("742 Evergreen Terrace, Springfield, 12-345", r"{street}, {place}, [1-9]\d-\d{{3}}"),
        # A number at the start of the part after the first is a house number, not a postcode.
        ("742 Evergreen Terrace\n1234 56\nX", r"{street}\n{place}\n\d{{5}}"),
    ],
)
def test_an_address_substitute_has_the_lines_or_parts_of_the_original(
    original: str, pattern: str
) -> None:
    street = (
        rf"\d{{1,3}} (?:{'|'.join(substitutes._STREETS)}) (?:{'|'.join(substitutes._SUFFIXES)})"
    )
    place = "|".join(substitutes._PLACES)
    rng = random.Random(7)
    for _ in range(50):
        out = substitutes.address(original, rng)
        assert re.fullmatch(pattern.format(street=street, place=f"(?:{place})"), out), out


@pytest.mark.parametrize(
    ("numbers", "order"),
    [
        (["1985", "03", "12"], ["y", "m", "d"]),
        (["13", "01", "2000"], ["d", "m", "y"]),
        (["13", "14", "2000"], ["d", "m", "y"]),  # the first over 12 decides
        (["12", "13", "2000"], ["m", "d", "y"]),
        (["12", "12", "2000"], ["d", "m", "y"]),
        (["03", "04", "85"], ["d", "m", "y"]),
    ],
)
def test_the_order_of_a_dates_fields(numbers: list[str], order: list[str]) -> None:
    assert substitutes._date_order(numbers) == order


@pytest.mark.parametrize(
    ("original", "shape", "fields"),
    [
        ("1985-03-12", r"(\d{4})-(\d{2})-(\d{2})", "ymd"),
        ("25.12.1980", r"(\d{2})\.(\d{2})\.(\d{4})", "dmy"),
        ("12/25/1980", r"(\d{2})/(\d{2})/(\d{4})", "mdy"),
        ("03/04/85", r"(\d{2})/(\d{2})/(\d{2})", "dmy"),
        ("12 May 1984", r"(\d{1,2}) May (\d{4})", "dy"),
        ("May 12, 1984", r"May (\d{1,2}), (\d{4})", "dy"),
    ],
)
def test_a_date_of_birth_substitute_is_a_real_date_written_the_same_way(
    original: str, shape: str, fields: str
) -> None:
    rng = random.Random(7)
    seen: dict[str, set[int]] = {field: set() for field in fields}
    for _ in range(DRAWS):
        out = substitutes.dob(original, rng)
        match = re.fullmatch(shape, out)
        assert match, out
        values = dict(zip(fields, map(int, match.groups()), strict=True))
        for field, value in values.items():
            seen[field].add(value)
        year = values["y"] + (1900 if values["y"] < 100 else 0)
        datetime.date(year, values.get("m", 1), values["d"])  # a real date, or ValueError
    assert seen["d"] == set(range(1, 32))
    if "m" in seen:
        assert seen["m"] == set(range(1, 13))
    if len(original) == 8:  # a two-digit year: 40 to 99 (1940 to 1999)
        assert {y // 10 for y in seen["y"]} == {4, 5, 6, 7, 8, 9}
    else:
        assert (min(seen["y"]), max(seen["y"])) == (1940, 1999)


def test_redraw_keeps_the_shape_and_a_leading_zero_and_never_adds_one() -> None:
    rng = random.Random(7)
    outs = [substitutes.redraw("5123-4567 AB ٤", rng) for _ in range(DRAWS)]
    assert all(re.fullmatch(r"[1-9]\d{3}-\d{4} AB ٤", out) for out in outs)
    assert {out[0] for out in outs} == set("123456789")
    assert {out[1] for out in outs} == set(string.digits)
    assert {substitutes.redraw("0123", rng)[0] for _ in range(50)} == {"0"}
    kept = [substitutes.redraw("512345", rng, keep=2) for _ in range(DRAWS)]
    assert {out[:2] for out in kept} == {"51"}
    assert {out[2] for out in kept} == set("123456789")
    lettered = [substitutes.redraw("Ab-1", rng, letters=True) for _ in range(DRAWS)]
    assert all(re.fullmatch(r"[A-Z][a-z]-[1-9]", out) for out in lettered)
    assert len({out[0] for out in lettered}) == 26
    assert len({out[1] for out in lettered}) == 26


def test_card_iban_and_ip_substitutes_pass_the_checks_a_validator_makes() -> None:
    rng = random.Random(7)
    cards_out = [substitutes.card("4111 1111 1111 1111", rng) for _ in range(DRAWS)]
    assert all(re.fullmatch(r"4\d{3} \d{4} \d{4} \d{4}", out) for out in cards_out)
    assert all(luhn.is_valid(out.replace(" ", "")) for out in cards_out)
    assert {out[1] for out in cards_out} == set(string.digits)
    ibans_out = [substitutes.iban("GB82 WEST 1234 5698 7654 32", rng) for _ in range(DRAWS)]
    assert all(re.fullmatch(r"GB\d{2} [A-Z]{4} \d{4} \d{4} \d{4} \d{2}", out) for out in ibans_out)
    assert all(stdnum_iban.is_valid(out) for out in ibans_out)
    assert len({out[2:4] for out in ibans_out}) > 50
    v4 = {substitutes.ip("4", rng) for _ in range(DRAWS)} | {
        substitutes.ip("", rng) for _ in range(9)
    }
    assert {ip.rsplit(".", 1)[0] for ip in v4} == {"192.0.2", "198.51.100", "203.0.113"}
    assert {int(ip.rsplit(".", 1)[1]) for ip in v4} <= set(range(1, 255))
    v6 = {substitutes.ip("6", rng) for _ in range(DRAWS)}
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("2001:db8::/32") for ip in v6)
    assert len(v6) > 100


def test_an_email_substitute_is_a_name_at_a_reserved_domain() -> None:
    rng = random.Random(7)
    firsts = {name.lower() for name in substitutes.name_pool("en_US", True)}
    lasts = {name.lower() for name in substitutes.name_pool("en_US", False)}
    seen: dict[str, set[str]] = {"first": set(), "last": set(), "n": set(), "tld": set()}
    for _ in range(DRAWS):
        match = re.fullmatch(r"([a-z]+)\.([a-z]+)(\d+)@example\.(\w+)", substitutes.email(rng))
        assert match
        for field, value in zip(seen, match.groups(), strict=True):
            seen[field].add(value)
    assert seen["first"] <= firsts
    assert seen["last"] <= lasts
    assert len(seen["first"]) > 100
    assert len(seen["last"]) > 100
    assert {int(n) for n in seen["n"]} == set(range(1, 100))
    assert seen["tld"] == {"com", "org", "net"}


def test_a_name_substitute_comes_from_the_locales_list_or_many_after_many_tries() -> None:
    rng = random.Random(7)
    de_first = set(substitutes.name_pool("de_DE", True))
    de_last = set(substitutes.name_pool("de_DE", False))
    assert {substitutes.name_word("Ann", True, "de_DE", rng, 8) for _ in range(DRAWS)} <= de_first
    assert {substitutes.name_word("Ann", False, "de_DE", rng, 0) for _ in range(DRAWS)} <= de_last
    ru = set(substitutes.name_pool("ru_RU", True))
    assert {substitutes.name_word("Иван", True, "en_US", rng, 0) for _ in range(DRAWS)} <= ru
    # After more than eight tries any of seven locales: each one's names turn up.
    many = {substitutes.name_word("Ann", True, "en_US", rng, 9) for _ in range(DRAWS)}
    for locale in ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL"):
        assert many & set(substitutes.name_pool(locale, True)), locale
    assert not many <= set(substitutes.name_pool("en_US", True))


def test_a_seeded_faker_follows_the_generator_and_its_locale() -> None:
    first = substitutes.seeded("de_DE", random.Random(3)).bothify("##??")
    assert substitutes.seeded("de_DE", random.Random(3)).bothify("##??") == first
    values = {
        substitutes.seeded("de_DE", random.Random(seed)).bothify("####") for seed in range(50)
    }
    assert len(values) > 40
    assert substitutes.seeded("de_DE", random.Random(3)).locales == ["de_DE"]


# --- scrubber ---------------------------------------------------------------------------------


def test_a_scrubbed_document_keeps_its_structure_types_and_harmless_values() -> None:
    value = {
        "phone": 4155552671,
        "ok": True,
        "none": None,
        "n": 3,
        "f": 1.5,
        "text": "mail ana@gmail.com",
        "doc": json.dumps({"email": "ana@gmail.com", "city": "Zürich"}),
        "table": {"columns": ["name", "age"], "data": [["Ana Garcia", 31], "Bob Smith"]},
        "list": ["ana@gmail.com", 7],
    }
    scrubber = Scrubber(seed=1)
    scrubber.learn(value)
    out = scrubber.scrub(value)
    assert list(out) == list(value)
    # A phone stored as a JSON number stays a number of as many digits.
    assert isinstance(out["phone"], int)
    assert len(str(out["phone"])) == 10
    assert out["phone"] != value["phone"]
    assert (out["ok"], out["none"], out["n"], out["f"]) == (True, None, 3, 1.5)
    assert type(out["n"]) is int
    email = out["list"][0]
    assert email != "ana@gmail.com"
    assert out["text"] == f"mail {email}"
    # A JSON document inside a string is scrubbed as one, written back unescaped.
    assert out["doc"] == json.dumps({"email": email, "city": "Zürich"}, ensure_ascii=False)
    table = out["table"]
    assert table["columns"] == ["name", "age"]
    assert table["data"][0][1] == 31
    assert "Ana" not in table["data"][0][0]
    assert "Bob" not in table["data"][1]
    assert out["list"][1] == 7
    assert dict(scrubber.counts) == {"phone": 1, "email": 3, "name": 2}
    assert scrubber.names(table["data"][0][0]) == table["data"][0][0].split()


@pytest.mark.parametrize(
    ("text", "document"),
    [
        ("[]", []),
        ("{}", {}),
        ("[1]", [1]),
        ('  {"a": 1}  ', {"a": 1}),
        ("{x", None),
        ("[1", None),
        ("x]", None),
        ('"str"', None),
        ("1", None),
        ("[", None),
    ],
)
def test_only_a_json_object_or_array_is_a_document(text: str, document: object) -> None:
    assert scrubber_module._json_document(text) == document


def test_overlapping_findings_go_by_kind_then_length() -> None:
    spans = [
        Span(0, 5, "name"),
        Span(0, 10, "email"),
        Span(3, 8, "phone"),
        Span(12, 12, "phone"),
        Span(12, 15, "ip"),
        Span(12, 16, "ip"),
        Span(20, 22, "name"),
        Span(17, 19, "name"),
    ]
    chosen = scrubber_module._non_overlapping(spans, ["email", "phone", "ip", "name"])
    assert chosen == [
        Span(0, 10, "email"),
        Span(12, 16, "ip"),
        Span(17, 19, "name"),
        Span(20, 22, "name"),
    ]


def test_national_numbers_are_read_in_the_region_and_the_locales_country() -> None:
    assert Scrubber(region="US", locale="de_DE")._regions == ("US", "DE")
    assert Scrubber(region="DE", locale="de_DE")._regions == ("DE",)
    assert Scrubber(region="US", locale="en")._regions == ("US",)


def test_a_scenarios_patterns_go_first_with_a_template_or_redrawn() -> None:
    scrubber = Scrubber(
        patterns=[
            Pattern("order", re.compile(r"ORD-\d+"), "ORD-####"),
            Pattern("ticket", re.compile(r"T\d+")),
            Pattern("empty", re.compile(r"q*")),
        ]
    )
    out = scrubber.scrub_text("ORD-123 and T42 x")
    assert re.fullmatch(r"ORD-\d{4} and [A-Z]\d{2} x", out), out
    assert dict(scrubber.counts) == {"order": 1, "ticket": 1}


def test_a_kind_without_substitutes_left_gets_a_placeholder_never_the_original() -> None:
    scrubber = Scrubber(patterns=[Pattern("code", re.compile(r"N\d+"), "#")])
    out = [scrubber.scrub_text(f"N{i}") for i in range(12)]
    assert sorted(o for o in out if o.isdigit()) == list("0123456789")
    assert sorted(o for o in out if not o.isdigit()) == ["<code-10>", "<code-11>"]


def test_a_keyed_value_is_replaced_whole_between_its_blanks_unless_skipped() -> None:
    scrubber = Scrubber()
    assert re.fullmatch(r" \d{3}-\d{2}-\d{4} ", scrubber.scrub(" 555-12-3456 ", "ssn"))
    assert scrubber.counts["ssn"] == 1
    skipped = Scrubber(skip=["ssn"])
    skipped.scrub(" 555-12-3456 ", "ssn")
    assert "ssn" not in skipped.counts


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("born 12/03/1985", ["12/03/1985"]),
        ("born" + " " * 36 + "12/03/1985", ["12/03/1985"]),  # the cue within 40 characters
        ("born" + " " * 37 + "12/03/1985", []),
        ("12/03/1985 born", []),  # a cue after the date does not count
        ("paid 12/03/1985", []),
    ],
)
def test_dates_of_birth_follow_a_word_for_one(text: str, dates: list[str]) -> None:
    assert [text[s.start : s.end] for s in dates_of_birth(text)] == dates


def test_a_name_gets_first_and_last_names_of_the_locale_and_keeps_titles_particles_initials() -> (
    None
):
    scrubber = Scrubber(locale="de_DE")
    first, last = scrubber.scrub_text("Kontakt: Margaret Okafor").split()[1:]
    assert first in substitutes.name_pool("de_DE", True)
    assert last in substitutes.name_pool("de_DE", False)
    out = scrubber.scrub_text("Dr. Ana van der Berg and Omar al Farouk, Omar al-Farouk")
    assert re.fullmatch(r"Dr\. (\w+) van der (\w+) and (\w+) al (\w+), \3 al-(\w+)", out), out
    assert not {"Ana", "Berg", "Omar", "Farouk"} & set(re.findall(r"\w+", out))


def test_a_keyed_phone_keeps_no_digit_and_urls_and_ids_get_letters_redrawn() -> None:
    scrubber = Scrubber()
    firsts = {str(scrubber.scrub(f"41555526{i:02d}", "phone"))[0] for i in range(30)}
    assert len(firsts) > 3
    out = scrubber.scrub_text("https://x.example/users/jdoe and x U132950X")
    assert re.fullmatch(r"https://x\.example/users/[a-z]{4} and x [A-Z]\d{6}[A-Z]", out), out


def test_table_cells_past_the_columns_are_scrubbed_without_a_key() -> None:
    scrubber = Scrubber()
    out = scrubber.scrub({"columns": ["name"], "data": [["Ana Garcia", "Bob Smith", 7], 5]})
    (names, number) = out["data"]
    assert out["columns"] == ["name"]
    assert number == 5
    assert names[2] == 7
    assert not {"Ana", "Garcia", "Bob", "Smith"} & set(" ".join(names[:2]).split())


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found_names"),
    [
        ("Margaret Okafor called", ["Margaret Okafor"]),
        ("Hello Margaret Okafor", ["Margaret Okafor"]),
        ("Garcia Lopez", ["Garcia Lopez"]),  # two last names
        ("Garcia", []),
        ("Anna-Lena Schmidt", ["Anna-Lena Schmidt"]),
        # After a title (with or without its period, one space), or a strong cue.
        ("Dr. Okafor called", ["Okafor"]),
        ("Dr Okafor called", ["Okafor"]),
        ("Dr.  Okafor called", []),
        ("Ms. Margaret", ["Margaret"]),
        ("M. Okafor Smith", ["Okafor Smith"]),
        ("Patient: Okafor", ["Okafor"]),
        ("dear Okafor", []),
        # One known first name after a cue; not without.
        ("my name is Margaret", ["Margaret"]),
        ("Margaret said hi", []),
        # Particles inside a name, not at its end; glued particles.
        ("Sienna van den Henst-de Jong shipped", ["Sienna van den Henst-de Jong"]),
        ("Margaret van Okafor", ["Margaret van Okafor"]),
        ("Margaret van 12", []),
        ("Van Morrison", ["Van Morrison"]),
        ("Omar al-Farouk said", ["Omar al-Farouk"]),
        # One space between the words (or ". " after an initial); seven words at most.
        ("Margaret  Okafor", []),
        ("Margaret. Okafor", []),
        ("Ana Bea Cara Dana Ella Fay Gina Hana", ["Ana Bea Cara Dana Ella Fay Gina"]),
        # Words in capitals, common words and lower-case words are no names.
        ("NASA Report", []),
        ("mr. smith", []),
    ],
)
def test_names(text: str, found_names: list[str]) -> None:
    spans = names_module.names(text)
    assert [text[s.start : s.end] for s in spans] == found_names
    assert {s.kind for s in spans} <= {"name"}


@pytest.mark.parametrize(
    ("text", "found_ssns"),
    [
        ("ssn 123-45-6789", ["123-45-6789"]),
        ("ssn 899-12-3456", ["899-12-3456"]),
        # The SSA's rules: no area 000, 666 or 900 and up; no group 00; no serial 0000.
        ("ssn 000-12-3456", []),
        ("ssn 666-12-3456", []),
        ("ssn 900-12-3456", []),
        ("ssn 123-00-4567", []),
        ("ssn 123-45-0000", []),
        ("ssn 1123-45-6789", []),
    ],
)
def test_ssns(text: str, found_ssns: list[str]) -> None:
    assert [text[s.start : s.end] for s in ssns(text)] == found_ssns


@pytest.mark.parametrize(
    ("text", "found_ibans"),
    [
        ("IBAN DE89370400440532013000", ["DE89370400440532013000"]),
        # The pattern runs on into a following word in capitals: cut at a space.
        ("IBAN DE89 3704 0044 0532 0130 00 DANKE", ["DE89 3704 0044 0532 0130 00"]),
        ("IBAN DE89 3704 0044 0532 0130 00 DANK", ["DE89 3704 0044 0532 0130 00"]),
        ("IBAN DE89 3704 0044 0532 0130 01", []),
    ],
)
def test_ibans(text: str, found_ibans: list[str]) -> None:
    assert [text[s.start : s.end] for s in ibans(text)] == found_ibans


@pytest.mark.parametrize(
    ("text", "found_bics"),
    [
        # A digit in the location or branch, or a word for a BIC before it.
        ("code ABCDEFGH, then DEUTDE2H", ["DEUTDE2H"]),
        ("DEUTDEFF", []),
        ("BIC DEUTDEFF", ["DEUTDEFF"]),
    ],
)
def test_bics(text: str, found_bics: list[str]) -> None:
    assert [text[s.start : s.end] for s in bics(text)] == found_bics


def test_an_id_starting_inside_a_taken_span_is_not_tried() -> None:
    text = "x U132950X and U132950X"

    def ids(taken: Span) -> list[int]:
        return [s.start for s in national_ids(text, [taken])]

    assert ids(Span(2, 10, "card")) == [15]
    assert ids(Span(0, 2, "card")) == [2, 15]


EVERY_KIND = (
    "mail ana@gmail.com, https://x.example/users/jdoe, IBAN DE89370400440532013000, card "
    "4111 1111 1111 1111, ssn 123-45-6789, BIC DEUTDEFF, ip 8.8.8.8, mac 5c:d8:6e:cb:27:13, "
    "born 12/03/1985, call +44 20 7946 0958, id U132950X, 742 Evergreen Terrace, Margaret Okafor"
)
KINDS_FOUND = ["email", "url", "iban", "card", "ssn", "bic", "ip", "mac", "dob", "phone"]
KINDS_FOUND += ["national_id", "address", "name"]


@pytest.mark.parametrize("kind", KINDS_FOUND)
def test_a_skipped_kind_is_left_alone(kind: str) -> None:
    full = Scrubber()
    full.scrub_text(EVERY_KIND)
    assert full.counts[kind] >= 1
    skipped = Scrubber(skip=[kind])
    skipped.scrub_text(EVERY_KIND)
    assert kind not in skipped.counts
