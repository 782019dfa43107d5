"""stress against a real third-party server: KServe's ModelServer, v1 and v2 REST protocols.

KServe is not a dependency of stress: `make real-kserve` builds a venv of its own with kserve
and scikit-learn and runs this test with KSERVE_PYTHON pointing at it; without that variable
the test is skipped. The server runs in its own process group, stopped at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stress.record import read_records
from tests.integration.conftest import ROOT, free_port, stress
from tests.integration.test_init_detect import init_runs
from tests.integration.test_protocols import shortened
from tests.real.defaults import DefaultRun, assert_health_polled_and_quiet, init_and_run
from tests.real.serving import serving

KSERVE_PYTHON = os.environ.get("KSERVE_PYTHON")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KSERVE_PYTHON, reason="needs KSERVE_PYTHON: run `make real-kserve`"),
]


@pytest.fixture(scope="module")
def kserve_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert KSERVE_PYTHON is not None
    port = free_port()
    log_path = tmp_path_factory.mktemp("kserve") / "model-server.log"
    command = [KSERVE_PYTHON, str(Path(__file__).parent / "kserve_model.py"), str(port)]
    url = f"http://127.0.0.1:{port}"
    with serving(command, url, "/v2/models/iris/ready", log_path, name="the KServe model server"):
        yield url


@pytest.mark.parametrize("protocol", ["kserve-v2", "kserve-v1"])
def test_example_scenario_runs_against_kserve_model_server(
    tmp_path: Path, kserve_server: str, protocol: str
) -> None:
    example = yaml.safe_load((ROOT / "scenarios" / f"{protocol}.yaml").read_text())
    scenario = shortened(example, kserve_server, tmp_path / f"{protocol}.yaml")
    result = stress("run", str(scenario), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    print(protocol, summary["message"])
    assert (run_dir / "report.html").is_file()
    records = read_records(run_dir / "records").to_pandas()
    realistic = records[records["family"] == "realistic.tabular_rows"]
    answered = realistic[realistic["status"] != 0]
    assert len(answered) >= 5
    assert (answered["status"] == 200).all()
    assert answered["ok"].all()
    assert answered["output_digest"].notna().all()
    non_finite = records[records["family"] == "numbers.non_finite"]
    found: dict[str, set[str]] = {}
    for text in (run_dir / "failures.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        for finding in line["findings"]:
            found.setdefault(finding["check"], set()).add(line["family"])
    if protocol == "kserve-v1":
        # v1 refuses NaN / Infinity with a clean 400: nothing to report, exit 0.
        assert result.returncode == 0, result.stderr
        assert found == {}
        assert set(non_finite["status"]) == {400}
        return
    # What KServe 0.x does on v2, and stress must report: a NaN feature reaches scikit-learn
    # and comes back as HTTP 500 (not_a_server_error), and the server then closes that
    # keep-alive connection without having said "Connection: close". The next request sent
    # on it gets no answer: stress charges that to the 500's exchange
    # (connection_dropped_after_answer) and re-sends the innocent input on a new connection,
    # which answers it. The run fails (exit 1), on those two checks and on the error-rate
    # SLO, and on nothing else; no realistic input is charged anything.
    assert result.returncode == 1, result.stderr
    assert set(found) == {"not_a_server_error", "connection_dropped_after_answer"}
    assert found["not_a_server_error"] == {"numbers.non_finite"}
    assert found["connection_dropped_after_answer"] == {"numbers.non_finite"}
    assert set(non_finite.loc[non_finite["status"] != 0, "status"]) == {500}
    assert (realistic["status"] == 200).all()
    failed = {check["name"] for check in summary["checks"] if not check["passed"]}
    assert failed == {"not_a_server_error", "connection_dropped_after_answer", "slo.error_rate"}


def test_a_wrong_model_name_is_exit_3(tmp_path: Path, kserve_server: str) -> None:
    example = yaml.safe_load((ROOT / "scenarios" / "kserve-v2.yaml").read_text())
    example["target"]["model"] = "irs"
    scenario = shortened(example, kserve_server, tmp_path / "wrong.yaml")
    result = stress("run", str(scenario), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "model 'irs' is not served there" in result.stderr
    assert "Model with name irs does not exist" in result.stderr


@pytest.fixture(scope="module")
def kserve_v1_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same ModelServer without its v2 routes: a v1-only deployment."""
    assert KSERVE_PYTHON is not None
    port = free_port()
    log_path = tmp_path_factory.mktemp("kserve-v1") / "model-server.log"
    script = str(Path(__file__).parent / "kserve_model.py")
    command = [KSERVE_PYTHON, script, str(port), "--v1-only"]
    url = f"http://127.0.0.1:{port}"
    with serving(command, url, "/v1/models/iris", log_path, name="the KServe v1 model server"):
        yield url


