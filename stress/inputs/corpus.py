"""The corpus: every input of a run, generated before the load starts, deterministic from a seed.

Each input has a stable id (``<family>-<index>``) and is a pure function of (seed, family,
index) and the build Context (protocol, features, limits, schema): the same scenario gives
the same bytes in any process, on any machine with the same library versions. Each entry
records its ``origin`` (corpus seed, index, input seed), which with the run's scenario.yaml
regenerates it (``regenerate``). Generation never happens on the load path.

A corpus can be generated across processes (``workers``): inputs are independent, so the
split changes nothing but the time. ``Plan.write()`` (`stress generate -o`) has each process
take tasks as it is free and write its own corpus.jsonl lines to a part file, put together
in order by the kernel (stress.inputs.parts), which pays on any mix; ``inputs()``
sends back Input objects, which pays only for slow families (Hypothesis-heavy custom
strategies): for the built-in mix, sending the payloads back costs more than generating them.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from stress.errors import ScenarioError
from stress.inputs.custom import CustomFamilyError
from stress.inputs.family import Cache, Context, Draw, Family, Limits, input_seed

if TYPE_CHECKING:  # multiprocessing is imported where a corpus is made by several processes
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = [
    "Input",
    "Plan",
    "allocate",
    "build",
    "default_workers",
    "generate",
    "input_seed",
    "plan",
    "planned",
    "read",
    "regenerate",
    "to_line",
    "write",
]

# Inputs per task sent to a worker process: large enough to amortise the round trip.
CHUNK = 500

# Characters of corpus.jsonl a block carries at most (plus one line): what bounds the memory
# of a streamed corpus whatever its inputs' sizes (the size families make lines of 100 kB+).
BLOCK_CHARS = 1 << 21


@dataclass(frozen=True)
class Input:
    """One input of the corpus."""

    id: str
    family: str
    expect: str
    kind: str
    payload: dict[str, Any]
    # What regenerates it: {"seed": corpus seed, "index": i, "input_seed": derived seed}.
    origin: dict[str, Any] = field(default_factory=dict)


def allocate(weights: Mapping[str, float], count: int) -> dict[str, int]:
    """Split ``count`` over families by weight (largest remainder), at least one each.

    Every family gets one input first, so a rare family is never left out; when there are
    more families than ``count``, the corpus is that much bigger.
    """
    names = list(weights)
    if not names:
        return {}
    counts = dict.fromkeys(names, 1)
    spare = max(0, count - len(names))
    total = sum(weights.values())
    exact = {name: spare * weights[name] / total for name in names}
    for name in names:
        counts[name] += int(exact[name])
    left = spare - sum(int(value) for value in exact.values())
    by_remainder = sorted(names, key=lambda name: (-(exact[name] - int(exact[name])), name))
    for name in by_remainder[:left]:
        counts[name] += 1
    return counts


def plan(
    weights: Mapping[str, float], count: int, counts: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Inputs per family: ``counts`` exactly, the rest of ``count`` split by ``weights``."""
    fixed = dict(counts or {})
    weighted = {name: weight for name, weight in weights.items() if name not in fixed}
    spread = allocate(weighted, max(0, count - sum(fixed.values())))
    return {**spread, **fixed}


def generate(family: Family, context: Context, index: int, *, cache: Cache) -> Input:
    """Input ``index`` of ``family``; raises ScenarioError when the family cannot fit."""
    payload, seed = _payload(family, context, index, cache)
    return _input_of(family, context, index, payload, seed)


def _input_of(
    family: Family, context: Context, index: int, payload: dict[str, Any], seed: int
) -> Input:
    """Input ``index`` of ``family`` made of its payload and input seed."""
    return Input(
        id=f"{family.name}-{index:04d}",
        family=family.name,
        expect=family.expect.value,
        kind=family.kind_for(context).value,
        payload=payload,
        origin={"seed": context.seed, "index": index, "input_seed": seed},
    )


