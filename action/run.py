"""The run step of the stress GitHub Action (action.yml): run a scenario, compare it with an
earlier run directory, write the job summary and the step outputs, and exit with the verdict.

It drives stress through its command line (`python -m stress` of the interpreter that runs
this script) and takes the run directory's file names from stress.rundir.layout, so it runs
the same on a laptop where stress is installed:

    python action/run.py --scenario scenarios/demo.yaml --duration 10s --compare-with previous

On GitHub it appends summary.md (and compare.md) to $GITHUB_STEP_SUMMARY and writes
run-dir, report, junit, passed, regressed and exit-code to $GITHUB_OUTPUT; elsewhere it skips
both. Exit code: 0, or 1 when a failure named by --fail-on happened (`checks`: a check or SLO
of the run failed; `regression`: `stress compare` found one; `never`), or stress's own code
when it could not run (2 bad scenario or flags, 3 target unreachable, 4 a bug, 130/143).
A comparison `stress compare` refuses because the two runs differ in load shape, seed or
corpus (its exit 5) is not an error of the job: the summary says so and what differs, nothing
is compared (regressed stays empty), and the run's own verdict stands; the next run compares
again with this one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

# The run directory's file names, from their one owner (stress is installed beside this script).
from stress.rundir import layout

FAIL_ON = ("checks", "regression", "never")
# `stress compare`'s exit code when BASE and NEW differ in load shape, seed or corpus
# (stress.report.pair.IncomparableRuns): no regression verdict between them.
DIFFERENT_RUNS = 5


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    stress = [*args.stress] if args.stress else [sys.executable, "-m", "stress"]
    notes: list[str] = []
    command = [*stress, "run", args.scenario, "--out", args.out, *extra(args)]
    run = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = run.stdout.strip().splitlines()
    run_dir = Path(lines[-1]) if lines and run.returncode in (0, 1) else None
    if run_dir is None or not run_dir.is_dir():
        notes.append(f"`stress run` exited {run.returncode} without a run directory (see the log)")
        finish(None, notes, passed=None, regressed=None, code=run.returncode or 4)
        return run.returncode or 4
    regressed = None
    code = 0
    if args.compare_with:
        regressed, error = compare(stress, Path(args.compare_with), run_dir, notes)
        code = error
    passed = run.returncode == 0
    fail_on = set(args.fail_on)
    failed = ("checks" in fail_on and not passed) or ("regression" in fail_on and bool(regressed))
    code = code or (1 if failed else 0)
    finish(run_dir, notes, passed=passed, regressed=regressed, code=code)
    return code


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True, help="The scenario file to run.")
    parser.add_argument("--target", default="", help="Base URL instead of the scenario's.")
    parser.add_argument("--duration", default="", help="Duration of the last phase, e.g. 30s.")
    parser.add_argument("--out", default="reports", help="Folder of the run directory.")
    parser.add_argument(
        "--compare-with",
        default="",
        help="An earlier run directory (a downloaded artifact); missing: nothing compared.",
    )
    parser.add_argument(
        "--fail-on",
        default="checks,regression",
        type=fail_on_list,
        help="Comma-separated: checks, regression; or never. Default: checks,regression.",
    )
    parser.add_argument(
        "--stress", nargs="+", help="The stress command (default: this python -m stress)."
    )
    return parser.parse_args(argv)


def fail_on_list(value: str) -> list[str]:
    words = [word.strip() for word in value.split(",") if word.strip()]
    wrong = [word for word in words if word not in FAIL_ON]
    if wrong or not words:
        raise argparse.ArgumentTypeError(
            f"fail-on: expected checks, regression or both (comma-separated), or never; "
            f"got {value!r}"
        )
    if "never" in words and len(words) > 1:
        raise argparse.ArgumentTypeError(f"fail-on: never excludes the others; got {value!r}")
    return words


def extra(args: argparse.Namespace) -> list[str]:
    flags = []
    if args.target:
        flags += ["--target", args.target]
    if args.duration:
        flags += ["--duration", args.duration]
    return flags


def compare(
    stress: list[str], base: Path, run_dir: Path, notes: list[str]
) -> tuple[bool | None, int]:
    """`stress compare BASE RUN_DIR`, then `stress report RUN_DIR` so the report shows it.
    Returns (regressed, an error exit code or 0); no BASE is a note, not a failure."""
    if not layout.scenario(base).is_file():
        notes.append(f"no earlier run at `{base}` (the first run?): nothing compared")
        return None, 0
    result = subprocess.run(
        [*stress, "compare", str(base), str(run_dir)],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    sys.stderr.write(result.stderr or "")  # the log keeps what compare said
    if result.returncode == DIFFERENT_RUNS:
        notes.append(different_runs(base, result.stderr or ""))
        return None, 0
    if result.returncode not in (0, 1):
        notes.append(f"`stress compare` exited {result.returncode} (see the log)")
        return None, result.returncode
    subprocess.run([*stress, "report", str(run_dir)], stdout=subprocess.DEVNULL, check=False)
    return result.returncode == 1, 0


def different_runs(base: Path, said: str) -> str:
    """The summary's note on a comparison refused because the runs differ."""
    lines = [line.strip() for line in said.strip().splitlines() if line.strip()]
    why = " ".join(lines) or "their load shape, seed or corpus differ"
    return (
        f"not compared with `{base}`: the two runs differ, so a regression verdict would "
        f"measure the change of setup, not of the endpoint ({why}). Nothing was compared and "
        f"this run's own verdict stands; the next run compares with this one. To compare "
        f"anyway: `stress compare --allow-different-runs {base} RUN_DIR`"
    )


def finish(
    run_dir: Path | None,
    notes: list[str],
    *,
    passed: bool | None,
    regressed: bool | None,
    code: int,
) -> None:
    """The job summary and the step outputs, where GitHub asks for them."""
    parts = [f"> {note}\n" for note in notes]
    if run_dir is not None:
        for path in (layout.summary_md(run_dir), layout.compare_md(run_dir)):
            if path.is_file():
                parts.append(path.read_text(encoding="utf-8"))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write("\n".join(parts) + "\n")
    for note in notes:
        sys.stderr.write(f"stress action: {note}\n")
    outputs = {
        "run-dir": "" if run_dir is None else str(run_dir),
        "report": "" if run_dir is None else str(layout.report(run_dir)),
        "junit": "" if run_dir is None else str(layout.junit(run_dir)),
        "passed": "" if passed is None else str(passed).lower(),
        "regressed": "" if regressed is None else str(regressed).lower(),
        "exit-code": str(code),
    }
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(f"{key}={value}\n" for key, value in outputs.items())


if __name__ == "__main__":
    sys.exit(main())
