"""The scenario `stress init URL` writes, run against a real server: what it found.

Only the load is shortened (two phases of 2 s and 3 s); the families, count, seed and checks
are the ones init wrote, so what is found here is what a new user's first run finds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from stress.record import read_records
from tests.integration.conftest import stress


@dataclass
class DefaultRun:
    """init's scenario as written, what init said, and what its run recorded and found."""

    written: dict[str, Any]
    said: str
    returncode: int
    run_dir: Path
    records: pd.DataFrame
    summary: dict[str, Any]
    # family -> {(check, severity)}
    found: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def answered(self, family: str) -> set[int]:
        """The statuses the server answered the family's inputs with (0: no answer)."""
        sent = self.records[(self.records["family"] == family) & (self.records["status"] != 0)]
        assert len(sent) > 0, f"{family} was not sent"
        return set(sent["status"].tolist())

    def checks(self, family: str, severity: str = "error") -> set[str]:
        return {check for check, level in self.found.get(family, set()) if level == severity}

    def families(self, check: str) -> set[str]:
        return {family for family, found in self.found.items() if any(c == check for c, _ in found)}

    def check_errors(self, name: str) -> int:
        return sum(c["errors"] for c in self.summary["checks"] if c["name"] == name)


def init_and_run(url: str, tmp_path: Path, *flags: str) -> DefaultRun:
    """`stress init URL FLAGS --no-input`, then its scenario with the load cut to 5 s."""
    path = tmp_path / "init.yaml"
    made = stress("init", url, *flags, "-o", str(path), "--no-input", cwd=tmp_path)
    assert made.returncode == 0, made.stderr + made.stdout
    assert "warning" not in made.stderr.lower(), made.stderr
    written = yaml.safe_load(path.read_text())
    scenario = yaml.safe_load(path.read_text())
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 2, "spawn_rate": 2, "duration": "2s"},
        {"name": "load", "users": 4, "spawn_rate": 4, "duration": "3s"},
    ]
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    result = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    found: dict[str, set[tuple[str, str]]] = {}
    for text in (run_dir / "failures.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        found.setdefault(line["family"], set()).update(
            (f["check"], f["severity"]) for f in line["findings"]
        )
    return DefaultRun(
        written=written,
        said=made.stderr + made.stdout,
        returncode=result.returncode,
        run_dir=run_dir,
        records=read_records(run_dir / "records").to_pandas(),
        summary=json.loads((run_dir / "summary.json").read_text()),
        found=found,
    )


def assert_health_polled_and_quiet(run: DefaultRun) -> None:
    """init wrote health.enabled, the readiness endpoint was polled through the load, said
    ready every time and was never contradicted: no health_under_load error."""
    assert run.written["health"]["enabled"] is True, run.written.get("health")
    health = run.summary["cost_growth"]["health"]
    assert health["probes"] >= 3, health
    assert health["ready"] == health["probes"], health
    assert health["contradicted"] == 0, health
    assert run.check_errors("health_under_load") == 0
