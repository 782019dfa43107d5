"""Group checks on hand-built records: comparison methods, degradation, invariance, flakiness."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stress.checks import degradation, flakiness, invariance
from stress.checks.compare import Answer, Comparer
from stress.checks.resend import Resend
from stress.errors import ScenarioError
from stress.inputs.corpus import Input
from stress.runner import load_scenario
from stress.scenario import CompareMethod, Comparison, Scenario, from_dict

M = CompareMethod


def scenario(protocol: str = "openai-chat", **extra: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "g",
        "target": {"url": "http://127.0.0.1:9", "protocol": protocol},
        "inputs": {"families": {"realistic.chat_prompt": 1}},
        "load": {
            "phases": [
                {"name": "baseline", "users": 1, "duration": "1s"},
                {"name": "load", "users": 8, "duration": "1s"},
            ]
        },
        **extra,
    }
    if protocol == "mlflow":
        data["inputs"] = {
            "families": {"realistic.tabular_rows": 1},
            "features": {"a": {"min": 0, "max": 1}},
        }
    return from_dict(data)


def compare(
    methods: list[CompareMethod], a: str, b: str, protocol: str = "openai-chat", **config: Any
) -> dict[str, str]:
    comparer = Comparer(Comparison(**config), protocol, methods=methods)
    return comparer.differences(Answer(a), Answer(b))


@pytest.mark.parametrize(
    ("method", "a", "b", "protocol", "differs"),
    [
        (M.EXACT, "Hello", "Hello", "openai-chat", False),
        (M.EXACT, "Hello", "hello", "openai-chat", True),
        (M.NORMALIZED, "Hello  World\n", "hello world", "openai-chat", False),
        (M.NORMALIZED, "Hello world", "Hello there", "openai-chat", True),
        (M.NORMALIZED, "ﬁne", "fine", "openai-chat", False),  # NFKC ligature
        (M.LABEL, "[[0.1, 0.9], [0.7, 0.3]]", "[[0.2, 0.8], [0.6, 0.4]]", "mlflow", False),
        (M.LABEL, "[[0.1, 0.9]]", "[[0.9, 0.1]]", "mlflow", True),
        (
            M.LABEL,
            '[{"label": "Cat", "score": 0.9}]',
            '[{"label": "cat", "score": 0.5}]',
            "mlflow",
            False,
        ),
        (M.LABEL, "[1, 2]", "[1, 0]", "mlflow", True),
        (M.LABEL, "Positive.", "positive", "openai-chat", False),
        (M.NUMERIC, "[0.5, 2.0]", "[0.5000000001, 2.0]", "mlflow", False),
        (M.NUMERIC, "[0.5, 2.0]", "[0.51, 2.0]", "mlflow", True),
        (M.NUMERIC, '{"a": [1, "x"]}', '{"a": [1, "y"]}', "mlflow", True),
        (M.NUMERIC, "[NaN]", "[NaN]", "mlflow", False),
        (M.NUMERIC, "It costs 12.50 dollars", "it costs 12.5 dollars!", "openai-chat", False),
        (M.NUMERIC, "It costs 12.50", "It costs 13", "openai-chat", True),
        (M.LENGTH, "a" * 100, "b" * 60, "openai-chat", False),
        (M.LENGTH, "a" * 100, "b" * 40, "openai-chat", True),
        (M.LENGTH, "", "", "openai-chat", False),
        (M.LENGTH, "[1, 2]", "[3, 4]", "mlflow", False),
        (M.LENGTH, "[1, 2]", "[3]", "mlflow", True),
    ],
)
def test_comparison_methods(
    method: CompareMethod, a: str, b: str, protocol: str, differs: bool
) -> None:
    assert bool(compare([method], a, b, protocol)) is differs


def test_defaults_depend_on_the_protocol() -> None:
    assert Comparer(Comparison(), "openai-chat").methods == [M.NORMALIZED, M.LENGTH]
    assert Comparer(Comparison(), "mlflow").methods == [M.LABEL, M.NUMERIC]


def test_semantic_method_uses_the_embedder() -> None:
    vectors = {"a cat sat": [1.0, 0.0], "a feline sat": [0.9, 0.1], "stock prices": [0.0, 1.0]}
    comparer = Comparer(
        Comparison(min_similarity=0.8),
        "openai-chat",
        methods=[M.SEMANTIC],
        embed=lambda texts: [vectors[t] for t in texts],
    )
    assert comparer.differences(Answer("a cat sat"), Answer("a feline sat")) == {}
    assert (
        "semantic similarity 0.00"
        in comparer.differences(Answer("a cat sat"), Answer("stock prices"))["semantic"]
    )


def rec(seq: int, input_id: str, phase: str, users: int, text: str | None, **extra: Any) -> dict:
    return {
        "seq": seq,
        "worker": 0,
        "input_id": input_id,
        "family": input_id.split("-")[0],
        "expect": "accept",
        "phase": phase,
        "users": users,
        "status": 200,
        "output_text": text,
        "output_chars": None if text is None else len(text),
        "output_digest": None,
        "failed_checks": [],
        "warned_checks": [],
        "info_checks": [],
        **extra,
    }


def resend(input_id: str, text: str | None, purpose: str = "degradation", **extra: Any) -> Resend:
    values: dict[str, Any] = {
        "purpose": purpose,
        "input_id": input_id,
        "attempt": 1,
        "status": 200,
        "error_kind": None,
        "latency_ms": 1.0,
        "output_text": text,
        **extra,
    }
    return Resend(**values)


def degradation_records() -> pd.DataFrame:
    return pd.DataFrame(
        [
            rec(1, "a-1", "baseline", 1, "the answer is 4"),
            rec(2, "b-1", "baseline", 1, "blue"),
            rec(3, "c-1", "baseline", 1, "sampled one"),
            rec(4, "d-1", "baseline", 1, None, status=500),  # no baseline answer: not compared
            rec(5, "a-1", "load", 4, "the answer is 4"),
            rec(6, "b-1", "load", 4, "red"),  # changed under load, blue again alone
            rec(7, "c-1", "load", 4, "sampled two"),  # changed, and changes again alone
            rec(8, "d-1", "load", 4, "whatever"),
            rec(9, "b-1", "load", 8, "RED"),
            rec(10, "a-1", "load", 8, "the answer is 5", status=503),  # an error, not compared
        ]
    )


def test_degradation_confirms_only_changes_that_come_with_load() -> None:
    records = degradation_records()
    first = degradation.evaluate(records, scenario())
    assert first.candidates == ["b-1", "c-1"]
    assert first.degraded == []  # nothing is counted before re-sending
    resends = [resend("b-1", "blue"), resend("c-1", "sampled three")]
    result = degradation.evaluate(records, scenario(), resends=resends)
    levels = [level.to_json() for level in result.levels]
    assert levels == [
        {
            "phase": "load",
            "users": 4,
            "compared": 3,
            "degraded": 1,
            "rate": 1 / 3,
            "by_method": {"normalized": 1},
            "unstable": 1,
            "unverified": 0,
        },
        {
            "phase": "load",
            "users": 8,
            "compared": 1,
            "degraded": 1,
            "rate": 1.0,
            "by_method": {"normalized": 1},
            "unstable": 0,
            "unverified": 0,
        },
    ]
    [pair, _] = result.degraded
    assert (pair.input_id, pair.baseline.text, pair.load.text) == ("b-1", "blue", "red")
    totals = result.totals()
    assert (totals["compared"], totals["degraded"], totals["unstable"]) == (4, 2, 1)


def test_unverified_changes_are_not_counted() -> None:
    result = degradation.evaluate(degradation_records(), scenario(), resends=[])
    assert sum(level.unverified for level in result.levels) == 3
    assert "not re-sent" in result.note


def test_nondeterministic_endpoint_is_noted_not_blamed() -> None:
    rows = []
    resends = []
    for index in range(5):
        rows += [
            rec(index, f"x-{index}", "baseline", 1, f"take {index} a"),
            rec(100 + index, f"x-{index}", "load", 4, f"take {index} b"),
        ]
        resends.append(resend(f"x-{index}", f"take {index} c"))
    result = degradation.evaluate(pd.DataFrame(rows), scenario(), resends=resends)
    assert result.degraded == []
    assert "not deterministic" in result.note


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        ({"degradation": {"enabled": False}}, "degradation.enabled is false"),
        ({"degradation": {"methods": []}}, "methods is empty"),
    ],
)
def test_degradation_not_judged_says_why(extra: dict[str, Any], note: str) -> None:
    result = degradation.evaluate(degradation_records(), scenario(**extra))
    assert result.judged is False
    assert note in result.note


def test_a_single_phase_is_not_judged() -> None:
    single = from_dict(
        {
            "name": "g",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "only", "users": 1, "duration": "1s"}]},
        }
    )
    assert "single phase" in degradation.evaluate(degradation_records(), single).note


def test_invariance_flip_rate_per_kind() -> None:
    def rows(value: float, **extra: Any) -> dict[str, Any]:
        return {"rows": [{"a": value}], **extra}

    corpus = [
        Input("seed-1", "realistic", "accept", "rows", rows(0.1)),
        Input("p-1", "perturb", "accept", "rows", rows(0.2, seed="seed-1", variant="noise")),
        Input("p-2", "perturb", "accept", "rows", rows(0.9, seed="seed-1", variant="round")),
        Input("p-3", "perturb", "accept", "rows", rows(0.9, seed="gone-1", variant="round")),
        Input("p-4", "perturb", "accept", "rows", rows(0.3, seed=17)),  # not a seed id
    ]
    records = pd.DataFrame(
        [
            rec(1, "seed-1", "load", 4, "[[0.1, 0.9]]"),  # a later answer of the seed ...
            rec(0, "seed-1", "baseline", 1, "[[0.2, 0.8]]"),  # ... loses to the baseline's
            rec(2, "p-1", "baseline", 1, "[[0.3, 0.7]]"),
            rec(3, "p-2", "baseline", 1, "[[0.8, 0.2]]"),
            rec(4, "p-3", "baseline", 1, "[[0.8, 0.2]]"),
        ]
    )
    result = invariance.evaluate(records, corpus, scenario("mlflow"))
    assert [kind.to_json() for kind in result.kinds] == [
        {
            "kind": "noise",
            "groups": 1,
            "compared": 1,
            "flips": 0,
            "flip_rate": 0.0,
            "by_method": {},
            "unanswered": 0,
        },
        {
            "kind": "round",
            "groups": 1,
            "compared": 1,
            "flips": 1,
            "flip_rate": 1.0,
            "by_method": {"label": 1},
            "unanswered": 1,
        },
    ]
    assert [flip.input_id for flip in result.flips] == ["p-2"]


def test_invariance_of_free_text_is_not_judged_by_default() -> None:
    corpus = [Input("p-1", "perturb", "accept", "prompt", {"seed": "s-1", "messages": []})]
    result = invariance.evaluate(
        pd.DataFrame([rec(1, "p-1", "baseline", 1, "x")]), corpus, scenario()
    )
    assert result.judged is False
    assert "invariance.methods" in result.note


def test_flakiness_classes() -> None:
    records = pd.DataFrame(
        [
            rec(1, "det-1", "load", 4, None, failed_checks=["not_a_server_error"]),
            rec(2, "flaky-1", "load", 4, None, failed_checks=["no_timeout"]),
            rec(3, "loadonly-1", "load", 4, None, failed_checks=["not_a_server_error"]),
            rec(4, "base-1", "baseline", 1, None, failed_checks=["no_timeout"]),
            rec(5, "gone-1", "load", 4, None, failed_checks=["no_timeout"]),
            rec(6, "warn-1", "load", 4, None, warned_checks=["strict_json"]),
            rec(7, "later-1", "load", 4, None, failed_checks=["no_timeout"]),
        ]
    )
    failing = flakiness.failing_inputs(records, ["error"])
    assert [f.input_id for f in failing] == [
        "det-1",
        "flaky-1",
        "loadonly-1",
        "base-1",
        "gone-1",
        "later-1",
    ]
    bad = [("not_a_server_error", "error")]
    resends = [
        resend("det-1", None, "flakiness", status=500, findings=bad),
        resend("det-1", None, "flakiness", status=500, findings=bad),
        resend("flaky-1", "ok", "flakiness"),
        resend(
            "flaky-1",
            None,
            "flakiness",
            status=0,
            error_kind="timeout",
            findings=[("no_timeout", "error")],
        ),
        resend("loadonly-1", "ok", "flakiness"),
        resend("base-1", "ok", "flakiness"),
        resend(
            "gone-1",
            None,
            "flakiness",
            status=0,
            error_kind="connection_refused",
            findings=[("no_connection_error", "error")],
        ),
    ]
    summary = flakiness.summarise(failing, resends, ["error"], "baseline")
    classes = {entry["input_id"]: entry["class"] for entry in summary["inputs"]}
    assert classes == {
        "det-1": "deterministic",
        "flaky-1": "flaky",
        "loadonly-1": "load_only",
        "base-1": "flaky",
        "gone-1": "unknown",
        "later-1": "not_resent",
    }
    assert summary["counts"] == {
        "deterministic": 1,
        "flaky": 2,
        "load_only": 1,
        "unknown": 1,
        "not_resent": 1,
    }
    with_warnings = flakiness.failing_inputs(records, ["error", "warning"])
    assert "warn-1" in [f.input_id for f in with_warnings]


def test_resend_lines_round_trip() -> None:
    sent = resend("a-1", "text", findings=[("strict_json", "warning")], output_chars=4)
    line = json.loads(json.dumps(sent.to_json()))
    assert Resend.from_json(line) == sent
    assert Resend.from_json({"purpose": "x"}) is None


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None,
    reason="the semantic extra is installed here",
)
def test_semantic_without_the_extra_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\n"
        "target: {url: 'http://127.0.0.1:9', protocol: openai-chat}\n"
        "inputs: {families: {realistic.chat_prompt: 1}}\n"
        "load: {phases: [{name: a, users: 1, duration: 1s}, {name: b, users: 2, duration: 1s}]}\n"
        "degradation: {methods: [normalized, semantic]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.problems == [
        f"{path}: degradation.methods: the semantic method needs the optional extra: "
        f"pip install 'stress[semantic]', or remove semantic"
    ]


def test_stress_checks_lists_every_check_with_its_severity() -> None:
    from click.testing import CliRunner

    from stress.checks.request import ALL_CHECKS
    from stress.cli import cli

    result = CliRunner().invoke(cli, ["checks"], terminal_width=200)
    assert result.exit_code == 0
    for name in ALL_CHECKS:
        assert name in result.output
    assert re.search(r"server_version_leak\s+│ info", result.output)
    assert "checks: [default, ...]" in result.output
