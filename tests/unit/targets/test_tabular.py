"""KServe v2 / v1 and MLflow adapters: exact request bytes, answers checked, readiness judged."""

from __future__ import annotations

import json

import pytest

from stress.inputs.corpus import Input
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

URL = "http://127.0.0.1:9"
COLUMNS = ["sepal_length", "sepal_width"]
ROWS = {
    "rows": [{"sepal_length": 5.1, "sepal_width": 3.5}, {"sepal_length": 6.0, "sepal_width": 2.9}]
}
V2 = Target(url=URL, protocol=Protocol.KSERVE_V2, model="iris")
V1 = Target(url=URL, protocol=Protocol.KSERVE_V1, model="iris")
MLFLOW = Target(url=URL, protocol=Protocol.MLFLOW)
JSON_HEADERS = {"content-type": "application/json"}


def item(kind: str = "rows", payload: dict | None = None) -> Input:
    return Input(
        "realistic.tabular_rows-0001", "realistic.tabular_rows", "accept", kind, payload or ROWS
    )


def test_v2_sends_one_tensor_of_rows_row_major() -> None:
    request = adapter_for(V2, features=COLUMNS).request(item())
    assert (request.method, request.path) == ("POST", "/v2/models/iris/infer")
    assert request.body == (
        b'{"id": "realistic.tabular_rows-0001", "inputs": [{"name": "input-0", "shape": [2, 2], '
        b'"datatype": "FP32", "data": [5.1, 3.5, 6.0, 2.9]}]}'
    )


def test_v2_integer_datatypes_send_integers_and_keep_non_finite_values() -> None:
    target = V2.model_copy(update={"datatype": "INT64", "input_name": "x"})
    rows = {"rows": [{"sepal_length": 5.6, "sepal_width": float("nan")}]}
    body = adapter_for(target, features=COLUMNS).request(item(payload=rows)).body
    assert body.endswith(
        b'"inputs": [{"name": "x", "shape": [1, 2], "datatype": "INT64", "data": [6, NaN]}]}'
    )


@pytest.mark.parametrize("pick", range(9))
def test_v2_mutations_break_the_envelope_or_one_tensor_field(pick: int) -> None:
    payload = {"op": "missing_field", "pick": pick, "wrong_value": None, "base": ROWS}
    body = json.loads(adapter_for(V2, features=COLUMNS).request(item("mutation", payload)).body)
    assert body["id"] == "realistic.tabular_rows-0001"
    if pick % 3 == 0:
        assert "inputs" not in body
    else:
        (tensor,) = body["inputs"]
        assert len(tensor) == 3


V2_ANSWER = (
    b'{"model_name":"iris","model_version":null,"id":"a","parameters":null,"outputs":[{"name":'
    b'"output-0","shape":[2],"datatype":"INT64","parameters":null,"data":[0,2]}]}'
)


def test_v2_answer_is_the_output_tensor() -> None:
    outcome = adapter_for(V2, features=COLUMNS).parse(200, JSON_HEADERS, V2_ANSWER)
    assert outcome.problem is None
    assert outcome.prediction == [0, 2]


def test_v2_answer_with_two_tensors_is_a_mapping() -> None:
    answer = {
        "outputs": [
            {"name": "label", "shape": [1], "datatype": "INT64", "data": [1]},
            {"name": "proba", "shape": [1, 2], "datatype": "FP32", "data": [[0.2, 0.8]]},
        ]
    }
    outcome = adapter_for(V2, features=COLUMNS).parse(
        200, JSON_HEADERS, json.dumps(answer).encode()
    )
    assert outcome.prediction == {"label": [1], "proba": [[0.2, 0.8]]}


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b'{"outputs": []}', "no 'outputs' list"),
        (b'{"predictions": [1]}', "no 'outputs' list"),
        (b'{"outputs": [{"name": "o", "shape": [1], "data": [1]}]}', "has no 'datatype'"),
        (
            b'{"outputs": [{"name": "o", "shape": [1], "datatype": "FLOAT", "data": [1]}]}',
            "not an Open Inference Protocol datatype",
        ),
        (
            b'{"outputs": [{"name": "o", "shape": [-1], "datatype": "FP32", "data": [1]}]}',
            "non-negative integers",
        ),
        (
            b'{"outputs": [{"name": "o", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}',
            "2 data items but its shape [3] says 3",
        ),
        (
            b'{"outputs": [{"name": "o", "shape": [2, 2], "datatype": "FP32", '
            b'"data": [[1, 2], [3]]}]}',
            "3 data items",
        ),
        (
            b'{"outputs": [{"name": "o", "shape": [1], "datatype": "FP32", "data": [NaN]}]}',
            "NaN or Infinity",
        ),
    ],
)
def test_v2_answers_are_checked_against_the_protocol(answer: bytes, problem: str) -> None:
    outcome = adapter_for(V2, features=COLUMNS).parse(200, JSON_HEADERS, answer)
    assert outcome.problem is not None
    assert problem in outcome.problem


