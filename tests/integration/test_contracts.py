"""The product's central promises, checked against the truth a local server recorded.

- Byte-exact failures: every body stored in failures.jsonl (as text or as base64) is, byte
  for byte, the body the server received for that input during the run.
- Verdicts at known rates: a server that changes its answer for a known share of inputs
  under load (degradation) or of perturbed inputs (invariance); the run's rate equals the
  share the server's own log gives, and the pass/fail verdict flips exactly where the
  scenario's ``max_rate`` / ``max_flip_rate`` says, on both sides of it.

Everything goes through the CLI and the run directory's files, as a user's CI would.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stress.record import read_records
from tests.integration.conftest import HERE, free_port, stress, wait_until_up
from tests.integration.recording_server import every

pytestmark = pytest.mark.slow


@dataclass
class Recorder:
    """tests/integration/recording_server.py on ``url``; ``log`` has one line a POST."""

    url: str
    log: Path

    def requests(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line]

    def bodies(self) -> dict[str, set[bytes]]:
        """Every distinct body received per input id."""
        found: dict[str, set[bytes]] = defaultdict(set)
        for request in self.requests():
            if request["input_id"]:
                found[request["input_id"]].add(base64.b64decode(request["body_b64"]))
        return found


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Callable[..., Recorder]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> Recorder:
        port = free_port()
        log = tmp_path / f"received-{port}.jsonl"
        process = subprocess.Popen(
            [sys.executable, str(HERE / "recording_server.py"), str(port), str(log), *options]
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, process, "recording server")
        return Recorder(url, log)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def run(tmp_path: Path, text: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    result = stress("run", str(path), "--out", str(tmp_path / "reports"), *extra, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return result, Path(result.stdout.strip().splitlines()[-1])


def failure_lines(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "failures.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


# --------------------------------------------------------------------------- byte-exact

# Families whose bytes a careless store would change: non-ASCII text (escaped by json.dumps),
# pretty-printed and \u-escaped JSON, a duplicate key, -0.0, invalid UTF-8 (base64), a BOM.
BYTES = """\
name: byte-exact
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs:
  seed: 21
  count: 40
  families:
    realistic.chat_prompt: 1
    unicode.cjk: 1
    unicode.emoji: 1
    unicode.zero_width: 1
    encoding.pretty_printed: 1
    encoding.escaped_unicode: 1
    structure.duplicate_key: 1
    numbers.negative_zero: 1
    encoding.invalid_utf8: 1
    encoding.bom: 1
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 1s}}
    - {{name: load, users: 3, spawn_rate: 3, duration: 2s}}
degradation: {{enabled: false}}
"""


def test_every_stored_failure_body_is_the_bytes_the_server_received(
    tmp_path: Path, recorder: Callable[..., Recorder]
) -> None:
    server = recorder("--fail-every", "2")
    result, run_dir = run(tmp_path, BYTES.format(url=server.url))
    assert result.returncode == 1, result.stderr
    received = server.bodies()
    # One input, one body: the load sends an input's bytes unchanged every time.
    assert all(len(bodies) == 1 for bodies in received.values()), received
    failures = failure_lines(run_dir)
    as_text = [f for f in failures if "body" in f["request"]]
    as_base64 = [f for f in failures if "body_b64" in f["request"]]
    assert as_base64, "invalid UTF-8 is stored as base64"
    assert any(not f["request"]["body"].isascii() for f in as_text), "non-ASCII text stored"
    # The server failed the even inputs: each of them must be in failures.jsonl.
    failed = {i for i in received if every(i, 2)}
    assert failed <= {f["input_id"] for f in failures}
    compared = 0
    for line in failures:
        request = line["request"]
        if "body_b64" in request:
            stored = base64.b64decode(request["body_b64"], validate=True)
            # base64 is kept for bodies that are not UTF-8 only.
            with pytest.raises(UnicodeDecodeError):
                stored.decode("utf-8")
        else:
            stored = request["body"].encode("utf-8")
        (sent,) = received[line["input_id"]]
        assert stored == sent, (line["input_id"], stored[:200], sent[:200])
        compared += 1
    assert compared == len(failures) >= 10


# --------------------------------------------------------------------------- verdicts

DEGRADATION = """\
name: degradation-{every}
target: {{url: "{url}", protocol: mlflow, format: dataframe_split, timeout: 5s}}
inputs:
  seed: 9
  count: 12
  features: {{a: {{min: 0, max: 10}}, b: {{min: 0, max: 10}}}}
  families: {{realistic.tabular_rows: 1}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 2s}}
    - {{name: load, users: 3, spawn_rate: 3, duration: 2s}}
degradation: {{max_rate: {limit}, max_resends: 50}}
invariance: {{enabled: false}}
"""


def rejudge(run_dir: Path, section: str, key: str, limit: float) -> dict[str, Any]:
    """Set ``section.key`` in the run's scenario.yaml, rebuild the report, return the check."""
    path = run_dir / "scenario.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.setdefault(section, {})[key] = limit
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    reported = stress("report", str(run_dir), cwd=run_dir)
    assert reported.returncode in (0, 1), reported.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    (check,) = [c for c in summary["checks"] if c["name"] == section]
    assert summary["passed"] is check["passed"]  # nothing else decides these runs
    assert reported.returncode == (0 if check["passed"] else 1)
    return check


