"""Child processes that die with `stress run`, signals that stop a run in order, a deadline.

`stress run` starts children: the load process (``python -m stress.load``) and, for a
``builtin:`` target, a server. If the parent is SIGKILLed (or the OOM killer takes it), they
must not run on: each child is started with ``preexec_fn=die_with_parent()``, so the kernel
sends it SIGTERM the moment the parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``). The load
process treats that SIGTERM like a Ctrl-C: it stops the load, waits for the requests in
flight, writes its last records and exits; ``orphan_safe_stdout`` keeps its event lines (to a
parent that is gone) from raising on the broken pipe while it does so.

SIGTERM to `stress run` itself raises ``Terminated`` (a KeyboardInterrupt), so it stops the
load and writes the report exactly as Ctrl-C does; the exit code says which signal it was:
130 for SIGINT, 143 for SIGTERM (128 + the signal number, the shell's convention).

``Deadline`` is the parent's backstop for the runaway guard: the load process stops itself
at ``load.max_duration``; if it has not exited some time after that, the parent sends it
SIGTERM, then SIGKILL.

This module imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

# <linux/prctl.h>
PR_SET_PDEATHSIG = 1

SIGINT_EXIT = 128 + signal.SIGINT  # 130
SIGTERM_EXIT = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled where Ctrl-C is (stop the load, write the report)."""


def interrupt_exit_code(interrupt: BaseException) -> int:
    """The exit code of a run stopped by ``interrupt``: 143 for SIGTERM, else 130."""
    return SIGTERM_EXIT if isinstance(interrupt, Terminated) else SIGINT_EXIT


def signal_name(code: int) -> str:
    return "SIGTERM" if code == SIGTERM_EXIT else "SIGINT"


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread and SIGINT raises
    KeyboardInterrupt, even where SIGINT was ignored when the process started (a background
    job of a shell). Outside the main thread signals cannot be handled: a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    # A shell starts a background job (`stress run ... &`) with SIGINT ignored, and Python
    # then never raises KeyboardInterrupt; but the load process installs its own handler, so
    # a `kill -INT` stopped the load and not stress run, which went on against a stopped
    # load. SIGINT stops stress run however it was started, as it stops the load.
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for subprocess.Popen: the child gets ``sig`` when this process dies.

    Linux only (None elsewhere: Popen then runs no preexec_fn). The kernel sends the signal
    when the *thread* that started the child exits, so start children from a thread that
    outlives them (the main thread, or the one that also waits for them, as stress does).
    """
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here, in the parent: after fork only the call itself runs.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would ever signal.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def parent_gone(parent: int) -> bool:
    """True when the process ``parent`` (a PID) is no longer this process's live parent: it
    is gone, it is a zombie, or this process was reparented.

    getppid() alone is not enough: when a parent with several threads is SIGKILLed, the
    kernel sends PR_SET_PDEATHSIG as the thread that started the child exits, and reparents
    the child to a sibling thread of the same dying process, so getppid() still names it for
    a moment. Its /proc entry then says zombie ("Z") or is gone. Where there is no /proc
    (not Linux, so no PR_SET_PDEATHSIG either), only a changed parent counts.
    """
    return os.getppid() != parent or dead_or_zombie(parent)


def dead_or_zombie(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie not yet reaped, or gone); False while it runs,
    and False where there is no /proc to ask."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    fields = stat.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] in ("Z", "X", "x")


class _OrphanSafe:
    """A text stream that turns a broken pipe into silence (and /dev/null) instead of an error."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _lost(self) -> None:
        self.broken = True
        # Later writes and the interpreter's final flush of the real stream go nowhere.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ConnectionResetError):
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except (BrokenPipeError, ConnectionResetError):
                self._lost()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def orphan_safe_stdout() -> None:
    """Make sys.stdout survive the reader's death (the load process's events to its parent)."""
    if not isinstance(sys.stdout, _OrphanSafe):
        sys.stdout = _OrphanSafe(sys.stdout)


class Deadline:
    """Stop ``process`` if it is still running ``seconds`` from now: SIGTERM, then SIGKILL
    ``grace`` seconds later. ``fired`` says whether it had to; ``cancel()`` when it exited."""

    def __init__(
        self,
        process: subprocess.Popen[Any],
        seconds: float,
        *,
        grace: float = 15.0,
        on_fire: Callable[[], None] = lambda: None,
    ) -> None:
        self.process = process
        self.seconds = seconds
        self.grace = grace
        self.on_fire = on_fire
        self.fired = False
        self.killed = False
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stress-deadline", daemon=True)

    def __enter__(self) -> Deadline:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.cancel()

    def cancel(self) -> None:
        self._cancelled.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _watch(self) -> None:
        if self._cancelled.wait(self.seconds) or self.process.poll() is not None:
            return
        self.fired = True
        self.on_fire()
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        if self._cancelled.wait(self.grace) or self.process.poll() is not None:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
