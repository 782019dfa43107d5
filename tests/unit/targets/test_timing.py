"""The per-request metrics, with times chosen so each definition gives a different number."""

from __future__ import annotations

import pytest

from stress.targets.timing import token_timing

# Sent at 0; output events at 100, 120, 150 and 230 ms; the answer ended at 250 ms.
TIMES = [0.100, 0.120, 0.150, 0.230]


def test_definitions_on_one_token_per_event() -> None:
    timing = token_timing(started=0.0, finished=0.250, token_times=TIMES, output_tokens=4)
    assert timing.ttft_ms == pytest.approx(100.0)
    # GuideLLM / GenAI-Perf ITL: (last - first) / (tokens - 1) = 130 / 3
    assert timing.itl_ms == pytest.approx(130.0 / 3)
    # vLLM TPOT: (latency - ttft) / (tokens - 1) = 150 / 3, so it counts the tail after the
    # last token (usage chunk, [DONE]) that ITL does not.
    assert timing.tpot_ms == pytest.approx(50.0)
    assert timing.max_token_gap_ms == pytest.approx(80.0)
    assert timing.output_tokens_per_s == pytest.approx(4 / 0.250)


def test_usage_counts_more_tokens_than_events_when_chunks_carry_several() -> None:
    # Four events, but the server's usage says 10 tokens (multi-token chunks).
    timing = token_timing(started=0.0, finished=0.250, token_times=TIMES, output_tokens=10)
    assert timing.itl_ms == pytest.approx(130.0 / 9)
    assert timing.tpot_ms == pytest.approx(150.0 / 9)
    assert timing.max_token_gap_ms == pytest.approx(80.0)  # a gap between events, not tokens


def test_one_token_has_a_ttft_but_no_itl_or_tpot() -> None:
    timing = token_timing(started=1.0, finished=1.5, token_times=[1.2], output_tokens=1)
    assert timing.ttft_ms == pytest.approx(200.0)
    assert (timing.itl_ms, timing.tpot_ms, timing.max_token_gap_ms) == (None, None, None)


def test_an_answer_that_did_not_stream_has_only_a_token_rate() -> None:
    timing = token_timing(started=0.0, finished=2.0, token_times=[], output_tokens=50)
    assert timing.ttft_ms is None
    assert timing.itl_ms is None
    assert timing.output_tokens_per_s == pytest.approx(25.0)


def test_no_tokens_no_metrics() -> None:
    timing = token_timing(started=0.0, finished=1.0, token_times=[], output_tokens=None)
    assert timing == type(timing)()
