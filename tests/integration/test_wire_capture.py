"""Byte-exact sending: for every family of every protocol, the load process (Locust users,
geventhttpclient) puts on the wire exactly the bytes the parent's sender (stress.sender,
httpx: preflight, re-sends, replay, shrink, regressions) puts there for the same input, and
so do the exports a user runs: the curl command (through /bin/sh) and the python script
(http.client; the pytest export sends with the same code). Chunked bodies and Expect:
100-continue (framed by stress itself, stress.framing) are among the families: the capture
server reads a chunked body to its last chunk and answers an Expect with 100 Continue.

A raw-socket capture server records each request as it arrived. The load runs once per
protocol with one user until it has sent the whole corpus once; then the parent's sender sends
every input of the same corpus, and the exports of one input per family (stored as the run
stores a failure, secrets redacted and restored from the environment) are run; each must put
the load's bytes on the wire.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from stress import framing
from stress.errors import UsageError
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.load.failures import body_fields, redact
from stress.repro.export import Format, render, reproducer
from stress.runner import build_corpus
from stress.scenario import from_path
from stress.sender import Sender
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


@pytest.fixture(scope="module")
def environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        yield


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


class Loaded:
    """One protocol's run directory, corpus and the bytes the load sent for each input id."""

    def __init__(self, run_dir: Path, corpus: list[Input], sent: dict[str | None, bytes]):
        self.run_dir, self.corpus, self.sent = run_dir, corpus, sent