@pytest.mark.parametrize(
    ("status", "ready"),
    [(200, True), (404, False), (400, False), (503, False), (500, None)],
)
def test_v2_readiness_asks_for_the_model(status: int, ready: bool | None) -> None:
    adapter = adapter_for(V2, features=COLUMNS)
    request = adapter.readiness()
    assert request is not None
    assert request.path == "/v2/models/iris/ready"
    verdict, why = adapter.judge_readiness(
        status, b'{"error":"Model with name iris does not exist."}'
    )
    assert verdict is ready
    if status == 404:
        assert "model 'iris' is not served there" in why
        assert "does not exist" in why


def test_model_names_are_quoted_in_paths() -> None:
    target = V2.model_copy(update={"model": "my model/v1"})
    assert adapter_for(target, features=COLUMNS).request(item()).path == (
        "/v2/models/my%20model%2Fv1/infer"
    )


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        (None, b'{"instances": [[5.1, 3.5], [6.0, 2.9]]}'),
        (
            "instances_records",
            b'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5}, '
            b'{"sepal_length": 6.0, "sepal_width": 2.9}]}',
        ),
    ],
)
def test_v1_formats(fmt: str | None, body: bytes) -> None:
    target = V1.model_copy(update={"format": fmt})
    request = adapter_for(target, features=COLUMNS).request(item())
    assert request.path == "/v1/models/iris:predict"
    assert request.body == body


@pytest.mark.parametrize(
    ("status", "body", "ready"),
    [
        (200, b'{"name": "iris", "ready": true}', True),  # KServe
        (200, b'{"name": "iris", "ready": false}', False),
        (200, b'{"model_version_status": [{"version": "1", "state": "AVAILABLE"}]}', True),  # TF
        (200, b'{"model_version_status": [{"version": "1", "state": "LOADING"}]}', False),
        (404, b'{"error": "Model with name iris does not exist."}', False),
        (502, b"", None),
    ],
)
def test_v1_readiness(status: int, body: bytes, ready: bool | None) -> None:
    adapter = adapter_for(V1, features=COLUMNS)
    assert adapter.readiness().path == "/v1/models/iris"  # type: ignore[union-attr]
    assert adapter.judge_readiness(status, body)[0] is ready


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        (
            "dataframe_split",
            b'{"dataframe_split": {"columns": ["sepal_length", "sepal_width"], '
            b'"data": [[5.1, 3.5], [6.0, 2.9]]}}',
        ),
        (
            "dataframe_records",
            b'{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5}, '
            b'{"sepal_length": 6.0, "sepal_width": 2.9}]}',
        ),
        (
            "instances",
            b'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5}, '
            b'{"sepal_length": 6.0, "sepal_width": 2.9}]}',
        ),
        ("inputs", b'{"inputs": {"sepal_length": [5.1, 6.0], "sepal_width": [3.5, 2.9]}}'),
    ],
)
def test_mlflow_formats(fmt: str, body: bytes) -> None:
    target = MLFLOW.model_copy(update={"format": fmt})
    request = adapter_for(target, features=COLUMNS).request(item())
    assert request.path == "/invocations"
    assert request.body == body


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records", "instances", "inputs"])
@pytest.mark.parametrize("pick", range(6))
def test_mlflow_mutations_change_the_body_in_every_format(fmt: str, pick: int) -> None:
    target = MLFLOW.model_copy(update={"format": fmt})
    adapter = adapter_for(target, features=COLUMNS)
    for op in ("missing_field", "wrong_type"):
        payload = {"op": op, "pick": pick, "wrong_value": None, "base": ROWS}
        assert adapter.request(item("mutation", payload)).body != adapter.request(item()).body


def test_tabular_adapters_take_rows_only() -> None:
    prompt = {"messages": [{"role": "user", "content": "hi"}]}
    for target in (V2, V1, MLFLOW):
        with pytest.raises(ValueError, match="cannot send a 'prompt' input"):
            adapter_for(target, features=COLUMNS).request(item("prompt", prompt))
