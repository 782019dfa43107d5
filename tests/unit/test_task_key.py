"""inputs.task: validated with the key, value and fix; written by `stress init` from the probe;
invariance compares labels for a classification task, whatever the protocol."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

from stress import scaffold
from stress.checks import invariance
from stress.errors import ScenarioError
from stress.inputs.corpus import Input
from stress.scenario import CompareMethod, Protocol, from_dict
from tests.unit.checks.test_groups import rec


def scenario(task: str | None, protocol: str = "openai-chat", **inputs: Any) -> Any:
    data: dict[str, Any] = {
        "name": "t",
        "target": {"url": "http://127.0.0.1:9", "protocol": protocol},
        "inputs": {"families": {"realistic.*": 1}, **inputs},
        "load": {"phases": [{"name": "baseline", "users": 1, "duration": "1s"}]},
    }
    if task is not None:
        data["inputs"]["task"] = task
    if protocol == "http-json":
        data["target"]["request"] = {"text": "{{prompt}}"}
    return from_dict(data)


def test_an_unknown_task_names_the_key_the_value_and_the_fix() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario("classify-sentimental")
    message = str(caught.value)
    assert "inputs.task" in message
    assert "'classify-sentimental'" in message
    assert "classify-sentiment, classify-intent" in message


def test_a_task_must_fit_what_the_target_takes() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario("tabular")
    assert "inputs.task" in str(caught.value)
    assert "use a text task" in str(caught.value)
    with pytest.raises(ScenarioError) as caught:
        scenario("classify-topic", "mlflow", features={"a": {"min": 0, "max": 1}})
    assert "use task: tabular" in str(caught.value)
    assert scenario("tabular", "mlflow", features={"a": {"min": 0, "max": 1}}).inputs.task
    assert scenario("classify-intent").inputs.task == "classify-intent"
    assert scenario(None).inputs.task is None


def flip_records() -> tuple[list[Input], pd.DataFrame]:
    corpus = [
        Input("orig-1", "perturbation.original", "accept", "prompt", {"messages": []}),
        Input(
            "up-1",
            "perturbation.uppercase",
            "accept",
            "prompt",
            {"messages": [], "seed": "orig-1", "variant": "uppercase"},
        ),
    ]
    records = pd.DataFrame(
        [rec(0, "orig-1", "baseline", 1, "Positive."), rec(1, "up-1", "baseline", 1, "negative")]
    )
    return corpus, records


def test_invariance_compares_the_label_of_a_chat_model_used_as_a_classifier() -> None:
    corpus, records = flip_records()
    judged = invariance.evaluate(records, corpus, scenario("classify-sentiment"))
    assert judged.methods == ["label"]
    assert [(f.kind, f.differences) for f in judged.flips] == [
        ("uppercase", {"label": "label 'positive' became 'negative'"})
    ]
    # Without the task free text has no default comparison; embed keeps the vector rule.
    assert invariance.evaluate(records, corpus, scenario(None)).judged is False
    # (http-json answers are compared by label by default: not an embedding's.)
    embed = invariance.evaluate(records, corpus, scenario("embed", "http-json"))
    assert embed.judged is False
    assert "tolerance.cosine" in embed.note
    assert invariance.default_methods("http-json", None) == [CompareMethod.LABEL]


def probe(task: str | None, source: str = "") -> scaffold.Probe:
    found = scaffold.Probe("GET /health answered HTTP 200", 200, 20.0, "ok", "x-0")
    found.task, found.task_source = task, source
    return found


def test_init_writes_the_task_the_probe_showed_and_perturbations_for_a_classifier() -> None:
    plan = scaffold.Plan(
        url="http://127.0.0.1:9", protocol=Protocol.HTTP_JSON, name="c", openapi="/openapi.json"
    )
    text = scaffold.render(plan, probe=probe("classify-sentiment", "labels positive, negative"))
    data = yaml.safe_load(text)
    assert data["inputs"]["task"] == "classify-sentiment"
    assert data["inputs"]["families"]["perturbation.*"] == 3
    assert "(from labels positive, negative)" in text
    plain = yaml.safe_load(scaffold.render(plan, probe=probe(None)))
    assert "task" not in plain["inputs"]
    assert "perturbation.*" not in plain["inputs"]["families"]
