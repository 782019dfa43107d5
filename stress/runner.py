"""One run, start to finish: scenario → corpus → target → load → records → checks → reports.

The load itself runs in a child process (``python -m stress.load``) because Locust
monkey-patches the process it is imported in; this module never imports Locust. Progress
comes back from the child as JSON event lines and is handed to the caller's ``on_event``.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stress import __version__
from stress.errors import StressError
from stress.exitcode import killed_load, run_exit_code
from stress.inputs import corpus as corpus_io
from stress.lifeline import Deadline, die_with_parent, interrupt_exit_code, signal_name
from stress.load import events as load_events
from stress.preflight import preflight
from stress.prepare import PreparedRun, prepare
from stress.prepare.corpus import build_corpus as build_corpus  # tests, `stress init`
from stress.prepare.corpus import select_families as select_families
from stress.prepare.names import Catalog
from stress.prepare.run import BUILTIN_DEMO as BUILTIN_DEMO
from stress.prepare.run import DEMO_PROTOCOLS as DEMO_PROTOCOLS
from stress.prepare.run import check_target as target_fits
from stress.rundir import layout
from stress.rundir.write import write_json, write_lines, write_text, write_traces
from stress.scenario import Overrides, Scenario
from stress.secrets import Redactor
from stress.targets import adapter_for

EventHandler = Callable[[dict[str, Any]], None]

BUILTIN_NOOP = "builtin:noop"
# Exit code of a run stopped by Ctrl-C (the shell convention 128 + SIGINT); SIGTERM is 143.
INTERRUPTED = 130
# The parent's backstop: a load process still running this long after load.max_duration
# (plus the target's timeout for the last answers) is stopped by `stress run` (lifeline.Deadline).
OVERRUN_GRACE_S = 60.0


class LoadProcessFailed(StressError):
    """The load process died: a bug in stress. Its log is saved in the run directory."""

    exit_code = 4


class LoadProcessKilled(LoadProcessFailed):
    """A signal killed the load process (SIGKILL: most likely the out-of-memory killer).
    Raised after the report of what was recorded is written; exit 4 like any failed load."""


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


def known_names() -> Catalog:
    """Families (with the protocols each applies to) and checks a scenario may name."""
    return Catalog()


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """The scenario file prepared and checked as `stress run` does, with the flags applied."""
    return prepare(path, Overrides(**overrides)).scenario


def check_target(scenario: Scenario, *, source: str) -> None:
    """Raise ScenarioError when the target cannot send the scenario's inputs (its corpus)."""
    prepared = PreparedRun(scenario, source)
    target_fits(scenario, prepared.corpus(), source=source)


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
    scenario_path: str | Path | Scenario | PreparedRun,
    *,
    out: Path = Path("reports"),
    on_event: EventHandler = lambda event: None,
    workers: Workers | None = None,
    **overrides: Any,
) -> RunResult:
    """Run a scenario; returns the run directory, the summary and the exit code.

    A file is prepared here (stress.prepare) with ``overrides`` (the flags); a PreparedRun
    (the CLI and stress.api prepare first) or a Scenario is run as it is.
    Raises ScenarioError/UsageError (exit 2) before anything is written, TargetUnreachable
    (exit 3) when nothing answers before the load begins, WorkersUnavailable (exit 3) when
    fewer ``workers`` joined than expected.
    """
    if isinstance(scenario_path, PreparedRun | Scenario):
        if overrides:
            raise TypeError("overrides apply to a scenario file; apply them to a Scenario first")
        prepared = (
            scenario_path
            if isinstance(scenario_path, PreparedRun)
            else PreparedRun(scenario_path, "<scenario>")
        )
    else:
        prepared = prepare(scenario_path, Overrides(**overrides))
    scenario = prepared.scenario
    if scenario.regressions is not None:
        from stress.repro import regressions

        regressions.corpus_dir(scenario.regressions)  # a bad path fails before anything runs
    # Generated before anything is written: an input family that cannot generate is exit 2.
    inputs = prepared.corpus()
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
    # The trace phases' times, from the log the preparation read: the load process reads
    # them from the run directory, never a log.
    timing = prepared.timing
    write_traces(run_dir, timing.traces, timing.entries)
    on_event({"event": "corpus", "inputs": len(inputs), "seconds": prepared.corpus_seconds})
    if prepared.log is not None:
        report = prepared.log.report
        write_json(layout.logs(run_dir), report)
        on_event({"event": "from_log", **report})

    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    # The exit code of an interruption (130 SIGINT, 143 SIGTERM), None while not interrupted.
    interrupted: int | None = None
    replayed: list[dict[str, Any]] = []
    killed: LoadProcessKilled | None = None
    try:
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
            with (
                _scraping(scenario, run_dir, url, on_event),
                _watching(scenario, adapter, run_dir, url),
            ):
                try:
                    interrupted = _load(run_dir, url, on_event, fleet, deadline=deadline)
                except LoadProcessKilled as error:
                    killed = error  # raised once the report of what was recorded is written
            if not interrupted and killed is None:
                # Group checks re-send inputs alone, so they run while the target is still up.
                from stress.checks.groups import judge

                judge(run_dir, scenario, url, on_event=on_event)
    except KeyboardInterrupt as interrupt:
        # Before the load (the demo server starting, the preflight, the regressions) or
        # during the group checks: the reports say what ran.
        interrupted = interrupt_exit_code(interrupt)
        on_event({"event": "interrupted"})
    except Exception as error:
        # The run directory says why it ends here, so that `stress report` does not call it
        # killed (summary "INCOMPLETE: target unreachable: ...").
        run_info.update(finished_at=datetime.now(UTC).isoformat(), aborted=abort_cause(error))
        write_json(layout.run_info(run_dir), run_info)
        raise

    run_info.update(
        finished_at=datetime.now(UTC).isoformat(), complete=not interrupted and killed is None
    )
    if interrupted:
        run_info["interrupted"] = signal_name(interrupted)
    write_json(layout.run_info(run_dir), run_info)
    from stress.report import write_reports

    summary = write_reports(run_dir)
    if killed is not None:
        raise killed
    still_fails = False
    if scenario.regressions is not None:
        from stress.repro import regressions

        folder = regressions.corpus_dir(scenario.regressions)
        added = regressions.save_failures(folder, run_dir)
        on_event({"event": "regressions_saved", "added": len(added), "dir": str(folder)})
        # A known failure that still fails is a failure of this run, as in any test suite.
        still_fails = any(r["verdict"] == regressions.STILL_FAILS for r in replayed)
    exit_code = run_exit_code(
        bool(summary.get("passed")), interrupted=interrupted, still_fails=still_fails
    )
    return RunResult(run_dir, summary, exit_code, replayed)


