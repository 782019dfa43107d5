"""Reading a log's timestamps, resolving trace phases, and the scenario keys of the arrival
shapes (errors name the file, the key, the value, the line and the fix)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stress.errors import ScenarioError, UsageError
from stress.load.trace import TraceError, parse_time, read_arrivals, resolve, timing
from stress.runner import load_scenario
from stress.scenario import PhaseKind, from_path, with_overrides
from tests.unit.load.test_driver import drive

HEAD = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs: {families: {realistic.chat_prompt: 1}}
load:
  phases:
"""


def test_jsonl_iso_and_epoch_times_in_log_order(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [
        {"time": "2026-11-02T09:00:01+00:00"},
        {"time": 1793610000.5},  # epoch seconds
        {"time": 1793610000250},  # epoch milliseconds
        {"time": "2026-11-02T09:00:00"},  # no offset: UTC
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert read_arrivals(path) == pytest.approx(
        [1793610001.0, 1793610000.5, 1793610000.25, 1793610000.0]
    )


def test_a_named_nested_field(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text('{"req": {"at": 5}}\n{"req": {"at": 7.5}}\n', encoding="utf-8")
    assert read_arrivals(path, "jsonl", "req.at") == [5.0, 7.5]


def test_har_started_date_time(tmp_path: Path) -> None:
    path = tmp_path / "capture.har"
    entries = [
        {"startedDateTime": "2026-11-02T09:00:00.000Z", "request": {"method": "POST"}},
        {"startedDateTime": "2026-11-02T09:00:01.500+00:00", "request": {"method": "POST"}},
    ]
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    times = read_arrivals(path)
    assert times[1] - times[0] == pytest.approx(1.5)


def test_csv_with_a_header_or_a_bare_column_and_text(tmp_path: Path) -> None:
    with_header = tmp_path / "a.csv"
    with_header.write_text("id,ts,status\n1,10.0,200\n2,12.5,200\n", encoding="utf-8")
    assert read_arrivals(with_header) == [10.0, 12.5]
    bare = tmp_path / "b.csv"
    bare.write_text("3\n4\n", encoding="utf-8")
    assert read_arrivals(bare) == [3.0, 4.0]
    text = tmp_path / "c.txt"
    text.write_text("# arrivals\n2026-11-02T09:00:00Z\n2026-11-02T09:00:03Z\n", encoding="utf-8")
    times = read_arrivals(text)
    assert times[1] - times[0] == 3


def test_the_format_is_sniffed_without_an_extension(tmp_path: Path) -> None:
    path = tmp_path / "capture"
    path.write_text(
        json.dumps({"log": {"entries": [{"startedDateTime": 1}, {"startedDateTime": 2}]}})
    )
    assert read_arrivals(path) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "a.jsonl",
            '{"timestamp": 1}\n{"status": 200}\n',
            "line 2: no time field (tried timestamp",
        ),
        ("a.jsonl", '{"timestamp": 1}\nnot json\n', "line 2: not JSON"),
        (
            "a.jsonl",
            '{"timestamp": 1}\n{"timestamp": "soon"}\n',
            "line 2: timestamp: expected Unix",
        ),
        ("a.jsonl", '{"timestamp": 1}\n', "1 timestamp(s) found, a trace needs at least 2"),
        ("a.csv", "id,status\n1,200\n", "line 1: no time column"),
        ("a.txt", "1\n2\nthree\n", "line 3: expected Unix seconds or an ISO 8601 time"),
        ("a.har", '{"entries": []}', "not a HAR file"),
    ],
)
def test_unreadable_logs_name_the_line_and_the_fix(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TraceError) as caught:
        read_arrivals(path)
    assert message in str(caught.value)


def test_parse_time_scales_large_epochs() -> None:
    assert parse_time(1_793_610_000_123_456) == pytest.approx(1_793_610_000.123456)
    assert parse_time("1793610000123456789") == pytest.approx(1_793_610_000.123456789)
    with pytest.raises(ValueError, match="expected"):
        parse_time(True)


def write_scenario(tmp_path: Path, phase: str) -> Path:
    path = tmp_path / "scenarios" / "s.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(HEAD + phase, encoding="utf-8")
    return path


def test_a_trace_path_is_relative_to_the_scenario_file_and_sets_the_duration(
    tmp_path: Path,
) -> None:
    path = write_scenario(
        tmp_path, "    - {name: replay, kind: trace, path: logs/t.txt, speed: 2}\n"
    )
    (path.parent / "logs").mkdir()
    (path.parent / "logs" / "t.txt").write_text("0\n1\n4\n", encoding="utf-8")
    scenario = load_scenario(path)
    phase = scenario.load.phases[0]
    assert phase.kind is PhaseKind.TRACE
    assert Path(phase.path or "").is_absolute()
    # A 4 s span at speed 2 with 3 arrivals: 2 s plus a mean gap.
    assert phase.duration == pytest.approx(3.0)
    # The resolved scenario (the run directory's scenario.yaml) loads again as it is.
    again = tmp_path / "resolved.yaml"
    again.write_text(scenario.to_yaml(), encoding="utf-8")
    assert from_path(again).load.phases[0] == phase


