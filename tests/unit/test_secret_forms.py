"""The forms a secret takes on the way, exactly (written against mutation testing)."""

from __future__ import annotations

import pytest

from stress.secrets import (
    REDACTED,
    MissingVariable,
    Redactor,
    encodings,
    references,
    resolve,
    secret_values,
)

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


def test_a_secret_inside_a_longer_one_does_not_split_it() -> None:
    # Longest first: "my-secret-one" is replaced whole, not as "my-" + the shorter one.
    redactor = Redactor(["secret-one", "my-secret-one"])
    assert redactor.scrub("key=my-secret-one;") == f"key={REDACTED};"
    assert redactor.scrub("key=secret-one;") == f"key={REDACTED};"


def test_optional_text_is_scrubbed_when_there_is_text_and_a_secret() -> None:
    redactor = Redactor(["hunter22"])
    assert redactor.scrub_optional(None) is None
    assert redactor.scrub_optional("pw hunter22") == f"pw {REDACTED}"
    assert Redactor().scrub_optional("pw hunter22") == "pw hunter22"


def test_references_resolution_and_values_from_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRESS_T_KEY", "k-123456")
    monkeypatch.delenv("STRESS_T_UNSET", raising=False)
    # A literal $$ before a reference does not end the scan.
    assert references("$$ and ${STRESS_T_KEY} and ${B}") == ["STRESS_T_KEY", "B"]
    assert resolve("Bearer ${STRESS_T_KEY} $${X}") == "Bearer k-123456 ${X}"
    assert secret_values(["${STRESS_T_KEY}", "${STRESS_T_UNSET}"]) == ["k-123456"]
    with pytest.raises(MissingVariable) as missing:
        resolve("${STRESS_T_UNSET}")
    assert missing.value.name == "STRESS_T_UNSET"
    assert missing.value.args == ("STRESS_T_UNSET",)
    with pytest.raises(ValueError, match=r"^'\$\{1x\}' is not a variable reference"):
        references("${1x}")