def abort_cause(error: BaseException) -> str:
    """run.json's ``aborted``: why a run ended on ``error`` before its end, in words."""
    from stress.errors import TargetUnreachable

    first = (str(error).splitlines() or [type(error).__name__])[0]
    if isinstance(error, TargetUnreachable):
        return f"target unreachable: {first}"
    if isinstance(error, WorkersUnavailable):
        return f"workers unavailable: {first}"
    if isinstance(error, LoadProcessFailed):
        return f"the load process died: {first}"
    return f"stress run failed ({type(error).__name__}): {first}"


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


@contextlib.contextmanager
def _scraping(
    scenario: Scenario, run_dir: Path, url: str, on_event: EventHandler
) -> Iterator[None]:
    """target.metrics: scrape the target's Prometheus endpoint while the load runs."""
    settings = scenario.target.metrics
    if settings is None:
        yield
        return
    from stress.promscrape import Scraper

    with Scraper(settings, url, layout.target_metrics(run_dir)) as scraper:
        yield
    on_event(
        {
            "event": "target_metrics",
            "url": scraper.url,
            "scrapes": scraper.scrapes,
            "failed": scraper.failed,
        }
    )


def _watching(
    scenario: Scenario, adapter: Any, run_dir: Path, url: str
) -> contextlib.AbstractContextManager[Any]:
    """health.enabled: the readiness endpoint polled while the load runs."""
    if not scenario.health.enabled:
        return contextlib.nullcontext()
    from stress.healthwatch import HealthWatch

    health = scenario.health
    file = layout.health(run_dir)
    return HealthWatch(url, adapter, file, interval=health.interval, health_path=health.path)


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

    def relay(event: load_events.LoadEvent) -> None:
        if isinstance(event, load_events.Error):
            errors.append(event.message)
        on_event(event.as_dict())

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
                    with contextlib.suppress(load_events.BadEvent):
                        relay(load_events.parse(line))
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
    killed = killed_load(child.returncode, run_dir, log_path)
    if killed is not None and not interrupted:
        raise LoadProcessKilled(killed)
    if child.returncode != 0 and not interrupted:
        raise LoadProcessFailed(
            f"the load process exited with code {child.returncode}; this is a bug in stress, "
            f"please report it with {log_path}"
        )
    return interrupted
