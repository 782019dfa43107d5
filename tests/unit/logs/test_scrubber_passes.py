"""The scrubber's two passes and its bookkeeping, exactly: which values ``learn`` walks and under
which key, what it remembers (the originals no substitute may equal, the words of names), the
key handed down to every value stored under it, a table's columns kept, which finding wins.

Written against the mutants of stress/logs/pii/scrubber.py that survived `make mutation`
(docs/testing.md); functions are called directly where a test through ``scrub`` cannot tell.
"""

from __future__ import annotations

import re

from stress.logs.pii import scrubber as scrubber_module
from stress.logs.pii import substitutes
from stress.logs.pii.common import Span
from stress.logs.pii.scrubber import KINDS, Pattern, Scrubber


def leaves(value: object, *key: str) -> list[tuple[str, str]]:
    return list(scrubber_module._leaves(value, *key))


def test_leaves_are_every_string_and_integer_with_its_key() -> None:
    assert leaves("x") == [("x", "")]
    assert leaves("x", "k") == [("x", "k")]
    # A JSON document inside a string is walked as one, under the string's key; booleans and
    # nulls are no leaves, integers are (as text).
    assert leaves('["1", 2, true, null, {"a": "b"}]', "k") == [
        ("1", "k"),
        ("2", "k"),
        ("b", "a"),
    ]
    assert leaves([7, ["y"]], "k") == [("7", "k"), ("y", "k")]
    assert leaves(True) == []
    assert leaves(None) == []
    assert leaves(1.5) == []


def test_a_tables_cells_are_leaves_under_their_columns_and_its_other_keys_under_theirs() -> None:
    table = {
        "columns": ["email", "tel"],
        "data": [["a", "b", "c"], "de"],
        "other": "e",
        "index": [4],
    }
    assert leaves(table) == [
        ("a", "email"),
        ("b", "tel"),
        ("c", ""),  # past the columns: no key
        ("de", "email"),  # a row that is no list is one cell, the first column's
        ("e", "other"),
        ("4", "index"),
    ]
    # Without a list of columns "columns" and "data" are keys like any other.
    assert leaves({"columns": "x", "data": ["y"]}) == [("x", "columns"), ("y", "data")]
    assert leaves({"data": ["y"], "COLUMNS": ["z"]}) == [("y", "data"), ("z", "COLUMNS")]


def test_learn_remembers_tokens_words_and_whole_findings_as_originals() -> None:
    scrubber = Scrubber()
    scrubber.learn({"note": "call (212) 555-0147 or X1/X. now", "n": [42]})
    originals = scrubber._originals
    assert "(212) 555-0147" in originals  # a finding as found, blanks included
    assert "X1/X" in originals  # a token with its trailing punctuation stripped
    assert "X1/X." not in originals
    assert {"call", "now", "42"} <= originals
    assert None not in originals


def test_learn_remembers_the_personal_words_of_the_names_it_finds() -> None:
    scrubber = Scrubber()
    scrubber.learn("Dear Dr. Margaret van Okafor,")
    assert {"Margaret", "Okafor"} <= scrubber._tokens
    assert not {"Dr", "van", "Dear"} & scrubber._tokens
    # A recurring word of a name is replaced alone, the same way.
    whole = scrubber.scrub_text("Dear Dr. Margaret van Okafor,")
    alone = scrubber.scrub_text("okafor Okafor")
    assert alone == "okafor " + whole.split()[-1].rstrip(",")


def test_the_key_reaches_every_value_stored_under_it() -> None:
    # "zed" and 12345678 are personal data only under a key that says so.
    assert Scrubber().scrub("zed") == "zed"
    assert Scrubber().scrub(12345678) == 12345678
    assert Scrubber().scrub_text("zed") == "zed"
    scrubber = Scrubber()
    name = scrubber.scrub("zed", "customer")
    assert re.fullmatch(r"[A-Z][a-z]+", name), name
    phone = scrubber.scrub(12345678, "tel")
    assert isinstance(phone, int)
    assert len(str(phone)) == 8
    assert phone != 12345678
    # In a list, a number, a JSON document in a string, a dict's values: the same substitutes.
    out = scrubber.scrub({"customer": ["zed", '["zed"]'], "tel": [12345678]})
    assert out == {"customer": [name, f'["{name}"]'], "tel": [phone]}
    assert scrubber.scrub('["zed"]', "customer") == f'["{name}"]'


def test_a_keyed_value_keeps_its_blanks_and_gets_the_substitute_of_its_stripped_self() -> None:
    scrubber = Scrubber()
    bare = scrubber.scrub_text("12345678", "tel")
    assert re.fullmatch(r"\d{8}", bare)
    assert bare != "12345678"
    assert scrubber.scrub_text("  12345678 ", "tel") == f"  {bare} "
    assert scrubber.scrub_text("12345678 ", "tel") == f"{bare} "


