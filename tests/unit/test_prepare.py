"""The one preparation of a run (stress.prepare): built once from a file, a mapping or a
Scenario with one override mechanism; the corpus generated once and shared by the target
check, `stress generate` and the run."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from stress.cli import cli
from stress.errors import ScenarioError, UsageError
from stress.inputs import corpus as corpus_io
from stress.prepare import prepare
from stress.scenario import Overrides, from_dict

VALID = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs: {seed: 1, count: 30, families: {realistic.*: 1, unicode.*: 1}}
load:
  phases:
    - {name: baseline, users: 1, duration: 2s}
    - {name: load, users: 4, duration: 3s}
"""


def write(tmp_path: Path, text: str = VALID) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every input stress.inputs.corpus.generate made, in order."""
    made: list[str] = []
    generate = corpus_io.generate

    def counted(*args: Any, **kwargs: Any) -> corpus_io.Input:
        item = generate(*args, **kwargs)
        made.append(item.id)
        return item

    monkeypatch.setattr(corpus_io, "generate", counted)
    return made


def test_the_target_check_and_the_run_share_one_corpus(
    tmp_path: Path, generated: list[str]
) -> None:
    prepared = prepare(write(tmp_path))  # checked: one input of every family was sent through
    assert len(generated) == 30
    assert prepared.corpus() is prepared.corpus()
    # Every input generated once: the target check's first inputs are the corpus's own.
    assert sorted(generated) == sorted(item.id for item in prepared.corpus())


def test_a_family_the_target_cannot_send_is_found_in_the_prepared_corpus(
    tmp_path: Path,
) -> None:
    text = VALID.replace("unicode.*: 1", "tabular.type_confusion: 1")
    with pytest.raises(ScenarioError) as raised:
        prepare(write(tmp_path, text))
    assert "tabular.type_confusion" in str(raised.value)


def test_stress_generate_builds_the_corpus_once(tmp_path: Path, generated: list[str]) -> None:
    out = tmp_path / "corpus.jsonl"
    result = CliRunner().invoke(
        cli, ["generate", str(write(tmp_path)), "--family", "unicode.*", "-n", "7", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = out.read_text(encoding="utf-8").splitlines()
    # Each input written was generated once, no input more (streamed, never listed twice).
    assert sorted(generated) == sorted(json.loads(line)["id"] for line in written)
    assert all('"family": "unicode.' in line for line in written)


@pytest.mark.parametrize(("spelling", "named"), [("cli", "--users:"), ("api", "users=:")])
def test_one_override_mechanism_names_the_flag_as_its_caller_spells_it(
    tmp_path: Path, spelling: Any, named: str
) -> None:
    with pytest.raises(UsageError) as raised:
        prepare(write(tmp_path), Overrides(users=0, spelling=spelling))
    assert str(raised.value) == f"{named} expected a positive integer, got 0"


def test_key_paths_then_flags_from_a_file_a_mapping_or_a_scenario(tmp_path: Path) -> None:
    changes = Overrides(keys={"load.phases[0].users": 2}, users=9, seed=4)
    data = yaml.safe_load(VALID)
    for given in (write(tmp_path), data, from_dict(data)):
        scenario = prepare(given, changes).scenario
        assert [phase.users for phase in scenario.load.phases] == [2, 9]
        assert scenario.inputs.seed == 4


# The scenario package's sections, each importing only those before it.
SECTIONS = ["values", "messages", "target", "inputs", "load", "checks", "model", "loading"]
SECTIONS += ["overrides"]


def test_the_scenario_package_imports_only_down_and_nothing_of_the_catalog() -> None:
    root = Path(__file__).resolve().parents[2] / "stress" / "scenario"
    for index, name in enumerate(SECTIONS):
        tree = ast.parse((root / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("stress.scenario.")
        }
        assert imported <= set(SECTIONS[:index]), (name, imported - set(SECTIONS[:index]))
    probe = "import sys, stress.scenario; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    above = ("stress.inputs", "stress.checks", "stress.targets", "stress.openapi", "stress.prepare")
    assert [module for module in loaded if module.startswith(above)] == []


def test_the_prepared_trace_timing_is_the_load_process_timing_from_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stress.load import shapes, trace
    from stress.logs import seeds
    from stress.scenario import from_path
    from tests.unit.load.test_replay_log import write as write_replay

    reads: list[str] = []
    read_log = seeds.read_log

    def counted(path: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(path)
        return read_log(path, *args, **kwargs)

    monkeypatch.setattr(seeds, "read_log", counted)
    # A logged trace with max: 6 of 10 entries, sampled with an overridden seed.
    prepared = prepare(write_replay(tmp_path, max=6), Overrides(seed=8))
    timing = prepared.timing
    assert len(reads) == 1
    assert len(timing.entries["replay"]) == 6
    # The phase lasts as long as the trace this seed's sample makes.
    replay = prepared.scenario.load.phases[1]
    assert replay.duration == shapes.trace_length(timing.traces["replay"])
    # The load process reads the resolved scenario.yaml and the log again: the same timing.
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(prepared.scenario.to_yaml(), encoding="utf-8")
    again = trace.timing(from_path(resolved))
    assert (again.traces, again.entries) == (timing.traces, timing.entries)
    assert len(reads) == 2
