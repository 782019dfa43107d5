"""Verdicts on numbers and sampled text (issue 15, comparisons with tolerance), both ways.

`stress init URL` writes the scenario; the test shortens it (a 1-user baseline of 1 s and a
load phase of 2 s at 4 users, 80 inputs) and runs it. The careful reference servers
(tests/reference/embeddings.py: float noise; tests/reference/sampling.py: a sampling chat
model) must give zero error-severity findings; each planted fault of their careless twins
must give an error finding of the group check that sees it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import error_findings, init_and_run, reference_server

pytestmark = pytest.mark.slow


@pytest.fixture
def careful_embeddings() -> Iterator[str]:
    with reference_server("embeddings") as url:
        yield url


def test_careful_embeddings_with_float_noise_give_no_error(
    careful_embeddings: str, tmp_path: Path
) -> None:
    run_dir, summary = init_and_run(careful_embeddings, tmp_path, "openai-embeddings", "ref")
    degradation = summary["group_checks"]["degradation"]
    assert degradation["judged"], degradation
    assert degradation["compared"] >= 5, degradation
    assert degradation["degraded"] == 0, degradation
    assert error_findings(run_dir) == Counter()


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("wrong-vector", "degradation"),
        ("zeroed", "degradation"),
        ("dimension", "degradation"),
        ("nan", "degradation"),
    ],
)
def test_each_planted_embeddings_fault_is_an_error(tmp_path: Path, fault: str, check: str) -> None:
    with reference_server("embeddings", "--careless", fault) as url:
        run_dir, summary = init_and_run(url, tmp_path, "openai-embeddings", "ref")
        assert summary["group_checks"]["degradation"]["degraded"] >= 1, summary["group_checks"]
        assert error_findings(run_dir)[check] >= 1, error_findings(run_dir)


def test_careful_sampling_chat_gives_no_error(tmp_path: Path) -> None:
    with reference_server("sampling") as url:
        run_dir, summary = init_and_run(url, tmp_path, "openai-chat", "ref-sampler")
    degradation = summary["group_checks"]["degradation"]
    assert degradation["compared"] >= 5, degradation
    assert "it samples" in degradation["note"], degradation
    assert degradation["degraded"] == 0, degradation
    assert error_findings(run_dir) == Counter()


@pytest.mark.parametrize("fault", ["truncate", "garble"])
def test_each_planted_sampling_fault_is_an_error(tmp_path: Path, fault: str) -> None:
    with reference_server("sampling", "--careless", fault) as url:
        run_dir, summary = init_and_run(url, tmp_path, "openai-chat", "ref-sampler")
    degradation = summary["group_checks"]["degradation"]
    assert "it samples" in degradation["note"], degradation
    assert degradation["degraded"] >= 1, degradation
    assert error_findings(run_dir)["degradation"] >= 1, error_findings(run_dir)


@pytest.mark.parametrize(("fault", "degraded"), [("", False), ("truncate", True)])
def test_pinned_sampling_compares_answers_one_by_one(
    tmp_path: Path, fault: str, degraded: bool
) -> None:
    pinned = {"temperature": 0, "seed": 7}
    with reference_server("sampling", "--careless", fault) as url:
        run_dir, summary = init_and_run(url, tmp_path, "openai-chat", "ref-sampler", pinned)
    degradation = summary["group_checks"]["degradation"]
    assert "samples" not in degradation["note"], degradation
    assert degradation["compared"] >= 5, degradation
    assert (degradation["degraded"] > 0) is degraded, degradation
    assert (error_findings(run_dir)["degradation"] > 0) is degraded, error_findings(run_dir)
