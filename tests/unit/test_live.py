"""The live view of a run, rendered from a sequence of the load process's typed events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stress.console import RunConsole
from stress.live import LiveView
from stress.load import events

PHASE = events.Phase(
    name="steady",
    kind="steady",
    users=10,
    rate=None,
    max_in_flight=None,
    duration_s=30.0,
    at=1000.0,
    error_rate_limit=0.01,
    p95_limit_ms=500.0,
)


def progress(**fields: object) -> events.Progress:
    values: dict[str, object] = {
        "phase": "steady",
        "step": None,
        "users": 10,
        "rate": None,
        "requests": 1234,
        "late": 0,
        "unsent": 0,
        "rps": 123.4,
        "p95_ms": 40.0,
        "errors": 50,
        "p50_ms": 12.0,
        "phase_requests": 1000,
        "phase_errors": 20,
        "checks": {"json_schema": 12, "status_5xx": 3},
        "families": {"unicode.emoji": 8},
    }
    values.update(fields)
    return events.Progress(**values)  # type: ignore[arg-type]


def text_of(view: LiveView, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, record=True)
    console.print(view)
    return console.export_text()


def style_of(view: LiveView, text: str) -> str:
    """The colour the view gives to the piece of text ``text``."""
    console = Console(file=io.StringIO(), width=160, force_terminal=True)
    for segment in console.render(view):
        if segment.text.strip() == text:
            color = segment.style.color if segment.style else None
            return "" if color is None else color.name
    raise AssertionError(f"{text!r} is not a piece of the view")


def view_after(*sequence: events.LoadEvent, now: float) -> LiveView:
    clock = [now]
    view = LiveView(clock=lambda: clock[0])
    for event in sequence:
        view.update(event)
    return view


def test_the_view_shows_the_bar_eta_figures_and_what_fails() -> None:
    view = view_after(PHASE, progress(), now=1011.0)
    text = text_of(view)
    first = text.splitlines()[0]
    assert first.startswith("phase steady ━")
    assert "37%" in first
    assert "0:11 of 0:30" in first
    assert "ETA 0:19" in first
    assert "users 10" in text
    assert "123.4 requests/s" in text
    assert "p50 12 ms" in text
    assert "p95 40 ms (SLO 500 ms)" in text
    assert "errors 2.00% (SLO 1.00%)  20 of 1,000 requests" in text
    assert "failing checks: json_schema 12, status_5xx 3" in text
    assert "failing families: unicode.emoji 8" in text


def test_the_view_fits_an_80_column_terminal_line_for_line() -> None:
    wide = text_of(view_after(PHASE, progress(), now=1011.0)).splitlines()
    narrow = text_of(view_after(PHASE, progress(), now=1011.0), width=80).splitlines()
    assert len(narrow) == len(wide) == 5
    assert all(len(line.rstrip()) <= 80 for line in narrow)
    assert narrow[0].rstrip().endswith("ETA 0:19")
    assert narrow[0].count("━") < wide[0].count("━")  # a shorter bar


def test_the_eta_moves_with_the_clock_and_stops_at_the_phase_end() -> None:
    clock = [1025.0]
    view = LiveView(clock=lambda: clock[0])
    view.update(PHASE)
    assert "ETA 0:05" in text_of(view)
    clock[0] = 1100.0
    first = text_of(view).splitlines()[0]
    assert "100%" in first
    assert "ETA 0:00" in first


def test_the_error_rate_is_red_above_the_slo_and_green_below() -> None:
    over = view_after(PHASE, progress(), now=1011.0)
    assert style_of(over, "2.00%") == "red"
    under = view_after(PHASE, progress(phase_errors=5), now=1011.0)
    assert style_of(under, "0.50%") == "green"
    slow = view_after(PHASE, progress(p95_ms=900.0), now=1011.0)
    assert style_of(slow, "900 ms") == "red"


def test_a_new_phase_starts_afresh_and_a_step_is_named() -> None:
    spike = events.Phase("spike", "sweep", None, 50.0, 8, 20.0, 2000.0, None, None)
    view = view_after(
        PHASE, progress(), spike, events.Step("spike", 1, None, 50.0, 10.0), now=2005.0
    )
    text = text_of(view)
    assert text.splitlines()[0].startswith("phase spike step 2 ━")
    assert "ETA 0:15" in text
    assert "failing checks" not in text  # no progress of this phase yet


def test_a_progress_line_without_phase_figures_uses_the_runs() -> None:
    older = progress(phase_requests=None, phase_errors=None, checks={}, families={})
    text = text_of(view_after(PHASE, older, now=1011.0))
    assert "errors 4.05% (SLO 1.00%)  50 of 1,234 requests" in text
    assert "failing" not in text


def test_off_a_terminal_the_console_prints_plain_lines() -> None:
    out = io.StringIO()
    show = RunConsole(Console(file=out, width=200), quiet_every=1, live=True)
    for event in (PHASE, progress(), events.Done(1234, 50, 1234, 50, 30.0)):
        show(event.as_dict())
    show.close()
    lines = out.getvalue().splitlines()
    assert show.view is None
    assert lines[0].startswith("phase steady: 10 users for 30s")
    assert "rps   123.4" in lines[1]
    assert "errors 50" in lines[1]
    assert lines[2].startswith("load done: 1234 requests")
    assert "\x1b" not in out.getvalue()


def test_on_a_terminal_the_live_view_replaces_the_progress_lines_and_stops_cleanly() -> None:
    out = io.StringIO()
    terminal = Console(file=out, width=200, force_terminal=True, color_system=None)
    show = RunConsole(terminal, live=True)
    show(PHASE.as_dict())
    assert show._live is not None
    assert show._live.is_started
    show(progress().as_dict())
    show(events.Done(1234, 50, 1234, 50, 30.0).as_dict())
    assert show._live is None
    text = out.getvalue()
    assert "users   10  rps" not in text  # no plain progress line
    assert "load done: 1234 requests" in text
    assert text.count("\x1b[?25l") == 1  # the cursor was hidden once ...
    assert text.rindex("\x1b[?25h") > text.rindex("\x1b[?25l")  # ... and shown again


def test_close_stops_the_live_view_after_an_error() -> None:
    out = io.StringIO()
    show = RunConsole(Console(file=out, width=200, force_terminal=True), live=True)
    show(PHASE.as_dict())
    show.close()  # as cli.run's finally does on an exception or Ctrl-C
    show.close()
    text = out.getvalue()
    assert show._live is None
    assert text.rindex("\x1b[?25h") > text.rindex("\x1b[?25l")


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_stress_run_stops_the_live_view_when_the_run_is_cut_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stop: type[BaseException]
) -> None:
    """Ctrl-C or an error during the load: the live view is stopped before anything else."""
    import stress.prepare
    import stress.runner
    from stress import cli

    out = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=out, width=120, force_terminal=True))
    monkeypatch.setattr(stress.prepare, "prepare", lambda *_: object())
    live: list[Any] = []

    def cut_short(_prepared: object, *, on_event: Any, **_: object) -> None:
        on_event(PHASE.as_dict())
        live.append(on_event._live)
        raise stop("stopped mid-run")

    monkeypatch.setattr(stress.runner, "run", cut_short)
    with pytest.raises(stop):
        cli.run.callback(  # type: ignore[misc]
            scenario=tmp_path / "s.yaml",
            out=tmp_path,
            workers=0,
            expect_workers=None,
            master_bind=None,
            join_timeout="60s",
        )
    assert live[0] is not None  # the view was running when the run was cut short
    assert not live[0].is_started
    text = out.getvalue()
    assert text.rindex("\x1b[?25h") > text.rindex("\x1b[?25l")  # the cursor is back
