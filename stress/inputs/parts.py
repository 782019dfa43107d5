"""corpus.jsonl made by several processes: this one and forked ones, each taking the next
task (a range of one family's inputs) off a shared counter as it is free, and writing its
lines to a part file of its own (an unnamed temporary file beside the output). When every
task is done, this process puts the parts together in corpus order, copied file to file by
the kernel (os.copy_file_range): no line is sent between processes, pickled or copied
through Python, and no process waits for another while tasks are left.

The bytes are the same as one process makes: a task's lines are ``_Maker.block``'s, whoever
makes them. Memory stays at a few blocks per process (a task is written as it is made, in
blocks of about BLOCK_CHARS); the parts take as much disk as the corpus until they are
put together. A task that fails stops every process from taking more tasks; the error
raised is that of the first failing task in corpus order, as one process would raise it.
"""

from __future__ import annotations

import mmap
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from stress.inputs.corpus import _Maker

# (family, start, stop): one task, a range of one family's inputs.
Task = tuple[str, int, int]

# Bytes of the shared counter: the next task to take, then a flag set when a task failed.
_COUNTER = 8


@dataclass
class _Made:
    """What one process made: for each task it took, where its lines are in its part file
    (task number, offset, length); the first task that failed, and its error."""

    spans: list[tuple[int, int, int]]
    failed: int | None = None
    error: BaseException | None = None


class _Claims:
    """The shared counter every process takes its next task number from."""

    def __init__(self) -> None:
        import multiprocessing

        self.memory = mmap.mmap(-1, _COUNTER + 1)  # anonymous and shared: fork keeps it so
        self.lock = multiprocessing.get_context("fork").Lock()

    def next(self) -> int | None:
        """The next task's number; None once a task has failed."""
        with self.lock:
            if self.memory[_COUNTER]:
                return None
            number = int.from_bytes(self.memory[:_COUNTER], "little")
            self.memory[:_COUNTER] = (number + 1).to_bytes(_COUNTER, "little")
        return number

    def stop(self) -> None:
        with self.lock:
            self.memory[_COUNTER] = 1


def _work(
    block: Callable[[str, int, int], tuple[bytes, int]],
    tasks: Sequence[Task],
    claims: _Claims,
    part: IO[bytes],
) -> _Made:
    """Take tasks until none are left (or one failed), writing their lines to ``part``."""
    made = _Made([])
    offset = part.tell()
    while (number := claims.next()) is not None and number < len(tasks):
        name, start, stop = tasks[number]
        size = 0
        try:
            while start < stop:
                lines, start = block(name, start, stop)
                part.write(lines)
                size += len(lines)
        except Exception as exc:
            claims.stop()
            made.failed, made.error = number, exc
            break
        made.spans.append((number, offset, size))
        offset += size
    part.flush()
    return made


def _child(
    block: Callable[[str, int, int], tuple[bytes, int]],
    tasks: Sequence[Task],
    claims: _Claims,
    part: IO[bytes],
    pipe: int,
) -> None:  # pragma: no cover (runs in the forked process; its output is what the tests see)
    """A forked process: work, send back what was made, end without running this process's
    exit handlers (they are the parent's)."""
    code = 1
    try:
        made = _work(block, tasks, claims, part)
        try:
            data = pickle.dumps(made)
            pickle.loads(data)
        except Exception:  # an error that does not pickle (or unpickle): its text does
            made.error = RuntimeError(f"{type(made.error).__name__}: {made.error}")
            data = pickle.dumps(made)
        with os.fdopen(pipe, "wb") as out:
            out.write(data)
        code = 0
    finally:
        os._exit(code)


