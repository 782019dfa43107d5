"""`stress checks` describes every check in whole sentences: the first paragraph of the
check's docstring, never its first line cut where the source wrapped it."""

from __future__ import annotations

import subprocess
import sys

from stress.checks.request import ALL_CHECKS, CHECKS, describe


def test_every_description_is_whole_sentences() -> None:
    rows = describe()
    assert [name for name, _, _ in rows] == list(ALL_CHECKS)
    for name, _, summary in rows:
        assert summary.endswith((".", ".)")), f"{name}: {summary!r} stops mid-sentence"
        assert "``" not in summary
        assert "  " not in summary


def test_a_docstring_wrapped_over_lines_is_given_whole() -> None:
    wrapped = [n for n, f in CHECKS.items() if "\n" in (f.__doc__ or "").strip().split("\n\n")[0]]
    assert wrapped, "no check's first paragraph spans lines: this test guards nothing"
    summaries = {name: summary for name, _, summary in describe()}
    for name in wrapped:
        last_line = (CHECKS[name].__doc__ or "").strip().split("\n\n")[0].splitlines()[-1]
        assert summaries[name].endswith(" ".join(last_line.split()).replace("``", ""))


def test_the_command_prints_the_whole_description() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stress", "checks"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "400", "PATH": "", **_pythonpath()},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no stall longer than target.stall_timeout." in result.stdout
    assert "data: [DONE]" in result.stdout


def _pythonpath() -> dict[str, str]:
    import os

    return {key: os.environ[key] for key in ("PYTHONPATH",) if key in os.environ}