def test_a_table_keeps_its_columns_and_scrubs_its_other_keys_under_their_names() -> None:
    scrubber = Scrubber()
    name = scrubber.scrub("zed", "customer")
    table = {
        "columns": ["a.b@example.com", "customer"],
        "data": [["x", "zed"]],
        "index": ["zed"],
        "customer": "zed",
    }
    assert scrubber.scrub(table) == {
        "columns": ["a.b@example.com", "customer"],  # column names are no data
        "data": [["x", name]],
        "index": ["zed"],
        "customer": name,
    }
    # "data" without "columns" is no table: its rows are values under the key "data".
    assert scrubber.scrub({"data": [["zed"]], "customer": "zed"}) == {
        "data": [["zed"]],
        "customer": name,
    }


def test_a_number_whose_substitute_is_no_number_stays_text() -> None:
    scrubber = Scrubber(patterns=[Pattern("code", re.compile(r"\d+"), "??")])
    out = scrubber.scrub(123)
    assert isinstance(out, str)
    assert re.fullmatch(r"[A-Za-z]{2}", out), out


def test_urls_and_redrawn_patterns_get_their_letters_redrawn() -> None:
    scrubber = Scrubber(patterns=[Pattern("ticket", re.compile(r"TK[A-Z]{4}\d"))])
    users = ["jdoe", "asmith", "bjones", "ckhan"]
    for user in users:
        out = scrubber.scrub_text(f"https://x.example/users/{user}")
        found = re.fullmatch(r"https://x\.example/users/([a-z]+)", out)
        assert found, out
        assert len(found.group(1)) == len(user)
        assert found.group(1) != user
    tickets = [scrubber.scrub_text(f"TKWXYZ{i}") for i in range(4)]
    assert all(re.fullmatch(r"[A-Z]{6}\d", t) for t in tickets), tickets
    assert not any(t[:6] == "TKWXYZ" for t in tickets), tickets


def test_a_scrubbers_defaults() -> None:
    scrubber = Scrubber()
    assert (scrubber.seed, scrubber.region, scrubber.locale) == (0, "US", "en_US")
    assert scrubber._regions == ("US",)
    assert Scrubber(region="DE").region == "DE"
    assert Scrubber(seed=5).seed == 5
    # A locale with a script: its country is the last part.
    assert Scrubber(locale="sr_Latn_RS")._regions == ("US", "RS")


def test_a_personal_word_has_two_letters_and_is_no_particle_title_or_article() -> None:
    personal = scrubber_module._personal_word
    assert personal("Jo")
    assert personal("Ana")
    assert not personal("J")
    assert not personal("al")
    assert not personal("el")
    assert not personal("van")
    assert not personal("Dr")


def test_a_substitute_holds_a_name_when_a_name_of_the_log_begins_one_of_its_words() -> None:
    scrubber = Scrubber()
    scrubber._tokens = {"Ann", "Jo", "Abcdefghijklmnopqrstu"}
    holds = scrubber._holds_a_name
    assert holds("Annville")  # a three-letter name begins an eight-letter word
    assert holds("Port Annapolis")
    assert holds("Ann")
    assert not holds("Anville")
    assert not holds("Joseph")  # two letters are too few to count
    # Only the first 20 letters of a word are compared.
    assert not holds("Abcdefghijklmnopqrstu")
    scrubber._tokens = {"Abcdefghijklmnopqrst"}
    assert holds("Abcdefghijklmnopqrstuvw")


def test_adjacent_findings_both_win_and_an_unknown_kind_ranks_last() -> None:
    choose = scrubber_module._non_overlapping
    assert choose([Span(3, 5, "email"), Span(0, 3, "name")], KINDS) == [
        Span(0, 3, "name"),
        Span(3, 5, "email"),
    ]
    assert choose([Span(0, 3, "email"), Span(3, 5, "name")], KINDS) == [
        Span(0, 3, "email"),
        Span(3, 5, "name"),
    ]
    assert choose([Span(0, 6, "other"), Span(2, 4, "name")], KINDS) == [Span(2, 4, "name")]
    assert choose([Span(0, 6, "other"), Span(8, 9, "odd"), Span(2, 4, "name")], KINDS) == [
        Span(2, 4, "name"),
        Span(8, 9, "odd"),
    ]


def test_a_name_whose_locale_has_no_substitute_left_gets_one_of_another_locale() -> None:
    scrubber = Scrubber()
    banned = substitutes.name_pool("en_US", True) + substitutes.name_pool("en_US", False)
    scrubber._originals.update(banned)
    first, last = scrubber.scrub_text("Contact: Margaret Okafor").split()[1:]
    others = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL")
    assert first in {n for locale in others for n in substitutes.name_pool(locale, True)}
    assert last in {n for locale in others for n in substitutes.name_pool(locale, False)}
    assert not {first, last} & set(banned)
