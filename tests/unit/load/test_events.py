"""The load process's events: what the emitter writes is what the parent reads back."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest

from stress.load import events

SAMPLES: dict[str, Any] = {
    "str": "x",
    "str | None": None,
    "int": 3,
    "int | None": 4,
    "float": 1.5,
    "float | None": 2.5,
    "bool": True,
    "list[str]": ["a", "b"],
    "list[int]": [1, 0, 2],
    "dict[str, int]": {"a": 1, "b": 2},
}


def sample(kind: type[events.LoadEvent]) -> events.LoadEvent:
    values = {f.name: SAMPLES[str(f.type)] for f in dataclasses.fields(kind)}
    return kind(**values)


@pytest.mark.parametrize("kind", list(events.KINDS.values()), ids=list(events.KINDS))
def test_every_event_reads_back_as_it_was_written(kind: type[events.LoadEvent]) -> None:
    event = sample(kind)
    stream = io.StringIO()
    events.write(event, stream)
    text = stream.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert json.loads(text)["event"] == kind.EVENT
    assert events.parse(text) == event


def test_the_wire_names_are_the_ones_the_console_knows() -> None:
    assert set(events.KINDS) == {
        "phase",
        "step",
        "progress",
        "step_result",
        "limit",
        "tester",
        "workers",
        "worker",
        "worker_lost",
        "done",
        "error",
    }
    line = events.line(events.Phase("p", "steady", 2, None, None, 5.0, 1.0))
    assert json.loads(line) == {
        "event": "phase",
        "name": "p",
        "kind": "steady",
        "users": 2,
        "rate": None,
        "max_in_flight": None,
        "duration_s": 5.0,
        "at": 1.0,
        "error_rate_limit": None,
        "p95_limit_ms": None,
    }


def test_lines_written_before_the_live_figures_still_read_back() -> None:
    old_phase = '{"event": "phase", "name": "p", "kind": "steady", "users": 2, "rate": null, '
    old_phase += '"max_in_flight": null, "duration_s": 5.0, "at": 1.0}'
    phase = events.parse(old_phase)
    assert isinstance(phase, events.Phase)
    assert (phase.error_rate_limit, phase.p95_limit_ms) == (None, None)
    old_progress = (
        '{"event": "progress", "phase": "p", "step": null, "users": 2, "rate": null, '
        '"requests": 10, "late": 0, "unsent": 0, "rps": 5.0, "p95_ms": 12.0, "errors": 1}'
    )
    progress = events.parse(old_progress)
    assert isinstance(progress, events.Progress)
    assert (progress.p50_ms, progress.phase_requests, progress.checks) == (None, None, {})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"event": "nonsense"}', "unknown load event 'nonsense'"),
        ('{"event": "limit"}', "'limit'"),
        ('{"event": "limit", "reason": "x", "extra": 1}', "extra"),
        ("not json", "not a JSON line"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_a_line_that_is_no_event_is_refused_with_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(events.BadEvent, match=words.replace("(", r"\(")):
        events.parse(text)


@pytest.mark.parametrize("kind", list(events.KINDS.values()), ids=list(events.KINDS))
def test_the_parents_console_reads_every_event_by_its_type(kind: type[events.LoadEvent]) -> None:
    from rich.console import Console

    from stress.console import RunConsole

    out = io.StringIO()
    show = RunConsole(Console(file=out, width=200), quiet_every=1)
    event = sample(kind)
    show(events.parse(events.line(event)).as_dict())
    text = out.getvalue()
    if kind is events.Error:
        assert text == ""  # the parent reports it as the run's error, not as a line
    else:
        assert text.strip(), kind.EVENT
    if kind is events.Done:
        assert "load done: 3 requests in 1.5s, 3 failed, 3 failures stored" in text
    if kind is events.WorkerLost:
        assert "worker 3 lost" in text
        assert "its 3 records are kept" in text