def test_a_missing_or_broken_log_is_a_scenario_error_with_the_line(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path, "    - name: replay\n      kind: trace\n      path: nope.jsonl\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: load.phases[0].path: ")
    assert "file not found" in problem
    assert "relative path is from the scenario file's folder" in problem
    assert problem.endswith("(line 8)")
    (path.parent / "nope.jsonl").write_text('{"ts": 1}\n{"ts": "x"}\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"line 2: ts: expected Unix seconds"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        (
            "{name: d, kind: daily, users: 5, duration: 1m}",
            "load.phases[0].rate: a daily phase is open-loop: give rate",
        ),
        (
            "{name: d, kind: daily, rate: 5, min_rate: 9, duration: 1m}",
            "load.phases[0].min_rate: must be below rate (5), the peak, got 9",
        ),
        (
            "{name: d, kind: daily, rate: 5, peak_at: 0.2, trough_at: 0.2, duration: 1m}",
            "load.phases[0].peak_at: must differ from trough_at",
        ),
        (
            "{name: d, kind: daily, rate: 5, peak_at: 1.5, duration: 1m}",
            "load.phases[0].peak_at: expected a fraction between 0 and 1",
        ),
        (
            "{name: t, kind: trace, path: x.jsonl, rate: 3}",
            "load.phases[0].rate: does not apply to a trace phase",
        ),
        ("{name: t, kind: trace, speed: 3}", "load.phases[0].path: a trace phase needs the log"),
        (
            "{name: t, kind: trace, path: x.jsonl, speed: 0}",
            "load.phases[0].speed: expected a positive",
        ),
        (
            "{name: s, rate: 5, duration: 1m, speed: 2}",
            "load.phases[0].speed: applies to kind trace",
        ),
        (
            "{name: s, rate: 5, duration: 1m, min_rate: 2}",
            "load.phases[0].min_rate: applies to kind daily, not steady",
        ),
        (
            "{name: s, users: 5, duration: 1m, bursts: {every: 5s, size: 3}}",
            "load.phases[0].bursts: applies to open-loop (rate) steady, soak, ramp and daily",
        ),
        (
            "{name: s, kind: step, rate: 5, steps: 2, duration: 1m, spikes: []}",
            "load.phases[0].spikes: applies to open-loop (rate) steady",
        ),
        (
            "{name: s, rate: 5, duration: 1m, spikes: [{at: 50s, duration: 20s, rate: 9}]}",
            "load.phases[0].spikes[0].at: the spike (50s + 20s) ends after the phase (1m)",
        ),
        (
            "{name: s, rate: 5, duration: 1m, spikes: [{at: 5s, duration: 2s}]}",
            "load.phases[0].spikes[0].rate: a spike takes rate (requests/s) or factor",
        ),
        (
            "{name: s, rate: 5, duration: 1m, spikes: [{at: 5s, duration: 2s, rat: 3}]}",
            "load.phases[0].spikes[0].rat: unknown key 'rat'; did you mean 'rate'?",
        ),
        (
            "{name: s, rate: 5, duration: 1m, bursts: {every: 1m, size: 3}}",
            "load.phases[0].bursts.every: 1m is not shorter than the phase (1m)",
        ),
        (
            "{name: s, rate: 5, duration: 1m, bursts: {every: 5s, size: 0}}",
            "load.phases[0].bursts.size: expected a positive integer, got 0",
        ),
    ],
)
def test_shape_keys_are_checked_with_the_key_the_value_and_the_line(
    tmp_path: Path, phase: str, message: str
) -> None:
    path = write_scenario(tmp_path, f"    - {phase}\n")
    with pytest.raises(ScenarioError) as caught:
        from_path(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: {message}")
    assert problem.endswith("(line 6)")


def test_the_driver_runs_a_trace_phase_for_its_length(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "    - {name: replay, kind: trace, path: t.txt, speed: 10}\n")
    (path.parent / "t.txt").write_text("0\n10\n20\n30\n", encoding="utf-8")
    spec = resolve(from_path(path), path)
    driver, fleet, _ = drive(tmp_path, spec)
    driver.traces = timing(spec).traces
    start = fleet.clock()
    log = driver.run()
    [step] = fleet.steps
    assert step.shape is not None
    assert step.shape.times == pytest.approx((0, 1, 2, 3))
    assert log["phases"][0]["kind"] == "trace"
    assert fleet.clock() - start == pytest.approx(4.0, abs=0.11)


@pytest.mark.parametrize("flag", ["users", "rate"])
def test_users_or_rate_flags_on_a_trace_say_to_change_its_speed(tmp_path: Path, flag: str) -> None:
    path = write_scenario(tmp_path, "    - {name: replay, kind: trace, path: t.txt}\n")
    (path.parent / "t.txt").write_text("0\n1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=f"--{flag}: the last phase 'replay' replays a trace"):
        with_overrides(load_scenario(path), **{flag: 5})
    # --duration is a cap on the replay.
    assert with_overrides(load_scenario(path), duration="1s").load.phases[0].duration == 1.0


def test_the_example_scenarios_load() -> None:
    folder = Path(__file__).parents[3] / "scenarios"
    day = load_scenario(folder / "daily.yaml").load.phases
    assert [p.kind for p in day] == [PhaseKind.DAILY, PhaseKind.STEADY]
    [replay] = load_scenario(folder / "trace.yaml").load.phases
    assert replay.path == str((folder / "logs" / "arrivals_sample.jsonl").resolve())
    # Five minutes of log at speed 5: about a minute.
    assert 55 < (replay.duration or 0) < 61
