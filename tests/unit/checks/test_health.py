"""health_under_load: probes against stalled requests, and the poller against a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stress.checks import health
from stress.healthwatch import HealthWatch, read
from stress.report import costs
from stress.scenario import Scenario
from stress.targets import adapter_for


def stalled(*requests: tuple[float, float, str | None]) -> pd.DataFrame:
    """Records from (sent_at, latency_ms, error_kind)."""
    return pd.DataFrame(
        {
            "input_id": [f"f-{i}" for i in range(len(requests))],
            "sent_at": [r[0] for r in requests],
            "latency_ms": [r[1] for r in requests],
            "error_kind": [r[2] for r in requests],
        }
    )


def probe(at: float, ready: bool = True) -> dict[str, Any]:
    return {"at": at, "latency_ms": 2.0, "status": 200 if ready else 503, "ready": ready}


def test_a_ready_probe_while_a_request_stalls_is_a_finding() -> None:
    records = stalled((100.0, 2_000.0, "timeout"), (100.5, 50.0, None))
    result = health.evaluate_probes([probe(99.9), probe(101.0), probe(102.0)], records)
    assert [c["at"] for c in result.contradicted] == [101.0, 102.0]  # the ends count
    assert result.contradicted[0]["error_kind"] == "timeout"
    assert result.probes == 3


def test_a_probe_just_outside_the_stall_or_not_ready_is_none() -> None:
    records = stalled((100.0, 2_000.0, "hang"))
    assert health.evaluate_probes([probe(102.001), probe(99.999)], records).contradicted == []
    # Not ready during the stall: the endpoint told the truth.
    assert health.evaluate_probes([probe(101.0, ready=False)], records).contradicted == []


def test_only_timeouts_hangs_and_stalled_streams_count() -> None:
    for kind, counted in (("stream_stall", True), ("http_5xx", False), (None, False)):
        records = stalled((100.0, 2_000.0, kind))
        found = health.evaluate_probes([probe(101.0)], records).contradicted
        assert bool(found) is counted, kind


def test_not_polled_is_not_judged_and_yields_no_entry() -> None:
    result = health.evaluate_probes([], stalled())
    assert not result.judged
    scenario = Scenario.model_validate(
        {
            "name": "h",
            "target": {"url": "http://x", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.*": 1}},
            "load": {"phases": [{"name": "a", "users": 1, "duration": "1s"}]},
        }
    )
    assert costs.health_entries(result, scenario) == []
    found = health.evaluate_probes([probe(101.0)], stalled((100.0, 2_000.0, "timeout")))
    (entry,) = costs.health_entries(found, scenario)
    assert entry["errors"] == 1
    assert not entry["passed"]


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        # The OpenAI adapters' readiness request lists the models.
        body = b'{"object": "list", "data": [{"id": "m"}]}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("status", "ready"), [(200, True), (503, False)])
def test_the_poller_writes_one_line_per_probe(
    server: str, tmp_path: Path, status: int, ready: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Health, "status", status)
    scenario = Scenario.model_validate(
        {
            "name": "h",
            "target": {"url": server, "protocol": "openai-chat", "model": "m"},
            "inputs": {"families": {"realistic.*": 1}},
            "load": {"phases": [{"name": "a", "users": 1, "duration": "1s"}]},
        }
    )
    adapter = adapter_for(scenario.target, features=[])
    path = tmp_path / "health.jsonl"
    watch = HealthWatch(server, adapter, path, interval=0.2)
    with watch:
        for _ in range(100):  # bounded: at most 5 s
            if watch.probes >= 2:
                break
            threading.Event().wait(0.05)
    lines = read(path)
    assert len(lines) >= 2
    assert watch.probes == len(lines)
    assert watch.not_ready == (0 if ready else len(lines))
    assert {line["ready"] for line in lines} == {ready}
    assert {line["status"] for line in lines} == {status}
    assert json.loads(path.read_text().splitlines()[0])["latency_ms"] > 0


class _Paths(_Health):
    """/health answers 200 with a body no adapter parses; every other GET answers 503."""

    def do_GET(self) -> None:
        status = 200 if self.path == "/health" else 503
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_health_path_is_polled_instead_of_the_readiness_request(tmp_path: Path) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Paths)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    scenario = Scenario.model_validate(
        {
            "name": "h",
            "target": {"url": url, "protocol": "openai-chat", "model": "m"},
            "inputs": {"families": {"realistic.*": 1}},
            "load": {"phases": [{"name": "a", "users": 1, "duration": "1s"}]},
            "health": {"enabled": True, "path": "/health"},
        }
    )
    adapter = adapter_for(scenario.target, features=[])
    lines = {}
    try:
        for path in (scenario.health.path, None):  # the preflight's: GET /v1/models, 503
            file = tmp_path / f"{path is None}.jsonl"
            watch = HealthWatch(url, adapter, file, interval=0.2, health_path=path)
            with watch:
                for _ in range(100):  # bounded: at most 5 s
                    if watch.probes >= 2:
                        break
                    threading.Event().wait(0.05)
            lines[path] = read(file)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert {(line["status"], line["ready"]) for line in lines["/health"]} == {(200, True)}
    assert {(line["status"], line["ready"]) for line in lines[None]} == {(503, False)}


def test_health_path_must_be_a_path() -> None:
    with pytest.raises(ValueError, match=r"health\.path"):
        Scenario.model_validate(
            {
                "name": "h",
                "target": {"url": "http://x", "protocol": "openai-chat"},
                "inputs": {"families": {"realistic.*": 1}},
                "load": {"phases": [{"name": "a", "users": 1, "duration": "1s"}]},
                "health": {"enabled": True, "path": "health"},
            }
        )


def _scenario(protocol: str, **target: Any) -> Scenario:
    tabular = protocol.startswith(("mlflow", "kserve"))
    columns = {"features": {"a": {"min": 0, "max": 1}}} if tabular else {}
    return Scenario.model_validate(
        {
            "name": "h",
            "target": {"url": "http://model.test", "protocol": protocol, **target},
            "inputs": {"families": {"realistic.*": 1}, **columns},
            "load": {"phases": [{"name": "a", "users": 1, "duration": "1s"}]},
        }
    )


def _found(scenario: Scenario, routes: dict[str, tuple[int, Any]]) -> Any:
    import httpx

    from stress.healthwatch import find

    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        status, body = routes.get(request.url.path, (404, {"detail": "Not Found"}))
        return httpx.Response(status, json=body)

    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    return find(scenario, adapter, transport=httpx.MockTransport(handle)), asked


@pytest.mark.parametrize(
    ("protocol", "target", "routes", "shown", "path"),
    [
        # KServe: the model's own readiness, judged as the preflight does; nothing to write.
        (
            "kserve-v2",
            {"model": "iris"},
            {"/v2/models/iris/ready": (200, {"ready": True})},
            "GET /v2/models/iris/ready",
            None,
        ),
        # MLflow 2 without /health: /ping, written as health.path.
        ("mlflow", {}, {"/ping": (200, "")}, "GET /ping", "/ping"),
        # OpenAI-style: the model list is not readiness; /health is.
        (
            "openai-chat",
            {"model": "m"},
            {"/v1/models": (200, {"data": [{"id": "m"}]}), "/health": (200, {"status": "ok"})},
            "GET /health",
            "/health",
        ),
    ],
)
def test_init_finds_the_readiness_endpoint_to_poll(
    protocol: str, target: dict[str, Any], routes: dict[str, Any], shown: str, path: str | None
) -> None:
    found, _ = _found(_scenario(protocol, **target), routes)
    assert (found.shown, found.status, found.path) == (shown, 200, path)
    from stress.healthwatch import scenario_lines

    written = "\n".join(scenario_lines(found))
    assert "enabled: true" in written
    assert ("path:" in written) is (path is not None)


def test_no_readiness_endpoint_leaves_health_off_and_says_what_was_asked() -> None:
    # An OpenAI server listing its model but serving no /health; a KServe v1 model that
    # says it is not ready.
    found, asked = _found(
        _scenario("openai-chat", model="m"), {"/v1/models": (200, {"data": [{"id": "m"}]})}
    )
    assert (found.shown, asked) == (None, ["/health"])
    not_ready = {"/v1/models/iris": (200, {"name": "iris", "ready": False})}
    found, _ = _found(_scenario("kserve-v1", model="iris"), not_ready)
    assert (found.shown, found.tried) == (None, ("GET /v1/models/iris: HTTP 200",))
    from stress.healthwatch import scenario_lines

    written = scenario_lines(found)
    assert all(line.startswith("#") for line in written)
    assert "GET /v1/models/iris: HTTP 200" in written[0]
