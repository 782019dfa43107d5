"""One run, start to finish: scenario → corpus → target → load → records → checks → reports.

The load itself runs in a child process (``python -m stress.load``) because Locust
monkey-patches the process it is imported in; this module never imports Locust. Progress
comes back from the child as JSON event lines and is handed to the caller's ``on_event``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stress import __version__
from stress.checks.request import ALL_CHECKS
from stress.errors import ScenarioError, StressError
from stress.inputs import corpus as corpus_io
from stress.inputs.families import Context, Family, Limits, catalog
from stress.lifeline import Deadline, die_with_parent, interrupt_exit_code, signal_name
from stress.preflight import preflight
from stress.rundir import layout
from stress.rundir.write import write_json, write_lines, write_text, write_traces
from stress.scenario import (
    KnownNames,
    Protocol,
    Scenario,
    check_environment,
    from_path,
    with_overrides,
)
from stress.secrets import Redactor
from stress.targets import adapter_for

EventHandler = Callable[[dict[str, Any]], None]

BUILTIN_DEMO = "builtin:demo"
BUILTIN_NOOP = "builtin:noop"
# Exit code of a run stopped by Ctrl-C (the shell convention 128 + SIGINT); SIGTERM is 143.
INTERRUPTED = 130
# The parent's backstop: a load process still running this long after load.max_duration
# (plus the target's timeout for the last answers) is stopped by `stress run` (lifeline.Deadline).
OVERRUN_GRACE_S = 60.0


class LoadProcessFailed(StressError):
    """The load process died: a bug in stress. Its log is saved in the run directory."""

    exit_code = 4


class WorkersUnavailable(StressError):
    """Fewer Locust workers joined than the run expected, so the load never began."""

    exit_code = 3


@dataclass(frozen=True)
class Workers:
    """Where the load runs: ``local`` worker processes here, ``expect`` workers in all
    (others join with ``stress worker --master``), the master listening on ``bind``.
    The default, no workers, runs the load in one process."""

    local: int = 0
    expect: int | None = None
    bind: str | None = None
    join_timeout: float = 60.0

    def arguments(self) -> list[str]:
        expect = self.expect if self.expect is not None else self.local
        if expect <= 0:
            return []
        # Remote workers need the master on a reachable interface (Locust's port 5557).
        bind = self.bind or ("127.0.0.1:0" if expect <= self.local else "0.0.0.0:5557")
        return [
            "--workers",
            str(self.local),
            "--expect-workers",
            str(expect),
            "--bind",
            bind,
            "--join-timeout",
            str(self.join_timeout),
        ]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]
    exit_code: int
    # Rows of the regression corpus replayed before the load (stress.repro.regressions).
    regressions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.summary.get("passed"))


def known_names() -> KnownNames:
    """Families (with the protocols each applies to) and checks a scenario may name."""
    from stress.checks.custom import problem as check_problem
    from stress.inputs.custom import problem as custom_problem
    from stress.inputs.schemas import problems as schema_problems
    from stress.openapi import expand as expand_openapi

    families = {name: list(family.protocols) for name, family in catalog().items()}
    return KnownNames(
        families=families,
        checks=list(ALL_CHECKS),
        resolve_custom=check_problem,
        custom_problem=custom_problem,
        schema_problems=schema_problems,
        family_misfit=family_misfit,
        openapi=expand_openapi,
    )


def _context(scenario: Scenario, logged: tuple[dict[str, Any], ...] = ()) -> Context:
    inputs = scenario.inputs
    return Context(
        protocol=scenario.target.protocol.value,
        seed=inputs.seed,
        features={name: (f.min, f.max) for name, f in inputs.features.items()},
        limits=Limits(**inputs.limits.model_dump()),
        schema=inputs.body_schema,
        body_format=scenario.target.format,
        logged=logged,
    )


def log_seeds(scenario: Scenario) -> tuple[dict[str, Any], ...]:
    """The scrubbed seeds of the scenario's inputs.from_log (none without one)."""
    if scenario.inputs.from_log is None:
        return ()
    from stress.logs import seeds

    return seeds.load(scenario).seeds


def family_misfit(scenario: Scenario, name: str) -> str | None:
    """Why built-in family ``name`` cannot generate for this scenario's target (None: it can)."""
    family = catalog().get(name)
    if family is None:
        return None
    # The log is read after validation; here it matters only whether there is one.
    placeholder: tuple[dict[str, Any], ...] = ()
    if scenario.inputs.from_log is not None:
        placeholder = ({"payload": {}},)
    return family.misfit(_context(scenario, placeholder))


