"""corpus.jsonl written by several processes (stress.inputs.parts): each takes tasks as it is
free and writes a part file; the parts are put together in corpus order. The bytes are one
process's, whatever the number of processes; a failure is the one a single process raises;
a process that dies is an error, not a short corpus. And how many processes the default
starts for the load of the machine."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from stress.errors import ScenarioError
from stress.inputs import corpus, parts
from stress.inputs.families import catalog

FAMILIES = {"size.long_prompt": 1.0, "numbers.nan": 1.0, "realistic.chat_prompt": 2.0}


def planned(workers: int, count: int = 400, **options: Any) -> corpus.Plan:
    return corpus.planned(
        catalog(),
        FAMILIES,
        seed=5,
        count=count,
        protocol="openai-chat",
        features={},
        workers=workers,
        **options,
    )


def one_family(generate: Any, count: int) -> corpus.Plan:
    """A two-process plan of ``count`` inputs of one family made by ``generate``."""
    family = dataclasses.replace(catalog()["size.single_char"], generate=generate)
    return corpus.planned(
        {family.name: family},
        {family.name: 1.0},
        seed=1,
        count=count,
        protocol="openai-chat",
        features={},
        workers=2,
    )


def serial_bytes(count: int = 400) -> bytes:
    return "".join(corpus.to_line(item) + "\n" for item in planned(1, count).inputs()).encode()


@pytest.mark.parametrize("workers", [2, 3])
def test_written_by_several_processes_the_file_holds_one_process_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(corpus, "CHUNK", 30)  # many tasks, taken by every process
    monkeypatch.setattr(corpus, "BLOCK_CHARS", 5_000)  # tasks written in several blocks
    out = tmp_path / "corpus.jsonl"
    plan = planned(workers)
    with out.open("wb") as handle:
        handle.write(b"before\n")  # still in the buffer: flushed before the parts go in
        plan.write(handle, first=plan.first())
    assert out.read_bytes() == b"before\n" + serial_bytes()
    assert list(tmp_path.iterdir()) == [out]  # the part files leave nothing behind


def test_parts_fall_back_to_reading_and_writing_where_the_kernel_cannot_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[int] = []

    def cannot(*args: Any, **kwargs: Any) -> int:
        tried.append(1)
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(corpus, "CHUNK", 50)
    monkeypatch.setattr(os, "copy_file_range", cannot)
    out = tmp_path / "corpus.jsonl"
    with out.open("wb") as handle:
        planned(2).write(handle)
    assert tried  # a file: the parts were copied into it, not read back through here
    assert out.read_bytes() == serial_bytes()


def test_the_error_is_the_first_failing_task_in_corpus_order_whichever_process_fails_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Task 0 fails at input 499 only once task 1 has failed at input 500, in the other
    # process: both fail, and the error raised is task 0's, as one process would raise it.
    flag = tmp_path / "task-1-failed"

    def fails(draw: Any) -> dict[str, Any]:
        if draw.index == 500:
            flag.touch()
            raise ValueError("later task")
        if draw.index == 499:
            deadline = time.monotonic() + 20
            while not flag.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            raise ValueError("earlier task")
        return {"messages": [{"role": "user", "content": str(draw.index)}]}

    monkeypatch.setattr(corpus, "CHUNK", 500)
    plan = one_family(fails, 1_000)
    with pytest.raises(ScenarioError) as raised, (tmp_path / "out").open("wb") as handle:
        plan.write(handle)
    assert flag.exists()
    assert raised.value.problems == [
        "inputs.families.size.single_char: cannot generate size.single_char-0499: earlier task"
    ]


def test_a_process_that_dies_is_an_error_not_a_short_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()

    def dies_in_a_forked_process(draw: Any) -> dict[str, Any]:
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.001)  # the forked process surely takes a task before this one is done
        return {"messages": [{"role": "user", "content": str(draw.index)}]}

    monkeypatch.setattr(corpus, "CHUNK", 10)
    plan = one_family(dies_in_a_forked_process, 600)
    expected = r"ended without its inputs \(exit 3\)"
    with pytest.raises(RuntimeError, match=expected), (tmp_path / "out").open("wb") as handle:
        plan.write(handle)


# The first forked process dies; the others each make thousands of one-input tasks, so
# what they send back is larger than a pipe holds and they are still writing it when the
# error is raised.
_ONE_DIES = """
import os, sys, time
from stress.inputs import parts
forked = [None]
count = [0]
real_fork = os.fork
def fork():
    number = count[0]
    count[0] += 1
    pid = real_fork()
    if pid == 0:
        forked[0] = number
    return pid
parts.os.fork = fork
class Maker:
    def block(self, name, start, stop):
        if forked[0] == 0:
            os._exit(3)
        time.sleep(0.00005)
        return b"x\\n" * (stop - start), stop
tasks = [("f", i, i + 1) for i in range(30000)]
try:
    parts.make(Maker(), tasks, 4, None)
except RuntimeError as exc:
    print("raised:", exc)
