"""The forms a secret takes on the way, exactly (written against mutation testing)."""

from __future__ import annotations

from stress.secrets import Redactor, encodings

SECRET = 'a b/c+d"é'


def test_every_form_of_a_secret() -> None:
    assert encodings(SECRET) == {
        SECRET,
        "a%20b%2Fc%2Bd%22%C3%A9",  # URL-encoded, nothing safe
        "a%20b/c%2Bd%22%C3%A9",  # URL-encoded in a path ("/" kept)
        "a+b%2Fc%2Bd%22%C3%A9",  # a form or query value
        'a b/c+d\\"\\u00e9',  # inside a JSON string, ASCII only
        'a b/c+d\\"é',  # inside a JSON string, UTF-8
    }


def test_each_form_is_scrubbed_and_short_values_are_not_secrets() -> None:
    redactor = Redactor([SECRET, "abc"])
    assert bool(redactor)
    for form in encodings(SECRET):
        scrubbed = redactor.scrub(f"before {form} after")
        assert form not in scrubbed
        assert scrubbed.startswith("before ")
        assert scrubbed.endswith(" after")
    assert redactor.scrub("abc stays") == "abc stays"  # too short to be taken for a secret
    assert not Redactor(["abc"])
