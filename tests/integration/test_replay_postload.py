"""Findings judged after the load become failures.jsonl lines replay re-sends: cost_growth
against tests/reference/amplifier.py both ways. The careless twin's quadratic latency leaves
lines for the fit's smallest and largest inputs (post_load), and replaying them together
against it fails again on the two-point exponent; replayed against the careful server
(linear), they pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stress.repro.replay import replay
from tests.integration.conftest import reference_server
from tests.integration.test_cost_checks import failures_of, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quadratic_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    tmp_path = tmp_path_factory.mktemp("postload")
    with reference_server("amplifier", "--careless", "quadratic") as url:
        _, run_dir = run(url, tmp_path)
        yield run_dir, url


def growth_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["check"] == "cost_growth"]


def test_the_fit_s_ends_are_stored_as_lines(quadratic_run: tuple[Path, str]) -> None:
    run_dir, _ = quadratic_run
    lines = [line for line in failures_of(run_dir) if line["check"] == "cost_growth"]
    roles = {(line["post_load"]["family"], line["post_load"]["role"]) for line in lines}
    assert ("(all)", "smallest") in roles
    assert ("(all)", "largest") in roles
    assert len(lines) <= 5
    for line in lines:
        assert line["request"]["body"]  # the exact request, to re-send
        assert line["findings"][0]["severity"] == "error"


def test_replay_fails_the_two_point_exponent_again_on_the_careless_server(
    quadratic_run: tuple[Path, str],
) -> None:
    run_dir, url = quadratic_run
    rows = growth_rows(replay(run_dir, target=url))
    judged = [row for row in rows if "exponent_now" in row]
    assert len(judged) >= 2
    assert all(row["still_fails"] for row in judged), [row["now"] for row in judged]


def test_replay_passes_against_the_careful_server(quadratic_run: tuple[Path, str]) -> None:
    run_dir, _ = quadratic_run
    with reference_server("amplifier") as url:
        rows = growth_rows(replay(run_dir, target=url))
    judged = [row for row in rows if "exponent_now" in row]
    assert len(judged) >= 2
    assert not any(row["still_fails"] for row in judged), [row["now"] for row in judged]