def build_corpus(scenario: Scenario, *, workers: int = 1) -> list[corpus_io.Input]:
    """The scenario's corpus: its families, globs, excludes, counts, limits and schema."""
    inputs = scenario.inputs
    families = catalog({name: spec.model_dump() for name, spec in inputs.custom.items()})
    protocol = scenario.target.protocol.value
    available = {name: list(family.protocols) for name, family in families.items()}
    context = _context(scenario, log_seeds(scenario))
    # A family a glob picked that cannot work here (no number field whose range includes 0,
    # say) is left out; one named exactly is reported by corpus.build. With a log, the
    # logged requests are the realistic inputs: globs leave the Faker-made ones out.
    weights = {
        name: weight
        for name, weight in inputs.weights(available, protocol).items()
        if name in inputs.families
        or (
            families[name].misfit(context) is None
            and not (context.logged and _synthetic_realistic(families[name]))
        )
    }
    counts = dict(inputs.counts)
    if any(phase.logged for phase in scenario.load.phases):
        # A trace with inputs: logged sends arrival i's log entry: realistic.logged input i.
        # So the corpus holds every sampled entry once, in log order (the scenario model
        # refuses a count of its own for it); the rest of inputs.count goes to the others.
        counts["realistic.logged"] = len(context.logged)
        weights.pop("realistic.logged", None)
    return corpus_io.build(
        families,
        weights,
        seed=inputs.seed,
        count=inputs.count,
        protocol=protocol,
        features=context.features,
        limits=context.limits,
        schema=inputs.body_schema,
        counts=counts,
        workers=workers,
        body_format=context.body_format,
        logged=context.logged,
    )


def _synthetic_realistic(family: Family) -> bool:
    return family.group == "realistic" and family.name != "realistic.logged" and not family.custom


# The protocols the bundled demo server (builtin:demo) speaks.
DEMO_PROTOCOLS = (Protocol.OPENAI_CHAT, Protocol.MLFLOW)


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    from stress.load import trace

    scenario = from_path(path, known=known_names())
    scenario = trace.resolve(scenario, path)  # trace phases: the log's path and length
    scenario = with_overrides(scenario, **overrides)
    return checked(scenario, source=str(path))


def checked(scenario: Scenario, *, source: str) -> Scenario:
    """``scenario`` if it can run here: the semantic extra, ${ENV_VAR}s, a usable request log,
    the target's fit (ScenarioError otherwise). stress.api checks scenarios it got as dicts
    this way too."""
    _check_semantic(scenario, source)
    check_environment(scenario, source=source)
    if scenario.inputs.from_log is not None:
        from stress.logs import seeds

        seeds.load(scenario, source=source)  # a log that cannot be used is exit 2, here
    check_target(scenario, source=source)
    return scenario


def _check_semantic(scenario: Scenario, source: str) -> None:
    """The semantic comparison method needs an optional extra: say so before any load."""
    from stress.checks.semantic import available
    from stress.scenario import CompareMethod

    for key in ("degradation", "invariance"):
        methods = getattr(scenario, key).methods or []
        if CompareMethod.SEMANTIC in methods and (problem := available()):
            raise ScenarioError([f"{source}: {key}.methods: {problem}, or remove semantic"])


def select_families(scenario: Scenario, pattern: str, *, count: int | None = None) -> Scenario:
    """A copy whose corpus is every family matching ``pattern`` that fits the target, equally
    weighted (for previews: `stress generate --family`). Raises UsageError if none does."""
    import fnmatch

    from stress.errors import UsageError

    protocol = scenario.target.protocol.value
    families = catalog({name: spec.model_dump() for name, spec in scenario.inputs.custom.items()})
    fitting = [name for name, f in families.items() if protocol in f.protocols]
    matches = fnmatch.filter(fitting, pattern)
    if not matches:
        raise UsageError(
            f"--family: {pattern!r} matches no input family for protocol {protocol!r}; "
            f"`stress families` lists them"
        )
    inputs = scenario.inputs.model_copy(
        update={
            "families": dict.fromkeys(matches, 1.0),
            "counts": {},
            "exclude": [],
            "count": count or len(matches),
        }
    )
    return scenario.model_copy(update={"inputs": inputs})


