"""One preparation of a run: a scenario file (or mapping, or Scenario) and the overrides →
a PreparedRun, built once and then read by whoever needs it.

    prepared = prepare("scenarios/demo.yaml", Overrides(users=4))
    prepared.scenario        resolved: defaults, target.openapi, trace lengths, overrides
    prepared.log             inputs.from_log's scrubbed seeds and report; the log read once
    prepared.timing          trace phases' send offsets and logged entries, from that read
    prepared.corpus()        the corpus, generated once (stream_corpus(): one at a time)

``stress run``, ``stress validate``, ``stress generate``, ``stress.run`` and
``stress.validate`` all go through ``prepare``: the same loading, the same overrides
(stress.scenario.Overrides) and the same checks, in one order:

    load (keys, then names against the Catalog, target.openapi resolved)
    → overrides (key paths, then the flags but --duration)
    → trace phases resolved (their logs found, their lengths filled in, for the seed run)
    → --duration (it sums the phases' lengths)
    → checked: the semantic extra, ${ENV_VAR}s, a usable log, the target's fit (one input
      of every family turned into a request: input 0 of each, which the corpus reuses).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stress.errors import ScenarioError
from stress.inputs import corpus as corpus_io
from stress.prepare.corpus import corpus_plan, select_families
from stress.prepare.names import Catalog
from stress.scenario import (
    CompareMethod,
    Overrides,
    PhaseKind,
    Protocol,
    Scenario,
    check_environment,
    from_dict,
)
from stress.scenario.loading import from_text, read
from stress.targets import adapter_for

if TYPE_CHECKING:  # imported where a log is read: `stress generate` without one needs none
    from stress.load import trace  # and where the scenario has trace phases
    from stress.logs import seeds

ScenarioLike = str | os.PathLike[str] | Mapping[str, Any] | Scenario

BUILTIN_DEMO = "builtin:demo"
# The protocols the bundled demo server (builtin:demo) speaks.
DEMO_PROTOCOLS = (Protocol.OPENAI_CHAT, Protocol.MLFLOW)
# How a scenario given as a mapping or a Scenario is named in messages.
GIVEN = "<scenario>"


class LogReader:
    """inputs.from_log for one preparation: the file read once (stress.logs.seeds.read), then
    sampled and scrubbed for each seed asked (a --seed override samples the same read)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._fitted: seeds.FittedLog | None = None
        self._seeds: dict[str, seeds.LogSeeds] = {}

    def seeds_of(self, scenario: Scenario) -> seeds.LogSeeds | None:
        """The seeds of ``scenario``'s log (None without one); the file is read again only
        if ``scenario`` names another log or fits it to another protocol."""
        log = scenario.inputs.from_log
        if log is None:
            return None
        from stress.logs import seeds

        if self._fitted is None or not self._fitted.fits(scenario):
            self._fitted = seeds.read(scenario, source=self.source)
            self._seeds.clear()
        key = f"{log.model_dump_json()}|{scenario.inputs.seed}"
        if key not in self._seeds:
            self._seeds[key] = seeds.load(scenario, source=self.source, fitted=self._fitted)
        return self._seeds[key]


@dataclass
class PreparedRun:
    """A scenario made ready to run: built by ``prepare``, read by the run, the API and the
    commands. ``log`` and ``corpus()`` are computed on first use and kept."""

    scenario: Scenario
    source: str
    # Processes that generate the corpus (`stress generate --workers`).
    workers: int = 1
    # True: the corpus is generated as stream_corpus() is consumed, not by check() (only
    # the first input of each family is); `stress generate -o` writes it so.
    streamed: bool = False
    corpus_seconds: float = 0.0
    reader: LogReader | None = field(default=None, repr=False)
    _corpus: list[corpus_io.Input] | None = field(default=None, repr=False)
    _plan: corpus_io.Plan | None = field(default=None, repr=False)
    _first: dict[str, corpus_io.Input] | None = field(default=None, repr=False)

    @property
    def log(self) -> seeds.LogSeeds | None:
        """inputs.from_log's seeds and report (None without a log): the file is read once."""
        if self.reader is None:
            self.reader = LogReader(self.source)
        return self.reader.seeds_of(self.scenario)

    @property
    def timing(self) -> trace.Timing:
        """The trace phases' send offsets and logged entries, from the log this run read
        (the runner writes them to RUN_DIR/traces.json, which the load process reads)."""
        from stress.load import trace

        log = self.log
        return trace.timing(self.scenario, log.timestamps if log is not None else None)

    def plan(self) -> corpus_io.Plan:
        """The corpus not generated yet (families, sizes, context), made on first use."""
        if self._plan is None:
            log = self.log
            self._plan = corpus_plan(
                self.scenario, workers=self.workers, logged=log.seeds if log else ()
            )
        return self._plan

    def first_inputs(self) -> dict[str, corpus_io.Input]:
        """Input 0 of every family (what the target check turns into requests), kept: the
        corpus reuses them, so no input is generated twice."""
        if self._first is None:
            self._first = self.plan().first()
        return self._first

    def corpus(self) -> list[corpus_io.Input]:
        """The inputs the run sends, generated on first use, then kept."""
        if self._corpus is None:
            began = time.monotonic()
            self._corpus = list(self.plan().inputs(first=self._first))
            self.corpus_seconds = time.monotonic() - began
        return self._corpus

    def stream_corpus(self) -> Iterator[corpus_io.Input]:
        """The inputs one at a time, generated as they are consumed and not kept (the
        corpus() list when it was made already): `stress generate -o` writes a corpus of
        any size this way. ``corpus_seconds`` is the generation time once it is consumed."""
        if self._corpus is not None:
            yield from self._corpus
            return
        began = time.monotonic()
        yield from self.plan().inputs(first=self._first)
        self.corpus_seconds = time.monotonic() - began

    def check(self) -> PreparedRun:
        """This run if it can run here: the semantic extra, ${ENV_VAR}s, a usable request
        log, the target's fit (ScenarioError otherwise)."""
        _check_semantic(self.scenario, self.source)
        check_environment(self.scenario, source=self.source)
        self.log  # noqa: B018 (a log that cannot be used is exit 2, here)
        check_target(self.scenario, self.first_inputs().values(), source=self.source)
        if not self.streamed:
            # Every input generated now: a family that fails at any index is exit 2 here.
            self.corpus()
        return self


