"""Every family's expectation agrees with what its own description and why say."""

from __future__ import annotations

import re

import pytest

from stress.inputs.families import Expect, catalog

# Words that promise "either is fine"; only accept_or_refuse families may say them, and they
# must say the first.
EITHER = re.compile(r"answer or refuse", re.IGNORECASE)
LENIENT = re.compile(
    r"answer or refuse|or an answer|ignoring it is fine|must ignore|lenient ones ignore",
    re.IGNORECASE,
)
MUST_REFUSE = re.compile(r"must be refused|refuse fast|expect 4\d\d", re.IGNORECASE)
MUST_ACCEPT = re.compile(r"must (?:be accepted|still be accepted|not change)", re.IGNORECASE)


def promises(family_text: str, expect: Expect) -> str | None:
    """Why ``family_text`` contradicts ``expect``, or None when they agree."""
    if expect is Expect.ACCEPT_OR_REFUSE and not EITHER.search(family_text):
        return "accept_or_refuse without saying 'answer or refuse'"
    if expect is not Expect.ACCEPT_OR_REFUSE and LENIENT.search(family_text):
        return f"says a server may answer or refuse, yet expects {expect.value}"
    if expect is Expect.ACCEPT and MUST_REFUSE.search(family_text):
        return "says the input must be refused, yet expects accept"
    if expect is Expect.REJECT and MUST_ACCEPT.search(family_text):
        return "says the input must be accepted, yet expects reject"
    return None


@pytest.mark.parametrize("name", sorted(catalog()))
def test_expectation_matches_description(name: str) -> None:
    family = catalog()[name]
    problem = promises(f"{family.description}; {family.why}", family.expect)
    assert problem is None, f"{name}: {problem}"


def test_the_careful_server_families_may_answer_or_refuse() -> None:
    either = {n for n, f in catalog().items() if f.expect is Expect.ACCEPT_OR_REFUSE}
    assert {
        "size.empty_prompt",
        "size.whitespace_only",
        "size.over_limit",
        "size.very_long",
        "size.huge_batch",
        "realistic.schema_body",
    } <= either
    # The limit itself stays valid: a refusal of it is judged against the server's own limit.
    assert catalog()["size.at_limit"].expect is Expect.ACCEPT


@pytest.mark.parametrize(
    ("text", "expect", "wrong"),
    [
        ("strip() makes it empty: answer or refuse, never crash", Expect.ACCEPT, True),
        ("strip() makes it empty: answer or refuse, never crash", Expect.ACCEPT_OR_REFUSE, False),
        ("a long prompt that holds a slot", Expect.ACCEPT_OR_REFUSE, True),
        ("just over the limit must be refused cleanly", Expect.ACCEPT, True),
        ("whitespace differences must not change the answer", Expect.REJECT, True),
        ("parsers differ (ignoring it is fine)", Expect.REJECT, True),
        ("a 400 or an answer, never a 500", Expect.REJECT, True),
        ("recursive JSON parsers overflow the stack", Expect.REJECT, False),
    ],
)
def test_the_rule_itself(text: str, expect: Expect, wrong: bool) -> None:
    assert (promises(text, expect) is not None) is wrong
