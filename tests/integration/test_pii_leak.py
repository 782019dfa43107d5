"""No personal value of a generated log (benchmarks.pii_corpus: 12 Faker locales, every kind)
reaches anything a run writes: a short `stress run` with inputs.from_log against the bundled
demo server, then every original value searched for in every file of the run directory (raw,
JSON-escaped, URL-encoded, decoded Parquet), in the console and in `stress repro` exports."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import plotly.offline
import pyarrow.parquet as pq
import pytest

from benchmarks.pii_corpus import labelled_log, write_jsonl
from tests.integration.conftest import stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: pii-leak
target: {url: builtin:demo, protocol: openai-chat, timeout: 10s, max_tokens: 16}
inputs:
  seed: 4
  count: 140
  from_log: {path: logs/generated.jsonl}
  counts: {realistic.logged: 60}
  families: {realistic.*: 3, perturbation.*: 1, unicode.*: 0.3, structure.*: 0.3}
load:
  phases:
    - {name: baseline, users: 2, spawn_rate: 2, duration: 2s}
"""


def forms(value: str) -> set[bytes]:
    """The ways ``value`` can be stored: UTF-8, JSON-escaped, URL-encoded."""
    escaped = json.dumps(value)[1:-1]
    return {
        value.encode("utf-8"),
        escaped.encode("ascii"),
        json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8"),
        quote(value).encode("ascii"),
        quote_plus(value).encode("ascii"),
    }


def _short_number(piece: str) -> bool:
    return piece.isdigit() and len(piece) < 7


def searchable(path: Path) -> bytes:
    """A file's bytes; for Parquet also its decoded rows (compressed pages hide strings)."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        data += json.dumps(rows, default=str, ensure_ascii=False).encode("utf-8")
        data += json.dumps(rows, default=str).encode("ascii")
    return data


def test_no_value_of_a_generated_log_reaches_a_run_directory_the_console_or_an_export(
    tmp_path: Path,
) -> None:
    log = labelled_log(180, seed=8)
    chats = [(body, values) for body, values in log if "messages" in body]
    (tmp_path / "logs").mkdir()
    write_jsonl(tmp_path / "logs" / "generated.jsonl", [body for body, _ in chats])
    # Every piece of every personal value, at least 5 characters (shorter ones, such as a
    # two-letter surname, also occur in ordinary words and substitutes).
    # Words in the charting library report.html embeds (its country list has "Sierra Leone")
    # are no sign of a leak, nor is a short number (a postcode alone, "98054", also turns up
    # among a report's figures).
    library = plotly.offline.get_plotlyjs()
    originals = sorted(
        {
            piece
            for _, values in chats
            for v in values
            for piece in v.pieces
            if len(piece) >= 5 and piece not in library and not _short_number(piece)
        }
    )
    assert len(originals) > 150
    (tmp_path / "scenario.yaml").write_text(SCENARIO, encoding="utf-8")
    result = stress(
        "run", str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "reports"), cwd=tmp_path
    )
    assert result.returncode in (0, 1), result.stderr  # the demo server has deliberate bugs
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    report = json.loads((run_dir / "logs.json").read_text())
    assert report["used"] == len(chats)
    assert report["scrubbed"]["name"] > 0
    assert report["scrubbed"]["phone"] > 0

    exports = tmp_path / "exports"
    exports.mkdir()
    failures = [
        json.loads(line)
        for line in (run_dir / "failures.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    ids = list(dict.fromkeys(str(f.get("input_id") or f.get("id")) for f in failures))[:4]
    console = result.stdout + result.stderr
    for number, case in enumerate(ids):
        for form in ("curl", "python"):
            out = exports / f"{number}.{form}"
            exported = stress(
                "repro", str(run_dir), "--id", case, "--format", form, "-o", str(out), cwd=tmp_path
            )
            console += exported.stdout + exported.stderr
    # The demo server's bugs fail some inputs: their repro exports are searched too (a case
    # stress cannot export, such as a body with lone surrogates, writes no file).
    assert ids
    assert list(exports.iterdir())
    files = [p for p in run_dir.rglob("*") if p.is_file()] + list(exports.iterdir())
    assert len(files) >= 10
    found = [
        (path.name, value, data[max(0, data.find(form) - 40) : data.find(form) + 40])
        for path in files
        for data in [searchable(path)]
        for value in originals
        for form in forms(value)
        if form in data
    ]
    assert found == []
    assert [value for value in originals if any(f in console.encode() for f in forms(value))] == []
