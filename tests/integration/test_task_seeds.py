"""Task-aware seeds end to end (issue 16, item 4): `stress init` against the reference
classifier (tests/reference/classifier.py) writes ``inputs.task: classify-sentiment`` from the
labels its OpenAPI document declares, and the perturbation families then vary labelled reviews.
The careful classifier keeps every label (no invariance finding, no error); its careless twin,
which matches opinion words case-sensitively and splits words on single spaces, flips labels
under upper/title case and extra whitespace: invariance findings (severity warning, the
check's default) naming those variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_reference_chat import errors, init, reference, run

pytestmark = pytest.mark.slow


def test_init_writes_the_task_and_the_careful_classifier_keeps_every_label(
    tmp_path: Path,
) -> None:
    with reference("classifier") as url:
        said, scenario = init(url, tmp_path)
        findings, summary = run(scenario, tmp_path / "run")
    assert "WARNING" not in said
    assert scenario["inputs"]["task"] == "classify-sentiment"
    assert "perturbation.*" in scenario["inputs"]["families"]
    assert errors(findings) == []
    assert [f for f in findings if f["check"] == "invariance"] == []
    invariance = summary["group_checks"]["invariance"]
    assert invariance["judged"] is True
    assert invariance["methods"] == ["label"]
    assert invariance["compared"] >= 10
    assert invariance["flips"] == 0
    compared = {kind["kind"] for kind in summary["invariance"]["kinds"] if kind["pairs"]}
    assert {"uppercase", "whitespace", "synonyms", "name_swap", "place_swap"} <= compared


def test_the_careless_classifier_flips_labels_under_case_and_whitespace(tmp_path: Path) -> None:
    with reference("classifier", "--careless", "case_sensitive,space_split") as url:
        _, scenario = init(url, tmp_path)
        findings, summary = run(scenario, tmp_path / "run")
    assert scenario["inputs"]["task"] == "classify-sentiment"
    flips = [f for f in findings if f["check"] == "invariance"]
    assert flips
    assert {f["severity"] for f in flips} == {"warning"}
    variants = {f["family"] for f in flips}
    # case_sensitive: upper and title case; space_split: the whitespace variant.
    assert {"perturbation.uppercase", "perturbation.whitespace"} <= variants
    # Meaning-preserving edits the careless twin's faults do not touch keep their labels.
    assert not variants & {"perturbation.synonyms", "perturbation.name_swap", "perturbation.typos"}
    assert all("label " in f["message"] for f in flips)
    assert summary["group_checks"]["invariance"]["flips"] == len(flips)
