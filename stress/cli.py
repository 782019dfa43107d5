"""The ``stress`` command line: the only place that parses flags, prints and exits.

Exit codes: 0 every check and SLO passed; 1 a check or SLO failed (or a replayed failure still
fails); 2 the scenario or the command line is wrong; 3 the target could not be reached before
the load began; 4 a bug in stress (the traceback is saved), or the load process was killed
under the run (the signal named; the report of what was recorded is written); 130 interrupted
(Ctrl-C, SIGINT), 143 terminated (SIGTERM): the load stopped and the report was written from
what was recorded. All decided in stress/exitcode.py.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from stress import __version__, cli_inputs, cli_repro, invocation
from stress.cli_help import EXAMPLES, GroupedHelp
from stress.errors import StressError
from stress.exitcode import BUG as BUG  # tests
from stress.exitcode import error_exit_code, run_exit_code
from stress.lifeline import sigterm_interrupts
from stress.rundir import layout
from stress.rundir.write import write_text
from stress.terminal import err, stdout

if TYPE_CHECKING:
    from stress.runner import Workers


@click.group(
    cls=GroupedHelp,
    epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="stress")
def cli() -> None:
    """Synthetic load and messy-input stress tester for model endpoints."""


# The commands that send no load live in stress.cli_inputs (their bodies import their
# consoles from here when they run).
for _command in (cli_inputs.families, cli_inputs.generate, cli_inputs.checks, cli_inputs.init):
    cli.add_command(_command)
# The commands on a run's stored failures live in stress.cli_repro.
for _command in (cli_repro.replay, cli_repro.repro, cli_repro.shrink, cli_repro.prune):
    cli.add_command(_command)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", help="Base URL to load instead of the scenario's target.url.")
@click.option("--duration", help="Duration of the last (load) phase, e.g. 30s or 2m.")
@click.option("--users", type=int, help="Users in the last (load) phase.")
@click.option("--seed", type=int, help="Seed of the input corpus.")
@click.option("--count", type=int, help="Number of inputs in the corpus.")
@click.option("--rate", type=float, help="Requests/s of the last phase (an open-loop phase).")
@click.option(
    "--regressions",
    type=click.Path(file_okay=False),
    help="Folder of regression cases: replayed before the load, new failures saved into it.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder that receives the run directory.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=0,
    show_default=True,
    help="Locust worker processes to start on this machine (0: one load process).",
)
@click.option(
    "--expect-workers",
    type=click.IntRange(1, 1024),
    help="Workers to wait for in all, counting --workers; the others join with "
    "`stress worker --master HOST:PORT`.",
)
@click.option(
    "--master-bind",
    help="HOST:PORT the master listens on for workers (default 127.0.0.1 on a free port; "
    "0.0.0.0:5557 when remote workers are expected).",
)
@click.option(
    "--join-timeout",
    default="60s",
    show_default=True,
    help="How long to wait for the expected workers to join.",
)
@click.option(
    "--metrics-port",
    help="Serve the run's figures for Prometheus (OpenMetrics) on PORT (127.0.0.1) or "
    "HOST:PORT while it runs (docs/prometheus.md).",
)
def run(
    scenario: Path,
    out: Path,
    workers: int,
    expect_workers: int | None,
    master_bind: str | None,
    join_timeout: str,
    metrics_port: str | None = None,
    **overrides: Any,
) -> None:
    """Run SCENARIO and write a run directory; prints its path last."""
    from stress.console import RunConsole, print_summary
    from stress.exporter import serving
    from stress.prepare import prepare
    from stress.runner import run as run_scenario
    from stress.scenario import Overrides

    fleet = _workers(workers, expect_workers, master_bind, join_timeout)
    prepared = prepare(scenario, Overrides(**overrides))
    console = RunConsole(err, live=True)
    try:
        with serving(metrics_port, console, err.print) as on_event:
            result = run_scenario(prepared, out=out, on_event=on_event, workers=fleet)
    except Exception as exc:
        # main() saves the traceback of a bug in stress into the run directory, if any.
        if console.run_dir:
            exc.add_note(f"{_RUN_DIR_NOTE}{console.run_dir}")
        raise
    finally:
        console.close()  # the live view, before any other output
    print_summary(err, result.summary, str(result.run_dir))
    from stress.console import print_failure_commands, print_regressions
    from stress.rundir.read import iter_failures

    print_failure_commands(err, str(result.run_dir), list(iter_failures(result.run_dir)))
    print_regressions(err, result.regressions, str(result.run_dir))
    stdout.print(str(result.run_dir))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES without running them."""
    from stress.errors import ScenarioError
    from stress.prepare import prepare

    problems: list[str] = []
    for path in files:
        try:
            scenario = prepare(path).scenario
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        stdout.print(
            f"{path}: ok ({len(scenario.load.phases)} phases, "
            f"{scenario.total_duration:g}s, {scenario.inputs.count} inputs)"
        )
    if problems:
        raise ScenarioError(problems)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Rebuild summary.json, summary.md, report.html and junit.xml from RUN_DIR."""
    from stress.console import print_summary
    from stress.report import write_reports

    summary = write_reports(run_dir)
    print_summary(err, summary, str(run_dir))
    stdout.print(str(layout.report(run_dir)))
    sys.exit(run_exit_code(bool(summary.get("passed"))))


_ALLOW_DIFFERENT = "Judge runs of another load shape, seed or corpus (else exit 5, naming them)."


@cli.command()
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for compare.json, compare.html and compare.md (default: NEW).",
)
@click.option("--latency-threshold", default="25%", show_default=True, help="p95 increase.")
@click.option("--latency-floor-ms", type=float, default=10.0, show_default=True)
@click.option("--error-threshold", default="1%", show_default=True, help="Error-rate increase.")
@click.option("--drift-threshold", default="5%", show_default=True, help="Changed answers.")
@click.option("--psi-threshold", type=float, default=0.2, show_default=True)
@click.option("--max-new-failures", type=click.IntRange(0), default=0, show_default=True)
@click.option("--min-requests", type=click.IntRange(1), default=20, show_default=True)
@click.option("--allow-different-runs", "allow_different", is_flag=True, help=_ALLOW_DIFFERENT)
def compare(
    base: Path,
    new: Path,
    out: Path | None,
    latency_threshold: str,
    latency_floor_ms: float,
    error_threshold: str,
    drift_threshold: str,
    psi_threshold: float,
    max_new_failures: int,
    min_requests: int,
    allow_different: bool,
) -> None:
    """Compare NEW with BASE; exit 1 on a regression, 5 when their load, seed or corpus differ."""
    from stress.report.compare import check_distinct_outputs, compare_runs
    from stress.report.comparison_page import write_comparison
    from stress.report.pair import Thresholds

    limits = Thresholds(
        latency=_fraction("--latency-threshold", latency_threshold, upper=None),
        latency_floor_ms=latency_floor_ms,
        error_rate=_fraction("--error-threshold", error_threshold),
        drift=_fraction("--drift-threshold", drift_threshold),
        psi=psi_threshold,
        new_failures=max_new_failures,
        min_requests=min_requests,
    )
    target = out if out is not None else new
    check_distinct_outputs(base, new, target)
    document = compare_runs(base, new, limits, allow_different=allow_different)
    paths = write_comparison(document, target)
    style = "red" if document["regressed"] else "green"
    err.print(f"[bold {style}]{escape(document['message'])}[/]")
    for reason in document["reasons"]:
        err.print(f"  - {escape(reason)}")
    stdout.print(str(paths["html"]))
    sys.exit(1 if document["regressed"] else 0)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write history.html (default: DIRECTORY/history.html).",
)
@click.option("--scenario", help="Only runs of this scenario.")
@click.option("--last", type=click.IntRange(1), help="Only the last N runs.")
def history(directory: Path, out: Path | None, scenario: str | None, last: int | None) -> None:
    """Trend charts across the run directories under DIRECTORY (nightly runs)."""
    from stress.report.history import build_history, write_history

    document = build_history(directory, scenario=scenario, last=last)
    paths = write_history(document, out if out is not None else layout.history_html(directory))
    runs = document["runs"]
    failed = sum(1 for run in runs if not run["passed"])
    err.print(f"{len(runs)} runs, {failed} failed")
    for note in document["notes"]:
        err.print(f"note: {escape(note)}")
    stdout.print(str(paths["html"]))
    sys.exit(0)


def _fraction(option: str, value: str, *, upper: float | None = 1.0) -> float:
    """A share such as 5% or 0.05, for a threshold option; UsageError names the option."""
    from stress.errors import UsageError

    raw = value.strip()
    try:
        number = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"{option}: expected a share like 5% or 0.05, got {value!r}") from None
    if not number >= 0 or (upper is not None and number > upper):
        bound = f" and at most {upper * 100:g}%" if upper is not None else ""
        raise UsageError(f"{option}: expected a share of at least 0{bound}, got {value!r}")
    return number


@cli.command("demo-server")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--slots", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--token-ms", type=click.FloatRange(0), default=1.0, show_default=True)
@click.option("--no-quirks", is_flag=True, help="Fix the demo server's deliberate bugs.")
def demo_server(port: int, host: str, slots: int, token_ms: float, no_quirks: bool) -> None:
    """Serve the bundled demo models (OpenAI chat and MLflow /invocations)."""
    from stress.demo.server import serve

    err.print(f"demo model server on http://{host}:{port} (Ctrl-C stops it)")
    serve(host=host, port=port, slots=slots, token_ms=token_ms, quirks=not no_quirks)


@cli.command()
@click.option("--duration", help="Duration of the load phase, e.g. 10s (default: the demo's 45s).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder that receives the run directory.",
)
@click.pass_context
def demo(ctx: click.Context, duration: str | None, out: Path) -> None:
    """Run the packaged demo scenario against the bundled demo model server.

    The server has deliberate bugs, so the verdict is FAILED (exit 1) by design.
    """
    from importlib import resources

    scenario = resources.files("stress.examples").joinpath("demo.yaml")
    with resources.as_file(scenario) as path:
        ctx.invoke(run, scenario=path, out=out, duration=duration)


def _workers(local: int, expect: int | None, bind: str | None, join_timeout: str) -> Workers:
    """The --workers, --expect-workers, --master-bind and --join-timeout flags, checked."""
    from stress.errors import UsageError
    from stress.runner import Workers
    from stress.scenario import parse_duration

    if expect is not None and expect < local:
        raise UsageError(
            f"--expect-workers: {expect} is fewer than --workers {local}; it counts every "
            f"worker, local ones included: pass at least {local}"
        )
    if bind is not None:
        _host_port("--master-bind", bind)
        if not local and expect is None:
            raise UsageError(
                "--master-bind: applies only with workers; add --workers N or --expect-workers N"
            )
    try:
        timeout = parse_duration(join_timeout)
    except ValueError as exc:
        raise UsageError(f"--join-timeout: {exc}") from None
    return Workers(local=local, expect=expect, bind=bind, join_timeout=timeout)


def _host_port(flag: str, value: str) -> tuple[str, int]:
    from stress.errors import UsageError

    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{flag}: expected HOST:PORT such as 10.0.0.5:5557, got {value!r}")
    return host, int(port)


@cli.command()
@click.option("--master", required=True, help="HOST:PORT of the `stress run` master.")
@click.option("--target", help="Base URL to load instead of the one the master sends.")
def worker(master: str, target: str | None) -> None:
    """Join a `stress run --expect-workers N` on another machine as a Locust worker.

    The master sends the scenario and the corpus; this process sends requests and returns
    the records. It runs until the master's run ends.
    """
    import subprocess

    from stress.errors import UsageError
    from stress.scenario import Target

    _host_port("--master", master)
    if target is not None:
        try:
            Target(url=target, protocol="openai-chat")  # type: ignore[arg-type]
        except ValueError:
            raise UsageError(f"--target: expected http://host:port, got {target!r}") from None
    command = [sys.executable, "-m", "stress.load", "--worker", master]
    if target is not None:
        command += ["--target", target]
    err.print(f"joining the master at {master} (Ctrl-C leaves)")
    # Locust monkey-patches the process that imports it: the worker runs in a child.
    sys.exit(subprocess.call(command))


@cli.command()
@click.option("--duration", default="5s", show_default=True, help="Length of each run.")
@click.option("--users", type=click.IntRange(1, 10000), default=64, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Worker processes for the second run (default: one per CPU).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the three run directories here (default: discarded).",
)
def bench(duration: str, users: int, workers: int | None, out: Path | None) -> None:
    """Measure this machine's ceiling as a load generator against a built-in no-op target."""
    from stress.bench import bench as measure
    from stress.console import print_bench
    from stress.errors import UsageError
    from stress.scenario import parse_duration

    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    results = measure(
        duration=seconds,
        users=users,
        workers=workers,
        out=out,
        on_run=lambda name: err.print(f"bench: {name} for {seconds:g}s ..."),
    )
    print_bench(stdout, results)


