"""A trace phase with ``inputs: logged``: arrival i sends logged request i at its logged time
÷ speed. The scenario keys and their errors, the times taken from inputs.from_log's sampled
entries, the corpus that holds each of them once, and the entry each arrival carries through
the step message, a worker's share, a re-share and the traffic queue (fake clocks; the real
run is tests/integration/test_replay_log.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stress.errors import ScenarioError
from stress.load import shapes
from stress.load.pacing import Pacer
from stress.load.phases import plan
from stress.load.trace import (
    MissingTimestamp,
    logged_arrivals,
    timing,
)
from stress.load.workers import schedule_of, step_message
from stress.logs import seeds
from stress.runner import build_corpus, load_scenario
from stress.scenario import from_path
from tests.unit.load.test_driver import drive

START = 1_767_261_600.0
# Seconds from START of each logged request, in log order (two out of time order).
OFFSETS = [0.0, 0.4, 1.5, 1.0, 2.0, 2.0, 3.5, 4.0, 6.0, 5.0]

HEAD = """\
name: replay
target: {{url: "http://127.0.0.1:9", protocol: openai-chat}}
inputs:
  seed: 3
  count: 40
  from_log: {{path: logs/chat.jsonl{max}}}
  families: {{realistic.*: 2, unicode.*: 1{families}}}
{counts}load:
  phases:
    - {{name: warm, users: 1, duration: 1s}}
    - {phase}
