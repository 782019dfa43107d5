"""One `stress run` prepares once: the corpus is generated once and the request log is read
once in the parent (stress.prepare), however many steps need them (validation, the target
check, trace lengths, the corpus, logs.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stress.cli import cli
from stress.inputs import corpus as corpus_io
from stress.logs import seeds

pytestmark = pytest.mark.slow

SCENARIO = """\
name: once
target: {url: "builtin:noop", protocol: openai-chat, model: m, timeout: 5s, max_tokens: 8}
inputs:
  seed: 3
  count: 12
  from_log: {path: requests.jsonl}
  families: {realistic.*: 1, unicode.*: 1}
load:
  phases:
    - {name: replay, kind: trace, inputs: logged, speed: 20, max_in_flight: 4}
checks: [status_expectation]
"""


def write(folder: Path) -> Path:
    lines = [
        json.dumps(
            {
                "timestamp": 1_767_261_600.0 + i,
                "body": {"messages": [{"role": "user", "content": f"Question {i}: size 44?"}]},
            }
        )
        for i in range(6)
    ]
    (folder / "requests.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "once.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_one_run_builds_the_corpus_once_and_reads_the_log_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated: list[str] = []
    reads: list[str] = []
    generate, read_log = corpus_io.generate, seeds.read_log

    def counted_generate(*args: Any, **kwargs: Any) -> corpus_io.Input:
        item = generate(*args, **kwargs)
        generated.append(item.id)
        return item

    def counted_read(path: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(str(path))
        return read_log(path, *args, **kwargs)

    monkeypatch.setattr(corpus_io, "generate", counted_generate)
    monkeypatch.setattr(seeds, "read_log", counted_read)
    path = write(tmp_path)
    result = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(tmp_path / "reports"), "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    [run_dir] = (tmp_path / "reports").iterdir()
    written = (run_dir / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    # Every input generated once, and they are the corpus the run sent (the 6 logged
    # requests among them): the target check's inputs are the corpus's own.
    assert sorted(generated) == sorted(json.loads(line)["id"] for line in written)
    assert sum('"realistic.logged"' in line for line in written) == 6
    # The log was read once (trace length, seeds, corpus and logs.json share it).
    assert reads == [str((tmp_path / "requests.jsonl").resolve())]
    assert json.loads((run_dir / "logs.json").read_text(encoding="utf-8"))["used"] == 6
    # The trace's times came from that read too, into traces.json (the load reads no log).
    traces = json.loads((run_dir / "traces.json").read_text(encoding="utf-8"))
    assert traces["replay"]["entries"] == list(range(6))
    assert len(traces["replay"]["offsets"]) == 6
