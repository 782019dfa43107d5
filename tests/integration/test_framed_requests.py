"""Chunked bodies and Expect: 100-continue (encoding.chunked_body, chunked_odd_framing,
expect_continue) against the reference chat server, both ways: the careful server (which
decodes a chunked body and sends 100 Continue) gets no error finding; its careless twin
(chunked_as_empty, expect_without_continue) an error for each family. A stored failure
holds the bytes that went on the wire, `stress replay` meets the failure again with them,
and `stress shrink` shrinks a chunked body's data and keeps it chunked the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stress import framing
from stress.repro import replay as replay_mod
from stress.repro.cases import body_of
from stress.repro.shrink import Limits, shrink
from tests.integration.conftest import reference_server as reference
from tests.integration.conftest import stress

pytestmark = pytest.mark.slow

FAMILIES = ("encoding.chunked_body", "encoding.chunked_odd_framing", "encoding.expect_continue")


def run(url: str, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """`stress init URL`'s scenario with the three families only, 1 s and 3 s phases: the
    run directory and its failures."""
    written = tmp_path / "init.yaml"
    made = stress("init", url, "--no-input", "-o", str(written), cwd=tmp_path)
    assert made.returncode == 0, made.stderr + made.stdout
    scenario = yaml.safe_load(written.read_text())
    scenario["target"]["timeout"] = "3s"
    scenario["inputs"]["families"] = dict.fromkeys(FAMILIES, 1)
    scenario["inputs"].pop("counts", None)
    scenario["inputs"]["count"] = 30
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": "load", "users": 3, "spawn_rate": 3, "duration": "3s"},
    ]
    short = tmp_path / "short.yaml"
    short.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    ran = stress("run", str(short), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert ran.returncode in (0, 1), ran.stderr + ran.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    failures = [json.loads(line) for line in (run_dir / "failures.jsonl").read_text().splitlines()]
    return run_dir, failures


def errors(failures: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (entry["family"], finding["check"])
        for entry in failures
        for finding in entry.get("findings") or []
        if finding["severity"] == "error"
    }


def sent_families(run_dir: Path) -> set[str]:
    summary = json.loads((run_dir / "summary.json").read_text())
    return {row["name"] for row in summary["families"] if row["requests"]}


def test_the_careful_server_answers_every_framing(tmp_path: Path) -> None:
    with reference("chat") as url:
        run_dir, failures = run(url, tmp_path)
    assert sent_families(run_dir) >= set(FAMILIES)
    assert errors(failures) == set()


def test_the_careless_twin_fails_each_family_and_replay_meets_it_again(tmp_path: Path) -> None:
    with reference("chat", "--careless", "chunked_as_empty,expect_without_continue") as url:
        run_dir, failures = run(url, tmp_path)
        assert errors(failures) >= {(family, "not_a_server_error") for family in FAMILIES}
        # What was stored is what went on the wire: the framed body, its headers.
        odd = next(f for f in failures if f["family"] == "encoding.chunked_odd_framing")
        stored = body_of(odd["request"])
        assert "Content-Length" not in odd["request"]["headers"]
        assert odd["request"]["headers"]["Transfer-Encoding"] == "chunked"
        assert json.loads(framing.dechunk(stored))  # the data it carries is the valid body
        rows = replay_mod.replay(run_dir)
        assert {row["input_id"] for row in rows} == {f["input_id"] for f in failures}
        assert all(row["still_fails"] for row in rows), rows
        shrunk = shrink(run_dir, odd["input_id"], limits=Limits(max_requests=60))
    body = body_of(shrunk["request"])
    assert shrunk["shrink"]["status"] == "shrunk", shrunk["shrink"]
    assert len(body) < len(stored)
    frame = framing.reframer(stored)
    assert frame is not None
    assert frame(framing.dechunk(body)) == body  # chunked as the stored body was
    assert shrunk["shrink"]["still_as_intended"]
