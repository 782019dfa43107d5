"""Run directories for the repro tests, written the way a run writes them, and local servers.

A run directory here holds what replay, repro and shrink read: scenario.yaml, run.json and
failures.jsonl. The failing requests are built by the real adapter from real inputs.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from faker import Faker

from stress.repro.cases import body_fields
from stress.scenario import Scenario
from tests.integration.conftest import free_port

HERE = Path(__file__).parent
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, the bidi control the bidi server fails on


@dataclass
class Served:
    url: str
    received: Path
    pid: int

    def bodies(self) -> list[bytes]:
        files = sorted(self.received.glob("*.body"), key=lambda p: int(p.stem))
        return [path.read_bytes() for path in files]

    def headers(self) -> list[dict[str, str]]:
        files = sorted(self.received.glob("*.json"), key=lambda p: int(p.stem))
        return [json.loads(path.read_text()) for path in files]

    def clear(self) -> None:
        for path in self.received.iterdir():
            path.unlink()


@contextlib.contextmanager
def serving(mode: str, folder: Path) -> Iterator[Served]:
    """Start repro_server.py in ``mode``; stop exactly that process afterwards."""
    port = free_port()
    received = folder / f"received-{mode}-{port}"
    process = subprocess.Popen(
        [sys.executable, str(HERE / "repro_server.py"), str(port), mode, str(received)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"repro server ({mode}) did not start") from None
                time.sleep(0.05)
        yield Served(url, received, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def scenario(url: str, *, headers: dict[str, str] | None = None) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "repro",
            "target": {
                "url": url,
                "protocol": "openai-chat",
                "timeout": "5s",
                "headers": headers or {},
            },
            "inputs": {"seed": 1, "count": 10, "families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "load", "users": 1, "duration": "1s"}]},
        }
    )


def case(
    body: bytes,
    *,
    input_id: str = "unicode.bidi-0001",
    family: str = "unicode.bidi",
    expect: str = "accept",
    check: str = "not_a_server_error",
    status: int = 500,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A failures.jsonl object as the load engine writes it."""
    message = f"server error: HTTP {status}" if status >= 500 else f"HTTP {status}"
    return {
        "input_id": input_id,
        "family": family,
        "expect": expect,
        "phase": "load",
        "seq": 1,
        "sent_at": 1700000000.0,
        "check": check,
        "message": message,
        "findings": [{"check": check, "message": message, "severity": "error"}],
        "request": {
            "method": "POST",
            "path": "/v1/chat/completions",
            "headers": headers or {"Content-Type": "application/json"},
            **body_fields(body),
        },
        "response": {
            "status": status,
            "error_kind": "http_5xx" if status >= 500 else None,
            "latency_ms": 1.0,
            "body_excerpt": "",
        },
    }


def write_run(
    run_dir: Path,
    url: str,
    cases: list[dict[str, Any]],
    *,
    headers: dict[str, str] | None = None,
) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "scenario.yaml").write_text(scenario(url, headers=headers).to_yaml())
    info = {"target": url, "url": url, "complete": True, "started_at": None}
    (run_dir / "run.json").write_text(json.dumps(info))
    with (run_dir / "failures.jsonl").open("w") as handle:
        for item in cases:
            handle.write(json.dumps(item, ensure_ascii=True) + "\n")
    return run_dir


def long_chat_body(*, size: int = 5000, insert: str = RLO, seed: int = 3) -> bytes:
    """A realistic multi-turn chat request of at least ``size`` bytes with ``insert`` put in
    the middle of one user message, serialised as the openai-chat adapter does."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    while sum(len(m["content"]) for m in messages) < size:
        role = "user" if len(messages) % 2 else "assistant"
        messages.append({"role": role, "content": fake.paragraph(nb_sentences=10)})
    target = messages[len(messages) // 2 | 1]  # a user message in the middle
    text = target["content"]
    target["content"] = text[: len(text) // 2] + insert + text[len(text) // 2 :]
    document = {"model": "demo-ngram", "messages": messages, "max_tokens": 48}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
