"""Wake the open-loop pacer at an arrival's time without spinning.

The event loop's own timers wait in whole milliseconds (epoll's timeout): a timer fires up to
1 ms late, and one set less than 1 ms ahead lasts 1 ms. So the pacer (stress.load.traffic)
is woken two ways. On every turn of the loop (a libev check watcher, about a microsecond) it
releases what has come due: under load the loop turns far more often than once a
millisecond, so arrivals leave on time without any timer. When the loop would otherwise
sleep, an Alarm wakes it: for an arrival a millisecond or more ahead, on Linux, a timerfd
(the kernel's high-resolution timer makes the fd readable at the instant asked, on
CLOCK_MONOTONIC, the clock of time.perf_counter there); nearer than that, or without a
timerfd, the loop's own timer.

A timerfd that fires costs about 50 µs of CPU on the development machine's virtual CPUs
(a plain loop timer a few µs), which is why it is kept for arrivals at least PRECISE_FROM
apart: at most 1,000 wake-ups a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import gevent

# Arrivals at least this far ahead are woken by the timerfd, nearer ones by the loop's timer.
PRECISE_FROM = 0.001

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1
_READ = 1  # libev's EV_READ


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> Any:
    """The C library, where it has timerfd and time.perf_counter reads its clock; else None."""
    if not sys.platform.startswith("linux"):
        return None
    implementation = time.get_clock_info("perf_counter").implementation
    if "CLOCK_MONOTONIC" not in implementation or "RAW" in implementation:
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "timerfd_settime") else None


_LIBC = _libc()


class Alarm:
    """Calls ``callback`` (in the event loop's own greenlet) once the time.perf_counter
    reading passes the last ``at(when)``; ``at`` again moves it, ``cancel`` drops it."""

    def __init__(self, callback: Callable[[], None], *, precise: bool = True) -> None:
        self._callback = callback
        self._loop = gevent.get_hub().loop
        self._timer: Any = None
        self._fd = -1
        self._watcher: Any = None
        self._fd_armed = False
        # The time it is set for; None when it is not set (or has gone off).
        self.when: float | None = None
        if precise and _LIBC is not None:
            fd = _LIBC.timerfd_create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
            if fd >= 0:
                self._fd = fd
                self._spec = _Itimerspec()
                self._spec_ref = ctypes.byref(self._spec)
                # Started once (a start and stop per wait would cost two epoll_ctl calls);
                # it keeps the loop alive only while armed.
                self._watcher = self._loop.io(fd, _READ)
                self._watcher.ref = False
                self._watcher.start(self._fired)

    @property
    def precise(self) -> bool:
        """Whether far arrivals are woken by a timerfd."""
        return self._fd >= 0

    def at(self, when: float, now: float) -> None:
        """Wake at ``when``; ``now`` is the caller's time.perf_counter reading."""
        self.cancel()
        self.when = when
        wait = when - now
        if self._fd >= 0 and wait >= PRECISE_FROM:
            seconds = int(when)
            self._spec.it_value.tv_sec = seconds
            # At least 1 ns: an all-zero it_value would disarm the timer instead.
            self._spec.it_value.tv_nsec = max(int((when - seconds) * 1e9), 1)
            if _LIBC.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) == 0:
                self._fd_armed = True
                self._watcher.ref = True
                return
        self._timer = self._loop.timer(max(wait, 0.0))
        # update: count from now, not from the loop's cached time (which may be a turn old
        # and would make the timer go off early).
        self._timer.start(self._timed, update=True)

    def cancel(self) -> None:
        self.when = None
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        if self._fd_armed:
            # Left armed: firing late is harmless (the callback releases only what is due),
            # and disarming would cost a system call each time the loop was quicker.
            self._fd_armed = False
            self._watcher.ref = False

    def _timed(self) -> None:
        self._timer.close()
        self._timer = None
        self.when = None
        self._callback()

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:  # re-armed since it fired: nothing to read
            return
        if self._fd_armed:
            self._fd_armed = False
            self._watcher.ref = False
            self.when = None
            self._callback()

    def close(self) -> None:
        self.cancel()
        if self._fd >= 0:
            self._watcher.stop()
            self._watcher.close()
            os.close(self._fd)
            self._fd = -1
