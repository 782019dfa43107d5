"""Byte-exact sending: for every family of every protocol, the load process (Locust users,
geventhttpclient) puts on the wire exactly the bytes the parent's sender (stress.httpread,
httpx: preflight, re-sends, replay, shrink, regressions) puts there for the same input.

A raw-socket capture server records each request as it arrived. The load runs once per
protocol with one user until it has sent the whole corpus once; then the parent's sender sends
every input of the same corpus; each input's two requests must be the same bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stress import httpread
from stress.inputs import corpus as corpus_io
from stress.runner import build_corpus
from stress.scenario import from_path
from stress.targets import adapter_for
from tests.integration.capture_server import CaptureServer, header
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.slow

PROTOCOLS = [
    "openai-chat",
    "openai-completions",
    "openai-embeddings",
    "kserve-v2",
    "kserve-v1",
    "mlflow",
    "http-json",
]
ID_HEADER = "X-Stress-Input-Id"
ENV = {"OPENAI_API_KEY": "sk-capture-0123456789"}


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


def prepared(tmp_path: Path, protocol: str, url: str) -> Path:
    """A run directory (scenario.yaml, corpus.jsonl) of the protocol's example scenario with
    every family it can generate, one user, and max_requests the corpus's size."""
    example: dict[str, Any] = yaml.safe_load((ROOT / "scenarios" / f"{protocol}.yaml").read_text())
    example["target"]["url"] = url
    example["target"].pop("health", None)
    example["inputs"]["families"] = {"*": 1}
    example["inputs"].pop("counts", None)
    example["inputs"]["count"] = 400
    example["load"] = {
        "phases": [{"name": "all", "users": 1, "spawn_rate": 1, "duration": "60s"}],
        "max_requests": 400,
    }
    example.pop("checks", None)
    run_dir = tmp_path / protocol
    run_dir.mkdir()
    (run_dir / "scenario.yaml").write_text(yaml.safe_dump(example), encoding="utf-8")
    scenario = from_path(run_dir / "scenario.yaml")
    corpus = build_corpus(scenario)
    corpus_io.write(run_dir / "corpus.jsonl", corpus)
    return run_dir


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_load_and_the_parents_sender_put_the_same_bytes_on_the_wire(
    tmp_path: Path, capture: CaptureServer, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    run_dir = prepared(tmp_path, protocol, capture.url)
    corpus = corpus_io.read(run_dir / "corpus.jsonl")
    capture.take()

    subprocess.run(
        [sys.executable, "-m", "stress.load", str(run_dir), capture.url],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    loaded = {header(request, ID_HEADER): request for request in capture.take()}

    scenario = from_path(run_dir / "scenario.yaml")
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    with httpx.Client(base_url=capture.url, transport=httpread.transport()) as client:
        for item in corpus:
            request = adapter.request(item)
            reply = httpread.send(
                client,
                request.method,
                request.path,
                content=request.body,
                headers=request.headers,
                timeout=10,
                max_bytes=1 << 20,
            )
            assert reply.status == 200, (item.id, reply.error_kind)
    sent = {header(request, ID_HEADER): request for request in capture.take()}

    families = {item.family for item in corpus}
    assert len(families) >= 20, families  # every family of the protocol, not a handful
    differing = [
        (item.family, loaded.get(item.id), sent.get(item.id))
        for item in corpus
        if loaded.get(item.id) is None or loaded.get(item.id) != sent.get(item.id)
    ]
    assert not differing, differing[:3]
    # The contract itself, on one request: Host right after the request line, no header the
    # input did not give, Content-Length last.
    item = corpus[0]
    request = adapter.request(item)
    lines = loaded[item.id].partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    names = [line.partition(":")[0] for line in lines[1:]]
    expected = ["Host", *request.headers]
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        expected.append("Content-Length")
    assert names == expected
