"""Verdicts against the reference classifier (tests/reference/classifier.py), found by
`stress init` through its OpenAPI document: the careful one gets no error finding, its
careless twin an error finding for each planted fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_reference_chat import errors, init_and_run, reference

pytestmark = pytest.mark.slow


def test_the_careful_classifier_gets_no_error(tmp_path: Path) -> None:
    with reference("classifier") as url:
        said, findings, summary = init_and_run(url, tmp_path)
    assert "limits: prompt_chars: 4096 (3 requests); written to target.limits" in said
    assert errors(findings) == []
    # Whitespace-only text was sent and refused with a clean 422: no finding at all.
    assert summary["limits"]["declared"] == {"prompt_chars": 4096}
    whitespace = [f for f in summary["families"] if f["name"] == "size.whitespace_only"]
    assert whitespace
    assert whitespace[0]["requests"] > 0
    assert whitespace[0]["failed"] == 0


PLANTED = {
    "whitespace_500": ("not_a_server_error", "server error: HTTP 500"),
    "html_errors": ("status_expectation", "refusal without a machine-readable body"),
    "refuse_under_limit": ("status_expectation", "within its own stated limit (prompt_chars"),
}


def test_the_careless_classifier_gets_an_error_for_each_fault(tmp_path: Path) -> None:
    with reference("classifier", "--careless", ",".join(PLANTED)) as url:
        _, findings, _ = init_and_run(url, tmp_path)
    found = errors(findings)
    for fault, (check, words) in PLANTED.items():
        assert any(c == check and words in m for _, c, m in found), (fault, sorted(set(found)))