"""


def write_log(folder: Path, offsets: list[float | None], name: str = "chat.jsonl") -> Path:
    path = folder / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, offset in enumerate(offsets):
        body = {"messages": [{"role": "user", "content": f"Question {i}: is it open today?"}]}
        line: dict[str, Any] = {"body": body}
        if offset is not None:
            line["timestamp"] = START + offset
        lines.append(json.dumps(line) if offset is not None else json.dumps(body))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(
    tmp_path: Path,
    phase: str = "{name: replay, kind: trace, inputs: logged, speed: 2}",
    *,
    offsets: list[float | None] | None = None,
    max: int | None = None,
    counts: str = "",
    families: str = "",
) -> Path:
    write_log(tmp_path, list(OFFSETS) if offsets is None else offsets)
    path = tmp_path / "replay.yaml"
    text = HEAD.format(
        phase=phase,
        max="" if max is None else f", max: {max}",
        counts=counts,
        families=families,
    )
    path.write_text(text, encoding="utf-8")
    return path


def question(item_payload: dict[str, Any]) -> int:
    """Which logged request a payload is (its text says 'Question N')."""
    text = item_payload["messages"][-1]["content"]
    return int(text.split(":")[0].split()[-1])


def test_the_times_are_the_logged_entries_and_arrival_i_sends_entry_i(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    phase = scenario.load.phases[1]
    assert phase.logged
    assert phase.path is None  # the times come from inputs.from_log
    times, entries = timing(scenario).traces["replay"], timing(scenario).entries["replay"]
    ordered = sorted(range(len(OFFSETS)), key=OFFSETS.__getitem__)
    assert times == pytest.approx([OFFSETS[i] / 2 for i in ordered])
    # Sorted by time, stably: entries 3 and 2 swap, 4 and 5 (same time) keep log order.
    assert entries == (0, 1, 3, 2, 4, 5, 6, 7, 9, 8)
    # 6 s of log at speed 2, plus one mean gap (10 arrivals): the last falls inside.
    assert phase.duration == pytest.approx(3.0 * 10 / 9, abs=1e-4)
    # The resolved scenario (the run directory's copy) loads again as it is.
    again = tmp_path / "resolved.yaml"
    again.write_text(scenario.to_yaml(), encoding="utf-8")
    assert from_path(again).load.phases[1] == phase


def test_the_corpus_holds_every_sampled_entry_once_in_log_order(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, max=7))
    inputs = build_corpus(scenario)
    logged = [item for item in inputs if item.family == "realistic.logged"]
    sample = seeds.load(scenario)
    assert [item.id for item in logged] == [f"realistic.logged-{i:04d}" for i in range(7)]
    assert [item.payload["log_line"] for item in logged] == [s["line"] for s in sample.seeds]
    # The other families share the rest of inputs.count.
    assert len(inputs) == 40
    assert {item.family for item in inputs} - {"realistic.logged"}
    # Arrivals are the sampled entries, at their own times: entry e's time is its seed's.
    times, entries = timing(scenario).traces["replay"], timing(scenario).entries["replay"]
    assert sorted(entries) == list(range(7))
    stamps = [sample.timestamps[e] for e in entries]
    assert times == pytest.approx([(t - min(stamps)) / 2 for t in stamps])  # type: ignore[operator]
    lines = [question(logged[e].payload) for e in entries]
    assert lines == [question(s["payload"]) for s in (sample.seeds[e] for e in entries)]


def test_a_log_in_time_order_maps_arrival_i_to_entry_i() -> None:
    times, entries = logged_arrivals([10.0, 11.0, 11.0, 14.0], speed=4)
    assert times == pytest.approx((0, 0.25, 0.25, 1.0))
    assert entries == (0, 1, 2, 3)
    with pytest.raises(MissingTimestamp, match=r"line 7: no timestamp \(2 of 4"):
        logged_arrivals([1.0, None, 2.0, None], speed=1, lines=[3, 7, 8, 9])


@pytest.mark.parametrize(
    ("kwargs", "start", "contains", "line"),
    [
        (
            {"offsets": [0.0, 1.0, None, 2.0, None]},
            "load.phases[1].inputs: logged replays each logged request at its logged time, "
            "got an entry without one: ",
            "chat.jsonl: line 3 (2 of 5 sampled entries have none); use a log whose entries "
            "carry timestamps",
            11,
        ),
        (
            {"phase": "{name: replay, kind: trace, inputs: logged, path: logs/other.jsonl}"},
            "load.phases[1].path: with inputs: logged the trace replays inputs.from_log's "
            "requests, got 'logs/other.jsonl', which is not inputs.from_log.path",
            "remove path (the times come from inputs.from_log) or point it at the same file",
            11,
        ),
        (
            {"counts": "  counts: {realistic.logged: 3}\n"},
            "inputs.counts.realistic.logged: a trace phase with inputs: logged sends every "
            "sampled logged request once, so the corpus holds each of them once, got 3",
            "remove this count",
            8,
        ),
        (
            {"phase": "{name: replay, kind: trace, inputs: logged, timestamp_field: ts}"},
            "load.phases[1].timestamp_field: does not apply with inputs: logged",
            "remove it",
            11,
        ),
        (
            {"phase": "{name: replay, kind: trace, inputs: everything}"},
            "load.phases[1].inputs: ",
            "'corpus'",
            11,
        ),
        (
            {"phase": "{name: replay, rate: 3, duration: 1s, inputs: logged}"},
            "load.phases[1].inputs: applies to kind trace, not steady; remove it",
            "",
            11,
        ),
    ],
)
def test_errors_name_the_key_the_value_the_line_and_the_fix(
    tmp_path: Path, kwargs: dict[str, Any], start: str, contains: str, line: int
) -> None:
    path = write(tmp_path, **kwargs)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: {start}")
    assert contains in problem
    assert problem.endswith(f"(line {line})")


def test_inputs_logged_without_a_log_to_send_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        'name: s\ntarget: {url: "http://127.0.0.1:9", protocol: openai-chat}\n'
        "inputs: {families: {realistic.*: 1}}\nload:\n  phases:\n"
        "    - {name: replay, kind: trace, inputs: logged}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        from_path(path)
    [problem] = caught.value.problems
    assert problem == (
        f"{path}: load.phases[0].inputs: replays the logged requests of inputs.from_log, got "
        f"logged but the scenario has no inputs.from_log; add inputs.from_log: "
        f"{{path: logs/requests.jsonl}} or remove inputs: logged (line 6)"
    )


def release(message: dict[str, Any], start: float, now: float) -> list[tuple[float, int | None]]:
    """Run a pacer over ``message``'s schedule with a fake clock: (intended, entry) pairs."""
    schedule = schedule_of(message)
    pacer = Pacer(schedule.times(), start)
    due = pacer.due(now)
    assert pacer.next_at() is None
    assert isinstance(schedule, shapes.ShapedSchedule)
    return [(t - start, schedule.entry(k)) for k, t in enumerate(due)]


