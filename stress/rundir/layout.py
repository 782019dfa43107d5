"""The names of every file in a run directory (and of the files stress writes beside runs):
one function per file, taking the directory. ARCHITECTURE.md's "Run directory" table says who
writes and who reads each one.

    reports/<scenario>-<UTC time>/
        scenario.yaml run.json corpus.jsonl logs.json regressions.jsonl
        traces.json   the trace phases' arrival times (the load process reads no log)
        records/<prefix>-<n>.parquet failures.jsonl load.json resends.jsonl
        degradation.json invariance.json target-metrics.jsonl
        summary.json summary.md report.html junit.xml
        compare.json compare.html compare.md  shrunk/<input id>.json
        load.log worker-<n>.log demo-server.log noop-server.log replay-demo-server.log
        stress-crash.txt
"""

from __future__ import annotations

from pathlib import Path

SCENARIO = "scenario.yaml"
RUN_INFO = "run.json"
CORPUS = "corpus.jsonl"
LOGS = "logs.json"
REGRESSIONS = "regressions.jsonl"
TRACES = "traces.json"
RECORDS = "records"
FAILURES = "failures.jsonl"
LOAD = "load.json"
RESENDS = "resends.jsonl"
DEGRADATION = "degradation.json"
INVARIANCE = "invariance.json"
TARGET_METRICS = "target-metrics.jsonl"
HEALTH = "health.jsonl"
SUMMARY = "summary.json"
SUMMARY_MD = "summary.md"
REPORT = "report.html"
JUNIT = "junit.xml"
COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"
COMPARE_MD = "compare.md"
HISTORY_HTML = "history.html"
HISTORY_JSON = "history.json"
SHRUNK = "shrunk"
LOAD_LOG = "load.log"
DEMO_LOG = "demo-server.log"
NOOP_LOG = "noop-server.log"
REPLAY_DEMO_LOG = "replay-demo-server.log"
CRASH = "stress-crash.txt"
# Names with a number or a suffix in them: str.format templates.
WORKER_LOG = "worker-{number}.log"
PART = "{prefix}-{number:06d}.parquet"
PART_GLOB = "*.parquet"
CASE = "{input_id}.json"
# Whole files are written to this name beside the target, then renamed over it.
TEMPORARY_SUFFIX = ".tmp"

# Every fixed name, for the test that keeps them out of the rest of stress/.
NAMES = (
    SCENARIO, RUN_INFO, CORPUS, LOGS, REGRESSIONS, TRACES, RECORDS, FAILURES, LOAD, RESENDS,
    DEGRADATION, INVARIANCE, SUMMARY, SUMMARY_MD, REPORT, JUNIT, COMPARE_JSON, COMPARE_HTML,
    COMPARE_MD, HISTORY_HTML, HISTORY_JSON, SHRUNK, LOAD_LOG, DEMO_LOG, NOOP_LOG,
    REPLAY_DEMO_LOG, CRASH, TARGET_METRICS, HEALTH,
)  # fmt: skip
TEMPLATES = (WORKER_LOG, PART, CASE)


def scenario(run_dir: Path) -> Path:
    """The resolved scenario the run ran (defaults and overrides applied)."""
    return run_dir / SCENARIO


def run_info(run_dir: Path) -> Path:
    return run_dir / RUN_INFO


def corpus(run_dir: Path) -> Path:
    return run_dir / CORPUS


def logs(run_dir: Path) -> Path:
    """What inputs.from_log read, used and scrubbed."""
    return run_dir / LOGS


def regressions(run_dir: Path) -> Path:
    return run_dir / REGRESSIONS


def traces(run_dir: Path) -> Path:
    """What the load process needs of the logs: each trace phase's arrival times, and the
    log entry each arrival of an ``inputs: logged`` phase sends. The parent writes it when it
    makes the run directory, so the load process reads no log, and no logged body (which may
    hold the personal data inputs.from_log scrubs) lands in the run directory."""
    return run_dir / TRACES


def records(run_dir: Path) -> Path:
    """The folder of the Parquet record parts."""
    return run_dir / RECORDS


def part(directory: Path, prefix: str, number: int) -> Path:
    """Record part ``number`` of load process ``prefix`` in a records folder."""
    return directory / PART.format(prefix=prefix, number=number)


def parts(directory: Path) -> list[Path]:
    """The complete part files of a records folder, in name order."""
    return sorted(directory.glob(PART_GLOB))


def failures(run_dir: Path) -> Path:
    return run_dir / FAILURES


def load(run_dir: Path) -> Path:
    """What the load engine did (phases, counts, workers, processes)."""
    return run_dir / LOAD


def resends(run_dir: Path) -> Path:
    return run_dir / RESENDS


def degradation(run_dir: Path) -> Path:
    return run_dir / DEGRADATION


def invariance(run_dir: Path) -> Path:
    return run_dir / INVARIANCE


def target_metrics(run_dir: Path) -> Path:
    """The target's Prometheus samples scraped during the load (target.metrics), one JSON
    line per scrape."""
    return run_dir / TARGET_METRICS


def health(run_dir: Path) -> Path:
    """The readiness endpoint polled once a second during the load, one JSON line a probe."""
    return run_dir / HEALTH


def summary(run_dir: Path) -> Path:
    return run_dir / SUMMARY


def summary_md(run_dir: Path) -> Path:
    return run_dir / SUMMARY_MD


def report(run_dir: Path) -> Path:
    return run_dir / REPORT


def junit(run_dir: Path) -> Path:
    return run_dir / JUNIT


def compare_json(out_dir: Path) -> Path:
    """`stress compare`'s verdict, in NEW (or --out)."""
    return out_dir / COMPARE_JSON


def compare_html(out_dir: Path) -> Path:
    return out_dir / COMPARE_HTML


def compare_md(out_dir: Path) -> Path:
    return out_dir / COMPARE_MD


def history_html(directory: Path) -> Path:
    """`stress history`'s page, in the folder that holds the runs."""
    return directory / HISTORY_HTML


def history_json(directory: Path) -> Path:
    return directory / HISTORY_JSON


def shrunk(run_dir: Path) -> Path:
    """The folder of shrunk cases."""
    return run_dir / SHRUNK


def shrunk_case(run_dir: Path, input_id: str) -> Path:
    return shrunk(run_dir) / CASE.format(input_id=input_id)


def load_log(run_dir: Path) -> Path:
    """The load process's stderr."""
    return run_dir / LOAD_LOG


def worker_log(run_dir: Path, number: int) -> Path:
    """The output of local Locust worker ``number``."""
    return run_dir / WORKER_LOG.format(number=number)


def demo_log(run_dir: Path) -> Path:
    return run_dir / DEMO_LOG


def noop_log(run_dir: Path) -> Path:
    return run_dir / NOOP_LOG


def replay_demo_log(run_dir: Path) -> Path:
    """The demo server's log when `stress replay`/shrink start it for a builtin:demo run."""
    return run_dir / REPLAY_DEMO_LOG


def crash(folder: Path) -> Path:
    """The traceback of a crash inside stress (the run directory, or the current folder)."""
    return folder / CRASH


def is_run_dir(path: Path) -> bool:
    """True when ``path`` holds a scenario and a records folder (what `stress history`
    looks for)."""
    return scenario(path).is_file() and records(path).is_dir()
