"""Bad input to the tool, table-driven: broken scenarios, missing and unreadable files, broken
run directories for every command that reads one, wrong command lines. Each is exit 2 with a
message that names the problem and the fix, and never a traceback. Nothing here sends a
request: every case fails before a target is contacted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from stress.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8")


def make_files(base: Path) -> None:
    """The broken things the table refers to, by name, under ``base``."""
    (base / "ok.yaml").write_text(DEMO, encoding="utf-8")
    (base / "syntax.yaml").write_text("name: x\nload: [1\n", encoding="utf-8")
    (base / "list.yaml").write_text("- name: x\n", encoding="utf-8")
    (base / "unknown.yaml").write_text(DEMO.replace("\nload:", "\nlood:"), encoding="utf-8")
    (base / "types.yaml").write_text(DEMO.replace("users: 24", "users: many"), encoding="utf-8")
    (base / "negative.yaml").write_text(DEMO.replace("users: 24", "users: -3"), encoding="utf-8")
    (base / "env.yaml").write_text(
        DEMO.replace(
            "  protocol: openai-chat",
            '  protocol: openai-chat\n  headers: {Authorization: "Bearer ${STRESS_UNSET_X9}"}',
        ),
        encoding="utf-8",
    )
    (base / "binary.yaml").write_bytes(b"name: \xff\xfe\x00x\n")
    (base / "a-directory.yaml").mkdir()
    (base / "empty").mkdir()
    # A run directory whose scenario.yaml is damaged.
    (base / "badscenario").mkdir()
    (base / "badscenario" / "scenario.yaml").write_text("name: [\n", encoding="utf-8")
    # A run directory with a damaged records part (and a damaged run.json).
    damaged = base / "damaged"
    (damaged / "records").mkdir(parents=True)
    (damaged / "scenario.yaml").write_text(DEMO, encoding="utf-8")
    (damaged / "run.json").write_text("{not json", encoding="utf-8")
    (damaged / "records" / "w0-000001.parquet").write_bytes(b"not parquet at all")


SCENARIO_FIX = "fix the syntax"
RUN_DIR_FIX = "pass the directory that `stress run` created"
HELP = "--help"

CASES = [
    # (arguments, the problem, the fix), all exit 2
    (["run", "syntax.yaml"], "syntax.yaml: not valid YAML (line 3", SCENARIO_FIX),
    (["validate", "syntax.yaml"], "not valid YAML", SCENARIO_FIX),
    (["run", "list.yaml"], "(top level): expected a mapping", "with name, target, inputs and load"),
    (["run", "unknown.yaml"], "lood: unknown key 'lood'", "did you mean 'load'?"),
    (["run", "types.yaml"], "load.phases[1].users: expected an integer, got 'many'", "(line"),
    (["run", "negative.yaml"], "load.phases[1].users: expected a positive integer", "got -3"),
    (["run", "env.yaml"], "environment variable STRESS_UNSET_X9 is not set", "export it"),
    (["run", "missing.yaml"], "missing.yaml: file not found", "check the path"),
    (["validate", "a-directory.yaml"], "is a directory", "pass a scenario .yaml file"),
    (["run", "a-directory.yaml"], "is a directory", HELP),
    (["run", "binary.yaml"], "binary.yaml: not UTF-8 text", "save it as UTF-8"),
    (["generate", "syntax.yaml"], "not valid YAML", SCENARIO_FIX),
    (["report", "nowhere"], "nowhere: no such run directory", "pass a directory"),
    (["report", "empty"], "empty/scenario.yaml: missing", RUN_DIR_FIX),
    (["report", "ok.yaml"], "is a file, not a run directory", "pass the directory"),
    (["report", "badscenario"], "badscenario/scenario.yaml: not valid YAML", SCENARIO_FIX),
    (["report", "damaged"], "w0-000001.parquet: cannot read the records", "move it out of"),
    (["replay", "empty"], "empty/scenario.yaml: missing", RUN_DIR_FIX),
    (["replay", "nowhere", "--id", "x-1"], "nowhere: no such run directory", "pass a directory"),
    (["replay", "damaged", "--failed", "--id", "x-1"], "contradict each other", "pass one"),
    (["repro", "empty", "--id", "x-1"], "empty/scenario.yaml: missing", RUN_DIR_FIX),
    (["repro", "damaged", "--id", "x-1"], "no stored failure of damaged", "pick one from"),
    (["repro", "damaged", "--id", "../../etc"], "is not a case id", "ids look like"),
    (["repro", "damaged"], "Missing option '--id'", HELP),
    (["shrink", "empty", "--id", "x-1"], "empty/scenario.yaml: missing", RUN_DIR_FIX),
    (["shrink", "damaged", "--id", "x-1", "--max-time", "soon"], "--max-time", "like 30s"),
    (["compare", "nowhere", "damaged"], "nowhere: no such run directory", "pass a directory"),
    (["compare", "damaged", "damaged"], "cannot read the records", "move it out of"),
    (["compare", "empty", "damaged", "--error-threshold", "lots"], "--error-threshold", "5%"),
    (["history", "nowhere"], "nowhere: no such directory", "pass the folder"),
    (["history", "empty"], "no run directories found", "pass the folder"),
    (["prune", "damaged"], "regressions.jsonl: missing", "nothing to prune"),
    (["run", "ok.yaml", "--bogus"], "No such option '--bogus'", HELP),
    (["run", "ok.yaml", "--duration", "forever"], "--duration: expected a duration", "like 30s"),
    (["run", "ok.yaml", "--duration", "0s"], "--duration: expected a positive duration", "30s"),
    (["run", "ok.yaml", "--seed", "abc"], "'abc' is not a valid integer", HELP),
    (["run", "ok.yaml", "--seed", "-1"], "--seed: expected a non-negative integer", "got -1"),
    (["run", "ok.yaml", "--users", "0"], "--users: expected a positive integer", "got 0"),
    (["run", "ok.yaml", "--rate", "5"], "the last phase 'load' is closed-loop", "pass --users"),
    (["run", "ok.yaml", "--target", "nota-url"], "--target: expected http://host:port", "got"),
    (["run"], "Missing argument 'SCENARIO'", HELP),
    (["frobnicate"], "No such command 'frobnicate'", HELP),
]


@pytest.mark.parametrize(
    ("args", "problem", "fix"), CASES, ids=["-".join(case[0])[:60] for case in CASES]
)
def test_bad_input_exits_2_naming_the_problem_and_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    problem: str,
    fix: str,
) -> None:
    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRESS_UNSET_X9", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert exited.value.code == 2, output
    assert problem in output
    assert fix in output
    assert "Traceback" not in output
    assert not (tmp_path / "reports").exists()  # nothing ran
    assert not list(tmp_path.rglob("stress-crash.txt"))


def test_an_unreadable_scenario_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(DEMO, encoding="utf-8")
    path.chmod(0)
    if os.geteuid() == 0:
        # Root reads any file whatever its mode (and CI runs as root): the error a user gets
        # is injected instead, at every way of opening a file, so the test runs everywhere.
        deny_reading(monkeypatch, path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["run", "secret.yaml"])
    err = " ".join(capsys.readouterr().err.split())
    assert exited.value.code == 2
    assert "secret.yaml: cannot read the file (Permission denied)" in err
    assert "check that it exists and that you may read it" in err


def test_a_damaged_run_json_alone_still_gives_a_report_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A report on a broken run is when a report is needed: run.json is optional evidence.
    make_files(tmp_path)
    shutil.rmtree(tmp_path / "damaged" / "records")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["report", "damaged"])
    assert exited.value.code == 1  # no requests recorded: FAILED, not a usage error
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    summary = (tmp_path / "damaged" / "summary.json").read_text()
    assert "damaged/run.json: unreadable" in summary
    assert "INCOMPLETE" in summary


def deny_reading(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """Opening ``denied`` (by any path that resolves to it) raises EACCES, as for a user."""
    import builtins
    import errno
    import io

    real_open = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and Path(file).resolve() == denied.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)
