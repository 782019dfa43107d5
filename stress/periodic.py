"""A step repeated on a steady clock in a thread of the parent: the target-metrics scraper
(stress.promscrape) and the readiness poller (stress.healthwatch) both tick this way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def every(interval: float, stop: threading.Event, step: Callable[[], None]) -> None:
    """Call ``step`` every ``interval`` seconds until ``stop`` is set. A slow step skips the
    ticks it overran instead of catching up in a burst."""
    due = time.monotonic()
    while not stop.is_set():
        step()
        due += interval
        while due < time.monotonic():
            due += interval
        stop.wait(due - time.monotonic())
