"""Load-engine flags on the command line: contradictions and bad values exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "scenarios/demo.yaml", "--workers", "3", "--expect-workers", "2"],
            "error: --expect-workers: 2 is fewer than --workers 3; it counts every worker, "
            "local ones included: pass at least 3",
        ),
        (
            ["run", "scenarios/demo.yaml", "--workers", "2", "--master-bind", "5557"],
            "error: --master-bind: expected HOST:PORT such as 10.0.0.5:5557, got '5557'",
        ),
        (
            ["run", "scenarios/demo.yaml", "--master-bind", "0.0.0.0:5557"],
            "error: --master-bind: applies only with workers; add --workers N or "
            "--expect-workers N",
        ),
        (
            ["run", "scenarios/demo.yaml", "--workers", "2", "--join-timeout", "soon"],
            "error: --join-timeout: expected a duration like 30s, 2m or 500ms, got 'soon'",
        ),
        (
            ["worker", "--master", "host"],
            "error: --master: expected HOST:PORT such as 10.0.0.5:5557, got 'host'",
        ),
        (
            ["worker", "--master", "h:5557", "--target", "ftp://x"],
            "error: --target: expected http://host:port, got 'ftp://x'",
        ),
        (
            ["bench", "--duration", "-1s"],
            "error: --duration: expected a duration like 30s, 2m or 500ms, got '-1s'",
        ),
        (
            ["run", "scenarios/demo.yaml", "--rate", "50"],
            "error: --rate: the last phase 'load' is closed-loop (users: 24); pass --users instead",
        ),
    ],
)
def test_bad_load_flags_exit_2_naming_the_flag(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert "Traceback" not in err
