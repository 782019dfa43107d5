"""Scrubbing personal data: every kind found and replaced with a substitute of its kind, the
same original always gets the same substitute, different originals different ones."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban, luhn

from stress.logs.scrub import Pattern, Scrubber


def scrubbed(*texts: str, **options: object) -> tuple[list[str], Scrubber]:
    scrubber = Scrubber(seed=11, **options)  # type: ignore[arg-type]
    for text in texts:
        scrubber.learn(text)
    return [scrubber.scrub_text(text) for text in texts], scrubber


@pytest.mark.parametrize(
    ("kind", "original"),
    [
        ("email", "margaret.okafor@gmail.com"),
        ("phone", "(415) 555-2671"),
        ("phone", "+44 20 7946 0958"),
        ("card", "4111 1111 1111 1111"),
        ("card", "5500-0000-0000-0004"),
        ("ssn", "536-90-4399"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("ip", "84.23.117.9"),
        ("address", "742 Evergreen Terrace, Springfield, IL 62704"),
        ("address", "Hauptstraße 5, 10115 Berlin"),
        ("address", "12 rue de la Paix, 75002 Paris"),
        ("name", "Margaret Okafor"),
        ("name", "Dr. Ingrid Halvorsen"),
    ],
)
def test_each_kind_is_found_and_replaced(kind: str, original: str) -> None:
    (text,), scrubber = scrubbed(f"Please note: {original}. Thank you.")
    assert original not in text
    assert text.startswith("Please note: ")
    assert text.endswith(". Thank you.")
    assert scrubber.counts == {kind: 1}


def test_substitutes_keep_the_kind_and_format() -> None:
    (text,), _ = scrubbed(
        "card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00, ssn 536-90-4399, "
        "mail a.b@gmail.com, phone +44 20 7946 0958, ip 84.23.117.9"
    )
    card = re.search(r"card (\d{4} \d{4} \d{4} \d{4}),", text)
    assert card
    assert luhn.is_valid(card.group(1).replace(" ", ""))
    assert card.group(1).startswith("4")
    account = re.search(r"iban (DE\d\d(?: \w{4}){4} \w\w),", text)
    assert account
    assert iban.is_valid(account.group(1))
    assert re.search(r"ssn \d{3}-\d{2}-\d{4},", text)
    assert re.search(r"mail [\w.+-]+@example\.(?:com|org|net),", text)
    assert re.search(r"phone \+44 \d\d \d{4} \d{4},", text)
    assert re.search(r"ip (?:192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$", text)


def test_the_same_original_gets_the_same_substitute_and_names_stay_coherent() -> None:
    texts, scrubber = scrubbed(
        "Hi, I'm Margaret Okafor, mail margaret@gmail.com",
        "Sorry to hear that, Margaret. Okafor is a nice name.",
        "Margaret Okafor again, margaret@gmail.com",
    )
    first, second, third = texts
    assert not any("Margaret" in t or "Okafor" in t or "margaret@" in t for t in texts)
    full = re.search(r"I'm (\w+) (\w+),", first)
    assert full is not None
    given_name, family_name = full.groups()
    assert second.startswith(f"Sorry to hear that, {given_name}. {family_name} is")
    assert third.startswith(f"{given_name} {family_name} again")
    assert first.split("mail ")[1] == third.split(", ")[1]
    assert scrubber.names(third) == [given_name, family_name]


def test_different_originals_get_different_substitutes() -> None:
    emails = [f"person{i}@gmail.com" for i in range(300)]
    texts, _ = scrubbed(*emails)
    assert len(set(texts)) == 300
    ips = [f"84.23.{i}.9" for i in range(200)]
    texts, _ = scrubbed(*ips)
    assert len(set(texts)) == 200


def test_no_substitute_is_an_original_of_the_log() -> None:
    # Many names: a substitute drawn from Faker's lists must never reintroduce one of them.
    names = [
        f"Dear {first} {last}"
        for first, last in zip(
            ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda"),
            ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"),
            strict=True,
        )
    ]
    texts, _ = scrubbed(*names)
    originals = {w for n in names for w in n.split()[1:]}
    for text in texts:
        assert not originals & set(text.split()[1:])


def test_substitutes_depend_on_the_seed_and_nothing_else() -> None:
    text = "I'm Margaret Okafor (margaret@gmail.com, 4111 1111 1111 1111)"
    one = Scrubber(seed=1)
    one.learn(text)
    again = Scrubber(seed=1)
    again.learn(text)
    other = Scrubber(seed=2)
    other.learn(text)
    assert one.scrub_text(text) == again.scrub_text(text)
    assert one.scrub_text(text) != other.scrub_text(text)


def test_skipped_kinds_are_left_alone() -> None:
    (text,), scrubber = scrubbed("ip 84.23.117.9, mail a@gmail.com", skip=["ip"])
    assert "84.23.117.9" in text
    assert "a@gmail.com" not in text
    assert scrubber.counts == {"email": 1}


def test_scenario_patterns_with_and_without_a_template() -> None:
    patterns = [
        Pattern("employee_id", re.compile(r"EMP-\d{6}")),
        Pattern("ticket", re.compile(r"TCK\d+"), "TCK-####"),
    ]
    (text,), scrubber = scrubbed(
        "EMP-448120 opened TCK123 and EMP-448120 closed it", patterns=patterns
    )
    match = re.fullmatch(
        r"([A-Z]{3}-\d{6}) opened (TCK-\d{4}) and ([A-Z]{3}-\d{6}) closed it", text
    )
    assert match
    assert match.group(1) == match.group(3) != "EMP-448120"
    assert scrubber.counts == {"employee_id": 2, "ticket": 1}


def test_values_are_scrubbed_recursively_and_keys_are_kept() -> None:
    scrubber = Scrubber(seed=0)
    body = {"a@gmail.com": ["mail a@gmail.com", {"n": 3, "x": "a@gmail.com"}], "ok": True}
    scrubber.learn(body)
    clean = scrubber.scrub(body)
    assert list(clean) == ["a@gmail.com", "ok"]
    assert clean["ok"] is True
    assert "a@gmail.com" not in str(list(clean.values()))
    assert clean["a@gmail.com"][1]["n"] == 3


def test_common_words_after_a_title_are_not_taken_for_names() -> None:
    texts, _ = scrubbed("Ask Dr. Okafor And the team.", "And then Okafor left.")
    assert texts[0].startswith("Ask Dr. ")
    assert texts[0].endswith(" And the team.")
    assert "Okafor" not in texts[0]
    assert texts[1].startswith("And then ")


def test_ordinary_text_is_not_touched() -> None:
    text = (
        "What is your return policy for worn shoes? Will you ship to Paris in May? "
        "Order 58213 costs 120 dollars, version 1.2.3, call me later."
    )
    (clean,), scrubber = scrubbed(text)
    assert clean == text
    assert not scrubber.counts


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.?!\n", max_size=200))
def test_text_without_capitals_digits_or_at_signs_is_unchanged(text: str) -> None:
    scrubber = Scrubber(seed=0)
    scrubber.learn(text)
    assert scrubber.scrub_text(text) == text


EMAILS = st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|org|de)", fullmatch=True)


@given(st.lists(EMAILS, min_size=1, max_size=8, unique=True), st.integers(0, 2**32))
def test_substitution_is_a_consistent_one_to_one_map(emails: list[str], seed: int) -> None:
    scrubber = Scrubber(seed=seed)
    text = " ".join(emails + emails)
    scrubber.learn(text)
    words = scrubber.scrub_text(text).split(" ")
    first, second = words[: len(emails)], words[len(emails) :]
    assert first == second
    assert len(set(first)) == len(emails)
    assert not set(first) & set(emails)


@given(st.from_regex(r"[3-6][0-9]{11,17}", fullmatch=True), st.integers(0, 2**32))
def test_every_luhn_valid_card_number_is_replaced_by_one(digits: str, seed: int) -> None:
    number = digits + luhn.calc_check_digit(digits)
    scrubber = Scrubber(seed=seed, skip=["phone"])
    text = f"card {number} ok"
    scrubber.learn(text)
    clean = scrubber.scrub_text(text)
    substitute = clean.split(" ")[1]
    assert substitute != number
    assert len(substitute) == len(number)
    assert luhn.is_valid(substitute)


def test_numbers_in_the_digits_of_other_scripts_are_found_too() -> None:
    originals = ["٤١١١١١١١١١١١١١١١", "٥٣٦-٩٠-٤٣٩٩", "٨٤.٢٣.١١٧.٩", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨"]
    (text,), scrubber = scrubbed(" and ".join(originals))
    assert not [value for value in originals if value in text]
    assert scrubber.counts == {"card": 1, "ssn": 1, "ip": 1, "phone": 1}
    assert text.isascii()