_RUN_DIR_NOTE = "stress run directory: "


def _save_bug(args: list[str], error: BaseException) -> Path:
    """Write the traceback of an internal error where the user can find it: the run directory
    the failing run had made, or one named on the command line, else a temporary folder."""
    notes = [n for n in getattr(error, "__notes__", []) if n.startswith(_RUN_DIR_NOTE)]
    made = Path(notes[0][len(_RUN_DIR_NOTE) :]) if notes else None
    named = next((Path(a) for a in args if layout.scenario(Path(a)).is_file()), None)
    run_dir = made if made is not None and made.is_dir() else named
    folder = run_dir if run_dir is not None else Path(tempfile.mkdtemp(prefix="stress-bug-"))
    path = layout.crash(folder)
    write_text(path, traceback.format_exc())
    return path


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with sigterm_interrupts():
            # model-stress's usage lines and completion variable (_MODEL_STRESS_COMPLETE)
            # name model-stress.
            cli.main(args=args, prog_name=invocation.name(), standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(error_exit_code(exc))
    except click.ClickException as exc:
        exc.show()
        sys.exit(error_exit_code(exc))
    except (click.Abort, KeyboardInterrupt) as exc:
        # click turns a KeyboardInterrupt (Ctrl-C, or SIGTERM as Terminated) into Abort.
        err.print("interrupted")
        sys.exit(error_exit_code(exc))
    except StressError as exc:
        for line in str(exc).splitlines():
            err.print(f"error: {line}", markup=False)
        sys.exit(error_exit_code(exc))
    except Exception as error:
        path = _save_bug(args, error)
        err.print(
            f"internal error: this is a bug in stress, please report it with {path}", markup=False
        )
        sys.exit(error_exit_code(error))


if __name__ == "__main__":
    main()