def _payload(
    family: Family, context: Context, index: int, cache: Cache
) -> tuple[dict[str, Any], int]:
    """The payload of input ``index`` of ``family`` and its input seed."""
    draw = Draw(context, family.name, index, cache=cache)
    try:
        return family.generate(draw), draw.seed
    except (ValueError, CustomFamilyError) as exc:
        input_id = f"{family.name}-{index:04d}"
        raise ScenarioError(
            [f"inputs.families.{family.name}: cannot generate {input_id}: {exc}"]
        ) from None
    except Exception as exc:
        if not family.custom:
            raise
        raise ScenarioError(
            [f"inputs.custom.{family.name}: the strategy raised {type(exc).__name__}: {exc}"]
        ) from None


def regenerate(item: Input, families: Mapping[str, Family], context: Context) -> Input:
    """The input an entry's origin describes, generated afresh (equal to ``item`` when the
    context and library versions are the same)."""
    index = int(item.origin["index"])
    return generate(families[item.family], context, index, cache=Cache())


class _Maker:
    """Generates and encodes ranges of one family's inputs, in one process (the parent, or
    a worker, which fork gives a copy of it: nothing is pickled)."""

    def __init__(
        self,
        families: Mapping[str, Family],
        context: Context,
        first: Mapping[str, Input] | None = None,
        cache: Cache | None = None,
    ) -> None:
        self.families, self.context = families, context
        self.first = dict(first or {})
        self.cache = cache or Cache()

    def each(self, name: str, start: int, stop: int) -> Iterator[Input]:
        """Inputs ``start`` to ``stop`` (excluded) of family ``name``, one at a time."""
        family, context, cache = self.families[name], self.context, self.cache
        for index in range(start, stop):
            if index == 0 and name in self.first:
                yield self.first[name]
            else:
                yield generate(family, context, index, cache=cache)

    def inputs(self, name: str, start: int, stop: int) -> list[Input]:
        return list(self.each(name, start, stop))

    def block(self, name: str, start: int, stop: int) -> tuple[bytes, int]:
        """corpus.jsonl's lines of inputs ``start`` to ``stop`` of ``name`` (each with its
        newline, as ASCII bytes), cut after BLOCK_CHARS: the bytes and the index after the
        last input in them (``stop`` when all are). The lines are ``to_line``'s, written
        from the payloads without making Input objects."""
        family, context, cache = self.families[name], self.context, self.cache
        lines: list[str] = []
        size, done = 0, start
        line_of = _LineOf(family, context)
        for index in range(start, stop):
            if index == 0 and name in self.first:
                line = to_line(self.first[name])
            else:
                payload, seed = _payload(family, context, index, cache)
                line = line_of(index, payload, seed)
            lines.append(line)
            size += len(line)
            done = index + 1
            if size >= BLOCK_CHARS:
                break
        lines.append("")
        return "\n".join(lines).encode("ascii"), done


class _LineOf:
    """``to_line`` of the inputs of one family in one Context, from (index, payload, input
    seed): what is the same on every line is encoded once."""

    def __init__(self, family: Family, context: Context) -> None:
        name = _ENCODE(family.name)
        self.id_head = '{"id": ' + name[:-1] + "-"  # the id is the name, "-" and the index
        self.middle = (
            f'", "family": {name}, "expect": {_ENCODE(family.expect.value)}, '
            f'"kind": {_ENCODE(family.kind_for(context).value)}, "payload": '
        )
        self.seed = context.seed
        # The corpus seed as the json module writes an int (a seed of another type: to_line).
        self.plain = type(self.seed) is int
        self.family, self.context = family, context

    def __call__(self, index: int, payload: dict[str, Any], seed: int) -> str:
        if not self.plain:
            return to_line(_input_of(self.family, self.context, index, payload, seed))
        return (
            f"{self.id_head}{index:04d}{self.middle}{payload_json(payload)}, "
            f'"origin": {{"seed": {self.seed}, "index": {index}, "input_seed": {seed}}}}}'
        )


