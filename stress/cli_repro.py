"""The commands that work on a run's stored failures: ``stress replay``, ``stress repro``,
``stress shrink`` and ``stress prune``. stress.cli registers them; they print through
stress.terminal's consoles, exit with their verdict (``sys.exit``) and raise StressError for
stress.cli to turn into an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stress.rundir import layout
from stress.terminal import err


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--failed", "failed", is_flag=True, help="Replay every stored failure (default).")
@click.option("--id", "input_id", help="Replay only the failure of this input id.")
@click.option("--target", help="Base URL to replay against instead of the run's target.")
@click.option("--shrunk", is_flag=True, help="Replay the minimal case `stress shrink` wrote.")
def replay(
    run_dir: Path, failed: bool, input_id: str | None, target: str | None, shrunk: bool
) -> None:
    """Re-send the failures stored in RUN_DIR byte-exact; exit 1 if any still fails."""
    from stress.console import print_replay
    from stress.errors import UsageError
    from stress.repro.replay import replay as replay_failures

    if failed and input_id:
        raise UsageError("--failed and --id contradict each other; pass one of them")
    if shrunk and not input_id:
        raise UsageError("--shrunk needs --id: shrunk cases are kept one per input id")
    rows = replay_failures(run_dir, input_id=input_id, target=target, shrunk=shrunk)
    if not rows:
        err.print(f"{run_dir}: no stored failures to replay")
        sys.exit(0)
    print_replay(err, rows)
    still = sum(row["still_fails"] for row in rows)
    err.print(f"{still} of {len(rows)} still fail")
    sys.exit(1 if still else 0)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--id", "input_id", required=True, help="Input id of the stored failure.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["curl", "python", "pytest"]),
    default="curl",
    show_default=True,
    help="curl command, standalone Python script, or pytest test.",
)
@click.option("--target", help="Base URL the reproducer sends to (default: the run's URL).")
@click.option("--shrunk", is_flag=True, help="Export the minimal case `stress shrink` wrote.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def repro(
    run_dir: Path,
    input_id: str,
    fmt: str,
    target: str | None,
    shrunk: bool,
    output: Path | None,
) -> None:
    """Export a stored failure of RUN_DIR as a curl command, Python script or pytest test."""
    from stress.repro.cases import find_case
    from stress.repro.export import Format, render, reproducer
    from stress.scenario import from_path

    case = find_case(run_dir, input_id, shrunk=shrunk)
    scenario = from_path(layout.scenario(run_dir))
    text = render(reproducer(case, scenario, run_dir, target=target), Format(fmt))
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    if fmt == "curl":
        output.chmod(0o755)
    err.print(f"wrote {output}", markup=False)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--id", "input_id", required=True, help="Input id of the stored failure.")
@click.option("--target", help="Base URL to shrink against instead of the run's target.")
@click.option(
    "--tries",
    type=click.IntRange(1, 20),
    default=3,
    show_default=True,
    help="Sends per candidate; a candidate is kept only if every one fails the same way.",
)
@click.option(
    "--max-requests",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="Stop after this many requests.",
)
@click.option(
    "--max-time", default="5m", show_default=True, help="Stop after this long, e.g. 90s or 5m."
)
def shrink(
    run_dir: Path,
    input_id: str,
    target: str | None,
    tries: int,
    max_requests: int,
    max_time: str,
) -> None:
    """Minimise a stored failure of RUN_DIR against the live endpoint; exit 1 if it is flaky
    or does not fail any more."""
    from stress.console import print_shrink
    from stress.errors import UsageError
    from stress.repro.cases import body_of, find_case
    from stress.repro.export import Format, render, reproducer
    from stress.repro.shrink import Limits
    from stress.repro.shrink import shrink as shrink_case
    from stress.scenario import from_path, parse_duration

    try:
        seconds = parse_duration(max_time)
    except ValueError as exc:
        raise UsageError(f"--max-time: {exc}") from None
    limits = Limits(tries=tries, confirm=tries + 2, max_requests=max_requests, max_seconds=seconds)
    err.print(
        f"shrinking {input_id}: each candidate sent up to {tries} times, at most "
        f"{max_requests} requests and {max_time}",
        markup=False,
    )
    case = shrink_case(run_dir, input_id, target=target, limits=limits)
    curl_text = None
    if case["shrink"]["status"] == "shrunk":
        scenario = from_path(layout.scenario(run_dir))
        curl_text = render(reproducer(case, scenario, run_dir, target=target), Format.CURL)
    original = body_of(find_case(run_dir, input_id)["request"])
    shrunk = body_of(case["request"])
    print_shrink(err, case, str(run_dir), curl_text, original=original, shrunk=shrunk)
    if curl_text is not None:
        sys.stdout.write(curl_text)
    sys.exit(0 if case["shrink"]["status"] == "shrunk" else 1)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="List the cases that would be deleted.")
def prune(run_dir: Path, dry_run: bool) -> None:
    """Delete from the regression corpus the cases RUN_DIR found fixed."""
    from stress.repro.regressions import prune as prune_fixed

    removed = prune_fixed(run_dir, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for path in removed:
        err.print(f"{verb} {path}", markup=False)
    err.print(f"{len(removed)} fixed regression case(s) {verb}", markup=False)
