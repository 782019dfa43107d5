"""The live view of a run on a terminal: the current phase's progress bar and ETA, its
requests/s, p50/p95 and error rate against the phase's SLO, and the checks and families that
fail most so far. Built from the load process's typed events (stress.load.events);
stress.console shows it in a rich Live display when standard error is a terminal, and plain
lines otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from stress.load import events

# The bar's widest; narrower on a narrow terminal, so that its line fits in 80 columns.
BAR_WIDTH = 40
# What the bar's line holds beside the bar: the name, percent, elapsed of total and ETA.
BAR_LINE_REST = 42


class LiveView:
    """What the live display shows, kept up to date by ``update``; rich renders it at every
    refresh, so the ETA moves between events. ``clock`` is wall time, as the phase event's
    ``at``."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.phase: events.Phase | None = None
        self.step: events.Step | None = None
        self.progress: events.Progress | None = None

    def update(self, event: events.LoadEvent) -> None:
        if isinstance(event, events.Phase):
            self.phase, self.step, self.progress = event, None, None
        elif isinstance(event, events.Step):
            self.step = event
        elif isinstance(event, events.Progress):
            self.progress = event

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.phase is None:
            yield Text("starting the load…")
            return
        width = max(min(BAR_WIDTH, options.max_width - BAR_LINE_REST), 10)
        parts: list[RenderableType] = [self._bar(self.phase, width)]
        if self.progress is not None:
            parts.extend(self._figures(self.phase, self.progress))
            parts.extend(_top("failing checks", self.progress.checks))
            parts.extend(_top("failing families", self.progress.families))
        yield Group(*parts)

    def _bar(self, phase: events.Phase, width: int) -> RenderableType:
        elapsed = max(self._clock() - phase.at, 0.0)
        name = f"[bold cyan]phase {escape(phase.name)}[/]"
        if self.step is not None:
            name += f" step {self.step.step + 1}"
        grid = Table.grid(padding=(0, 1))
        if not phase.duration_s:
            grid.add_row(name, f"{_clock_time(elapsed)} elapsed")
            return grid
        total = phase.duration_s
        done = min(elapsed, total)
        grid.add_row(
            name,
            ProgressBar(total=total, completed=done, width=width),
            f"{100 * done / total:3.0f}%",
            f"{_clock_time(done)} of {_clock_time(total)}",
            f"ETA {_clock_time(total - done)}",
        )
        return grid

    def _figures(self, phase: events.Phase, progress: events.Progress) -> list[RenderableType]:
        """Two lines: the load and latency; the errors."""
        users = "" if progress.users is None else f"users {progress.users}  "
        p50 = _ms(progress.p50_ms)
        p95 = _ms(progress.p95_ms)
        if phase.p95_limit_ms is not None:
            over = progress.p95_ms is not None and progress.p95_ms > phase.p95_limit_ms
            p95 = f"[{'red' if over else 'green'}]{p95}[/] (SLO {phase.p95_limit_ms:g} ms)"
        return [
            Text.from_markup(f"  {users}{progress.rps:.1f} requests/s  p50 {p50}  p95 {p95}"),
            Text.from_markup(f"  {_errors(phase, progress)}"),
        ]


def error_rate(progress: events.Progress) -> tuple[float | None, int, int]:
    """The phase's error rate, errors and requests (the run's, for a line without them)."""
    if progress.phase_requests is not None and progress.phase_errors is not None:
        requests, errors = progress.phase_requests, progress.phase_errors
    else:
        requests, errors = progress.requests, progress.errors
    return (errors / requests if requests else None), errors, requests


def _errors(phase: events.Phase, progress: events.Progress) -> str:
    rate, errors, requests = error_rate(progress)
    shown = "-" if rate is None else f"{100 * rate:.2f}%"
    limit = phase.error_rate_limit
    over = rate is not None and (rate > limit if limit is not None else errors > 0)
    slo = "" if limit is None else f" (SLO {100 * limit:.2f}%)"
    return (
        f"errors [{'red' if over else 'green'}]{shown}[/]{slo}  {errors:,} of {requests:,} requests"
    )


def _top(title: str, counts: dict[str, int]) -> list[RenderableType]:
    if not counts:
        return []
    listed = ", ".join(f"{escape(name)} [red]{count:,}[/]" for name, count in counts.items())
    return [Text.from_markup(f"  {title}: {listed}")]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _clock_time(seconds: float) -> str:
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
