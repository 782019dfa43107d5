"""`stress report`, `compare` and `history` driven in-process: files and exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.synthetic import T0, write_synthetic_run
from stress.cli import main
from stress.report.history import build_history


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code or 0)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three nightly runs of one scenario; the third answers differently and is slower."""
    root = tmp_path_factory.mktemp("nightly")
    day = 86_400.0
    write_synthetic_run(root / "night-1", requests=6000, seed=1, started=T0)
    write_synthetic_run(root / "night-2", requests=6000, seed=2, started=T0 + day)
    write_synthetic_run(
        root / "night-3",
        requests=6000,
        seed=3,
        started=T0 + 2 * day,
        slowdown=2.0,
        changed_answers=0.5,
    )
    return root


def test_report_rebuilds_every_file(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["report", str(run_dir)]) == 1  # the standard run fails its p95 SLO
    for name in ("summary.json", "summary.md", "report.html", "junit.xml"):
        assert (run_dir / name).stat().st_size > 0
    assert capsys.readouterr().out.strip() == str(run_dir / "report.html")


def test_compare_exits_1_on_regression_and_0_when_quiet(nights: Path, tmp_path: Path) -> None:
    night1, night2, night3 = (str(nights / f"night-{n}") for n in (1, 2, 3))
    assert run_cli(["compare", night1, night2, "--out", str(tmp_path / "quiet")]) == 0
    quiet = json.loads((tmp_path / "quiet" / "compare.json").read_text(encoding="utf-8"))
    assert quiet["regressed"] is False
    assert run_cli(["compare", night2, night3, "--out", str(tmp_path / "loud")]) == 1
    loud = json.loads((tmp_path / "loud" / "compare.json").read_text(encoding="utf-8"))
    assert loud["totals"]["latency_regressed"]
    assert loud["drift"]["regressed"]
    for name in ("compare.html", "compare.md"):
        assert (tmp_path / "loud" / name).stat().st_size > 0
    # Lenient thresholds accept the same change.
    lenient = ["--latency-threshold", "200%", "--drift-threshold", "90%"]
    assert run_cli(["compare", night2, night3, "--out", str(tmp_path / "ok"), *lenient]) == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--drift-threshold", "lots", "--drift-threshold: expected a share like 5% or 0.05"),
        ("--error-threshold", "150%", "--error-threshold: expected a share of at least 0 and"),
        ("--latency-threshold", "-5%", "--latency-threshold: expected a share of at least 0"),
    ],
)
def test_compare_rejects_bad_thresholds(
    nights: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    night = str(nights / "night-1")
    assert run_cli(["compare", night, night, option, value]) == 2
    assert message in capsys.readouterr().err


def test_compare_with_a_missing_run_exits_2(
    nights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["compare", str(nights / "night-1"), str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_history_orders_runs_and_measures_drift(nights: Path) -> None:
    document = build_history(nights)
    runs = document["runs"]
    assert [Path(r["run_dir"]).name for r in runs] == ["night-1", "night-2", "night-3"]
    assert runs[0]["drift"] is None  # nothing before it
    assert runs[1]["drift"] == 0.0
    assert runs[2]["drift"] == pytest.approx(0.5, abs=0.05)
    assert runs[2]["p95_ms"] > 1.8 * runs[1]["p95_ms"]
    assert set(runs[0]["groups"]) == {
        "encoding",
        "injection",
        "messy",
        "perturbation",
        "realistic",
        "size",
        "structure",
        "unicode",
    }
    assert set(runs[0]["phases"]) == {"baseline", "ramp", "load", "soak"}
    assert [Path(r["run_dir"]).name for r in build_history(nights, last=2)["runs"]] == [
        "night-2",
        "night-3",
    ]


def test_history_cli_writes_the_page(nights: Path, tmp_path: Path) -> None:
    out = tmp_path / "trend" / "history.html"
    assert run_cli(["history", str(nights), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for chart_id in ("h-p95", "h-phases", "h-err", "h-groups", "h-drift"):
        assert f'id="{chart_id}"' in page
    assert "<h1>History: 3 runs</h1>" in page
    # Links to each run's report, relative to the page.
    link = os.path.relpath(nights / "night-3" / "report.html", out.parent)
    assert f'href="{link}"' in page
    assert json.loads((tmp_path / "trend" / "history.json").read_text())["runs"][2]["drift"] > 0


def test_history_of_an_empty_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["history", str(tmp_path)]) == 2
    assert "no run directories" in capsys.readouterr().err
