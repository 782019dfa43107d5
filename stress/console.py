"""Terminal output: renders run events and results with rich. Only this module and cli.py print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


class RunConsole:
    """A sink for run events: one line per phase change, and progress every tick on a terminal
    (every ``quiet_every`` ticks when the output goes to a file or a CI log)."""

    def __init__(self, console: Console, *, quiet_every: int = 5) -> None:
        self.console = console
        self._every = 1 if console.is_terminal else quiet_every
        self._ticks = 0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        out = self.console
        if kind == "run_dir":
            out.print(f"[bold]run directory[/] {escape(event['path'])}")
        elif kind == "corpus":
            out.print(f"corpus: {event['inputs']} inputs generated in {event['seconds']:.1f}s")
        elif kind == "target":
            out.print(f"target: {escape(event['url'])} is up")
        elif kind == "phase":
            self._ticks = 0
            out.print(
                f"[bold cyan]phase {escape(event['name'])}[/]: {event['users']} users "
                f"for {event['duration_s']:g}s"
            )
        elif kind == "progress":
            self._ticks += 1
            if self._ticks % self._every:
                return
            p95 = "-" if event["p95_ms"] is None else f"{event['p95_ms']:.0f} ms"
            errors = event["errors"]
            style = "red" if errors else "green"
            out.print(
                f"  {escape(event['phase']):<10} users {event['users']:>4}  "
                f"rps {event['rps']:>7.1f}  p95 {p95:>8}  requests {event['requests']:>7}  "
                f"[{style}]errors {errors}[/]"
            )
        elif kind == "limit":
            out.print(f"[yellow]stopped early: {escape(event['reason'])}[/]")
        elif kind == "interrupted":
            out.print("[yellow]interrupted: stopping the load and writing the report[/]")
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
        elif kind == "done":
            out.print(
                f"load done: {event['requests']} requests in {event['duration_s']:.1f}s, "
                f"{event['errors']} failed, {event['failures']} failures stored"
            )


def print_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    """The verdict, the per-phase table and the failed checks."""
    table = Table(title="phases", title_justify="left")
    for column in ("phase", "users", "requests", "rps", "error rate", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "phase" else "left")
    for phase in summary.get("phases", []):
        latency = phase.get("latency_ms") or {}
        table.add_row(
            escape(str(phase["name"])),
            str(phase.get("users", "")),
            str(phase.get("requests", 0)),
            _number(phase.get("rps")),
            _percent(phase.get("error_rate")),
            _number(latency.get("p50")),
            _number(latency.get("p95")),
            _number(latency.get("p99")),
        )
    console.print(table)
    failed = [check for check in summary.get("checks", []) if not check.get("passed")]
    for check in failed:
        console.print(f"[red]FAIL[/] {escape(check['name'])}: {escape(str(check.get('message')))}")
    warned = [c for c in summary.get("checks", []) if c.get("passed") and c.get("warnings")]
    for check in warned:
        console.print(
            f"[yellow]WARN[/] {escape(check['name'])}: {escape(str(check.get('message')))}"
        )
    verdict = "[bold green]PASSED[/]" if summary.get("passed") else "[bold red]FAILED[/]"
    console.print(f"{verdict}  report: {escape(run_dir)}/report.html")


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


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