def check_target(scenario: Scenario, *, source: str) -> None:
    """Raise ScenarioError when the target cannot send the scenario's inputs.

    Builds one input of every family and turns it into a request, so a family that does not
    fit the target (rows for a text template, a mutation of a template with no fields) is
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
    for item in build_corpus(scenario):
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


def new_run_dir(out: Path, name: str) -> Path:
    """reports/<scenario-name>-<UTC timestamp>/, made unique if two runs start in one second."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    candidate = out / f"{name}-{stamp}"
    suffix = 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1
            candidate = out / f"{name}-{stamp}-{suffix}"


@contextlib.contextmanager
def target_url(scenario: Scenario, run_dir: Path) -> Iterator[str]:
    """The base URL to load; starts the bundled demo server for ``builtin:demo``."""
    if scenario.target.url == BUILTIN_NOOP:
        from stress.demo.noop import NoopServer

        with NoopServer(log_path=layout.noop_log(run_dir)) as noop:
            yield noop.url
        return
    if scenario.target.url != BUILTIN_DEMO:
        yield scenario.target.url
        return
    from stress.demo.process import DemoServerProcess

    with DemoServerProcess(log_path=layout.demo_log(run_dir)) as server:
        yield server.url


def run(
    scenario_path: str | Path | Scenario,
    *,
    out: Path = Path("reports"),
    on_event: EventHandler = lambda event: None,
    workers: Workers | None = None,
    **overrides: Any,
) -> RunResult:
    """Run a scenario file; returns the run directory, the summary and the exit code.

    A Scenario is run as it is (stress.api loaded, overrode and checked it already).
    Raises ScenarioError/UsageError (exit 2) before anything is written, TargetUnreachable
    (exit 3) when nothing answers before the load begins, WorkersUnavailable (exit 3) when
    fewer ``workers`` joined than expected.
    """
    if isinstance(scenario_path, Scenario):
        if overrides:
            raise TypeError("overrides apply to a scenario file; apply them to a Scenario first")
        scenario = scenario_path
    else:
        scenario = load_scenario(scenario_path, **overrides)
    if scenario.regressions is not None:
        from stress.repro import regressions

        regressions.corpus_dir(scenario.regressions)  # a bad path fails before anything runs
    # Generated before anything is written: an input family that cannot generate is exit 2.
    began = time.monotonic()
    inputs = build_corpus(scenario)
    corpus_seconds = time.monotonic() - began
    run_dir = new_run_dir(out, scenario.name)
    on_event({"event": "run_dir", "path": str(run_dir)})
    write_text(layout.scenario(run_dir), scenario.to_yaml())
    run_info: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "finished_at": None,
        "complete": False,
        "target": scenario.target.url,
        "stress_version": __version__,
    }
    write_json(layout.run_info(run_dir), run_info)

    write_lines(layout.corpus(run_dir), map(corpus_io.to_line, inputs), encoding="ascii")
    # The trace phases' times, read from their logs here: the load process reads no log.
    from stress.load import trace

    write_traces(run_dir, trace.load_traces(scenario), trace.load_entries(scenario))
    on_event({"event": "corpus", "inputs": len(inputs), "seconds": corpus_seconds})
    if scenario.inputs.from_log is not None:
        from stress.logs import seeds

        report = seeds.load(scenario).report
        write_json(layout.logs(run_dir), report)
        on_event({"event": "from_log", **report})

    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    # The exit code of an interruption (130 SIGINT, 143 SIGTERM), None while not interrupted.
    interrupted: int | None = None
    with target_url(scenario, run_dir) as url:
        run_info["url"] = url
        write_json(layout.run_info(run_dir), run_info)
        # builtin:noop was health-checked when it started; a probe request would be one
        # POST more than the records, which the engine's exactly-once tests count.
        if scenario.target.url != BUILTIN_NOOP:
            preflight(
                url,
                adapter,
                inputs,
                timeout=scenario.target.timeout,
                redactor=Redactor(scenario.target.secrets()),
            )
        on_event({"event": "target", "url": url})
        replayed = _replay_regressions(scenario, run_dir, url, on_event)
        fleet = workers or Workers()
        deadline = _load_deadline(scenario, fleet)
        interrupted = _load(run_dir, url, on_event, fleet, deadline=deadline)
        if not interrupted:
            # Group checks re-send inputs alone, so they run while the target is still up.
            from stress.checks.groups import judge

            try:
                judge(run_dir, scenario, url, on_event=on_event)
            except KeyboardInterrupt as interrupt:
                interrupted = interrupt_exit_code(interrupt)
                on_event({"event": "interrupted"})

    run_info.update(finished_at=datetime.now(UTC).isoformat(), complete=not interrupted)
    if interrupted:
        run_info["interrupted"] = signal_name(interrupted)
    write_json(layout.run_info(run_dir), run_info)
    from stress.report import write_reports

    summary = write_reports(run_dir)
    exit_code = interrupted if interrupted else (0 if summary.get("passed") else 1)
    if scenario.regressions is not None:
        from stress.repro import regressions

        folder = regressions.corpus_dir(scenario.regressions)
        added = regressions.save_failures(folder, run_dir)
        on_event({"event": "regressions_saved", "added": len(added), "dir": str(folder)})
        # A known failure that still fails is a failure of this run, as in any test suite.
        if exit_code == 0 and any(r["verdict"] == regressions.STILL_FAILS for r in replayed):
            exit_code = 1
    return RunResult(run_dir, summary, exit_code, replayed)