def prepare(
    scenario: ScenarioLike,
    overrides: Overrides | None = None,
    *,
    family: str | None = None,
    workers: int = 1,
    stream: bool = False,
) -> PreparedRun:
    """Load ``scenario`` (a YAML file's path, a mapping shaped like the YAML, or a Scenario),
    apply ``overrides`` and check it. ``family`` narrows the corpus to the families matching
    a glob (`stress generate --family`); ``workers`` processes generate the corpus;
    ``stream``: generated when ``stream_corpus()`` is consumed, not here (a generation error
    past the first input of a family is raised then).
    Raises ScenarioError naming the file or mapping, the key path and the fix, UsageError
    naming the flag or keyword."""
    overrides = overrides or Overrides()
    # --duration is applied once the trace phases have their lengths (it sums them); every
    # other override first, so a trace of logged requests is timed by the seed that sends it.
    first = dataclasses.replace(overrides, duration=None)
    known = Catalog()
    if isinstance(scenario, Scenario):
        reader = LogReader(GIVEN)
        loaded = from_dict(scenario.model_dump(mode="json"), source=GIVEN, known=known)
        loaded = first.apply(loaded, known=known)
    elif isinstance(scenario, Mapping):
        reader = LogReader(GIVEN)
        loaded = from_dict(dict(scenario), source=GIVEN, known=known)
        loaded = first.apply(loaded, known=known)
        # A mapping has no folder: relative trace paths are from the working directory.
        loaded = _traces(reader, loaded, Path.cwd() / GIVEN, "")
    elif isinstance(scenario, str | os.PathLike):
        reader = LogReader(os.fspath(scenario))
        text, data = read(reader.source)
        loaded = from_text(reader.source, text, data, known=known)
        loaded = first.apply(loaded, known=known)
        loaded = _traces(reader, loaded, reader.source, text)
    else:
        raise TypeError(
            f"scenario: expected a path, a mapping or a stress.scenario.Scenario, "
            f"got {type(scenario).__name__}"
        )
    if overrides.duration is not None:
        only = Overrides(duration=overrides.duration, spelling=overrides.spelling)
        loaded = only.apply(loaded, known=known)
    if family is not None:
        loaded = select_families(loaded, family, count=overrides.count)
    # As the run directory's scenario.yaml holds it (durations written to 6 digits), so the
    # parent and the load process, which reads that file, see the same scenario.
    loaded = Scenario.model_validate(loaded.model_dump(mode="json"))
    prepared = PreparedRun(loaded, reader.source, workers, stream, reader=reader)
    return prepared.check()


def _traces(reader: LogReader, scenario: Scenario, source: str | Path, text: str) -> Scenario:
    """Trace phases resolved: their paths made whole, their lengths filled in."""
    if not any(phase.kind is PhaseKind.TRACE for phase in scenario.load.phases):
        return scenario  # as trace.resolve returns it, without importing the load package
    from stress.load import trace

    logged = reader.seeds_of(scenario) if any(p.logged for p in scenario.load.phases) else None

    return trace.resolve(scenario, source, text, logged=logged)


def _check_semantic(scenario: Scenario, source: str) -> None:
    """The semantic comparison method needs an optional extra: say so before any load."""
    from stress.checks.semantic import available

    for key in ("degradation", "invariance"):
        methods = getattr(scenario, key).methods or []
        if CompareMethod.SEMANTIC in methods and (problem := available()):
            raise ScenarioError([f"{source}: {key}.methods: {problem}, or remove semantic"])


def check_target(scenario: Scenario, inputs: Iterable[corpus_io.Input], *, source: str) -> None:
    """Raise ScenarioError when the target cannot send the scenario's inputs.

    Turns the first input of every family of ``inputs`` into a request, so a family that does
    not fit the target (rows for a text template, a mutation of a template with no fields) is
    reported before anything runs, naming the family.
    """
    target = scenario.target
    if target.url == BUILTIN_DEMO and target.protocol not in DEMO_PROTOCOLS:
        names = " and ".join(p.value for p in DEMO_PROTOCOLS)
        raise ScenarioError(
            [
                f"{source}: target.url: builtin:demo speaks {names} only, not "
                f"{target.protocol.value}; point target.url (or --target) at a server that "
                f"speaks it (scenarios/{target.protocol.value}.yaml says how to start one)"
            ]
        )
    first: dict[str, corpus_io.Input] = {}
    for item in inputs:
        first.setdefault(item.family, item)
    adapter = adapter_for(target, features=list(scenario.inputs.features))
    problems = []
    for item in first.values():
        try:
            adapter.request(item)
        except ValueError as exc:
            problems.append(f"{source}: inputs.families.{item.family}: {exc}")
    if problems:
        raise ScenarioError(problems)
