"""inputs.from_log end to end without load: the scenario key, the seeds handed to the corpus,
the families that start from them, and the errors a user gets (exit 2, key, file, fix)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stress.errors import ScenarioError
from stress.inputs import corpus as corpus_io
from stress.logs import seeds
from stress.runner import build_corpus, load_scenario

LOGS = Path(__file__).parents[2] / "fixtures" / "logs"
PII = [line for line in (LOGS / "pii.txt").read_text(encoding="utf-8").splitlines() if line]

SCENARIO = """\
name: logged
target: {{url: builtin:demo, protocol: {protocol}, max_tokens: 16}}
inputs:
  seed: 5
  count: 120
  from_log:
    path: logs/{log}
{extra}
  families: {families}
load:
  phases: [{{name: only, users: 1, duration: 1s}}]
"""

DEFAULT_FAMILIES = "{realistic.*: 2, perturbation.*: 1, structure.*: 0.5, unicode.*: 0.5}"
EMPLOYEE = """\
    scrub:
      patterns: [{name: employee_id, regex: "EMP-\\\\d{6}"}]"""


def write(
    tmp_path: Path,
    *,
    log: str = "chat.jsonl",
    extra: str = EMPLOYEE,
    families: str = DEFAULT_FAMILIES,
    protocol: str = "openai-chat",
) -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    if (LOGS / log).exists():
        shutil.copy(LOGS / log, tmp_path / "logs" / log)
    path = tmp_path / "scenario.yaml"
    path.write_text(
        SCENARIO.format(log=log, extra=extra, families=families, protocol=protocol),
        encoding="utf-8",
    )
    return path


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    return []


def test_the_path_is_relative_to_the_scenario_and_kept_whole(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    assert scenario.inputs.from_log is not None
    assert scenario.inputs.from_log.path == str((tmp_path / "logs" / "chat.jsonl").resolve())
    assert "from_log" in scenario.to_yaml()


def test_logged_requests_are_the_realistic_inputs_scrubbed_in_log_order(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    inputs = build_corpus(scenario)
    families = {item.family for item in inputs}
    # With a log, realistic.* is the logged requests, not Faker-made prompts.
    assert {f for f in families if f.startswith("realistic.")} == {"realistic.logged"}
    logged = [item for item in inputs if item.family == "realistic.logged"]
    # 7 of the 8 lines fit openai-chat (one uses the tool role); each is sent, in order.
    assert [item.payload["log_line"] for item in logged[:7]] == [1, 2, 3, 5, 6, 7, 8]
    assert logged[2].payload["messages"] == [
        {"role": "user", "content": "What is your return policy for shoes?"}
    ]
    first = logged[0].payload["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user"]
    assert "I'm " in first[1]["content"]
    assert "Okafor" not in first[1]["content"]
    texts = [s for item in inputs for s in strings(item.payload)]
    for value in PII:
        assert not any(value in text for text in texts), value


def test_perturbation_and_messy_families_start_from_logged_requests(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    inputs = build_corpus(scenario)
    logged = {
        json.dumps(item.payload["messages"]) for item in inputs if item.family == "realistic.logged"
    }
    originals = [item for item in inputs if item.family == "perturbation.original"]
    assert originals
    for item in originals:
        assert json.dumps(item.payload["messages"]) in logged
    upper = [item for item in inputs if item.family == "perturbation.uppercase"]
    # The history of a logged conversation is kept; only the last message is varied.
    seeds_by_id = {item.id: item for item in originals}
    for item in upper:
        seed = seeds_by_id[item.payload["seed"]].payload["messages"]
        assert item.payload["messages"][:-1] == seed[:-1]
        assert item.payload["messages"][-1]["content"] == seed[-1]["content"].upper()
    bases = [item.payload["base"] for item in inputs if "base" in item.payload]
    assert bases
    assert all(json.dumps(base["messages"]) in logged for base in bases)


def test_same_log_and_seed_give_the_same_corpus_bytes(tmp_path: Path) -> None:
    path = write(tmp_path)
    first = [corpus_io.to_line(item) for item in build_corpus(load_scenario(path))]
    again = [corpus_io.to_line(item) for item in build_corpus(load_scenario(path))]
    assert first == again
    other = [corpus_io.to_line(item) for item in build_corpus(load_scenario(path, seed=6))]
    assert other != first


def test_max_takes_a_seeded_sample(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, extra="    max: 3"))
    loaded = seeds.load(scenario)
    assert len(loaded.seeds) == 3
    assert loaded.report["used"] == 3
    assert loaded.report["usable"] == 7
    lines = [seed["line"] for seed in loaded.seeds]
    assert lines == sorted(lines)


def test_the_report_counts_what_was_skipped_and_scrubbed(tmp_path: Path) -> None:
    report = seeds.load(load_scenario(write(tmp_path))).report
    assert report["format"] == "jsonl"
    assert report["entries"] == 8
    assert report["skipped"] == {"a message has a tool or unknown role (not supported)": 1}
    scrubbed = report["scrubbed"]
    for kind in ("email", "phone", "card", "ssn", "iban", "ip", "address", "name", "employee_id"):
        assert scrubbed.get(kind, 0) >= 1, kind
    assert scrubbed["card"] == 2
    assert scrubbed["ssn"] == 1


def test_a_har_log_and_a_batch_log_work_the_same_way(tmp_path: Path) -> None:
    for log, lines in (("chat.har", [2, 4, 5]), ("batch.jsonl", [1, 2, 3, 4])):
        inputs = build_corpus(load_scenario(write(tmp_path, log=log)))
        logged = [item for item in inputs if item.family == "realistic.logged"]
        assert [item.payload["log_line"] for item in logged[: len(lines)]] == lines


def test_tabular_logs_give_rows(tmp_path: Path) -> None:
    features = (
        "  features: {sepal_length: {min: 4, max: 8}, sepal_width: {min: 2, max: 4.5}, "
        "petal_length: {min: 1, max: 7}, petal_width: {min: 0.1, max: 2.5}}"
    )
    path = write(
        tmp_path,
        log="rows.jsonl",
        extra=features,
        families="{realistic.logged: 1, perturbation.jitter: 1}",
        protocol="mlflow",
    )
    # (extra goes under inputs: at two spaces, features is a sibling of from_log)
    scenario = load_scenario(path)
    loaded = seeds.load(scenario)
    assert [s["line"] for s in loaded.seeds] == [1, 2, 3, 4]
    assert loaded.report["skipped"] == {"a row has no column 'sepal_width'": 1}
    assert loaded.seeds[0]["payload"]["rows"][1] == {
        "sepal_length": 6.7,
        "sepal_width": 3.0,
        "petal_length": 5.2,
        "petal_width": 2.3,
    }
    jitter = [item for item in build_corpus(scenario) if item.family == "perturbation.jitter"]
    logged_rows = [seed["payload"]["rows"] for seed in loaded.seeds]
    for item in jitter:
        assert any(
            len(rows) == len(item.payload["rows"])
            and all(
                abs(row[c] - logged[c]) < 1e-6
                for row, logged in zip(item.payload["rows"], rows, strict=True)
                for c in row
            )
            for rows in logged_rows
        )


def test_realistic_logged_without_a_log_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        SCENARIO.format(
            log="x", extra="", families="{realistic.logged: 1}", protocol="openai-chat"
        ).replace("  from_log:\n    path: logs/x\n", ""),
        encoding="utf-8",
    )
    with pytest.raises(
        ScenarioError,
        match=r"realistic\.logged: does not fit this target: it sends "
        r"logged requests and the scenario has no inputs\.from_log",
    ):
        load_scenario(path)


@pytest.mark.parametrize(
    ("log", "extra", "message"),
    [
        ("missing.jsonl", "", r"inputs\.from_log\.path: .*missing\.jsonl: file not found"),
        (
            "rows.jsonl",
            "",
            r"inputs\.from_log\.path: .*rows\.jsonl: no logged request fits "
            r"protocol 'openai-chat' \(no messages list \(not a chat request\) \(5\)",
        ),
        ("chat.jsonl", "    format: har", r"chat\.jsonl: line 2: not valid JSON.*a HAR file"),
        (
            "chat.jsonl",
            "    scrub: {patterns: [{name: x, regex: '(unclosed'}]}",
            r"inputs\.from_log\.scrub\.patterns\[0\]\.regex: not a valid regular expression",
        ),
        (
            "chat.jsonl",
            "    scrub: {patterns: [{name: email, regex: 'x+'}]}",
            r"inputs\.from_log\.scrub\.patterns\[0\]\.name: 'email' is already a kind",
        ),
        (
            "chat.jsonl",
            "    scrub: {skip: [names]}",
            r"inputs\.from_log\.scrub\.skip\[0\]: expected one of",
        ),
        (
            "chat.jsonl",
            "    scrub: {region: XX}",
            r"inputs\.from_log\.scrub\.region: unknown region 'XX'",
        ),
        (
            "chat.jsonl",
            "    formt: jsonl",
            r"inputs\.from_log\.formt: unknown key 'formt'; did you mean 'format'",
        ),
    ],
)
def test_log_problems_are_scenario_errors(
    tmp_path: Path, log: str, extra: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(write(tmp_path, log=log, extra=extra))
    assert caught.value.exit_code == 2
    assert str(tmp_path / "scenario.yaml") in str(caught.value)


def test_the_cli_exits_2_naming_the_log_line_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stress.cli import main

    path = write(tmp_path)
    log = tmp_path / "logs" / "chat.jsonl"
    log.write_text(log.read_text() + '{"messages": "Margaret Okafor\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(path), "--out", str(tmp_path / "reports")])
    assert exited.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"inputs.from_log.path: {log}: line 10: not valid JSON" in err
    assert "Traceback" not in err
    assert "Okafor" not in err
    assert not (tmp_path / "reports").exists()  # nothing was written


def test_the_corpus_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = write(tmp_path)
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"corpus-{hash_seed}.jsonl"
        subprocess.run(
            [sys.executable, "-m", "stress.cli", "generate", str(path), "-o", str(out)],
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"realistic.logged" in outputs[0]
