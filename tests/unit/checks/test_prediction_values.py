"""prediction_values per protocol: the fields read from real answer bodies (through each
protocol's adapter) and the rules on them: nulls, non-finite numbers, probabilities in
[0, 1], declared ranges and labels, KServe v2 datatypes; on every 2xx, whatever the input's
expectation."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from stress.checks.answers import is_probability_name, prediction_fields, prediction_values
from stress.checks.exchange import Exchange, Finding, Settings
from stress.checks.strict import MAX_STRICT_BYTES
from stress.scenario import Target
from stress.targets import adapter_for

JSON = {"content-type": "application/json"}


def judged(
    protocol: str,
    answer: Any,
    *,
    expect: str = "accept",
    status: int = 200,
    labels: tuple[str | int, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
) -> Finding | None:
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    extra = {"request": {"q": "{{prompt}}"}} if protocol == "http-json" else {}
    target = Target.model_validate({"url": "http://x", "protocol": protocol, **extra})
    outcome = adapter_for(target, features=["a"]).parse(status, JSON, body)
    settings = Settings(protocol=protocol, labels=labels, min_value=low, max_value=high)
    exchange = Exchange(expect, status, None, outcome, 5.0, JSON, body, settings=settings)
    return prediction_values(exchange)


def message(finding: Finding | None) -> str | None:
    return None if finding is None else finding.message


def tensor(name: str, datatype: str, shape: list[int], data: list[Any]) -> dict[str, Any]:
    return {"outputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}]}


@pytest.mark.parametrize("expect", ["accept", "reject", "resist"])
@pytest.mark.parametrize(
    ("protocol", "answer", "said"),
    [
        ("mlflow", {"predictions": [0.5, None]}, "predictions[1] is null"),
        ("mlflow", b'{"predictions": [0.5, NaN]}', "predictions[1] is nan"),
        ("kserve-v1", b'{"predictions": [Infinity]}', "predictions[0] is inf"),
        (
            "kserve-v2",
            b'{"outputs": [{"name": "y", "datatype": "FP32", "shape": [1], "data": [-Infinity]}]}',
            "outputs[0].data[0] is -inf",
        ),
        ("openai-embeddings", b'{"data": [{"embedding": [0.1, NaN]}]}', "embedding[1] is nan"),
        ("http-json", {"score": None}, "prediction.score is null"),
    ],
)
def test_nulls_and_non_finite_numbers_are_wrong_whatever_the_expectation(
    protocol: str, answer: Any, said: str, expect: str
) -> None:
    finding = judged(protocol, answer, expect=expect)
    assert finding is not None
    assert (finding.check, finding.severity, finding.message) == (
        "prediction_values",
        "error",
        said,
    )


def test_only_2xx_answers_are_judged() -> None:
    assert judged("mlflow", {"predictions": [None]}, status=400) is None
    assert judged("mlflow", {"predictions": [None]}, status=200) is not None


@pytest.mark.parametrize(
    ("protocol", "answer", "said"),
    [
        # Named probabilities: MLflow's dict of columns, KServe v1's records, http-json.
        (
            "mlflow",
            {"predictions": {"label": ["a"], "probabilities": [[0.2, 1.3]]}},
            "predictions.probabilities[0][1] is 1.3, a probability outside [0, 1]",
        ),
        (
            "kserve-v1",
            {"predictions": [{"label": "a", "probability": -0.1}]},
            "predictions[0].probability is -0.1, a probability outside [0, 1]",
        ),
        (
            "http-json",
            {"result": {"predict_proba": 1.5}},
            "prediction.result.predict_proba is 1.5, a probability outside [0, 1]",
        ),
        (
            "http-json",
            {"classProbs": [0.5, 1.01]},
            "prediction.classProbs[1] is 1.01, a probability outside [0, 1]",
        ),
        # Unnamed rows summing to 1 (softmax, predict_proba): probabilities too.
        (
            "mlflow",
            {"predictions": [[0.25, 0.75], [1.3, -0.3]]},
            "predictions[1][0] is 1.3, a probability outside [0, 1]",
        ),
        (
            "kserve-v1",
            {"predictions": [{"cat": 1.25, "dog": -0.25}]},
            "predictions[0].cat is 1.25, a probability outside [0, 1]",
        ),
        # KServe v2: the tensor's name, or its rows (the shape's last dimension).
        (
            "kserve-v2",
            tensor("probabilities", "FP32", [2], [0.5, 1.3]),
            "outputs[0].data[1] is 1.3, a probability outside [0, 1]",
        ),
        (
            "kserve-v2",
            tensor("output-0", "FP32", [2, 2], [0.5, 0.5, 1.5, -0.5]),
            "outputs[0].data[2] is 1.5, a probability outside [0, 1]",
        ),
    ],
)
def test_probabilities_lie_in_0_1(protocol: str, answer: Any, said: str) -> None:
    assert message(judged(protocol, answer)) == said


@pytest.mark.parametrize(
    ("protocol", "answer"),
    [
        ("mlflow", {"predictions": [[0.25, 0.75]]}),
        ("mlflow", {"predictions": {"label": ["a"], "probabilities": [[0.2, 0.8]]}}),
        # One number per row (a regression over two rows) is no distribution, even if it
        # sums to 1; nor are whole numbers, nor a field whose name only starts like one.
        ("mlflow", {"predictions": [1.3, -0.3]}),
        ("kserve-v1", {"predictions": [[2, -1]]}),
        ("kserve-v1", {"predictions": [{"label": "a", "problem": 1.5}]}),
        ("kserve-v2", tensor("output-0", "FP32", [4], [0.5, 0.5, 1.5, -0.5])),
        ("kserve-v2", tensor("scores", "FP32", [1, 2], [3.5, -1.5])),
        # An embedding is a vector, not a distribution.
        ("openai-embeddings", {"data": [{"embedding": [1.5, -0.5]}]}),
    ],
)
def test_what_is_not_a_probability_is_not_held_to_0_1(protocol: str, answer: Any) -> None:
    assert judged(protocol, answer) is None


def test_declared_ranges_bound_every_number() -> None:
    assert judged("mlflow", {"predictions": [3.0]}, low=0, high=5) is None
    assert message(judged("mlflow", {"predictions": [7.5]}, low=0, high=5)) == (
        "predictions[0] is 7.5, outside [0, 5]"
    )
    assert message(judged("kserve-v1", {"predictions": [{"score": -2}]}, low=0)) == (
        "predictions[0].score is -2, outside [0, inf]"
    )
    answer = tensor("y", "FP64", [1], [9.0])
    assert message(judged("kserve-v2", answer, high=1, expect="reject")) == (
        "outputs[0].data[0] is 9.0, outside [-inf, 1]"
    )


def test_declared_labels_bound_every_label_whatever_the_expectation() -> None:
    labels = ("setosa", "versicolor")
    assert judged("mlflow", {"predictions": ["setosa"]}, labels=labels) is None
    found = judged("mlflow", {"predictions": ["setosa", "daisy"]}, labels=labels, expect="reject")
    assert found == Finding(
        "prediction_values",
        "predictions[1] is 'daisy', not a declared label",
        expected="one of ['setosa', 'versicolor']",
        got="'daisy'",
    )
    # Numeric labels: whole numbers are labels, but a one-hot probability row is not.
    numeric = (1, 2, 3)
    answer = {"predictions": [{"label": 2, "probs": [0, 1, 0]}]}
    assert judged("kserve-v1", answer, labels=numeric) is None
    answer = {"predictions": [{"label": 4, "probs": [0, 1, 0]}]}
    assert message(judged("kserve-v1", answer, labels=numeric)) == (
        "predictions[0].label is 4, not a declared label"
    )
    bytes_tensor = tensor("label", "BYTES", [1], ["daisy"])
    assert message(judged("kserve-v2", bytes_tensor, labels=labels)) == (
        "outputs[0].data[0] is 'daisy', not a declared label"
    )
    chat = {"choices": [{"message": {"content": "daisy"}, "finish_reason": "stop"}]}
    assert message(judged("openai-chat", chat, labels=labels, expect="reject")) == (
        "answer 'daisy' is not one of the declared labels"
    )


@pytest.mark.parametrize(
    ("datatype", "data", "said"),
    [
        ("FP32", [0.5, "x"], "outputs[0].data[1] is 'x', not a FP32 number"),
        ("FP16", [True, 0.5], "outputs[0].data[0] is True, not a FP16 number"),
        ("INT64", [1, 2.5], "outputs[0].data[1] is 2.5, not a INT64 integer"),
        ("UINT8", [1, -1], "outputs[0].data[1] is -1, not a non-negative UINT8 integer"),
        ("BOOL", [True, 1], "outputs[0].data[1] is 1, not a BOOL (true or false)"),
        ("BYTES", ["a", 3], "outputs[0].data[1] is 3, not a BYTES string"),
        ("INT32", [1, 2.0], None),
        ("BOOL", [True, False], None),
    ],
)
def test_kserve_v2_data_fits_its_datatype(datatype: str, data: list[Any], said: str) -> None:
    assert message(judged("kserve-v2", tensor("y", datatype, [2], data))) == said


def test_fields_carry_path_name_and_datatype() -> None:
    body = json.dumps(
        {
            "outputs": [
                {"name": "label", "datatype": "INT64", "shape": [1], "data": [2]},
                {"name": "probabilities", "datatype": "FP32", "shape": [1, 2], "data": [0.1, 0.9]},
            ]
        }
    ).encode()
    target = Target.model_validate({"url": "http://x", "protocol": "kserve-v2"})
    outcome = adapter_for(target, features=["a"]).parse(200, JSON, body)
    settings = Settings(protocol="kserve-v2")
    fields = prediction_fields(
        Exchange("accept", 200, None, outcome, 1.0, JSON, body, settings=settings)
    )
    assert [(f.path, f.value, f.probability, f.datatype) for f in fields] == [
        ("outputs[0].data[0]", 2, False, "INT64"),
        ("outputs[1].data[0]", 0.1, True, "FP32"),
        ("outputs[1].data[1]", 0.9, True, "FP32"),
    ]


@pytest.mark.parametrize(
    ("name", "probability"),
    [
        ("prob", True),
        ("probabilities", True),
        ("predict_proba", True),
        ("classProbs", True),
        ("softmax_out", True),
        ("problem", False),
        ("probe", False),
        ("score", False),
    ],
)
def test_probability_names(name: str, probability: bool) -> None:
    assert is_probability_name(name) is probability


def test_a_distribution_needs_a_sum_of_one_within_tolerance() -> None:
    close = {"predictions": [[0.3334, 0.3333, 1.3333 - 1.0]]}
    assert math.isclose(sum(close["predictions"][0]), 1.0, abs_tol=1e-3)
    assert judged("mlflow", close) is None
    # 1.3 and -0.25 sum to 1.05: not a distribution, so no probability rule applies.
    assert judged("mlflow", {"predictions": [[1.3, -0.25]]}) is None
    assert judged("mlflow", {"predictions": [[1.3, -0.2995]]}) is not None


def test_a_huge_kserve_v2_body_is_not_read_twice() -> None:
    # Over MAX_STRICT_BYTES the tensors' names are not read again: the data is judged without
    # them (a probability-named 1.3 passes), but nulls and NaN still count.
    padding = "x" * MAX_STRICT_BYTES
    answer = tensor("probabilities", "FP32", [2], [0.5, 1.3])
    answer["parameters"] = {"pad": padding}
    assert judged("kserve-v2", answer) is None
    del answer["parameters"]
    assert judged("kserve-v2", answer) is not None
    nan = {"outputs": [{**answer["outputs"][0], "data": [0.5, None]}], "parameters": {"p": padding}}
    assert message(judged("kserve-v2", nan)) == "prediction[1] is null"