# What KServe's ModelServer does with the families of the scenario `stress init URL` writes
# (no flags; documented in docs/real-faults.md, each with its replay command): a body the
# model cannot use reaches numpy or scikit-learn and comes back as HTTP 500 instead of a 400,
# and the server then resets that keep-alive connection without having said
# "Connection: close" (connection_dropped_after_answer); inputs the model does not have are
# accepted silently (warnings).
V2_FAULTS = {
    "structure.tensor_no_inputs": ({500}, "not_a_server_error"),
    "numbers.tensor_overflow": ({500}, "not_a_server_error"),
    "structure.tensor_shape_mismatch": ({500}, "not_a_server_error"),
    "numbers.non_finite": ({500}, "not_a_server_error"),
    "size.empty_list": ({500}, "not_a_server_error"),
}
V2_WARNINGS = {
    "structure.tensor_duplicate_input": ({200}, "accepted_invalid_input"),
    "structure.tensor_extra_input": ({200}, "accepted_invalid_input"),
}
# v1: KServe hands the body to the model as raw bytes unless its Content-Type is exactly one
# of four strings (so `Application/JSON` and `application/json; charset=utf-8` too), and
# checks nothing of "instances" but its type.
V1_FAULTS = {
    "size.empty_list": ({500}, "not_a_server_error"),
    "structure.empty_object": ({500}, "not_a_server_error"),
    "structure.empty_array": ({500}, "not_a_server_error"),
    "structure.non_object_body": ({500}, "not_a_server_error"),
    "structure.missing_field": ({500}, "not_a_server_error"),
    "encoding.content_type_params": ({500}, "not_a_server_error"),
    "encoding.wrong_content_type": ({500}, "not_a_server_error"),
    "encoding.duplicate_content_type": ({500}, "not_a_server_error"),
    "encoding.form_body": ({500}, "not_a_server_error"),
}
V1_WARNINGS = {
    # No Content-Type: parsed as JSON and answered (RFC 9110 lets a server do so).
    "encoding.missing_content_type": ({200}, "accepted_invalid_input"),
}


def assert_faults(
    run: DefaultRun,
    faults: dict[str, tuple[set[int], str]],
    warnings: dict[str, tuple[set[int], str]],
) -> None:
    for family, (statuses, check) in faults.items():
        assert run.answered(family) == statuses, (family, run.answered(family))
        assert check in run.checks(family), (family, run.found.get(family))
    for family, (statuses, check) in warnings.items():
        assert run.answered(family) == statuses, (family, run.answered(family))
        assert check in run.checks(family, "warning"), (family, run.found.get(family))
    # The connection reset after a 500 is charged to the 500's own input.
    dropped = run.families("connection_dropped_after_answer")
    assert dropped, "no connection_dropped_after_answer"
    assert dropped <= set(run.families("not_a_server_error")), dropped
    # No realistic input is charged anything, and the readiness endpoint stayed honest.
    assert not {f for f in run.found if f.startswith("realistic.")}, run.found
    assert run.returncode == 1


def test_init_defaults_find_kserve_v2_faults(tmp_path: Path, kserve_server: str) -> None:
    run = init_and_run(kserve_server, tmp_path)
    assert run.written["target"]["protocol"] == "kserve-v2"
    assert {"numbers.*", "structure.*"} <= set(run.written["inputs"]["families"])
    assert_faults(run, V2_FAULTS, V2_WARNINGS)
    assert_health_polled_and_quiet(run)
    # The valid nested form of a tensor's data is answered like the flat one.
    assert run.answered("structure.tensor_nested_data") == {200}


def test_init_defaults_find_kserve_v1_faults(tmp_path: Path, kserve_v1_server: str) -> None:
    # No flags: a server whose /v2 paths answer 404 is a v1 server.
    run = init_and_run(kserve_v1_server, tmp_path)
    assert (run.written["target"]["protocol"], run.written["target"]["model"]) == (
        "kserve-v1",
        "iris",
    )
    assert "also speaks" not in run.said
    assert_faults(run, V1_FAULTS, V1_WARNINGS)
    assert_health_polled_and_quiet(run)
    # v1 refuses NaN / Infinity before the model sees them: a clean 400.
    assert run.answered("numbers.non_finite") == {400}
    assert not run.checks("numbers.non_finite")


@pytest.mark.parametrize(
    ("flags", "protocol"),
    # The server speaks both: v2 is detected; v1 is the one thing to say (--protocol).
    [((), "kserve-v2"), (("--protocol", "kserve-v1"), "kserve-v1")],
)
def test_init_writes_a_kserve_scenario_that_runs(
    tmp_path: Path, kserve_server: str, flags: tuple[str, ...], protocol: str
) -> None:
    # Model and column count are detected (the metadata lists no input, so the count comes
    # from the model's refusal of a one-column row); names and ranges are placeholders.
    written, said = init_runs(kserve_server, tmp_path, *flags)
    target = written["target"]
    assert (target["protocol"], target["model"]) == (protocol, "iris")
    assert list(written["inputs"]["features"]) == ["col0", "col1", "col2", "col3"]
    # Detected v2, init says v1 is there too and how to get it; asked for v1, nothing.
    assert ("the server also speaks kserve-v1" in said) is (not flags)
    assert (f"stress init {kserve_server} --protocol kserve-v1" in said) is (not flags)
    assert written["health"] == {"enabled": True}
