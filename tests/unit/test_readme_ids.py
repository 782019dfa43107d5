"""The input ids README.md's examples pass to `stress replay/repro/shrink reports/demo-<time>`
exist in the demo run's corpus (scenarios/demo.yaml, generated here without sending)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stress.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_readme_demo_ids_exist_in_the_demo_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    wanted = set(re.findall(r"reports/demo-<time> --id ([\w.\-]+)", readme))
    assert wanted, "README.md names no demo input id"
    output = tmp_path / "corpus.jsonl"
    code: object = 0
    try:
        main(["generate", str(ROOT / "scenarios/demo.yaml"), "-o", str(output)])
    except SystemExit as stopped:
        code = stopped.code
    assert not code, capsys.readouterr().err
    lines = output.read_text(encoding="utf-8").splitlines()
    ids = {json.loads(line)["id"] for line in lines}
    assert wanted <= ids, sorted(wanted - ids)
