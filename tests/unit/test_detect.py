"""`stress init`'s detection (stress.detect) against mock servers shaped like the real ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stress import detect, scaffold
from stress.cli import main
from stress.errors import UsageError
from stress.scenario import Protocol

Answer = tuple[int, Any] | Callable[[httpx.Request], httpx.Response]

MLFLOW_SCHEMA_ERROR = {
    "error_code": "INVALID_PARAMETER_VALUE",
    "message": "Failed to enforce schema of data 'Empty DataFrame' with schema "
    "'['sepal length (cm)': double (required), 'petal width': long (required)]'. "
    "Error: Model is missing inputs ['sepal length (cm)', 'petal width'].",
}
MLFLOW = {
    "GET /ping": (200, ""),
    "GET /version": (200, "3.1.0"),
    "GET /invocations": (405, {"detail": "Method Not Allowed"}),
    "POST /invocations": (400, MLFLOW_SCHEMA_ERROR),
    "GET /openapi.json": (200, {"openapi": "3.1.0", "paths": {"/ping": {}}}),
}
KSERVE = {
    "GET /openapi.json": (200, {"openapi": "3.1.0", "paths": {}}),
    "GET /v2": (200, {"name": "kserve", "version": "0.21", "extensions": []}),
    "GET /v1/models": (200, {"models": ["iris"]}),
    "GET /v1/models/iris": (200, {"name": "iris", "ready": True}),
    "GET /v2/models/iris": (
        200,
        {"name": "iris", "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 4]}]},
    ),
    "POST /v2/models/iris/infer": (500, {"error": "X has 1 features, but is expecting 3 features"}),
    "POST /v1/models/iris:predict": (400, {"error": "expecting 5 features as input"}),
}
OPENAI_LIST = {"object": "list", "data": [{"id": "llama-3", "object": "model"}]}


def events(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body.get("stream"):
        stream = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream)
    return httpx.Response(200, json={"choices": [{"message": {"content": "hi"}}]})


def server(routes: dict[str, Answer], seen: list[str] | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        if seen is not None:
            seen.append(key)
        answer = routes.get(key, (404, {"detail": "Not Found"}))
        if callable(answer):
            return answer(request)
        status, body = answer
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def found(routes: dict[str, Answer], **options: Any) -> detect.Detected:
    return detect.detect("http://model.test", {}, transport=server(routes), **options)


def test_mlflow_is_told_by_ping_and_invocations_not_by_its_openapi_document() -> None:
    result = found(MLFLOW)
    assert result.protocol is Protocol.MLFLOW
    assert result.openapi is None
    # Its signature's columns, spaces and all, with a placeholder range said to be one.
    assert result.features == {"sepal length (cm)": (0.0, 1.0), "petal width": (0.0, 1.0)}
    assert result.features_note is not None
    assert "placeholders" in result.features_note


def test_a_ping_without_invocations_is_not_mlflow() -> None:
    routes = {k: v for k, v in MLFLOW.items() if "invocations" not in k}
    result = found(routes)
    assert (result.protocol, result.openapi) == (Protocol.HTTP_JSON, "/openapi.json")


def test_kserve_v2_from_server_metadata_with_columns_from_the_model_metadata() -> None:
    result = found(KSERVE)
    assert (result.protocol, result.model) == (Protocol.KSERVE_V2, "iris")
    assert (result.input_name, result.datatype) == ("x", "FP64")
    assert list(result.features) == ["col0", "col1", "col2", "col3"]
    assert result.features_note is not None
    assert "shape [-1, 4]" in result.features_note


def test_kserve_v2_without_input_metadata_counts_columns_from_a_one_column_refusal() -> None:
    routes = {**KSERVE, "GET /v2/models/iris": (200, {"name": "iris", "inputs": []})}
    result = found(routes)
    assert result.protocol is Protocol.KSERVE_V2
    assert list(result.features) == ["col0", "col1", "col2"]


def test_kserve_serving_both_is_v2_and_says_v1_is_there_too() -> None:
    result = found(KSERVE)
    assert result.also == [Protocol.KSERVE_V1]
    said = result.choice("http://model.test")
    assert said is not None
    assert "chose kserve-v2" in said
    assert "stress init http://model.test --protocol kserve-v1" in said
    # Asked for v1, nothing else is named.
    assert found(KSERVE, protocol=Protocol.KSERVE_V1).also == []


def test_kserve_with_its_v2_routes_gone_is_v1_and_names_nothing_else() -> None:
    routes = {k: v for k, v in KSERVE.items() if " /v2" not in k}
    result = found(routes)
    assert (result.protocol, result.model) == (Protocol.KSERVE_V1, "iris")
    assert len(result.features) == 5  # from the v1 refusal of a one-column row
    assert (result.also, result.choice("http://model.test")) == ([], None)


@pytest.mark.parametrize(
    ("models", "protocol", "model"),
    [
        # KServe answers GET /v1/models too, but with its own shape: not OpenAI.
        ({"models": ["iris"]}, Protocol.KSERVE_V1, "iris"),
        (OPENAI_LIST, Protocol.OPENAI_CHAT, "llama-3"),
    ],
)
def test_v1_models_is_told_apart_by_the_body_shape(
    models: dict[str, Any], protocol: Protocol, model: str
) -> None:
    routes: dict[str, Answer] = {
        "GET /v1/models": (200, models),
        "POST /v1/models/iris:predict": (400, {"error": "expecting 5 features as input"}),
        "POST /v1/chat/completions": events,
    }
    result = found(routes)
    assert (result.protocol, result.model) == (protocol, model)
    if protocol is Protocol.KSERVE_V1:
        assert len(result.features) == 5


@pytest.mark.parametrize(("streams", "expected"), [(True, True), (False, False)])
def test_chat_streams_when_the_probe_gets_an_event_stream(streams: bool, expected: bool) -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        return events(request) if streams else httpx.Response(200, json={"choices": []})

    routes: dict[str, Answer] = {"GET /v1/models": (200, OPENAI_LIST)}
    routes["POST /v1/chat/completions"] = chat
    result = found(routes)
    assert (result.protocol, result.stream) == (Protocol.OPENAI_CHAT, expected)


def test_embeddings_from_a_probe_when_the_model_list_gives_no_hint() -> None:
    vector = {"object": "list", "data": [{"object": "embedding", "embedding": [0.1, 0.2]}]}
    routes: dict[str, Answer] = {
        "GET /v1/models": (200, {"object": "list", "data": [{"id": "bge-small"}]}),
        "POST /v1/chat/completions": (404, {"error": "no chat"}),
        "POST /v1/embeddings": (200, vector),
    }
    result = found(routes)
    assert (result.protocol, result.model, result.path) == (
        Protocol.OPENAI_EMBEDDINGS,
        "bge-small",
        None,
    )


def test_infinity_serves_embeddings_at_its_own_path() -> None:
    listed = {"object": "list", "data": [{"id": "BAAI/bge", "capabilities": ["embed"]}]}
    result = found({"GET /models": (200, listed)})
    assert (result.protocol, result.model, result.path) == (
        Protocol.OPENAI_EMBEDDINGS,
        "BAAI/bge",
        "/embeddings",
    )


@pytest.mark.parametrize("routes", [MLFLOW, KSERVE, {"GET /models": (200, OPENAI_LIST)}, {}])
def test_every_probe_is_bounded_in_number(
    routes: dict[str, Answer], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    detect.detect("http://model.test", {}, transport=server(routes, seen))
    assert 0 < len(seen) <= detect.MAX_REQUESTS
    # The cap holds whatever the server says: with 3 allowed, 3 are sent.
    monkeypatch.setattr(detect, "MAX_REQUESTS", 3)
    seen.clear()
    detect.detect("http://model.test", {}, transport=server(routes, seen))
    assert len(seen) == 3


@pytest.mark.parametrize("given", [None, Protocol.OPENAI_CHAT])
def test_an_openai_server_is_asked_for_its_model_list_once(given: Protocol | None) -> None:
    # KServe v1's step and OpenAI's both read GET /v1/models: the second reuses the first answer.
    seen: list[str] = []
    routes: dict[str, Answer] = {"GET /v1/models": (200, OPENAI_LIST)}
    routes["POST /v1/chat/completions"] = events
    result = detect.detect("http://model.test", {}, protocol=given, transport=server(routes, seen))
    assert (result.protocol, result.model) == (Protocol.OPENAI_CHAT, "llama-3")
    assert seen.count("GET /v1/models") == 1
    assert result.answers.count("GET /v1/models: HTTP 200") == 1


def test_a_given_protocol_asks_only_its_own_paths() -> None:
    seen: list[str] = []
    result = detect.detect(
        "http://model.test", {}, protocol=Protocol.KSERVE_V1, transport=server(KSERVE, seen)
    )
    assert (result.protocol, result.model, len(result.features)) == (Protocol.KSERVE_V1, "iris", 5)
    assert "GET /v2" not in seen
    assert "GET /ping" not in seen


@pytest.mark.parametrize(
    ("text", "name", "bounds"),
    [
        ("sepal length (cm)=4.3:7.9", "sepal length (cm)", (4.3, 7.9)),
        ("a=b=-1:1", "a=b", (-1.0, 1.0)),
    ],
)
def test_feature_names_take_any_character(
    text: str, name: str, bounds: tuple[float, float]
) -> None:
    assert scaffold.parse_feature(text) == (name, bounds)


@pytest.mark.parametrize("text", ["=1:2", "a=1", "a=x:2", "a:1:2"])
def test_a_bad_feature_flag_names_the_fix(text: str) -> None:
    with pytest.raises(UsageError, match="--feature: expected NAME=MIN:MAX"):
        scaffold.parse_feature(text)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_file_gives_columns_and_their_ranges(tmp_path: Path, suffix: str) -> None:
    rows = [{"sepal length": 4.3, "kind": "a", "n": 2}, {"sepal length": 7.9, "kind": "b", "n": -1}]
    path = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        lines = [
            "sepal length,kind,n",
            *(f"{r['sepal length']},{r['kind']},{r['n']}" for r in rows),
        ]
    else:
        lines = [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    features, skipped = detect.read_rows(path)
    assert features == {"sepal length": (4.3, 7.9), "n": (-1.0, 2.0)}
    assert skipped == ["kind"]


def test_a_rows_file_without_numbers_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("kind\na\n")
    with pytest.raises(UsageError, match=r"--rows: .* has no numeric column"):
        detect.read_rows(path)


def test_the_plan_writes_path_stream_tensor_and_the_columns_note(tmp_path: Path) -> None:
    plan = scaffold.Plan(
        url="http://h:1",
        protocol=Protocol.OPENAI_CHAT,
        name="n",
        model="m",
        path="/chat/completions",
        stream=True,
    )
    scenario = scaffold.check(scaffold.render(plan), source=str(tmp_path / "s.yaml"))
    assert (scenario.target.path, scenario.target.stream) == ("/chat/completions", True)
    plan = scaffold.Plan(
        url="http://h:1",
        protocol=Protocol.KSERVE_V2,
        name="n",
        model="iris",
        features={"sepal length (cm)": (0.0, 1.0)},
        features_note="placeholders: set the ranges",
        input_name="x",
        datatype="FP64",
    )
    text = scaffold.render(plan)
    assert "    # placeholders: set the ranges" in text
    scenario = scaffold.check(text, source=str(tmp_path / "s.yaml"))
    assert (scenario.target.input_name, scenario.target.datatype) == ("x", "FP64")
    assert list(yaml.safe_load(text)["inputs"]["features"]) == ["sepal length (cm)"]


@pytest.mark.parametrize(("status", "warns"), [(200, False), (422, True), (404, True)])
def test_a_refused_probe_is_warned_about(status: int, warns: bool) -> None:
    warning = scaffold.Probe("", status, 10.0, "missing field 'x'", "i").warning()
    assert (warning is not None) is warns
    if warning is not None:
        assert f"HTTP {status}: missing field 'x'" in warning
        assert "--path" in warning


def test_init_flags_rows_and_path_reach_the_scenario_and_a_refusal_is_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal length (cm),petal width\n4.3,0.1\n7.9,2.5\n")
    plans: list[scaffold.Plan] = []

    def write(plan: scaffold.Plan, output: Path) -> scaffold.Probe:
        plans.append(plan)
        return scaffold.Probe("one request", 422, 5.0, "unknown column", "realistic-0")

    detected = detect.Detected(Protocol.MLFLOW, stream=False)
    monkeypatch.setattr(scaffold, "detect", lambda url, headers, **_: detected)
    monkeypatch.setattr(scaffold, "write", write)
    main(
        [
            *("init", "http://127.0.0.1:9", "--rows", str(rows), "--path", "/score"),
            *("-o", str(tmp_path / "s.yaml"), "--no-input"),
        ]
    )
    (plan,) = plans
    assert plan.features == {"sepal length (cm)": (4.3, 7.9), "petal width": (0.1, 2.5)}
    assert (plan.protocol, plan.path) == (Protocol.MLFLOW, "/score")
    assert "WARNING: the probe's valid request (realistic-0) was refused: HTTP 422" in (
        capsys.readouterr().err
    )
