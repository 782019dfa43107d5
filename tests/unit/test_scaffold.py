"""`stress init` without a server: flags, protocol detection (httpx.MockTransport), the
written scenario for every protocol, and the SLOs it derives from the probe."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from stress import scaffold
from stress.cli import main
from stress.errors import TargetUnreachable, UsageError
from stress.scenario import Protocol


def test_a_credential_header_is_written_as_a_reference() -> None:
    environ: dict[str, str] = {}
    assert scaffold.parse_header("Authorization: Bearer sk-abc123", environ) == (
        "Authorization",
        "Bearer ${API_KEY}",
    )
    assert scaffold.parse_header("X-Api-Key: k-999", environ) == ("X-Api-Key", "${X_API_KEY}")
    assert environ == {"API_KEY": "sk-abc123", "X_API_KEY": "k-999"}
    # Not a credential, or already a reference: written as given.
    assert scaffold.parse_header("X-Team: ml", environ) == ("X-Team", "ml")
    assert scaffold.parse_header("Authorization: Bearer ${TOKEN}", environ)[1] == "Bearer ${TOKEN}"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: scaffold.parse_header("no colon", {}), "--header: expected 'Name: value'"),
        (lambda: scaffold.parse_feature("a=1"), "--feature: expected NAME=MIN:MAX"),
        (lambda: scaffold.parse_feature("a=2:1"), "MIN must be a finite number not above MAX"),
        (lambda: scaffold.protocol("grpc"), "--protocol: expected one of openai-chat, mlflow"),
        (lambda: scaffold.check_url("localhost:8000"), "URL: expected http://host:port"),
    ],
)
def test_bad_flags_say_which_and_how(call: Callable[[], object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def server(routes: dict[str, tuple[int, object]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(request.url.path, (404, {"detail": "Not Found"}))
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def test_detection_of_a_server_that_is_not_there() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    with pytest.raises(TargetUnreachable, match=r"cannot reach http://model\.test"):
        scaffold.detect("http://model.test", {}, transport=httpx.MockTransport(refuse))


PLANS = {
    Protocol.OPENAI_CHAT: {"model": "m"},
    Protocol.OPENAI_COMPLETIONS: {"model": "m"},
    Protocol.OPENAI_EMBEDDINGS: {"model": "m"},
    Protocol.KSERVE_V2: {"model": "m", "features": {"a": (0.0, 1.0), "b": (-5.0, 5.0)}},
    Protocol.KSERVE_V1: {"model": "m", "features": {"a": (0.0, 1.0)}},
    Protocol.MLFLOW: {"features": {"sepal length": (4.3, 7.9)}},
}


@pytest.mark.parametrize("protocol", list(PLANS))
def test_the_written_scenario_validates_for_every_protocol(
    protocol: Protocol, tmp_path: Path
) -> None:
    environ: dict[str, str] = {}
    headers = dict([scaffold.parse_header("Authorization: Bearer sk-secret-value", environ)])
    plan = scaffold.Plan(
        url="http://127.0.0.1:9",
        protocol=protocol,
        name=scaffold.default_name("http://127.0.0.1:9", protocol),
        headers=headers,
        environ=environ,
        **PLANS[protocol],  # type: ignore[arg-type]
    )
    probe = scaffold.Probe("GET /health answered HTTP 200", 200, 250.0, "ok", "x-0")
    text = scaffold.render(plan, probe=probe)
    assert "sk-secret-value" not in text
    with scaffold._environment(environ):
        scenario = scaffold.check(text, source=str(tmp_path / "s.yaml"))
    assert scenario.target.protocol is protocol
    assert scenario.target.headers == {"Authorization": "Bearer ${API_KEY}"}
    assert scenario.slo.p95_ms == 2500  # ten times the probe's 250 ms
    assert [phase.name for phase in scenario.load.phases] == ["baseline", "load"]
    # Every line but the document's own comments explains itself.
    data = yaml.safe_load(text)
    assert set(data) == {"name", "description", "target", "inputs", "load", "slo"}
    # Field-level fuzzing for every protocol: stress knows each one's request schema.
    assert {"numbers.*", "structure.*"} <= set(data["inputs"]["families"])


@pytest.mark.parametrize(("latency", "p95", "timeout"), [(20.0, 1000, "10s"), (900.0, 9000, "27s")])
def test_slos_follow_the_probe(latency: float, p95: int, timeout: str) -> None:
    plan = scaffold.Plan(url="http://h:1", protocol=Protocol.OPENAI_CHAT, name="n", model="m")
    data = yaml.safe_load(scaffold.render(plan, probe=scaffold.Probe("", 200, latency, "", "i")))
    assert data["slo"]["p95_ms"] == p95
    assert data["target"]["timeout"] == timeout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "--no-input"], "error: URL: which endpoint to probe; pass URL"),
        (
            ["init", "http://127.0.0.1:9", "--protocol", "mlflow", "--no-input", "--openapi", "/o"],
            "error: --openapi/--operation: for --protocol http-json only",
        ),
        (["init", "http://127.0.0.1:9", "--protocol", "x"], "error: --protocol: expected one of"),
    ],
)
def test_init_flag_errors_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "s.yaml"
    existing.write_text("keep me")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scaffold, "detect", lambda url, headers, **_: scaffold.Detected(None))
        with pytest.raises(SystemExit) as exited:
            main(
                [
                    *("init", "http://127.0.0.1:9", "--protocol", "openai-chat"),
                    *("--model", "m", "-o", str(existing), "--no-input"),
                ]
            )
    assert exited.value.code == 2
    assert f"--output: {existing} exists; pass --force" in capsys.readouterr().err
    assert existing.read_text() == "keep me"


def test_an_openapi_file_is_written_relative_to_the_scenario(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "api.yaml"
    spec.parent.mkdir()
    spec.write_text("openapi: 3.1.0\n")
    output = tmp_path / "scenarios" / "x.yaml"
    assert scaffold.document_reference(str(spec), output) == "../specs/api.yaml"
    assert scaffold.document_reference("/openapi.json", output) == "/openapi.json"
    plan = scaffold.Plan(
        url="http://h:1", protocol=Protocol.HTTP_JSON, name="n", openapi="../specs/api.yaml"
    )
    assert yaml.safe_load(scaffold.render(plan))["target"]["openapi"] == {
        "file": "../specs/api.yaml"
    }


def _chat_log(path: Path, stamps: list[float | None]) -> Path:
    lines = []
    for i, stamp in enumerate(stamps):
        body = {"messages": [{"role": "user", "content": f"Question {i}: open today?"}]}
        lines.append(json.dumps(body if stamp is None else {"body": body, "timestamp": stamp}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("stamps", "speed"),
    [([1e9, 1e9 + 12, 1e9 + 30], 1), ([1e9 + k * 100 for k in range(10)], 15)],
)
def test_from_log_with_timestamps_adds_a_replay_phase_that_validates(
    tmp_path: Path, stamps: list[float | None], speed: int
) -> None:
    log = _chat_log(tmp_path / "logs" / "chat.jsonl", stamps)
    output = tmp_path / "scenarios" / "s.yaml"
    plan = scaffold.Plan(
        url="http://127.0.0.1:9",
        protocol=Protocol.OPENAI_CHAT,
        name="n",
        model="m",
        from_log=scaffold.log_reference(log, output),
        log=scaffold.inspect_log(log),
    )
    text = scaffold.render(plan)
    data = yaml.safe_load(text)
    assert data["inputs"]["from_log"] == {"path": "../logs/chat.jsonl", "max": 500}
    # Between the baseline and the main load, so --users/--duration still mean the load.
    baseline, replay, load = data["load"]["phases"]
    assert (baseline["name"], load["name"]) == ("baseline", "load")
    assert replay == {
        "name": "replay",
        "kind": "trace",
        "inputs": "logged",
        "speed": speed,
        "max_in_flight": 50,
    }
    # At most about a minute of replay, however long the log.
    scenario = scaffold.check(text, source=str(output))
    phase = scenario.load.phases[1]
    assert phase.logged
    assert phase.duration is not None
    assert phase.duration <= scaffold.REPLAY_SECONDS * 1.2


def test_from_log_without_timestamps_says_why_there_is_no_replay(tmp_path: Path) -> None:
    log = _chat_log(tmp_path / "chat.jsonl", [1e9, None, 1e9 + 3])
    assert scaffold.inspect_log(log) == scaffold.LogInfo(entries=3, span=None)
    output = tmp_path / "s.yaml"
    plan = scaffold.Plan(
        url="http://127.0.0.1:9",
        protocol=Protocol.OPENAI_CHAT,
        name="n",
        model="m",
        from_log=scaffold.log_reference(log, output),
        log=scaffold.inspect_log(log),
    )
    text = scaffold.render(plan)
    assert "do not all carry a timestamp" in text
    scenario = scaffold.check(text, source=str(output))
    assert [p.name for p in scenario.load.phases] == ["baseline", "load"]
    assert scenario.inputs.from_log is not None


def test_from_log_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--from-log: .*nope.jsonl: file not found; check the"):
        scaffold.inspect_log(tmp_path / "nope.jsonl")
    empty = tmp_path / "get.jsonl"
    empty.write_text('{"method": "GET", "body": {}, "url": "/x"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"--from-log: .*no logged POST request"):
        scaffold.inspect_log(empty)
