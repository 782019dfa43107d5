"""${ENV_VAR} references: parsed strictly, resolved from a given environment, scrubbed."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from stress.secrets import REDACTED, MissingVariable, Redactor, references, resolve, secret_values

ENV = {"API_KEY": "sk-live-abcdef", "ORG": "acme"}


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ("Bearer ${API_KEY}", "Bearer sk-live-abcdef"),
        ("${ORG}-${API_KEY}", "acme-sk-live-abcdef"),
        ("no reference", "no reference"),
        ("cost: $5", "cost: $5"),
        ("literal $${API_KEY}", "literal ${API_KEY}"),
        ("$$", "$"),
    ],
)
def test_resolve(value: str, resolved: str) -> None:
    assert resolve(value, ENV) == resolved


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(MissingVariable) as caught:
        resolve("Bearer ${NOPE}", ENV)
    assert caught.value.name == "NOPE"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Bearer ${API_KEY", "unclosed ${"),
        ("${}", "is not a variable reference"),
        ("${1ABC}", "is not a variable reference"),
        ("${A-B}", "is not a variable reference"),
    ],
)
def test_malformed_references(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("{", r"\{")):
        references(value)


def test_secret_values_are_the_values_of_referenced_variables() -> None:
    assert secret_values(["Bearer ${API_KEY}", "plain", "${ORG}", "${UNSET}"], ENV) == [
        "sk-live-abcdef",
        "acme",
    ]


def test_redactor_replaces_longest_secret_first_and_ignores_tiny_values() -> None:
    redactor = Redactor(["abcd", "abcdefgh", "x"])
    assert redactor.scrub("key=abcdefgh; short=abcd; x marks") == (
        f"key={REDACTED}; short={REDACTED}; x marks"
    )
    assert not Redactor([])
    assert Redactor([]).scrub_optional("abcd") == "abcd"
    assert Redactor(["abcd"]).scrub_optional(None) is None


@given(
    secret=st.text(min_size=4, max_size=20).filter(lambda s: s not in REDACTED),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
@example(secret="aaaa", before="a", after="aaa")
@example(secret=">abc", before="", after="abc")  # the marker's ">" rebuilds the secret
def test_no_secret_survives_scrubbing(secret: str, before: str, after: str) -> None:
    text = before + secret + after + secret
    assert secret not in Redactor([secret]).scrub(text)


def test_url_encoded_and_json_escaped_forms_are_scrubbed_too() -> None:
    secret = 'key/8c+6e=SE"CRET=='
    redactor = Redactor([secret])
    query = "/v1/chat?api_key=key%2F8c%2B6e%3DSE%22CRET%3D%3D&x=1"
    assert redactor.scrub(query) == "/v1/chat?api_key=<redacted>&x=1"
    assert redactor.scrub('{"echo": "key/8c+6e=SE\\"CRET=="}') == '{"echo": "<redacted>"}'