@dataclass
class Parts:
    """The part files and what each holds, once every process is done."""

    files: list[IO[bytes]]
    spans: list[tuple[int, int, int]]  # (file, offset, length) of each task, in task order

    def close(self) -> None:
        for part in self.files:
            part.close()

    def copy_to(self, handle: IO[bytes]) -> None:
        """Append the corpus to ``handle`` (a file), in the kernel where it can."""
        handle.flush()
        out = handle.fileno()
        for file, offset, length in _merged(self.spans):
            _copy(self.files[file].fileno(), out, offset, length)

    def chunks(self) -> Iterator[bytes]:
        """The corpus as bytes, in pieces of at most one task's block size."""
        from stress.inputs import corpus

        for file, offset, length in self.spans:
            source = self.files[file].fileno()
            end = offset + length
            while offset < end:
                piece = os.pread(source, min(end - offset, corpus.BLOCK_CHARS), offset)
                offset += len(piece)
                yield piece


def make(maker: _Maker, tasks: Sequence[Task], workers: int, folder: str | None) -> Parts:
    """``tasks`` made by this process and ``workers - 1`` forked ones, into part files in
    ``folder`` (the system's temporary folder when None). Raises the error of the first
    failing task in corpus order."""
    claims = _Claims()
    # Closed by Parts.close, or below on an error.
    files: list[IO[bytes]] = [tempfile.TemporaryFile(dir=folder) for _ in range(workers)]  # noqa: SIM115
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    try:
        for index in range(1, workers):
            read, write = os.pipe()
            try:
                pid = os.fork()
            except BaseException:
                os.close(read)
                os.close(write)
                raise
            if pid == 0:  # pragma: no cover (the forked process)
                try:
                    # Only the parent reads the pipes: a forked process holding another's
                    # read end would keep that one blocked writing after the parent closed it.
                    os.close(read)
                    for _, earlier in children:
                        os.close(earlier)
                    _child(maker.block, tasks, claims, files[index], write)
                finally:
                    os._exit(1)  # never back into the caller's stack (_child exits itself)
            os.close(write)
            children.append((pid, read))
        made = [_work(maker.block, tasks, claims, files[0])]
        while children:
            made.append(_collect(*children.pop(0)))
    except BaseException:
        claims.stop()
        # Every read end closed before any wait: a process still writing its result then
        # fails at once (a broken pipe) instead of waiting for a reader.
        for _, read in children:
            os.close(read)
        for pid, _ in children:
            os.waitpid(pid, 0)
        for part in files:
            part.close()
        raise
    failures = [(one.failed, one.error) for one in made if one.failed is not None]
    if failures:
        for part in files:
            part.close()
        error = min(failures, key=lambda failure: failure[0])[1]
        assert error is not None
        raise error
    where: dict[int, tuple[int, int, int]] = {}
    for file, one in enumerate(made):
        for number, offset, length in one.spans:
            where[number] = (file, offset, length)
    return Parts(files, [where[number] for number in range(len(tasks))])


def _collect(pid: int, read: int) -> _Made:
    """What a forked process made, once it has ended."""
    try:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"a corpus process ended without its inputs (exit {os.waitstatus_to_exitcode(status)})"
        )
    made: _Made = pickle.loads(data)
    return made


def _merged(spans: Sequence[tuple[int, int, int]]) -> Iterator[tuple[int, int, int]]:
    """``spans`` with neighbours in the same file joined."""
    current: tuple[int, int, int] | None = None
    for file, offset, length in spans:
        if current is not None and current[0] == file and current[1] + current[2] == offset:
            current = (file, current[1], current[2] + length)
            continue
        if current is not None:
            yield current
        current = (file, offset, length)
    if current is not None:
        yield current


def _copy(source: int, out: int, offset: int, length: int) -> None:
    """``length`` bytes of ``source`` from ``offset`` appended to ``out``."""
    end = offset + length
    while offset < end:
        try:
            copied = os.copy_file_range(source, out, end - offset, offset)
        except (AttributeError, OSError):  # no such call here, or not between these files
            copied = os.write(out, os.pread(source, min(end - offset, 1 << 22), offset))
        if copied == 0:
            raise OSError(f"a corpus part ended {end - offset} bytes early")
        offset += copied
