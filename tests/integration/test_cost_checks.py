"""The cost checks end to end (the verdict rule): `stress run` against the careful amplifier
server gives no error-severity finding, against its careless twin an error for each planted
fault (tests/reference/amplifier.py): an error page echoing the body with padding, answers 50
times the request, more tokens than max_tokens, latency quadratic in the prompt's length, and
requests that stall while the readiness endpoint says ok.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import reference_server, stress

pytestmark = pytest.mark.slow

COST_CHECKS = (
    "amplification",
    "input_echo",
    "runaway_generation",
    "cost_growth",
    "health_under_load",
)


def scenario(url: str, path: Path) -> Path:
    """Prompts from one character to the server's 32,000-character limit, so latency can be
    fitted against size, and malformed bodies (small and over the limit) for error pages."""
    document = {
        "name": "amplifier",
        "target": {
            "url": url,
            "protocol": "openai-chat",
            "model": "tiny",
            "max_tokens": 16,
            "timeout": "2s",
        },
        "inputs": {
            "seed": 7,
            "count": 120,
            "families": {
                "realistic.chat_prompt": 3,
                "realistic.long_document": 4,
                "size.single_char": 1,
                "size.long_prompt": 2,
                "size.at_limit": 1,
                "size.over_limit": 1,
                "structure.missing_field": 1,
                "structure.wrong_type": 1,
            },
        },
        "load": {
            "phases": [
                {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "2s"},
                {"name": "load", "users": 3, "spawn_rate": 3, "duration": "5s"},
            ]
        },
        "flakiness": {"retries": 1, "max_inputs": 4},
        "health": {"enabled": True},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def run(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    result = stress(
        "run",
        str(scenario(url, tmp_path / "amplifier.yaml")),
        "--out",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert result.returncode in (0, 1), result.stderr
    return result, Path(result.stdout.strip().splitlines()[-1])


def checks_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    summary = json.loads((run_dir / "summary.json").read_text())
    return {check["name"]: check for check in summary["checks"] if check["phase"] is None}


def failures_of(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "failures.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


def test_careful_server_gives_no_error_finding(tmp_path: Path) -> None:
    with reference_server("amplifier") as url:
        result, run_dir = run(url, tmp_path)
    checks = checks_of(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert result.returncode == 0, summary["message"]
    assert {name: checks[name]["errors"] for name in COST_CHECKS} == dict.fromkeys(COST_CHECKS, 0)
    assert sum(check["errors"] for check in summary["checks"]) == 0
    # The fit was made (not skipped) and says linear.
    whole = next(fit for fit in summary["cost_growth"]["fits"] if fit["family"] == "(all)")
    assert whole["points"] >= 20, whole
    assert whole["exponent"] < 1.5, whole
    # The readiness endpoint was polled through the load, and never contradicted it.
    health = summary["cost_growth"]["health"]
    assert health["probes"] >= 3, health
    assert health["ready"] == health["probes"]
    assert health["contradicted"] == 0


def test_careless_server_gives_an_error_for_each_planted_fault(tmp_path: Path) -> None:
    with reference_server("amplifier", "--careless") as url:
        result, run_dir = run(url, tmp_path)
    assert result.returncode == 1
    checks = checks_of(run_dir)
    failures = failures_of(run_dir)

    def found(check: str, status: int) -> bool:
        return any(
            finding["check"] == check
            and finding["severity"] == ("warning" if check == "input_echo" else "error")
            and line["response"]["status"] == status
            for line in failures
            for finding in line["findings"]
        )

    assert found("amplification", 400)  # echo: the padded error page
    assert found("input_echo", 400)  # echo: the body reflected
    assert found("amplification", 200)  # amplify: answers 50x the request
    assert found("runaway_generation", 200)  # runaway: max_tokens + 10
    assert checks["cost_growth"]["errors"] >= 1  # quadratic
    assert not checks["cost_growth"]["passed"]
    summary = json.loads((run_dir / "summary.json").read_text())
    whole = next(fit for fit in summary["cost_growth"]["fits"] if fit["family"] == "(all)")
    assert whole["superlinear"], whole
    assert whole["exponent"] > 1.5, whole
    assert checks["health_under_load"]["errors"] >= 1  # stall
    assert not checks["health_under_load"]["passed"]


@pytest.mark.parametrize("careless", [False, True], ids=["careful", "stall"])
def test_init_writes_health_polling_that_finds_only_the_stall(
    tmp_path: Path, careless: bool
) -> None:
    # `stress init URL`: an OpenAI-style server with a /health that answers 200 gets
    # health.enabled with that path (its /v1/models, the preflight's, says nothing of
    # readiness). Run with the load cut short and a 2 s timeout (the stalls last 3 s).
    path = tmp_path / "init.yaml"
    with reference_server("amplifier", *(("--careless", "stall") if careless else ())) as url:
        made = stress("init", url, "-o", str(path), "--no-input", cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert "health: GET /health answered HTTP 200" in made.stdout
        document = yaml.safe_load(path.read_text())
        assert document["health"] == {"enabled": True, "path": "/health"}
        document["target"]["timeout"] = "2s"
        document["inputs"]["count"] = 60
        document["load"]["phases"] = [
            {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "2s"},
            {"name": "load", "users": 3, "spawn_rate": 3, "duration": "4s"},
        ]
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        result = stress("run", str(path), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    health = json.loads((run_dir / "summary.json").read_text())["cost_growth"]["health"]
    assert health["probes"] >= 3, health
    assert health["ready"] == health["probes"], health
    errors = checks_of(run_dir)["health_under_load"]["errors"]
    if careless:
        assert errors >= 1, health
    else:
        assert (errors, health["contradicted"]) == (0, 0), health