"""


def test_a_dead_process_does_not_leave_the_others_blocked_writing() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _ONE_DIES],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # the process group this test started
        process.communicate()
        pytest.fail("the corpus processes hung after one of them died")
    assert "ended without its inputs (exit 3)" in out


def test_merged_spans_join_neighbours_in_one_file_only() -> None:
    spans = [(0, 0, 5), (0, 5, 3), (1, 8, 4), (0, 8, 2), (0, 20, 1)]
    assert list(parts._merged(spans)) == [(0, 0, 8), (1, 8, 4), (0, 8, 2), (0, 20, 1)]


def test_a_process_records_where_each_task_is_and_stops_every_process_when_one_fails(
    tmp_path: Path,
) -> None:
    tasks = [("a", 0, 3), ("a", 3, 5), ("b", 0, 2), ("b", 2, 4)]

    def block(name: str, start: int, stop: int) -> tuple[bytes, int]:
        if (name, start) == ("b", 0):
            raise ValueError("b fails")
        return f"{name}{start}-{stop}\n".encode(), stop

    claims = parts._Claims()
    with (tmp_path / "part").open("w+b") as part:
        made = parts._work(block, tasks, claims, part)
        assert part.read() == b""  # written and flushed: the read is at the end
        assert os.pread(part.fileno(), 100, 0) == b"a0-3\na3-5\n"
    assert made.spans == [(0, 0, 5), (1, 5, 5)]
    assert made.failed == 2
    assert str(made.error) == "b fails"
    assert claims.next() is None  # nobody takes task 3


@pytest.mark.parametrize(
    ("cpus", "load", "expected"),
    [
        (2, 0.0, 2),
        (2, 0.5, 2),  # a quiet 2-CPU machine: one and a half CPUs idle, two processes
        (2, 0.6, 1),
        (2, 1.0, 1),
        (2, 1.5, 1),
        (2, 5.0, 1),  # every CPU busy: still one
        (4, 1.5, 3),  # 2.5 idle rounds up (Python's round would give 2)
        (4, 2.5, 2),  # 1.5 idle rounds up (round gives 2 as well)
        (4, 0.4, 4),
        (16, 0.0, 8),  # at most 8
    ],
)
def test_the_default_is_one_process_per_cpu_at_least_half_idle(
    cpus: int, load: float, expected: int
) -> None:
    assert corpus.default_workers(100 * corpus.PER_PROCESS, load=load, cpus=cpus) == expected


def test_the_default_gives_each_process_enough_inputs() -> None:
    assert corpus.default_workers(2 * corpus.PER_PROCESS - 1, load=0.0, cpus=4) == 1
    assert corpus.default_workers(2 * corpus.PER_PROCESS, load=0.0, cpus=4) == 2


SCENARIO = (
    'name: s\ntarget: {url: "http://127.0.0.1:9", protocol: openai-chat}\n'
    "inputs: {seed: 1, count: 30, families: {realistic.*: 1, numbers.*: 1}}\n"
    "load: {phases: [{name: p, users: 1, duration: 1s}]}\n"
)

# Registered before the command runs, so it runs after the command's own exit handlers.
AFTER_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
from stress.cli import main
main(sys.argv[1:])
"""


def test_generate_names_its_processes_and_leaves_its_heap_to_the_system_at_exit(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"corpus-{workers}.jsonl"
        command = ["generate", str(scenario), "-n", "1200", "--workers", workers, "-o", str(out)]
        result = subprocess.run(
            [sys.executable, "-c", AFTER_EXIT, *command], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        plural = "" if workers == "1" else "es"
        assert "wrote 1200 inputs of" in result.stderr
        assert f"({workers} process{plural})" in result.stderr
        assert result.stdout.strip() == "frozen at exit: True"
        outputs[workers] = out.read_bytes()
    assert outputs["1"] == outputs["2"]


def test_a_corpus_of_one_task_is_made_by_one_process_whatever_the_workers() -> None:
    assert planned(2, count=corpus.CHUNK).processes == 1
    assert planned(2, count=corpus.CHUNK + 1).processes == 2
    assert planned(1, count=10 * corpus.CHUNK).processes == 1


class TwoPartError(Exception):
    """Pickles, but does not unpickle (its args are one string, its __init__ takes two)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def test_an_error_that_cannot_cross_processes_arrives_as_its_text(tmp_path: Path) -> None:
    parent = os.getpid()

    def fails_in_a_forked_process(draw: Any) -> dict[str, Any]:
        if os.getpid() != parent:
            raise TwoPartError("input", str(draw.index))
        time.sleep(0.001)  # the forked process surely takes a task before this one is done
        return {"messages": [{"role": "user", "content": str(draw.index)}]}

    plan = one_family(fails_in_a_forked_process, 600)
    with pytest.raises(RuntimeError, match=r"^TwoPartError: input: \d+$"):
        b"".join(plan.blocks())


def test_written_to_something_else_than_a_file_the_bytes_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(corpus, "CHUNK", 30)
    handle = io.BytesIO()
    planned(2).write(handle)  # made by two processes all the same, then read back
    assert handle.getvalue() == serial_bytes()
