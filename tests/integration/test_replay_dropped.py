"""Replay meets a connection_dropped_after_answer again, against tests/reference/closer.py
both ways: the blamed request, then a second request on the same kept connection. The
careless closer (it drops a kept connection after an error answer without saying
``Connection: close``) fails the replay again; careful twins (the connection kept, or
closed with ``Connection: close``) pass it, and so does a server that answers the blamed
input with a 500 but keeps its connection: the replay judges the drop, not the 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stress.repro.export import Format, render, reproducer
from stress.repro.replay import replay
from stress.scenario import from_path
from tests.integration.conftest import reference_server, stress
from tests.integration.test_blame import DROPPED, SCENARIO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def careless_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A run against the careless closer, and the URL of that server (still up)."""
    tmp_path = tmp_path_factory.mktemp("dropped")
    with reference_server("closer", "--careless", "server_error,silent_close") as url:
        path = tmp_path / "closer.yaml"
        path.write_text(SCENARIO.format(url=url), encoding="utf-8")
        result = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        (directory,) = (tmp_path / "reports").iterdir()
        yield directory, url


def dropped_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [row for row in rows if row["check"] == DROPPED]


def test_replay_meets_the_drop_again_on_the_careless_server(
    careless_run: tuple[Path, str],
) -> None:
    directory, url = careless_run
    rows = dropped_rows(replay(directory, target=url))
    assert len(rows) >= 1
    for row in rows:
        assert row["still_fails"], row
        assert (DROPPED, "error") in row["findings_now"]
        # The blamed input's own answer is judged too: the careless server's 500.
        assert ("not_a_server_error", "error") in row["findings_now"]
        # The second request was the input that met the drop in the run (from corpus.jsonl).
        assert "realistic.tabular_rows-" in str(row["now"]) or "numbers.non_finite-" in str(
            row["now"]
        )


@pytest.mark.parametrize(
    "careful",
    [[], ["--close-after-errors"], ["--careless", "server_error"]],
    ids=["kept", "close-announced", "500-but-kept"],
)
def test_replay_passes_where_the_connection_is_handled_well(
    careless_run: tuple[Path, str], careful: list[str]
) -> None:
    directory, _ = careless_run
    with reference_server("closer", *careful) as url:
        rows = dropped_rows(replay(directory, target=url))
    assert len(rows) >= 1
    for row in rows:
        assert not row["still_fails"], row
        assert DROPPED not in {check for check, _ in row["findings_now"]}  # type: ignore[attr-defined]


def test_the_run_stored_the_next_input_in_each_drop(careless_run: tuple[Path, str]) -> None:
    directory, _ = careless_run
    lines = (directory / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines]
    from stress.repro.replay import next_input_id

    named = [next_input_id(case) for case in cases if case["check"] == DROPPED]
    assert named
    assert all(named)


def dropped_case(directory: Path) -> dict[str, object]:
    lines = (directory / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    return next(case for line in lines if (case := json.loads(line))["check"] == DROPPED)


@pytest.mark.parametrize("fmt", [Format.PYTHON, Format.CURL])
def test_exports_carry_the_two_step_check_both_ways(
    careless_run: tuple[Path, str], tmp_path: Path, fmt: Format
) -> None:
    directory, careless_url = careless_run
    scenario = from_path(directory / "scenario.yaml")
    text = render(reproducer(dropped_case(directory), scenario, directory), fmt)
    script = tmp_path / ("repro.py" if fmt is Format.PYTHON else "repro.sh")
    script.write_text(text, encoding="utf-8")

    def run(url: str) -> subprocess.CompletedProcess[str]:
        if fmt is Format.PYTHON:
            command = [sys.executable, str(script)]
        else:  # the curl command names the run's URL: point it at ``url``
            script.write_text(text.replace(careless_url, url), encoding="utf-8")
            command = ["sh", str(script)]
        env = {**os.environ, "STRESS_TARGET": url}
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)

    careless = run(careless_url)
    with reference_server("closer", "--close-after-errors") as url:
        careful = run(url)
    if fmt is Format.PYTHON:
        assert careless.returncode == 1, careless.stdout + careless.stderr
        assert DROPPED in careless.stdout
        assert careful.returncode == 0, careful.stdout + careful.stderr
        assert DROPPED not in careful.stdout.split("FINDINGS")[1].splitlines()[0]
    else:
        assert careless.stdout.count("HTTP/1.1 ") == careful.stdout.count("HTTP/1.1 ") == 2
        assert "Connection died" in careless.stderr
        assert "Connection died" not in careful.stderr