def _replay_regressions(
    scenario: Scenario, run_dir: Path, url: str, on_event: EventHandler
) -> list[dict[str, Any]]:
    """Replay the regression corpus first (scenario key ``regressions``); its rows."""
    if scenario.regressions is None:
        return []
    from stress.repro import regressions

    rows = regressions.replay_first(scenario, run_dir, url)
    on_event(
        {
            "event": "regressions",
            "dir": scenario.regressions,
            "rows": regressions.summary_rows(rows),
        }
    )
    return rows


def _load_deadline(scenario: Scenario, workers: Workers) -> float:
    """Seconds after which `stress run` stops a load process that has not stopped itself."""
    joining = workers.join_timeout if workers.arguments() else 0.0
    return scenario.load.max_duration + 2 * scenario.target.timeout + joining + OVERRUN_GRACE_S


def _load(
    run_dir: Path, url: str, on_event: EventHandler, workers: Workers, *, deadline: float
) -> int | None:
    """Run the load process to the end, relaying its events; the exit code of an
    interruption (130 SIGINT, 143 SIGTERM), None if it ran to its end."""
    log_path = layout.load_log(run_dir)
    errors: list[str] = []

    def relay(event: dict[str, Any]) -> None:
        if event.get("event") == "error":
            errors.append(str(event.get("message")))
        on_event(event)

    with log_path.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "stress.load", str(run_dir), url, *workers.arguments()],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            # Its own process group: Ctrl-C reaches only us, and we stop the child in order.
            start_new_session=True,
            # If we are killed (SIGKILL, OOM), it gets SIGTERM: stops, writes its records, exits.
            preexec_fn=die_with_parent(),
        )
        interrupted: int | None = None
        backstop = Deadline(child, deadline)
        try:
            with backstop:
                assert child.stdout is not None
                for line in child.stdout:
                    with contextlib.suppress(json.JSONDecodeError):
                        relay(json.loads(line))
        except KeyboardInterrupt as interrupt:
            interrupted = interrupt_exit_code(interrupt)
            child.send_signal(signal.SIGINT)
            on_event({"event": "interrupted"})
        finally:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            # A caller that lives on (stress.api, pytest) must not leak the pipe.
            if child.stdout is not None:
                child.stdout.close()
    if backstop.fired and not interrupted:
        reason = f"the load process ran {deadline:g}s, past load.max_duration; stress run ended it"
        on_event({"event": "limit", "reason": reason})
        if child.returncode != 0:
            raise LoadProcessFailed(
                f"the load process did not stop at load.max_duration and had to be killed; "
                f"this is a bug in stress, please report it with {log_path}"
            )
        return None
    if child.returncode == WorkersUnavailable.exit_code and errors and not interrupted:
        raise WorkersUnavailable(
            f"--workers: {errors[-1]}; no load was sent. Start the workers with "
            f"`stress worker --master HOST:PORT` or lower --expect-workers"
        )
    if child.returncode != 0 and not interrupted:
        raise LoadProcessFailed(
            f"the load process exited with code {child.returncode}; this is a bug in stress, "
            f"please report it with {log_path}"
        )
    return interrupted
