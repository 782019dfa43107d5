"""concurrency_interference both ways (issue 16, issue 15's rule), against streaming servers.

`stress init URL` writes the scenario; the test streams it (``target.stream: true``) and
shortens it (a 1-user baseline of 1 s, a load phase of 2 s at 4 users). The load phase's first
re-sends go out twice in a row, so two answers to one input are in flight together. The
careful streaming server (tests/reference/streaming.py) gives zero error-severity findings;
its careless twin gives a concurrency_interference error for each planted fault: a stream cut
when another request arrives, and words mixed across streams through a shared buffer. A
sampling endpoint (tests/reference/sampling.py) is never charged for two answers that differ.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import error_findings, init_and_run, reference_server

pytestmark = pytest.mark.slow


def streamed(url: str, tmp_path: Path, model: str = "ref-chat") -> tuple[Path, dict[str, Any]]:
    """init's scenario, shortened and streamed, run: the 4 load users start at once."""
    return init_and_run(url, tmp_path, "openai-chat", model, {"stream": True}, spawn_rate=20)


def test_careful_streams_in_flight_together_give_no_error(tmp_path: Path) -> None:
    with reference_server("streaming") as url:
        run_dir, summary = streamed(url, tmp_path)
    paired = summary["group_checks"]["concurrency_interference"]
    assert paired["judged"], paired
    assert paired["deterministic"], paired
    assert paired["pairs"] >= 5, paired
    assert (paired["cut"], paired["changed"]) == (0, 0), paired
    assert error_findings(run_dir) == Counter()


def test_a_sampling_stream_is_never_charged_for_a_difference(tmp_path: Path) -> None:
    # tests/reference/sampling.py at its default temperature: every answer drawn afresh.
    with reference_server("sampling") as url:
        run_dir, summary = streamed(url, tmp_path, "ref-sampler")
    paired = summary["group_checks"]["concurrency_interference"]
    assert "it samples" in summary["group_checks"]["degradation"]["note"], summary
    assert paired["pairs"] >= 5, paired
    assert not paired["deterministic"], paired
    assert (paired["cut"], paired["changed"]) == (0, 0), paired
    assert error_findings(run_dir) == Counter()


@pytest.mark.parametrize(
    ("fault", "kind"), [("cut_on_arrival", "cut"), ("shared_buffer", "changed")]
)
def test_each_planted_interference_fault_is_an_error(tmp_path: Path, fault: str, kind: str) -> None:
    with reference_server("streaming", "--careless", fault) as url:
        run_dir, summary = streamed(url, tmp_path)
    paired = summary["group_checks"]["concurrency_interference"]
    assert paired[kind] >= 1, paired
    assert error_findings(run_dir)["concurrency_interference"] >= 1, error_findings(run_dir)
    entry = next(c for c in summary["checks"] if c["name"] == "concurrency_interference")
    assert not entry["passed"], entry
    assert entry["errors"] >= 1, entry