def test_each_worker_sends_the_entries_of_its_arrivals_also_after_a_reshare(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(write(tmp_path))
    spec = scenario.load.phases[1]
    traces, entries = timing(scenario).traces, timing(scenario).entries
    [_, [step]] = plan(list(scenario.load.phases), traces, entries)
    assert step.shape is not None
    assert step.shape.entries == entries["replay"]
    whole = list(zip(traces["replay"], entries["replay"], strict=True))
    # Two workers: each takes every other arrival and the entry that goes with it.
    parts = []
    for position in range(2):
        message = step_message(step, elapsed=0, users=5, share=0.5, offset=position / 2, seed=1)
        parts.append(release(message, 100.0, 1e6))
    for position, part in enumerate(parts):
        assert [e for _, e in part] == [e for _, e in whole[position::2]]
        assert [t for t, _ in part] == pytest.approx([t for t, _ in whole[position::2]])
    # A worker lost 1.2 s in: the others share what is still due, each with its entry.
    rest = []
    for position in range(3):
        message = step_message(step, elapsed=1.2, users=5, share=1 / 3, offset=position / 3, seed=1)
        rest += [(round(t + 1.2, 6), e) for t, e in release(message, 0.0, 1e6)]
    assert sorted(rest) == [(round(t, 6), e) for t, e in whole if t >= 1.2]
    assert spec.duration is not None


def test_the_driver_runs_the_logged_trace_with_its_entries(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    driver, fleet, _ = drive(tmp_path, scenario)
    driver.traces, driver.entries = timing(scenario).traces, timing(scenario).entries
    start = fleet.clock()
    driver.run()
    replay = fleet.steps[-1]
    assert replay.phase == "replay"
    assert replay.shape is not None
    assert replay.shape.entries == (0, 1, 3, 2, 4, 5, 6, 7, 9, 8)
    assert fleet.clock() - start == pytest.approx(1.0 + 3.0 * 10 / 9, abs=0.11)


def test_the_traffic_queue_hands_each_arrival_its_entry() -> None:
    from stress.load.traffic import Traffic

    shape = shapes.trace_shape([0.0, 0.005, 0.01, 0.02], 0.05, [2, 0, 3, 1])
    schedule = shapes.ShapedSchedule(shape, 0.05)
    traffic = Traffic(max_wait=5.0)
    traffic.open("replay", None, 4, schedule)
    tickets = []
    for _ in range(50):  # bounded: 4 arrivals within 20 ms, each acquire waits ≤ 0.1 s
        ticket = traffic.acquire()
        if ticket is not None:
            tickets.append(ticket)
        if len(tickets) == 4:
            break
    traffic.idle()
    assert [t.entry for t in tickets] == [2, 0, 3, 1]
    assert [t.phase for t in tickets] == ["replay"] * 4


def test_the_example_scenario_replays_its_sample_log() -> None:
    folder = Path(__file__).parents[3] / "scenarios"
    scenario = load_scenario(folder / "replay_log.yaml")
    replay, variants = scenario.load.phases
    assert replay.logged
    assert not variants.logged
    # chat_sample.jsonl: 12 requests over 12 s, at speed 2: 6 s plus one mean gap.
    assert replay.duration == pytest.approx(6 * 12 / 11, abs=1e-4)
    assert timing(scenario).entries["replay"] == tuple(range(12))
