"""The target's own metrics in report.html: counters as rates, gauges as they are, on the
latency chart's time axis; failed scrapes and absent series are notes, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from stress.report.target_metrics import CHART_ID, figure, samples, section, series_frame
from stress.rundir import layout

T0 = 1_800_000_000.0


def records(seconds: int = 4) -> pd.DataFrame:
    sent = [T0 + i * 0.5 for i in range(seconds * 2)]
    return pd.DataFrame(
        {
            "phase": "load",
            "users": 2,
            "sent_at": sent,
            "latency_ms": [100.0 + 10 * i for i in range(len(sent))],
            "error_kind": None,
            "ok": True,
        }
    )


def scrape(at: float, **values: float) -> dict[str, object]:
    return {
        "at": T0 + at,
        "samples": [
            {"name": "queue", "labels": {}, "value": values["queue"], "type": "gauge"},
            {
                "name": "tokens_total",
                "labels": {"m": "a"},
                "value": values["tokens"],
                "type": "counter",
            },
        ],
    }


def write(run_dir: Path, lines: list[dict[str, object]]) -> None:
    text = "".join(json.dumps(line) + "\n" for line in lines)
    layout.target_metrics(run_dir).write_text(text, encoding="utf-8")


def test_counter_is_drawn_as_its_rate_and_a_reset_leaves_a_gap() -> None:
    scrapes = [
        scrape(0, queue=0, tokens=0),
        scrape(1, queue=3, tokens=10),
        scrape(3, queue=5, tokens=50),
        scrape(4, queue=1, tokens=5),  # the server restarted
    ]
    lines = series_frame(samples(scrapes))
    assert list(lines) == ["queue", 'tokens_total{m="a"} (per s)']
    assert lines["queue"].tolist() == [0, 3, 5, 1]
    rate = lines['tokens_total{m="a"} (per s)']
    assert rate.iloc[:2].tolist() == [10.0, 20.0]
    assert pd.isna(rate.iloc[2])


def test_figure_shares_the_latency_time_axis() -> None:
    plot = figure(records(), samples([scrape(0, queue=0, tokens=0), scrape(2, queue=4, tokens=8)]))
    latency, queue, tokens = plot.data
    assert latency.name == "p95 latency (ms)"
    assert latency.yaxis == "y"
    assert queue.name == "queue"
    assert queue.yaxis == "y2"
    # A rate has its own (right-hand) axis: tokens/s would flatten a queue depth.
    assert tokens.yaxis == "y3"
    # Seconds since the first request, as the latency chart counts them.
    assert list(queue.x) == [0.0, 2.0]
    assert list(queue.y) == [0.0, 4.0]


def test_section_charts_the_series_and_notes_failures_and_absent_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            scrape(0, queue=0, tokens=0),
            {"at": T0 + 1, "error": "ConnectTimeout: timed out"},
            scrape(2, queue=2, tokens=4),
        ],
    )
    html = section(tmp_path, records(), ["queue", "tokens", "vllm:missing"])
    assert f'id="{CHART_ID}"' in html
    assert "1 of 3 scrapes failed (1: ConnectTimeout: timed out)" in html
    assert "never in the scrapes: vllm:missing" in html
    assert "tokens" not in html.split("never in the scrapes")[1].split("<")[0]


def test_section_without_samples_is_a_note_not_a_chart(tmp_path: Path) -> None:
    assert section(tmp_path, records(), []) == ""
    assert "no scrape was stored" in section(tmp_path, records(), ["queue"])
    write(tmp_path, [{"at": T0, "error": "ConnectError: refused"}] * 2)
    html = section(tmp_path, records(), ["queue"])
    assert CHART_ID not in html
    assert "2 of 2 scrapes failed (2: ConnectError: refused)" in html


def test_compare_draws_both_runs_series_base_dashed(tmp_path: Path) -> None:
    from stress.report.comparison_page import render_comparison
    from stress.report.target_metrics import comparison, comparison_figure

    base, new, bare = tmp_path / "base", tmp_path / "new", tmp_path / "bare"
    for folder in (base, new, bare):
        folder.mkdir()
    write(base, [scrape(0, queue=1, tokens=0), scrape(1, queue=2, tokens=5)])
    write(new, [scrape(5, queue=7, tokens=0), scrape(6, queue=9, tokens=50)])
    plot = comparison_figure({"BASE": str(base), "NEW": str(new)})
    assert plot is not None
    lines = {trace.name: trace for trace in plot.data}
    assert set(lines) == {
        "BASE queue",
        'BASE tokens_total{m="a"} (per s)',
        "NEW queue",
        'NEW tokens_total{m="a"} (per s)',
    }
    assert lines["BASE queue"].line.dash == "dash"
    assert lines["NEW queue"].line.dash == "solid"
    # Each run on its own clock: seconds since its first scrape.
    assert list(lines["NEW queue"].x) == [0.0, 1.0]
    assert list(lines["NEW queue"].y) == [7.0, 9.0]
    assert list(lines['NEW tokens_total{m="a"} (per s)'].y) == [50.0]
    assert comparison({"BASE": str(bare), "NEW": None}) == ""
    document = {"base": {"run_dir": str(base)}, "new": {"run_dir": str(bare)}}
    assert f"{CHART_ID}-compare" in render_comparison(document)
