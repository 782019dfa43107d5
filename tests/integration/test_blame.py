"""Blame where it belongs, against tests/reference/closer.py for real (sockets, the load
process): a server that drops its connection after an error answer without saying
``Connection: close`` gets the finding connection_dropped_after_answer on the input it
answered; the next input, re-sent on a new connection, is judged on that answer and is clean.
Its careful twin (a clean 400, connection kept or closed with ``Connection: close``) gets no
error finding at all."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from stress.record import read_records
from tests.integration.conftest import reference_server, stress

pytestmark = pytest.mark.slow

DROPPED = "connection_dropped_after_answer"
SCENARIO = """\
name: closer
target: {{url: "{url}", protocol: mlflow, timeout: 5s}}
inputs:
  seed: 3
  count: 40
  families: {{realistic.tabular_rows: 3, numbers.non_finite: 1}}
  features: {{a: {{min: 0.0, max: 1.0}}, b: {{min: 1.0, max: 5.0}}}}
load:
  phases:
    - {{name: load, users: 2, spawn_rate: 10, duration: 2s}}
degradation: {{enabled: false}}
"""


def run(tmp_path: Path, url: str) -> tuple[object, Path]:
    path = tmp_path / "closer.yaml"
    path.write_text(SCENARIO.format(url=url), encoding="utf-8")
    result = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    (directory,) = (tmp_path / "reports").iterdir()
    return result, directory


def findings(directory: Path) -> list[tuple[str, str, str]]:
    """(check, severity, family) of every stored finding."""
    found = []
    for line in (directory / "failures.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        for finding in item["findings"]:
            found.append((finding["check"], finding.get("severity", "error"), item["family"]))
    return found


def test_a_silent_close_after_an_error_is_charged_to_that_answer_not_the_next_input(
    tmp_path: Path,
) -> None:
    with reference_server("closer", "--careless", "server_error,silent_close") as url:
        _, directory = run(tmp_path, url)
        dropped = httpx.get(url + "/stats", timeout=5).json()["dropped"]
    assert dropped >= 3, "the careless server dropped connections under the next request"
    records = read_records(directory / "records").to_pandas()
    charged = records[records["failed_checks"].map(lambda checks: DROPPED in checks)]
    # Each drop the load met is charged to the input the server answered with its 500.
    assert len(charged) >= 3
    assert set(charged["family"]) == {"numbers.non_finite"}
    assert set(charged["error_kind"]) == {"connection_reset"}
    # The innocent inputs after them were re-sent on a new connection and answered cleanly.
    innocent = records[records["family"] == "realistic.tabular_rows"]
    assert len(innocent) >= 10
    assert innocent["error_kind"].isna().all(), innocent["error_kind"].value_counts()
    assert innocent["ok"].all()
    checks = {(check, family) for check, severity, family in findings(directory)}
    assert (DROPPED, "numbers.non_finite") in checks
    assert ("not_a_server_error", "numbers.non_finite") in checks
    assert not [c for c in checks if c[1] == "realistic.tabular_rows"]
    assert "no_connection_error" not in {check for check, _ in checks}
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    entry = next(c for c in summary["checks"] if c["name"] == DROPPED)
    assert not entry["passed"]
    assert entry["errors"] >= 3


@pytest.mark.parametrize("mode", [[], ["--close-after-errors"]])
def test_a_careful_server_gets_no_error_finding(tmp_path: Path, mode: list[str]) -> None:
    with reference_server("closer", *mode) as url:
        _, directory = run(tmp_path, url)
    errors = [f for f in findings(directory) if f[1] == "error"]
    assert errors == []
    records = read_records(directory / "records").to_pandas()
    assert len(records) >= 20
    assert records["error_kind"].dropna().isin(["http_4xx"]).all()
