"""Verdicts against the reference chat server (tests/reference/chat.py): the scenario
`stress init` writes, shortened, gives the careful server zero error findings, and its
careless twin an error finding for each planted fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import reference_server as reference
from tests.integration.conftest import stress

pytestmark = pytest.mark.slow


def init(url: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """`stress init URL`: what it said, and the scenario it wrote."""
    written = tmp_path / "init.yaml"
    made = stress("init", url, "--no-input", "-o", str(written), cwd=tmp_path)
    assert made.returncode == 0, made.stderr + made.stdout
    return made.stdout + made.stderr, yaml.safe_load(written.read_text())


def init_and_run(url: str, tmp_path: Path) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """`stress init URL`, then `run` (see ``run``): init's output, the findings, the summary."""
    said, scenario = init(url, tmp_path)
    findings, summary = run(scenario, tmp_path)
    return said, findings, summary


def run(
    scenario: dict[str, Any], tmp_path: Path, *, probed: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The scenario shortened (1 s and 4 s phases, a 2 s timeout), then `stress run`: the
    findings of failures.jsonl, and summary.json. ``probed=False`` drops the limits init
    found: the size families then use stress's default guesses (32,000 characters)."""
    tmp_path.mkdir(exist_ok=True)
    scenario = json.loads(json.dumps(scenario))
    scenario["target"]["timeout"] = "2s"
    if not probed:
        scenario["target"].pop("limits", None)
        scenario["inputs"].pop("limits", None)
    scenario["inputs"]["count"] = 200
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": "load", "users": 3, "spawn_rate": 3, "duration": "4s"},
    ]
    short = tmp_path / "short.yaml"
    short.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    ran = stress("run", str(short), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert ran.returncode in (0, 1), ran.stderr + ran.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    findings = [
        {**finding, "family": entry["family"]}
        for line in (run_dir / "failures.jsonl").read_text().splitlines()
        for entry in [json.loads(line)]
        for finding in entry.get("findings") or []
    ]
    summary = json.loads((run_dir / "summary.json").read_text())
    return findings, summary


def errors(findings: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(f["family"], f["check"], f["message"]) for f in findings if f["severity"] == "error"]


def test_the_careful_chat_server_gets_no_error(tmp_path: Path) -> None:
    with reference("chat") as url:
        said, scenario = init(url, tmp_path)
        findings, summary = run(scenario, tmp_path / "probed")
        # Without the probed limits: the 32,000-character guess is over its context, and
        # its clean refusals of valid-sized inputs (size.at_limit, long prompts) are right.
        guessed, _ = run(scenario, tmp_path / "guessed", probed=False)
    assert errors(guessed) == []
    assert any(f["family"] == "size.at_limit" and f["check"] == "server_limit" for f in guessed)
    assert "limits: prompt_tokens: 2048 (3 requests); written to target.limits" in said
    assert "WARNING" not in said
    assert errors(findings) == []
    # Its clean refusals of prompts over its context were seen, and believed.
    assert any(f["check"] == "server_limit" for f in findings)
    assert summary["limits"]["declared"] == {"prompt_tokens": 2048}
    # The context its refusals named, and the two slots its refusals of n: 3 and 4 named.
    assert {(x["kind"], x["value"]) for x in summary["limits"]["found"]} == {
        ("prompt_tokens", 2048),
        ("n", 2),
    }


# Each planted fault, and the error finding it must give: (check, words of the message).
PLANTED = {
    "over_limit_500": ("not_a_server_error", "server error: HTTP 500"),
    "n_ignored": ("response_shape", "choices for n: "),
    "whitespace_hang": ("no_timeout", "no answer within the timeout"),
    "html_errors": ("status_expectation", "refusal without a machine-readable body"),
    "refuse_under_limit": ("status_expectation", "within its own stated limit"),
}


def test_the_careless_chat_server_gets_an_error_for_each_fault(tmp_path: Path) -> None:
    with reference("chat", "--careless", ",".join(PLANTED)) as url:
        said, findings, _ = init_and_run(url, tmp_path)
    # The probe met the 500 and wrote no limit rather than a wrong one.
    assert "prompt words: HTTP 500; the search stopped there" in said
    found = errors(findings)
    for fault, (check, words) in PLANTED.items():
        assert any(c == check and words in m for _, c, m in found), (fault, sorted(set(found)))
