"""National ID numbers: a validator's answer counts only with something saying the number is
an ID (the module's own name, a generic word, letters mixed in, the module's own format);
the detector asks the validators only when their answer would count."""

from __future__ import annotations

import pytest

from stress.logs.pii.numbers import national_ids


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in national_ids(text)]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        # A weak validator (US EIN accepts most 9 digits) only after its own name.
        ("EIN 042103594 on the form", ["042103594"]),
        ("ref 042103594 on the form", []),
        # A bare number after a generic word for an ID.
        ("ID 111222333 in the sheet", ["111222333"]),
        # ... but not when only a weak validator accepts it.
        ("ID 987654321 in the sheet", []),
        ("we have 111222333 in the sheet", []),
        # Written in a module's own format (French NIR, Swedish personnummer): no word needed;
        # the same digits run together are a bare number.
        ("on file: 2 95 10 99 126 111 93 since May", ["2 95 10 99 126 111 93"]),
        ("on file: 295109912611193 since May", []),
        ("we have 750103-1236 in the sheet", ["750103-1236"]),
    ],
)
def test_a_valid_number_counts_only_with_a_sign_that_it_is_an_id(text: str, ids: list[str]) -> None:
    assert found(text) == ids


def test_the_same_number_is_judged_again_in_each_text() -> None:
    # Validators' answers are kept per number; the signs around it are read each time.
    assert found("EIN 042103594") == ["042103594"]
    assert found("ref 042103594") == []
    assert found("EIN 042103594") == ["042103594"]
