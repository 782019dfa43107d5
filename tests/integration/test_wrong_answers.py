"""A wrong answer is an error: `stress init` against the tabular reference server, then a run.

The careful server (tests/reference/tabular.py) gets zero error-severity findings under the
scenario `stress init` writes (shortened); its careless twin plants five wrong answers, each
served with HTTP 200 (a null prediction, a NaN score, an Infinity token, a probability of
1.3, an undeclared label), also to inputs that should have been refused: every request that
got one carries the error its fault calls for, and no other request does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stress.record import read_records
from tests.integration.conftest import ROOT, reference_server, stress
from tests.reference import tabular

pytestmark = pytest.mark.slow

FEATURES = [f"--feature={name}={low:g}:{high:g}" for name, (low, high) in tabular.FEATURES.items()]
# The checks each planted fault must fail, with severity error.
EXPECTED = {
    "null_prediction": {"prediction_values"},
    "nan_score": {"prediction_values", "strict_json"},
    "infinity_token": {"prediction_values", "strict_json"},
    "probability_out_of_range": {"prediction_values"},
    "undeclared_label": {"prediction_values"},
}
PROTOCOLS = {
    "mlflow": [],  # detected from GET /ping
    "kserve-v1": ["--protocol", "kserve-v1", "--model", tabular.MODEL],
}


@pytest.fixture(scope="module")
def careful() -> Iterator[str]:
    with reference_server("tabular") as url:
        yield url


@pytest.fixture(scope="module")
def careless() -> Iterator[str]:
    with reference_server("tabular", "--careless", ",".join(tabular.FAULTS)) as url:
        yield url


# Families bent at the HTTP level: the reference server's http.server may refuse them
# before the application (and its planted faults) sees them.
HTTP_LAYER = {"encoding.many_headers", "encoding.long_header", "encoding.other_method"}


def init_and_run(url: str, protocol: str, tmp_path: Path) -> tuple[int, Path]:
    """`stress init URL` (the written scenario shortened to 1 s + 2 s), then `stress run`."""
    path = tmp_path / f"{protocol}.yaml"
    made = stress(
        "init", url, *PROTOCOLS[protocol], *FEATURES, "-o", str(path), "--no-input", cwd=ROOT
    )
    assert made.returncode == 0, made.stderr
    scenario = yaml.safe_load(path.read_text())
    assert scenario["target"]["protocol"] == protocol
    # init read the class names off the probe's probabilities.
    assert scenario["answers"] == {"labels": list(tabular.LABELS)}
    scenario["inputs"]["count"] = 60
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": "load", "users": 3, "spawn_rate": 3, "duration": "2s"},
    ]
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    done = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr + done.stdout
    return done.returncode, Path(done.stdout.strip().splitlines()[-1])


def errors_in(run_dir: Path) -> list[tuple[str, str, str]]:
    found = []
    for text in (run_dir / "failures.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        for finding in line["findings"]:
            if finding["severity"] == "error":
                found.append((line["input_id"], finding["check"], finding["message"]))
    return found


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_careful_tabular_server_gets_no_error(careful: str, protocol: str, tmp_path: Path) -> None:
    code, run_dir = init_and_run(careful, protocol, tmp_path)
    assert errors_in(run_dir) == []
    assert code == 0
    records = read_records(run_dir / "records").to_pandas()
    # Refusals were really exercised: the careful server said 400 to broken input.
    assert (records["status"] == 400).sum() >= 5
    assert (records["status"] == 200).sum() >= 20


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_every_planted_wrong_answer_is_an_error(
    careless: str, protocol: str, tmp_path: Path
) -> None:
    code, run_dir = init_and_run(careless, protocol, tmp_path)
    assert code == 1
    records = read_records(run_dir / "records").to_pandas()
    seen: dict[str, set[str]] = {fault: set() for fault in tabular.FAULTS}
    for record in records.itertuples():
        fault = tabular.planted(record.input_id)
        failed = set(record.failed_checks)
        if record.family in HTTP_LAYER:
            continue  # refused by http.server itself (431, 501): the planted fault never ran
        if fault is None:
            # The careless server is careful elsewhere: no wrong value where none was planted.
            assert not failed & {"prediction_values", "strict_json"}, record.input_id
            continue
        assert record.status == 200, record.input_id
        assert EXPECTED[fault] <= failed, (record.input_id, fault, failed)
        seen[fault].add(record.expect)
    # Every fault was served, and to inputs that should have been refused as well.
    assert {fault: "accept" in e for fault, e in seen.items()} == dict.fromkeys(seen, True)
    assert {fault: "reject" in e for fault, e in seen.items()} == dict.fromkeys(seen, True)
