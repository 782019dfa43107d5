"""One run, start to finish: scenario → corpus → target → load → records → checks → reports.

The load itself runs in a child process (``python -m stress.load``) because Locust
monkey-patches the process it is imported in; this module never imports Locust. Progress
comes back from the child as JSON event lines and is handed to the caller's ``on_event``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from stress import __version__
from stress.checks.request import CHECKS
from stress.errors import StressError, TargetUnreachable
from stress.inputs import corpus as corpus_io
from stress.inputs.families import catalog
from stress.scenario import KnownNames, Scenario, from_path, with_overrides
from stress.targets import adapter_for

EventHandler = Callable[[dict[str, Any]], None]

BUILTIN_DEMO = "builtin:demo"
BUILTIN_NOOP = "builtin:noop"
# Exit code of a run stopped by Ctrl-C or SIGTERM (the shell convention 128 + SIGINT).
INTERRUPTED = 130


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

    @property
    def passed(self) -> bool:
        return bool(self.summary.get("passed"))


def known_names() -> KnownNames:
    """Families (with the protocols each applies to) and checks a scenario may name."""
    families = {name: list(family.protocols) for name, family in catalog().items()}
    return KnownNames(families=families, checks=list(CHECKS))


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    scenario = from_path(path, known=known_names())
    return with_overrides(scenario, **overrides)


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


def write_json(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def probe(url: str, health_path: str | None, *, timeout: float) -> None:
    """Raise TargetUnreachable unless something answers HTTP at ``url`` (any status will do)."""
    try:
        httpx.get(url + (health_path or "/"), timeout=min(timeout, 5.0))
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise TargetUnreachable(
            f"target.url: cannot reach {url} ({reason}); start the server or point "
            f"target.url (or --target) at a running endpoint"
        ) from None


@contextlib.contextmanager
def target_url(scenario: Scenario, run_dir: Path) -> Iterator[str]:
    """The base URL to load; starts the bundled demo server for ``builtin:demo``."""
    if scenario.target.url == BUILTIN_NOOP:
        from stress.demo.noop import NoopServer

        with NoopServer(log_path=run_dir / "noop-server.log") as noop:
            yield noop.url
        return
    if scenario.target.url != BUILTIN_DEMO:
        yield scenario.target.url
        return
    from stress.demo.process import DemoServerProcess

    with DemoServerProcess(log_path=run_dir / "demo-server.log") as server:
        yield server.url


def run(
    scenario_path: str | Path,
    *,
    out: Path = Path("reports"),
    on_event: EventHandler = lambda event: None,
    workers: Workers | None = None,
    **overrides: Any,
) -> RunResult:
    """Run a scenario file; returns the run directory, the summary and the exit code.

    Raises ScenarioError/UsageError (exit 2) before anything is written, TargetUnreachable
    (exit 3) when nothing answers before the load begins, WorkersUnavailable (exit 3) when
    fewer ``workers`` joined than expected.
    """
    scenario = load_scenario(scenario_path, **overrides)
    run_dir = new_run_dir(out, scenario.name)
    on_event({"event": "run_dir", "path": str(run_dir)})
    (run_dir / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    run_info: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "finished_at": None,
        "complete": False,
        "target": scenario.target.url,
        "stress_version": __version__,
    }
    write_json(run_dir / "run.json", run_info)

    began = time.monotonic()
    inputs = corpus_io.build(
        catalog(),
        scenario.inputs.families,
        seed=scenario.inputs.seed,
        count=scenario.inputs.count,
        protocol=scenario.target.protocol.value,
        features={name: (f.min, f.max) for name, f in scenario.inputs.features.items()},
    )
    corpus_io.write(run_dir / "corpus.jsonl", inputs)
    on_event({"event": "corpus", "inputs": len(inputs), "seconds": time.monotonic() - began})

    adapter = adapter_for(scenario.target, features=list(scenario.inputs.features))
    interrupted = False
    with target_url(scenario, run_dir) as url:
        run_info["url"] = url
        write_json(run_dir / "run.json", run_info)
        probe(url, adapter.health_path, timeout=scenario.target.timeout)
        on_event({"event": "target", "url": url})
        interrupted = _load(run_dir, url, on_event, workers or Workers())

    run_info.update(finished_at=datetime.now(UTC).isoformat(), complete=not interrupted)
    write_json(run_dir / "run.json", run_info)
    from stress.report import write_reports

    summary = write_reports(run_dir)
    exit_code = INTERRUPTED if interrupted else (0 if summary.get("passed") else 1)
    return RunResult(run_dir, summary, exit_code)


def _load(run_dir: Path, url: str, on_event: EventHandler, workers: Workers) -> bool:
    """Run the load process to the end, relaying its events; True if it was interrupted."""
    log_path = run_dir / "load.log"
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
        )
        interrupted = False
        try:
            assert child.stdout is not None
            for line in child.stdout:
                with contextlib.suppress(json.JSONDecodeError):
                    relay(json.loads(line))
        except KeyboardInterrupt:
            interrupted = True
            child.send_signal(signal.SIGINT)
            on_event({"event": "interrupted"})
        finally:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
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
