"""Path expressions: the subset http-json answers are read with."""

from __future__ import annotations

import pytest

from stress import jsonpath

DOC = {
    "choices": [{"text": "a"}, {"text": "b"}],
    "odd key": {"x.y": 1},
    "data": [{"embedding": [1, 2]}, {"embedding": [3]}],
    "empty": None,
}


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("$", (True, DOC)),
        ("$.choices[0].text", (True, "a")),
        ("$.choices[-1].text", (True, "b")),
        ("$['odd key'][\"x.y\"]", (True, 1)),
        ("$.data[*].embedding", (True, [[1, 2], [3]])),
        ("$.empty", (True, None)),
        ("$.choices[2].text", (False, None)),
        ("$.choices.text", (False, None)),
        ("$.missing", (False, None)),
        ("$.choices[*].nope", (False, None)),
    ],
)
def test_find(expression: str, found: tuple) -> None:
    assert jsonpath.parse(expression).find(DOC) == found


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("choices[0]", "expected a path starting with $"),
        ("$.choices[0", "from character 10"),
        ("$..text", "from character 2"),
        ("$.a b", "from character 4"),
    ],
)
def test_bad_expressions_say_where(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("[", r"\[")):
        jsonpath.parse(expression)
