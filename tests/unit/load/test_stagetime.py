"""Where a load process's time per request goes (stress.load.stagetime): which requests are
sampled, how their marks add up, and what load.json is given."""

from __future__ import annotations

import pytest

from stress.load.stagetime import STAGES, StageTimes


def test_every_nth_request_is_sampled_with_a_first_mark() -> None:
    times = StageTimes(every=4)
    picked = [times.due() for _ in range(12)]
    assert [i for i, marks in enumerate(picked) if marks is not None] == [3, 7, 11]
    assert all(len(marks) == 1 for marks in picked if marks is not None)


def test_the_marks_of_a_sample_become_stage_times_and_the_rest_is_the_transport() -> None:
    times = StageTimes(every=1)
    # start, then the end of parse, checks, record, hand_over: 2, 3, 4 and 1 µs.
    times.add([0.0, 2e-6, 5e-6, 9e-6, 10e-6])
    times.add([1.0, 1.0 + 4e-6, 1.0 + 9e-6, 1.0 + 15e-6, 1.0 + 17e-6])
    times.batching = 100 * 5e-6  # 5 µs a request over 100 requests
    figures = times.summary(cpu_s=100 * 50e-6, requests=100)
    assert figures == pytest.approx(
        {
            "sampled": 2,
            "parse": 3.0,
            "checks": 4.0,
            "record": 5.0,
            "hand_over": 1.5,
            "batching": 5.0,
            "cpu": 50.0,
            "transport_and_loop": 50.0 - 3.0 - 4.0 - 5.0 - 1.5 - 5.0,
        }
    )


def test_a_sample_missing_a_stage_is_left_out() -> None:
    times = StageTimes(every=1)
    times.add([0.0, 1e-6])  # answered after the stop, say: not judged, not recorded
    assert times.sampled == 0
    assert times.summary(cpu_s=None, requests=0) == {"sampled": 0}


def test_the_stages_are_the_plans_in_its_order() -> None:
    assert STAGES == ("parse", "checks", "record", "hand_over")


def test_a_single_processs_part_writing_is_its_own_share_not_the_transports() -> None:
    times = StageTimes(every=1)
    times.add([0.0, 2e-6, 5e-6, 9e-6, 10e-6])
    times.batching = 100 * 5e-6
    times.parts = 100 * 7e-6  # 7 µs a request, written in a native thread
    figures = times.summary(cpu_s=100 * 50e-6, requests=100)
    assert figures["parts"] == pytest.approx(7.0)
    assert figures["transport_and_loop"] == pytest.approx(50.0 - 2 - 3 - 4 - 1 - 5 - 7)
