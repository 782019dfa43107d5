"""Scenario overrides by key path (stress.overrides): what each path sets, and the errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.errors import ScenarioError
from stress.overrides import apply

DATA: dict[str, Any] = {
    "name": "t",
    "inputs": {"seed": 1, "families": {"realistic.*": 1}},
    "load": {"phases": [{"name": "a", "users": 1}, {"name": "b", "users": 4}]},
    "slo": {"phases": {}},
    "answers": {"json_schema": None},
}


@pytest.mark.parametrize(
    ("key", "value", "where", "expected"),
    [
        ("name", "smoke", ("name",), "smoke"),
        ("inputs.seed", 9, ("inputs", "seed"), 9),
        ("load.phases[1].users", 8, ("load", "phases", 1, "users"), 8),
        ("load.phases[-1].users", 8, ("load", "phases", 1, "users"), 8),
        (
            "inputs.families['unicode.null_bytes']",
            2,
            ("inputs", "families", "unicode.null_bytes"),
            2,
        ),
        ('inputs.families["a b"]', 2, ("inputs", "families", "a b"), 2),
        # Missing mappings on the way are created; null ones too.
        ("slo.phases.b.p95_ms", 500, ("slo", "phases", "b", "p95_ms"), 500),
        ("answers.json_schema.type", "object", ("answers", "json_schema", "type"), "object"),
        ("load.max_requests", 10, ("load", "max_requests"), 10),
    ],
)
def test_a_key_path_sets_one_value(
    key: str, value: Any, where: tuple[str | int, ...], expected: Any
) -> None:
    result = apply(DATA, {key: value})
    node: Any = result
    for step in where:
        node = node[step]
    assert node == expected


def test_a_wildcard_sets_every_item_and_the_input_is_not_changed() -> None:
    result = apply(DATA, {"load.phases[*].duration": "1s"})
    assert [phase["duration"] for phase in result["load"]["phases"]] == ["1s", "1s"]
    assert "duration" not in DATA["load"]["phases"][0]


def test_a_value_is_copied_so_later_changes_do_not_leak_in() -> None:
    families = {"realistic.*": 1}
    result = apply(DATA, {"inputs.families": families})
    families["unicode.*"] = 1
    assert result["inputs"]["families"] == {"realistic.*": 1}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "load.phases[2].users",
            "overrides: load.phases[2].users: index 2 is out of range: load.phases has 2 "
            "item(s); use 0 to 1, or -1 for the last",
        ),
        (
            "name.first",
            "overrides: name.first: name is a str, not a mapping; it has no key 'first'",
        ),
        (
            "load[0]",
            "overrides: load[0]: load is a dict, not a list; use .name for a key",
        ),
        (
            "load.phases..users",
            "overrides: load.phases..users: not a key path; use .key, [0], ['key'] or [*], "
            "e.g. load.phases[0].users",
        ),
        ("", "overrides: '': expected a key path such as 'load.phases[0].users' or 'inputs.seed'"),
    ],
)
def test_a_bad_path_is_a_scenario_error_naming_it(key: str, message: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        apply(DATA, {key: 1})
    assert raised.value.problems == [message]


def test_every_bad_path_is_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as raised:
        apply(DATA, {"load.phases[5]": 1, "name": "ok", "name.x": 1})
    assert [p.split(":")[1].strip() for p in raised.value.problems] == ["load.phases[5]", "name.x"]


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.integers(), max_size=5))
def test_top_level_keys_are_set_as_given(overrides: dict[str, int]) -> None:
    result = apply(DATA, overrides)
    assert {key: result[key] for key in overrides} == overrides
    assert {k: v for k, v in result.items() if k not in overrides} == {
        k: v for k, v in DATA.items() if k not in overrides
    }
