"""Terminal output: renders run events and results with rich. Only this module and cli.py print."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from stress.invocation import command
from stress.live import LiveView
from stress.load import events as load_events
from stress.rundir import layout


class RunConsole:
    """A sink for run events: one line per phase change, and progress every tick on a terminal
    (every ``quiet_every`` ticks when the output goes to a file or a CI log).

    With ``live`` and a terminal, the load's progress is a live view instead (stress.live:
    progress bar, ETA, figures against the SLO, top failing checks) under the other lines,
    from the first phase until the load is done; ``close`` stops it whatever happened (the
    caller's ``finally``), so an error or Ctrl-C leaves the terminal clean.
    """

    def __init__(self, console: Console, *, quiet_every: int = 5, live: bool = False) -> None:
        self.console = console
        self._every = 1 if console.is_terminal else quiet_every
        self._ticks = 0
        # The run directory once the run has made one: where a crash's traceback belongs.
        self.run_dir: str | None = None
        self.view = LiveView() if live and console.is_terminal else None
        self._live: Live | None = None

    def close(self) -> None:
        """Stop the live view, if it runs (it leaves no trace: the summary follows)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        out = self.console
        if kind in load_events.KINDS:
            self._load(load_events.from_dict(event))
        elif kind == "run_dir":
            self.run_dir = event["path"]
            out.print(f"[bold]run directory[/] {escape(event['path'])}")
        elif kind == "corpus":
            out.print(f"corpus: {event['inputs']} inputs generated in {event['seconds']:.1f}s")
        elif kind == "from_log":
            from stress.logs.report import describe

            out.print(f"log: {escape(describe(event))}")
        elif kind == "target":
            out.print(f"target: {escape(event['url'])} is up")
        elif kind == "target_metrics":
            failed = f", {event['failed']} failed" if event["failed"] else ""
            out.print(
                f"target metrics: {event['scrapes']} scrapes of {escape(event['url'])}{failed}"
            )
        elif kind == "interrupted":
            out.print("[yellow]interrupted: stopping the load and writing the report[/]")
        elif kind == "regressions":
            rows = event["rows"]
            counts = {v: sum(r["verdict"] == v for r in rows) for v in ("still fails", "fixed")}
            out.print(
                f"regressions: {len(rows)} case(s) from {escape(event['dir'])} replayed first: "
                f"[red]{counts['still fails']} still fail[/], "
                f"[green]{counts['fixed']} fixed[/]"
            )
        elif kind == "regressions_saved":
            out.print(f"regressions: {event['added']} new case(s) saved to {escape(event['dir'])}")
        elif kind == "resend":
            out.print(
                f"re-sending up to {event['requests']} requests alone "
                f"(flakiness, degradation under load)"
            )
        elif kind == "groups":
            out.print(
                f"group checks: {event['resent']} re-sent, {event['degraded']} answers degraded "
                f"under load, {event['flips']} flips under perturbation"
            )

    def _load(self, event: load_events.LoadEvent) -> None:
        """An event of the load process (stress.load.events)."""
        out = self.console
        if self.view is not None:
            self.view.update(event)
            if isinstance(event, load_events.Done | load_events.Error):
                self.close()
            elif isinstance(event, load_events.Phase) and self._live is None:
                self._live = Live(
                    self.view,
                    console=out,
                    refresh_per_second=4,
                    transient=True,
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                self._live.start()
            if isinstance(event, load_events.Progress):
                return
        if isinstance(event, load_events.Phase):
            self._ticks = 0
            if event.users is None and event.rate is not None:
                peak = "up to " if event.kind in ("daily", "trace") else ""
                load = (
                    f"{peak}{event.rate:g} requests/s (open loop, at most "
                    f"{event.max_in_flight} in flight)"
                )
            else:
                load = f"{event.users} users"
            what = "" if event.kind == "steady" else f" ({event.kind})"
            out.print(
                f"[bold cyan]phase {escape(event.name)}[/]{what}: {load} "
                f"for {round(event.duration_s or 0.0, 1):g}s"
            )
        elif isinstance(event, load_events.Progress):
            self._ticks += 1
            if self._ticks % self._every:
                return
            p95 = "-" if event.p95_ms is None else f"{event.p95_ms:.0f} ms"
            style = "red" if event.errors else "green"
            offered = "" if event.rate is None else f"  offered {event.rate:>7.1f}"
            late = f"  [yellow]late {event.late}[/]" if event.late else ""
            out.print(
                f"  {escape(event.phase):<10} users {event.users:>4}  "
                f"rps {event.rps:>7.1f}{offered}  p95 {p95:>8}  "
                f"requests {event.requests:>7}  [{style}]errors {event.errors}[/]{late}"
            )
        elif isinstance(event, load_events.Step):
            self._ticks = 0
            rate = event.rate
            load = f"{rate:g} requests/s" if rate is not None else f"{event.users} users"
            out.print(
                f"  [cyan]step {event.step + 1}[/] of {escape(event.phase)}: {load} "
                f"for {round(event.duration_s, 1):g}s"
            )
        elif isinstance(event, load_events.StepResult):
            load = (
                f"{event.offered_rps:g} requests/s"
                if event.offered_rps is not None
                else f"{event.users} users"
            )
            p95 = "-" if event.p95 is None else f"{event.p95:.1f} ms"
            verdict = (
                "[green]held[/]"
                if event.passed
                else f"[red]broke[/] ({escape('; '.join(event.reasons))})"
            )
            out.print(
                f"  step {event.step + 1} at {load}: {verdict}: p95 {p95}, "
                f"{_percent(event.error_rate)} errors, "
                f"{event.achieved_rps:.1f} requests/s achieved"
            )
        elif isinstance(event, load_events.Tester):
            out.print(
                f"[bold yellow]tester overloaded[/]: {escape(event.process)} used "
                f"{event.cpu:.0f}% of a CPU and its timers fired up to {event.lag_ms:.0f} ms "
                f"late; latencies and rates measured now are distorted: add --workers, lower the "
                f"load, or use a bigger machine (`stress bench` measures this one)"
            )
        elif isinstance(event, load_events.Workers):
            remote = event.expect - event.local
            joining = (
                f"; start {remote} more with `stress worker --master <this host>:"
                f"{escape(event.bind.rpartition(':')[2])}`"
                if remote > 0
                else ""
            )
            out.print(
                f"waiting for {event.expect} workers ({event.local} local) on "
                f"{escape(event.bind)}{joining}"
            )
        elif isinstance(event, load_events.Worker):
            out.print(f"worker {event.number} joined ({escape(str(event.host))}, pid {event.pid})")
        elif isinstance(event, load_events.WorkerLost):
            out.print(
                f"[bold red]worker {event.number} lost[/] ({escape(str(event.host))}, "
                f"pid {event.pid}): {escape(event.reason)}; its {event.records} "
                f"records are kept and the run goes on with the other workers"
            )
        elif isinstance(event, load_events.Limit):
            out.print(f"[yellow]stopped early: {escape(event.reason)}[/]")
        elif isinstance(event, load_events.Done):
            out.print(
                f"load done: {event.requests} requests in {event.duration_s:.1f}s, "
                f"{event.errors} failed, {event.failures} failures stored"
            )


def print_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    """The verdict, the per-phase table and the failed checks."""
    table = Table(title="phases", title_justify="left")
    for column in ("phase", "users", "requests", "rps", "error rate", "p50 ms", "p95 ms", "p99 ms"):
        # The phase's name and status ("never (not run)") on one line.
        table.add_column(
            column, justify="right" if column != "phase" else "left", no_wrap=column == "phase"
        )
    for phase in summary.get("phases", []):
        latency = phase.get("latency_ms") or {}
        table.add_row(
            # A phase that did not run to its end says so (report.status): "(not run)".
            escape(str(phase["name"]))
            + (f" ({phase['status']})" if phase.get("status", "ran") != "ran" else ""),
            str(phase.get("users", "")),
            str(phase.get("requests", 0)),
            _number(phase.get("rps")),
            _percent(phase.get("error_rate")),
            _number(latency.get("p50")),
            _number(latency.get("p95")),
            _number(latency.get("p99")),
        )
    console.print(table)
    if summary.get("sweep"):
        print_sweep(console, summary["sweep"])
    tester = summary.get("tester") or {}
    if tester.get("saturated"):
        console.print(f"[bold yellow]WARN[/] {escape(str(tester.get('message')))}")
    for lost in (summary.get("load") or {}).get("lost_workers", []):
        console.print(f"[bold yellow]WARN[/] {escape(str(lost))}")
    coverage = summary.get("coverage") or {}
    if coverage.get("message"):
        style = "[bold yellow]WARN[/] " if (coverage.get("share") or 1.0) < 1.0 else ""
        console.print(f"{style}coverage: {escape(str(coverage['message']))}")
    failed = [check for check in summary.get("checks", []) if not check.get("passed")]
    for check in failed:
        console.print(f"[red]FAIL[/] {escape(check['name'])}: {escape(str(check.get('message')))}")
    warned = [c for c in summary.get("checks", []) if c.get("passed") and c.get("warnings")]
    for check in warned:
        console.print(
            f"[yellow]WARN[/] {escape(check['name'])}: {escape(str(check.get('message')))}"
        )
    if summary.get("incomplete"):
        console.print(f"[bold yellow]{escape(str(summary['incomplete']))}[/]")
    verdict = "[bold green]PASSED[/]" if summary.get("passed") else "[bold red]FAILED[/]"
    console.print(f"{verdict}  report: {escape(run_dir)}/{layout.REPORT}")


def print_sweep(console: Console, sweep: dict[str, Any]) -> None:
    """The sweep's steps and its answer: the most it sustained, and where latency bent."""
    table = Table(title=f"sweep {escape(str(sweep.get('phase')))}", title_justify="left")
    columns = ("step", "offered req/s", "users", "achieved req/s", "goodput", "p50 ms")
    for column in (*columns, "p95 ms", "p99 ms", "error rate", "late", "verdict"):
        table.add_column(column, justify="left" if column == "verdict" else "right")
    for step in sweep.get("steps", []):
        verdict = "[green]held[/]" if step.get("passed") else "[red]broke[/]"
        table.add_row(
            str(step["step"] + 1),
            _number(step.get("offered_rps")),
            "-" if step.get("users") is None else str(step["users"]),
            _number(step.get("achieved_rps")),
            _number(step.get("goodput")),
            _number(step.get("p50")),
            _number(step.get("p95")),
            _number(step.get("p99")),
            _percent(step.get("error_rate")),
            str(step.get("late") or 0),
            verdict,
        )
    console.print(table)
    console.print(escape(str(sweep.get("message", ""))))


def print_bench(console: Console, results: dict[str, Any]) -> None:
    """`stress bench`: the runs side by side and what they mean for this machine."""
    table = Table(title=f"stress bench ({results['cpus']} CPUs)", title_justify="left")
    for column in ("run", "requests/s", "tester CPU %", "p50 ms", "p99 ms", "late"):
        table.add_column(column, justify="left" if column == "run" else "right")
    rows = [("one load process", results["single"])]
    if results.get("workers"):
        rows.append((f"{results['workers']['processes']} workers", results["workers"]))
    for figures in results["open_loop"]:
        rows.append((f"open loop at {figures['requested_rps']:g}/s", figures))
    for name, figures in rows:
        table.add_row(
            name,
            _number(figures.get("rps")),
            _number(figures.get("tester_cpu")),
            _number(figures.get("p50_ms")),
            _number(figures.get("p99_ms")),
            "-" if figures.get("late") is None else str(figures["late"]),
        )
    console.print(table)
    single = results["single"].get("rps") or 0.0
    lines = [f"closed loop: about {single:,.0f} requests/s in one load process"]
    if results.get("workers"):
        lines.append(
            f"{results['workers']['rps'] or 0:,.0f} with {results['workers']['processes']} workers"
        )
    ceiling = results.get("open_loop_ceiling_rps")
    if ceiling:
        lines.append(f"open loop: on time up to at least {ceiling:,.0f} requests/s per process")
    else:
        lines.append("open loop: late already at the lowest rate tried; use --workers")
    console.print(
        "; ".join(lines) + ". Measured against a target that answers at once on this machine "
        "(it shares the CPUs); plan real runs below these figures."
    )


def print_replay(console: Console, rows: Sequence[dict[str, Any]]) -> None:
    table = Table(title="replay", title_justify="left")
    for column in ("input", "check", "before", "now", "verdict"):
        table.add_column(column)
    for row in rows:
        verdict = "[red]still fails[/]" if row["still_fails"] else "[green]fixed[/]"
        table.add_row(
            escape(row["input_id"]),
            escape(row["check"]),
            escape(row["before"]),
            escape(row["now"]),
            verdict,
        )
    console.print(table)


def print_shrink(
    console: Console,
    case: dict[str, Any],
    run_dir: str,
    curl_text: str | None,
    *,
    original: bytes,
    shrunk: bytes,
) -> None:
    """Before and after of `stress shrink`, or why there is no minimal case."""
    info = case["shrink"]
    status = info["status"]
    input_id = case["input_id"]
    if status == "flaky":
        console.print(
            f"[yellow]flaky[/]: {escape(input_id)} failed the same way "
            f"({escape(info['signature'])}) {info['confirmed']} times, so it was not shrunk; "
            f"replay it a few times with "
            f"`{escape(command('replay', run_dir, '--id', input_id))}`"
        )
    elif status == "not_reproduced":
        console.print(
            f"[yellow]does not fail now[/]: {escape(input_id)} did not fail the same way "
            f"({escape(info['signature'])}) in {info['confirmed']} sends; it was fixed, or it "
            f"depends on load or state"
        )
    else:
        table = Table(title=f"shrink {escape(input_id)}", title_justify="left")
        for column in ("", "body bytes", "body"):
            table.add_column(column)
        table.add_row("before", str(len(original)), _preview(original))
        table.add_row("after", str(len(shrunk)), _preview(shrunk))
        console.print(table)
        kept = "kept" if info["still_as_intended"] else "[red]NOT kept[/]"
        violations = ", ".join(info["violations"]["original"]) or "none (a valid input)"
        console.print(
            f"fails the same way: {escape(info['signature'])}; protocol violations {kept}: "
            f"{escape(violations)}"
        )
    for note in info.get("notes", []):
        console.print(f"note: {escape(note)}")
    console.print(
        f"{info['requests']} requests in {info['seconds']:.1f}s"
        + ("" if info.get("complete", True) else " [yellow](stopped at a bound)[/]")
    )
    if curl_text is not None:
        path = str(layout.shrunk_case(Path(run_dir), input_id))
        console.print(f"written to {escape(path)}; reproduce it with:")
        for fmt in ("curl", "pytest"):
            console.print(
                "  " + command("repro", run_dir, "--id", input_id, "--shrunk", "--format", fmt),
                markup=False,
            )


def _preview(body: bytes, limit: int = 240) -> str:
    """A body as text with every non-printable character escaped, shortened to ``limit``."""
    text = body.decode("utf-8", "backslashreplace")
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return escape(shown if len(shown) <= limit else shown[:limit] + "…")


def print_failure_commands(
    console: Console, run_dir: str, failures: Sequence[dict[str, Any]], *, limit: int = 5
) -> None:
    """For the first failures, errors before warnings (an input with info findings only is
    counted, never listed): the commands that replay, export and shrink each one."""
    from stress.report.findings import gravest, listed, severity

    seen: dict[str, Mapping[str, Any]] = {}
    for failure in listed(failures):
        seen.setdefault(str(failure.get("input_id")), failure)
    noted = {str(f.get("input_id")) for f in failures if severity(f) == "info"} - set(seen)
    info = f"; {len(noted)} more with info findings only, in {layout.FAILURES}" if noted else ""
    if not seen:
        if noted:
            console.print(f"{len(noted)} inputs with info findings only, in {layout.FAILURES}")
        return
    shown = list(seen.items())[:limit]
    console.print(
        f"[bold]failures[/] ({len(shown)} of {len(seen)} failing inputs, errors first; "
        f"every one has these commands{info}):"
    )
    for input_id, failure in shown:
        worst = gravest(failure)
        message = str(worst.get("message", ""))
        marked = "" if severity(failure) == "error" else f" ({severity(failure)})"
        console.print(
            f"  {escape(input_id)}  {escape(str(worst.get('check')))}{marked}: {escape(message)}"
        )
        for line in (
            command("replay", run_dir, "--id", input_id),
            command("repro", run_dir, "--id", input_id, "--format", "curl"),
            command("shrink", run_dir, "--id", input_id),
        ):
            console.print(f"    {line}", markup=False, highlight=False)


def print_regressions(console: Console, rows: Sequence[dict[str, Any]], run_dir: str) -> None:
    """The regression cases that still fail (the run's exit code is 1 when there are any)."""
    still = [row for row in rows if row.get("verdict") == "still fails"]
    fixed = sum(row.get("verdict") == "fixed" for row in rows)
    if not rows:
        return
    for row in still[:10]:
        console.print(
            f"[red]REGRESSION[/] {escape(str(row['input_id']))} still fails: "
            f"{escape(str(row['now']))}"
        )
    if fixed:
        console.print(
            f"{fixed} regression case(s) fixed; "
            f"`{escape(command('prune', run_dir))}` deletes them from the corpus"
        )


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