@pytest.mark.parametrize(
    ("degrade_every", "share", "fails_at", "passes_at"),
    [
        (0, 0.0, None, 0.0),  # nothing changes: passes even at a limit of 0
        (2, 0.5, 0.3, 0.7),  # half the inputs change under load
        (1, 1.0, 0.9, 1.0),  # every input changes: only a limit of 100% lets it pass
    ],
)
def test_degradation_verdict_at_a_known_rate(
    tmp_path: Path,
    recorder: Callable[..., Recorder],
    degrade_every: int,
    share: float,
    fails_at: float | None,
    passes_at: float,
) -> None:
    # Answers held 30 ms, so the load phase's three users overlap at the server.
    server = recorder("--degrade-every", str(degrade_every), "--delay-ms", "30")
    first_limit = passes_at if fails_at is None else fails_at
    text = DEGRADATION.format(url=server.url, every=degrade_every, limit=first_limit)
    result, run_dir = run(tmp_path, text)
    summary = json.loads((run_dir / "summary.json").read_text())
    totals = summary["group_checks"]["degradation"]
    assert totals["judged"] is True, totals
    # The truth from the server: which answers it shifted (a chosen input arriving while
    # another request was in flight), each matched to its record (the same input's latest
    # send before the server read it; the corpus cycles, so one input is never in flight
    # twice), counted where the record is a load-phase answer to an input the baseline had.
    records = read_records(run_dir / "records").to_pandas().sort_values("sent_at")
    baseline = set(records.loc[records["phase"] == "baseline", "input_id"])
    under_load = records[(records["phase"] == "load") & records["input_id"].isin(baseline)]
    received = server.requests()
    changed = 0
    for line in (r for r in received if r["shifted"]):
        sent = records[
            (records["input_id"] == line["input_id"]) & (records["sent_at"] <= line["at"])
        ]
        if len(sent) and sent.iloc[-1]["phase"] == "load" and line["input_id"] in baseline:
            changed += 1
    assert len(under_load) >= 20, len(under_load)
    assert totals["compared"] == len(under_load)
    assert totals["degraded"] == changed
    assert totals["unverified"] == 0
    assert totals["unstable"] == 0
    assert totals["rate"] == pytest.approx(changed / len(under_load))
    assert abs(totals["rate"] - share) <= 0.2  # about the share of chosen inputs
    if share:  # the group check re-sent the changed inputs alone (they answered as before)
        # Re-sends are the requests the server saw beyond the records' (same bytes, no mark).
        resent = Counter(str(r["input_id"]) for r in received) - Counter(records["input_id"])
        assert set(resent) >= {i for i in baseline if every(i, degrade_every)}
    # The verdict, on both sides of the limit.
    if fails_at is not None:
        check = next(c for c in summary["checks"] if c["name"] == "degradation")
        assert check["passed"] is False, check
        assert result.returncode == 1
        assert "above the limit" in check["message"]
        assert rejudge(run_dir, "degradation", "max_rate", passes_at)["passed"] is True
    else:
        assert result.returncode == 0, result.stderr
        check = rejudge(run_dir, "degradation", "max_rate", passes_at)
        assert check["passed"] is True
        assert check["errors"] == 0


INVARIANCE = """\
name: invariance-{every}
target: {{url: "{url}", protocol: mlflow, format: dataframe_split, timeout: 5s}}
inputs:
  seed: 4
  count: 24
  features: {{a: {{min: 0, max: 10}}, b: {{min: 0, max: 10}}}}
  families: {{perturbation.original: 1, perturbation.jitter: 1, perturbation.column_order: 1}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 3s}}
invariance: {{max_flip_rate: {limit}}}
severity: {{invariance: error}}  # flips are warnings by default; this run fails on them
"""


@pytest.mark.parametrize(
    ("flip_every", "share", "fails_at", "passes_at"),
    [(0, 0.0, None, 0.0), (2, 0.5, 0.4, 0.5), (1, 1.0, 0.9, 1.0)],
)
def test_invariance_verdict_at_a_known_flip_rate(
    tmp_path: Path,
    recorder: Callable[..., Recorder],
    flip_every: int,
    share: float,
    fails_at: float | None,
    passes_at: float,
) -> None:
    server = recorder("--flip-every", str(flip_every))
    first_limit = passes_at if fails_at is None else fails_at
    result, run_dir = run(
        tmp_path, INVARIANCE.format(url=server.url, every=flip_every, limit=first_limit)
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    kinds = {k["kind"]: k for k in summary["invariance_kinds"]}
    assert set(kinds) == {"jitter", "column_order"}
    for kind in kinds.values():
        assert kind["compared"] == 8, kind  # every perturbed input was answered with its seed
        assert kind["flips"] == 8 * share
        assert kind["flip_rate"] == share
    if fails_at is not None:
        check = next(c for c in summary["checks"] if c["name"] == "invariance")
        assert check["passed"] is False, check
        assert result.returncode == 1
        flipped = {f["input_id"] for f in failure_lines(run_dir) if f["check"] == "invariance"}
        assert flipped == {
            r["input_id"]
            for r in server.requests()
            if every(r["input_id"], flip_every) and "original" not in r["input_id"]
        }
        assert rejudge(run_dir, "invariance", "max_flip_rate", passes_at)["passed"] is True
    else:
        assert result.returncode == 0, result.stderr
        assert rejudge(run_dir, "invariance", "max_flip_rate", passes_at)["passed"] is True
