"""`stress init URL` with no flags against servers it must recognise, and the run of what it wrote.

The reference embeddings server (tests/reference/embeddings.py) is OpenAI embeddings by its
model list; the reference sampling server (tests/reference/sampling.py) is OpenAI chat that
streams. tests/real use ``init_runs`` the same way for MLflow and KServe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import reference_server, stress

pytestmark = pytest.mark.slow


def init_runs(url: str, tmp_path: Path, *flags: str) -> tuple[dict[str, Any], str]:
    """`stress init URL FLAGS --no-input`, then the scenario shortened and run: the scenario
    as written and init's stderr. The run must end with exit 0 or 1 and write its report."""
    path = tmp_path / "scenario.yaml"
    made = stress("init", url, *flags, "-o", str(path), "--no-input", cwd=tmp_path)
    assert made.returncode == 0, made.stderr + made.stdout
    assert "answered HTTP 200" in made.stdout, made.stdout
    assert "warning" not in made.stderr, made.stderr
    written = yaml.safe_load(path.read_text())
    scenario = yaml.safe_load(path.read_text())
    scenario["inputs"]["count"] = 60
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": "load", "users": 3, "spawn_rate": 3, "duration": "2s"},
    ]
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    done = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr + done.stdout
    run_dir = Path(done.stdout.strip().splitlines()[0])
    assert (run_dir / "report.html").is_file()
    return written, made.stderr


def test_init_with_no_flags_recognises_an_embeddings_server(tmp_path: Path) -> None:
    with reference_server("embeddings") as url:
        written, said = init_runs(url, tmp_path)
    target = written["target"]
    assert (target["protocol"], target["model"]) == ("openai-embeddings", "ref-embed")
    assert "stream" not in target
    assert "detected openai-embeddings" in said


def test_init_with_no_flags_writes_stream_for_a_streaming_chat_server(tmp_path: Path) -> None:
    with reference_server("sampling") as url:
        written, said = init_runs(url, tmp_path)
    target = written["target"]
    assert (target["protocol"], target["stream"]) == ("openai-chat", True)
    assert "detected openai-chat" in said