@pytest.fixture(scope="module", params=PROTOCOLS)
def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    capture: CaptureServer,
    environment: None,
) -> Loaded:
    """The load run once per protocol against the capture server."""
    run_dir = prepared(tmp_path_factory.mktemp("wire"), request.param, capture.url)
    corpus = corpus_io.read(run_dir / "corpus.jsonl")
    capture.take()
    subprocess.run(
        [sys.executable, "-m", "stress.load", str(run_dir), capture.url],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    sent = {header(raw, ID_HEADER): raw for raw in capture.take()}
    families = {item.family for item in corpus}
    assert len(families) >= 20, families  # every family of the protocol, not a handful
    return Loaded(run_dir, corpus, sent)


def test_the_load_and_the_parents_sender_put_the_same_bytes_on_the_wire(
    capture: CaptureServer, loaded: Loaded
) -> None:
    run_dir, corpus = loaded.run_dir, loaded.corpus
    scenario = from_path(run_dir / "scenario.yaml")
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    capture.take()
    with Sender(capture.url, timeout=10, max_bytes=1 << 20) as sender:
        for item in corpus:
            request = adapter.request(item)
            reply = sender.send(request.method, request.path, request.headers, request.body)
            assert reply.status == 200, (item.id, reply.error_kind)
    sent = {header(request, ID_HEADER): request for request in capture.take()}

    differing = [
        (item.family, loaded.sent.get(item.id), sent.get(item.id))
        for item in corpus
        if loaded.sent.get(item.id) is None or loaded.sent.get(item.id) != sent.get(item.id)
    ]
    assert not differing, differing[:3]
    # The contract itself, on one request: Host right after the request line, no header the
    # input did not give, Content-Length last.
    item = corpus[0]
    request = adapter.request(item)
    lines = loaded.sent[item.id].partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    names = [line.partition(":")[0] for line in lines[1:]]
    expected = ["Host", *request.headers]
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        expected.append("Content-Length")
    assert names == expected


def stored_case(item: Input, request: Any) -> dict[str, Any]:
    """``item``'s request as the run stores a failure of it (failures.jsonl): secret headers
    redacted, so the export restores them from the environment."""
    return {
        "input_id": item.id,
        "family": item.family,
        "expect": "accept",
        "check": "not_a_server_error",
        "message": "captured",
        "findings": [{"check": "not_a_server_error", "message": "m", "severity": "error"}],
        "request": {
            "method": request.method,
            "path": request.path,
            "headers": redact(dict(request.headers)),
            **body_fields(request.body),
        },
    }


def run_export(path: Path, fmt: Format) -> subprocess.CompletedProcess[bytes]:
    """Run an export the way a user does: curl through /bin/sh, the script in a new Python
    (outside the project: it needs nothing of stress)."""
    command = {
        Format.CURL: ["/bin/sh", str(path)],
        Format.PYTHON: [sys.executable, str(path)],
        Format.PYTEST: [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
    }[fmt]
    return subprocess.run(
        command,
        env={**os.environ, **ENV, "PYTHONPATH": ""},
        cwd=path.parent,
        capture_output=True,
        timeout=60,
    )


# The pytest export sends with the python script's code: a few families per protocol (the
# first, no body, no Content-Type) keep its pytest start-ups short.
PYTEST_FAMILIES = ("encoding.empty_body", "encoding.missing_content_type")


@pytest.mark.parametrize("fmt", list(Format))
def test_the_exports_put_the_loads_bytes_on_the_wire(
    tmp_path: Path, capture: CaptureServer, loaded: Loaded, fmt: Format
) -> None:
    """One input of every family of every protocol: the curl command and the python script
    send what the load sent, byte for byte; so does the pytest export, for PYTEST_FAMILIES
    and the protocol's first family."""
    if fmt is Format.CURL:
        # Debian (the CI image included) ships curl; the test needs it and says so.
        assert shutil.which("curl"), "curl is not installed: the curl export cannot be tested"
    run_dir, corpus = loaded.run_dir, loaded.corpus
    scenario = from_path(run_dir / "scenario.yaml")
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    one_per_family = list({item.family: item for item in corpus}.values())
    if fmt is Format.PYTEST:
        one_per_family = [
            item
            for index, item in enumerate(one_per_family)
            if index == 0 or item.family in PYTEST_FAMILIES
        ]
    # Framed families, the harder way: an Expect the capture server sends no 100 to (the
    # id ends in an odd digit), and for curl a chunked body in curl's own framing (one
    # chunk), which curl is given to send.
    chosen = {
        "encoding.expect_continue": [
            item
            for item in corpus
            if item.family == "encoding.expect_continue" and item.id[-1] in "13579"
        ],
        "encoding.chunked_body": [
            item
            for item in corpus
            if item.family == "encoding.chunked_body" and not item.payload["chunked"]["sizes"]
        ],
    }
    if fmt is not Format.CURL:
        del chosen["encoding.chunked_body"]
    assert all(chosen.values()), {family: len(items) for family, items in chosen.items()}
    one_per_family = [
        chosen[item.family][0] if item.family in chosen else item for item in one_per_family
    ]
    paths = []
    refused = []
    for item in list(one_per_family):
        request = adapter.request(item)
        repro = reproducer(stored_case(item, request), scenario, run_dir, target=capture.url)
        # curl frames a chunked body itself: only curl's own framing can be exported to it
        # (one chunk, lower-case size, no extension); any other is refused, clearly.
        chunked = "Transfer-Encoding" in request.headers
        curls_own = chunked and framing.chunked(framing.dechunk(request.body)) == request.body
        if fmt is Format.CURL and chunked and not curls_own:
            with pytest.raises(UsageError, match="--format python"):
                render(repro, fmt)
            refused.append(item.family)
            one_per_family.remove(item)
            continue
        name = f"{len(paths)}.sh" if fmt is Format.CURL else f"test_{len(paths)}.py"
        path = tmp_path / name
        path.write_text(render(repro, fmt), encoding="utf-8")
        paths.append(path)
    capture.take()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda path: run_export(path, fmt), paths))
    sent = {header(raw, ID_HEADER): raw for raw in capture.take()}

    missing = [
        (item.id, result.stderr[-500:])
        for item, result in zip(one_per_family, results, strict=True)
        if item.id not in sent
    ]
    assert not missing, missing[:3]
    expected = {
        item.id: as_curl_sends(loaded.sent.get(item.id) or b"")
        if fmt is Format.CURL
        else loaded.sent.get(item.id)
        for item in one_per_family
    }
    differing = [
        (item.family, *heads(expected[item.id] or b""), *heads(sent[item.id]))
        for item in one_per_family
        if expected[item.id] != sent[item.id]
    ]
    assert not differing, differing[:3]
    assert set(refused) <= {"encoding.chunked_odd_framing"}
    if fmt is not Format.PYTEST:
        # The framed families went out through every sender, not around the comparison.
        framed = {
            "encoding.chunked_body",
            "encoding.chunked_odd_framing",
            "encoding.expect_continue",
        }
        assert framed <= {item.family for item in one_per_family} | set(refused)


def as_curl_sends(raw: bytes) -> bytes:
    """``raw`` with each header of empty value as curl writes it: ``Name:``, where the load
    writes ``Name: `` (curl takes any whitespace-only value as "remove the header"; its
    ``Name;`` form is the only way to send an empty one). The one byte curl cannot match."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [
        line[:-1] if line.partition(b": ")[1:] == (b": ", b"") else line
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def heads(raw: bytes) -> tuple[list[bytes], int]:
    """A request's header lines and its body's size: what a difference is shown as."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), len(body)