# Set in each worker process by _start_worker (fork inherits it, nothing is pickled).
_WORKER: dict[str, _Maker] = {}


def _start_worker(maker: _Maker) -> None:
    _WORKER["maker"] = maker


def _chunk(name: str, start: int, stop: int) -> list[Input]:
    return _WORKER["maker"].inputs(name, start, stop)


# Inputs per process below which another process does not pay: forking (the pages both
# processes then copy) and copying its part file in cost about 40 ms of CPU; 5,000 inputs
# are ~0.2 s of generation each, and below 6,000 in all two processes gained nothing
# measurable on a shared 2-CPU machine.
PER_PROCESS = 5_000


def default_workers(total: int, load: float | None = None, cpus: int | None = None) -> int:
    """Processes worth starting for a corpus of ``total`` inputs written to a file: one per
    idle CPU this process may use (``cpus``, counted when None; at most 8), where fork
    exists and each has at least PER_PROCESS inputs, at least one. Idle: the CPUs less the
    1-minute load average (``load``, read from the system when None), rounded half up: a
    CPU at least half idle gets a process. Processes take tasks as they are free, so one on
    a half-busy CPU still does its share, and costs only a fork; on a busier CPU it would
    take time from whatever keeps it busy. The corpus is the same bytes with any number."""
    if not _can_fork():
        return 1
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        cpus = cpus or 1
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    idle = max(1, math.floor(cpus - load + 0.5))
    return max(1, min(8, cpus, idle, total // PER_PROCESS))


@dataclass(frozen=True)
class Plan:
    """A corpus not generated yet: the families, their sizes and the build Context.

    ``inputs()`` generates it as a stream, in corpus order, one input at a time (a corpus
    of any size is written to disk without holding every input in memory); ``first()``
    generates only the first input of each family (enough to check that a target can send
    them), and ``inputs(first=...)`` reuses those, so every input is generated once.
    """

    families: Mapping[str, Family]
    context: Context
    sizes: Mapping[str, int]
    workers: int = 1
    # Kept from first() to the whole corpus (and into forked processes): what a family
    # builds once, such as a Hypothesis runner (~30 ms each), is built once.
    cache: Cache = field(default_factory=Cache, compare=False, repr=False)

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    def first(self) -> dict[str, Input]:
        """Input 0 of every family, by family name."""
        cache = self.cache
        return {
            name: generate(self.families[name], self.context, 0, cache=cache)
            for name, size in self.sizes.items()
            if size > 0
        }

    def inputs(self, first: Mapping[str, Input] | None = None) -> Iterator[Input]:
        """Every input, in corpus order, generated as it is consumed. ``first`` are inputs
        0 already generated (``first()``): yielded as they are, not generated again."""
        maker = _Maker(self.families, self.context, first, self.cache)
        if self._parallel:
            yield from _stream_parallel(maker, self._tasks(), self.workers)
            return
        for task in self._tasks():
            yield from maker.each(*task)

    def blocks(self, first: Mapping[str, Input] | None = None) -> Iterator[bytes]:
        """corpus.jsonl as ASCII bytes, in corpus order, in blocks of at most CHUNK lines
        and about BLOCK_CHARS characters: the bytes of ``to_line`` of every input of
        ``inputs()``, each line ending with a newline. With ``workers`` > 1, forked
        processes make it too, into part files (stress.inputs.parts) read back in order."""
        maker = _Maker(self.families, self.context, first, self.cache)
        if self._parallel:
            from stress.inputs import parts

            made = parts.make(maker, self._tasks(), self.workers, None)
            try:
                yield from made.chunks()
            finally:
                made.close()
            return
        for name, start, stop in self._tasks():
            while start < stop:
                block, start = maker.block(name, start, stop)
                yield block

    def write(self, handle: IO[bytes], first: Mapping[str, Input] | None = None) -> None:
        """``blocks()`` written to ``handle``, opened for binary writing. With ``workers``
        > 1 and a file, each process writes a part file beside it, which are copied into
        it in order (stress.inputs.parts); no line goes through another process."""
        if not (self._parallel and _is_file(handle)):
            for block in self.blocks(first):
                handle.write(block)
            return
        from stress.inputs import parts

        folder = os.path.dirname(os.path.abspath(handle.name))
        made = parts.make(
            _Maker(self.families, self.context, first, self.cache),
            self._tasks(),
            self.workers,
            folder,
        )
        try:
            made.copy_to(handle)
        finally:
            made.close()

    @property
    def processes(self) -> int:
        """How many processes ``write()`` and ``blocks()`` make it with."""
        return self.workers if self._parallel else 1

    @property
    def _parallel(self) -> bool:
        return self.workers > 1 and self.total > CHUNK and _can_fork()

    def _tasks(self) -> list[tuple[str, int, int]]:
        """(family, start, stop): every family's inputs in ranges of at most CHUNK."""
        return [
            (name, start, min(size, start + CHUNK))
            for name, size in self.sizes.items()
            for start in range(0, size, CHUNK)
        ]


def planned(
    families: Mapping[str, Family],
    weights: Mapping[str, float],
    *,
    seed: int,
    count: int,
    protocol: str,
    features: Mapping[str, tuple[float, float]],
    limits: Limits | None = None,
    schema: Mapping[str, Any] | None = None,
    counts: Mapping[str, int] | None = None,
    workers: int = 1,
    body_format: str | None = None,
    logged: Sequence[Mapping[str, Any]] = (),
    task: str | None = None,
) -> Plan:
    """The corpus to generate: ``counts`` inputs of the families named there, and what is
    left of ``count`` spread over ``weights``' families (at least one each). Raises
    ScenarioError when a family does not fit the target.

    ``workers`` processes generate it (where the fork start method exists). ``logged`` are
    the scrubbed seeds of a log (stress.logs.seeds), see Context.logged.
    """
    context = Context(
        protocol=protocol,
        seed=seed,
        features=dict(features),
        limits=limits or Limits(),
        schema=dict(schema) if schema is not None else None,
        body_format=body_format,
        logged=tuple(logged),
        task=task,
    )
    sizes = plan(weights, count, counts)
    misfits = [(name, families[name].misfit(context)) for name in sizes]
    problems = [
        f"inputs.families.{name}: does not fit this target: {reason}; remove it"
        for name, reason in misfits
        if reason
    ]
    if problems:
        raise ScenarioError(problems)
    return Plan(families, context, sizes, workers)


def build(
    families: Mapping[str, Family], weights: Mapping[str, float], **options: Any
) -> list[Input]:
    """The whole corpus as a list (``planned``'s arguments); stream large ones with
    ``planned(...).inputs()`` instead."""
    return list(planned(families, weights, **options).inputs())


def _is_file(handle: IO[bytes]) -> bool:
    """Whether ``handle`` is a named file on disk (what the parts are copied into)."""
    try:
        handle.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False
    return isinstance(getattr(handle, "name", None), str) and os.path.isfile(handle.name)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _pool(maker: _Maker, workers: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(maker,),
    )


def _stream_parallel(
    maker: _Maker, tasks: Sequence[tuple[str, int, int]], workers: int
) -> Iterator[Input]:
    """The inputs of ``tasks`` from ``workers`` processes, in corpus order. At most two
    chunks per worker are in flight, so memory stays bounded by the window, not the corpus."""
    window = 2 * workers
    with _pool(maker, workers) as pool:
        pending: deque[Future[list[Input]]] = deque()
        queued = iter(tasks)
        for task in itertools.islice(queued, window):
            pending.append(pool.submit(_chunk, *task))
        while pending:
            chunk = pending.popleft().result()
            for task in itertools.islice(queued, 1):
                pending.append(pool.submit(_chunk, *task))
            yield from chunk


# One encoder, built once: the same options json.dumps(..., ensure_ascii=True,
# allow_nan=True) uses (the bytes are the same), without the per-call set-up.
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=True)
_ENCODE = _ENCODER.encode


def _one_shot() -> Callable[[Any], str]:
    """``_ENCODE`` without building the C encoder again for every value (JSONEncoder.encode
    does, a few µs a line): the same C encoder with the same options, made once. It does
    not look for circular references (a payload is a tree; one that is not fails with
    RecursionError instead of ValueError)."""
    from json import encoder

    # Not in typeshed's stubs: the C encoder JSONEncoder.iterencode uses for one-shot calls.
    c_make_encoder = getattr(encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover (CPython always has it)
        return _ENCODE
    chunks = c_make_encoder(
        None,  # no circular-reference markers
        _ENCODER.default,
        encoder.encode_basestring_ascii,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


_FAST = _one_shot()


# A payload value that is a list of this many or more times one same object (the size
# families' long arrays) has the object encoded once and repeated, not element by element.
LONG_LIST = 1_024
# Stands in for such a list while the rest of the payload is encoded (NUL-delimited; a
# payload that holds it anywhere else is encoded the plain way).
_MARK = "\x00stress:long-list\x00"
_MARKED = _ENCODE(_MARK)


def to_line(item: Input) -> str:
    """One corpus.jsonl line. ASCII-escaped, so lone surrogates and NUL survive the round trip;
    NaN and Infinity are written as the bare tokens Python's json module reads back.

    The same bytes as ``json.dumps(dataclasses.asdict(item), ensure_ascii=True)``, made
    without asdict's deep copy of the payload, and the payload encoded by ``payload_json``."""
    head = _FAST(
        {
            "id": item.id,
            "family": item.family,
            "expect": item.expect,
            "kind": item.kind,
            "payload": None,
        }
    )
    return f'{head[:-5]}{payload_json(item.payload)}, "origin": {_FAST(item.origin)}}}'


def payload_json(payload: dict[str, Any]) -> str:
    """The JSON of ``payload`` as json.dumps writes it (ASCII-escaped, NaN allowed)."""
    for key, value in payload.items():
        if type(value) is list and len(value) >= LONG_LIST and _repeats(value):
            return _with_long_list(payload, key, value)
    return _FAST(payload)


def _repeats(value: list[Any]) -> bool:
    """Whether every item of ``value`` is written as its first is: all equal (list.count
    compares identity first, at C speed) to a str, or to a float no other number equals
    (``1 == 1.0 == True`` and ``0.0 == -0.0`` are written differently)."""
    first = value[0]
    if type(first) is float:
        if first != first or first.is_integer():  # NaN; an int or a bool could equal it
            return False
    elif type(first) is not str:
        return False
    return value.count(first) == len(value)


def _with_long_list(payload: dict[str, Any], key: str, value: list[Any]) -> str:
    """``payload_json(payload)`` where ``payload[key]`` is ``value``, a long list of one
    object: the same bytes as json's (", " between items), the object encoded once."""
    encoded = payload_json({**payload, key: _MARK})
    if encoded.count(_MARKED) != 1:  # the mark is in the input itself: no shortcut
        return _FAST(payload)
    one = _FAST(value[0])
    return encoded.replace(_MARKED, "[" + (one + ", ") * (len(value) - 1) + one + "]")


def write(path: Path, inputs: Iterable[Input]) -> int:
    """Stream ``inputs`` (any iterable: a generator is consumed one input at a time) to
    ``path`` as corpus.jsonl lines; returns how many were written."""
    written = 0
    with path.open("w", encoding="ascii") as handle:
        for item in inputs:
            handle.write(to_line(item) + "\n")
            written += 1
    return written


def read(path: Path) -> list[Input]:
    with path.open(encoding="ascii") as handle:
        return [Input(**json.loads(line)) for line in handle if line.strip()]
