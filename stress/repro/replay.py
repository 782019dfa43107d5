"""Replay: re-send stored failing requests byte-exact and say whether each still fails.

The body bytes, method, path and headers are exactly those stored in failures.jsonl (secret
headers, stored redacted, take their values from the scenario again). The answer goes
through the same adapter and checks as during the run.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from stress.checks.request import Exchange, run_checks, select
from stress.errors import UsageError
from stress.rundir import check_run_dir, iter_failures
from stress.scenario import Scenario, from_path
from stress.secrets import MissingVariable, resolve
from stress.targets import adapter_for
from stress.targets.base import Outcome

REDACTED = "<redacted>"


@dataclass(frozen=True)
class StoredRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def read_failures(run_dir: Path) -> list[dict[str, Any]]:
    """The stored failures of a run; RunDirError when ``run_dir`` is not a run directory."""
    check_run_dir(run_dir)
    return list(iter_failures(run_dir))


def stored_request(failure: dict[str, Any], scenario: Scenario) -> StoredRequest:
    """The exact request of a failure, with redacted secrets restored from the scenario.

    The scenario's ${ENV_VAR} references are resolved from this process's environment; a
    header whose variable is not set here is left out, and so is a query parameter.
    """
    request = failure["request"]
    if "body_b64" in request:
        body = base64.b64decode(request["body_b64"])
    else:
        body = request["body"].encode("utf-8")
    secrets = {
        name.lower(): resolve(value)
        for name, value in scenario.target.headers.items()
        if _resolvable(value)
    }
    headers = {}
    for name, value in request["headers"].items():
        if value == REDACTED:
            if name.lower() not in secrets:
                continue  # the secret is not available here: send without it
            value = secrets[name.lower()]
        headers[name] = value
    path = _restore_query(request["path"], scenario)
    return StoredRequest(request["method"], path, headers, body)


def _resolvable(value: str) -> bool:
    try:
        resolve(value)
    except MissingVariable:
        return False
    return True


def _restore_query(path: str, scenario: Scenario) -> str:
    """The stored path with secrets in its query (stored as <redacted>) filled in again."""
    if REDACTED not in path or "?" not in path:
        return path
    base, _, query = path.partition("?")
    params = {k: v for k, v in scenario.target.params.items() if _resolvable(v)}
    pairs = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if REDACTED in value:
            if name not in params:
                continue  # the secret is not available here: send without it
            value = resolve(params[name])
        pairs.append((name, value))
    return f"{base}?{urlencode(pairs)}" if pairs else base


def select_failures(
    failures: list[dict[str, Any]], *, input_id: str | None
) -> list[dict[str, Any]]:
    if input_id is None:
        return failures
    chosen = [failure for failure in failures if failure["input_id"] == input_id]
    if not chosen:
        known = ", ".join(sorted({f["input_id"] for f in failures})[:10]) or "none"
        raise UsageError(f"--id: no stored failure has input id {input_id!r} (some: {known})")
    return chosen


@contextlib.contextmanager
def replay_target(run_dir: Path, scenario: Scenario, target: str | None) -> Iterator[str]:
    """The URL to replay against: --target, else the run's target (restarting builtin:demo)."""
    url = target or scenario.target.url
    if url != "builtin:demo":
        yield url.rstrip("/")
        return
    from stress.demo.process import DemoServerProcess

    with DemoServerProcess(log_path=run_dir / "replay-demo-server.log") as server:
        yield server.url


def replay(
    run_dir: Path, *, input_id: str | None = None, target: str | None = None
) -> list[dict[str, Any]]:
    """Re-send the chosen failures; one row per failure with before/now and ``still_fails``."""
    failures = select_failures(read_failures(run_dir), input_id=input_id)
    scenario = from_path(run_dir / "scenario.yaml")
    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    checks = select(scenario.checks)
    rows = []
    with (
        replay_target(run_dir, scenario, target) as url,
        httpx.Client(base_url=url, timeout=scenario.target.timeout) as client,
    ):
        for failure in failures:
            request = stored_request(failure, scenario)
            status, error_kind, outcome = 0, None, Outcome()
            try:
                response = client.request(
                    request.method, request.path, content=request.body, headers=request.headers
                )
                status = response.status_code
                headers = {name.lower(): value for name, value in response.headers.items()}
                outcome = adapter.parse(status, headers, response.content)
                if status >= 500:
                    error_kind = "http_5xx"
                elif status >= 400:
                    error_kind = "http_4xx"
                elif outcome.problem:
                    error_kind = "invalid_response"
            except httpx.TimeoutException:
                error_kind = "timeout"
            except httpx.ConnectError:
                error_kind = "connection_refused"
            except httpx.HTTPError:
                error_kind = "connection_error"
            exchange = Exchange(failure["expect"], status, error_kind, outcome, 0.0)
            findings = run_checks(exchange, checks)
            before = {f["check"] for f in failure["findings"]}
            again = [f for f in findings if f.check in before]
            rows.append(
                {
                    "input_id": failure["input_id"],
                    "check": failure["check"],
                    "before": failure["message"],
                    "now": "; ".join(f.message for f in again) or f"passes (HTTP {status})",
                    "still_fails": bool(again),
                    "body_bytes": len(request.body),
                }
            )
    return rows
