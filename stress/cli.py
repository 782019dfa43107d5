"""The ``stress`` command line: the only place that parses flags, prints and exits.

Exit codes: 0 every check and SLO passed; 1 a check or SLO failed (or a replayed failure still
fails); 2 the scenario or the command line is wrong; 3 the target could not be reached before
the load began; 4 a bug in stress (the traceback is saved); 130 interrupted.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from stress import __version__
from stress.errors import StressError

if TYPE_CHECKING:
    from stress.run import Workers

BUG = 4

stdout = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stress")
def cli() -> None:
    """Synthetic load and messy-input stress tester for model endpoints."""


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", help="Base URL to load instead of the scenario's target.url.")
@click.option("--duration", help="Duration of the last (load) phase, e.g. 30s or 2m.")
@click.option("--users", type=int, help="Users in the last (load) phase.")
@click.option("--seed", type=int, help="Seed of the input corpus.")
@click.option("--count", type=int, help="Number of inputs in the corpus.")
@click.option("--rate", type=float, help="Requests/s of the last phase (an open-loop phase).")
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
def run(
    scenario: Path,
    out: Path,
    workers: int,
    expect_workers: int | None,
    master_bind: str | None,
    join_timeout: str,
    **overrides: Any,
) -> None:
    """Run SCENARIO and write a run directory; prints its path last."""
    from stress.console import RunConsole, print_summary
    from stress.run import run as run_scenario

    fleet = _workers(workers, expect_workers, master_bind, join_timeout)
    result = run_scenario(scenario, out=out, on_event=RunConsole(err), workers=fleet, **overrides)
    print_summary(err, result.summary, str(result.run_dir))
    stdout.print(str(result.run_dir))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES without running them."""
    from stress.errors import ScenarioError
    from stress.run import load_scenario

    problems: list[str] = []
    for path in files:
        try:
            scenario = load_scenario(path)
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
@click.option("--failed", "failed", is_flag=True, help="Replay every stored failure (default).")
@click.option("--id", "input_id", help="Replay only the failure of this input id.")
@click.option("--target", help="Base URL to replay against instead of the run's target.")
def replay(run_dir: Path, failed: bool, input_id: str | None, target: str | None) -> None:
    """Re-send the failures stored in RUN_DIR byte-exact; exit 1 if any still fails."""
    from stress.console import print_replay
    from stress.errors import UsageError
    from stress.repro.replay import replay as replay_failures

    if failed and input_id:
        raise UsageError("--failed and --id contradict each other; pass one of them")
    rows = replay_failures(run_dir, input_id=input_id, target=target)
    if not rows:
        err.print(f"{run_dir}: no stored failures to replay")
        sys.exit(0)
    print_replay(err, rows)
    still = sum(row["still_fails"] for row in rows)
    err.print(f"{still} of {len(rows)} still fail")
    sys.exit(1 if still else 0)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Rebuild summary.json, report.html and junit.xml from RUN_DIR."""
    from stress.console import print_summary
    from stress.report import write_reports

    summary = write_reports(run_dir)
    print_summary(err, summary, str(run_dir))
    stdout.print(str(run_dir / "report.html"))
    sys.exit(0 if summary.get("passed") else 1)


@cli.command()
def families() -> None:
    """List the input families with their expectation and protocols."""
    from rich.table import Table

    from stress.inputs.families import catalog

    table = Table()
    for column in ("family", "expect", "protocols", "description"):
        table.add_column(column)
    for family in catalog().values():
        table.add_row(
            family.name, family.expect.value, ", ".join(family.protocols), family.description
        )
    stdout.print(table)


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


def _workers(local: int, expect: int | None, bind: str | None, join_timeout: str) -> Workers:
    """The --workers, --expect-workers, --master-bind and --join-timeout flags, checked."""
    from stress.errors import UsageError
    from stress.run import Workers
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
    from stress.console import print_bench
    from stress.errors import UsageError
    from stress.load.bench import bench as measure
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


def _save_bug(args: list[str]) -> Path:
    """Write the traceback of an internal error where the user can find it."""
    run_dir = next((Path(a) for a in args if (Path(a) / "scenario.yaml").is_file()), None)
    folder = run_dir if run_dir is not None else Path(tempfile.mkdtemp(prefix="stress-bug-"))
    path = folder / "stress-crash.txt"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="stress", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.Abort:
        err.print("aborted")
        sys.exit(130)
    except StressError as exc:
        for line in str(exc).splitlines():
            err.print(f"error: {line}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception:
        path = _save_bug(args)
        err.print(
            f"internal error: this is a bug in stress, please report it with {path}", markup=False
        )
        sys.exit(BUG)


if __name__ == "__main__":
    main()
