"""connection_dropped_after_answer: the finding names the input that met the drop, and
replay reads that name back to send it second on the kept connection."""

from __future__ import annotations

from stress.checks import connection


def test_the_next_input_is_read_back_from_the_finding() -> None:
    finding = connection.dropped_after("numbers.non_finite-0003", 500, "realistic.rows-0012")
    assert finding.check == connection.DROPPED
    assert connection.next_input(finding.message) == "realistic.rows-0012"
    assert connection.next_input("server error: HTTP 500") is None
