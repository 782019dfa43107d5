"""stress.lifeline with real processes: children die with their parent, the deadline backstop
terminates then kills, SIGTERM becomes an interruption, a broken stdout pipe is silent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stress import lifeline
from stress.runner import Workers, _load_deadline
from stress.scenario import from_dict

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@linux_only
@pytest.mark.parametrize("guarded", [True, False])
def test_a_child_started_with_die_with_parent_dies_when_its_parent_is_killed(
    tmp_path: Path, guarded: bool
) -> None:
    # A middle process starts a sleeping grandchild (with or without the guard), prints its
    # PID, and is SIGKILLed: only the guarded grandchild must go with it.
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import subprocess, sys, time
                from stress.lifeline import die_with_parent
                child = subprocess.Popen(
                    [sys.executable, "-c", "import time; time.sleep(60)"],
                    preexec_fn=die_with_parent() if {guarded} else None,
                )
                print(child.pid, flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert middle.stdout is not None
    grandchild = int(middle.stdout.readline())
    try:
        middle.kill()
        middle.wait(timeout=10)
        deadline = time.monotonic() + 5
        while alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(grandchild) is not guarded
    finally:
        middle.stdout.close()
        if alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_the_deadline_terminates_then_kills_a_child_that_ignores_sigterm() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout is not None
    stubborn.stdout.readline()  # SIGTERM is ignored from here on
    fired: list[bool] = []
    with lifeline.Deadline(stubborn, 0.3, grace=0.5, on_fire=lambda: fired.append(True)) as d:
        stubborn.wait(timeout=10)
    assert fired == [True]
    assert d.fired
    assert d.killed
    stubborn.stdout.close()
    # Killed, not waited out: without the deadline the wait above would have raised after 10 s
    # (the child sleeps 60 s). No stopwatch here: the order of events is the evidence.
    assert stubborn.returncode == -signal.SIGKILL


def test_the_deadline_stops_with_sigterm_when_that_is_enough_and_never_fires_early() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with lifeline.Deadline(child, 0.3, grace=30) as deadline:
        child.wait(timeout=10)
    assert deadline.fired
    assert not deadline.killed
    assert child.returncode == -signal.SIGTERM
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    with lifeline.Deadline(quick, 30) as deadline:
        quick.wait(timeout=10)
    assert not deadline.fired  # leaving the block cancels it at once


def test_sigterm_raises_terminated_and_exit_codes_say_which_signal() -> None:
    def signalled() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises long before this ends

    with lifeline.sigterm_interrupts(), pytest.raises(lifeline.Terminated) as raised:
        signalled()
    assert lifeline.interrupt_exit_code(raised.value) == 143
    assert lifeline.interrupt_exit_code(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_a_broken_stdout_pipe_is_silent_after_orphan_safe_stdout() -> None:
    # The child writes an event line after its reader has gone: it must exit 0, quietly.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from stress.lifeline import orphan_safe_stdout\n"
            "orphan_safe_stdout()\n"
            "sys.stdin.readline()\n"
            "for _ in range(3):\n"
            "    sys.stdout.write('x' * 70000 + '\\n'); sys.stdout.flush()\n"
            "sys.stderr.write('finished\\n')\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()  # the reader dies
    child.stdin.write(b"go\n")
    child.stdin.close()
    assert child.wait(timeout=20) == 0
    assert child.stderr.read() == b"finished\n"
    child.stderr.close()


def test_the_parent_backstop_leaves_room_for_the_load_process_to_stop_itself() -> None:
    scenario = from_dict(
        {
            "name": "x",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "timeout": "10s"},
            "inputs": {"count": 1, "families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "p", "users": 1, "duration": "1m"}], "max_duration": "5m"},
        }
    )
    alone = _load_deadline(scenario, Workers())
    assert alone >= 300 + 2 * 10  # max_duration, then the last answers' timeout
    assert _load_deadline(scenario, Workers(local=2, join_timeout=60)) == alone + 60


def test_a_dead_or_zombie_process_is_told_from_a_running_one() -> None:
    # The load process's test of whether `stress run` is dying (its SIGTERM may come while the
    # parent's other threads still exit, before getppid() changes).
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert lifeline.dead_or_zombie(child.pid) is False
        assert lifeline.parent_gone(os.getppid()) is False
        assert lifeline.parent_gone(child.pid) is True  # not this process's parent
        child.kill()
        # Killed, not yet reaped: a zombie (polled: the kernel marks it when the kill lands).
        for _ in range(500):
            if lifeline.dead_or_zombie(child.pid):
                break
            time.sleep(0.01)
        assert lifeline.dead_or_zombie(child.pid) is True
    finally:
        child.kill()
        child.wait()
    assert lifeline.dead_or_zombie(child.pid) is True  # reaped: gone


def test_sigint_interrupts_even_where_it_was_ignored_at_start() -> None:
    # A shell's background job (`stress run ... &`) starts with SIGINT ignored; stress run
    # must still stop on it, as its load process does.
    code = textwrap.dedent(
        """
        import sys, time
        from stress import lifeline
        with lifeline.sigterm_interrupts():
            try:  # "ready" inside: a SIGINT right after it must still be caught here
                print("ready", flush=True)
                time.sleep(30)
            except KeyboardInterrupt:
                sys.exit(7)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 7
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
