"""What the OpenAPI import costs: ``python -m benchmarks.bench_openapi [--rounds 15]``.

Side by side, alternately in one process: loading a scenario that names an OpenAPI document
(tests/fixtures/openapi/reviews.yaml, resolved on every load) against loading the same
scenario already resolved (the schemas inline, as a run directory keeps it); and building
its corpus of schema-driven inputs. Figures, not a test: medians and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from stress.runner import build_corpus, load_scenario

ROOT = Path(__file__).parent.parent
SCENARIO = """\
name: reviews
target:
  url: http://127.0.0.1:9
  protocol: http-json
  openapi: {file: reviews.yaml, operation: POST /score}
inputs:
  seed: 1
  count: 400
  families: {realistic.chat_prompt: 1, realistic.schema_body: 2, structure.*: 1, numbers.*: 1}
load:
  phases:
    - {name: load, users: 1, duration: 2s}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        here = Path(folder)
        shutil.copy(ROOT / "tests" / "fixtures" / "openapi" / "reviews.yaml", here)
        named = here / "named.yaml"
        named.write_text(SCENARIO)
        resolved = here / "resolved.yaml"
        resolved.write_text(load_scenario(named).to_yaml())
        times: dict[str, list[float]] = {"document": [], "resolved": []}
        for _ in range(rounds):
            for key, path in (("document", named), ("resolved", resolved)):
                began = time.perf_counter()
                load_scenario(path)
                times[key].append(time.perf_counter() - began)
        scenario = load_scenario(named)
        began = time.perf_counter()
        inputs = build_corpus(scenario)
        corpus_s = time.perf_counter() - began
    document, plain = (statistics.median(times[k]) * 1000 for k in ("document", "resolved"))
    print(f"load, document named:  {document:8.1f} ms (median of {rounds})")
    print(f"load, already resolved:{plain:8.1f} ms")
    print(f"ratio:                 {document / plain:8.2f}x")
    print(f"corpus: {len(inputs)} inputs in {corpus_s:.2f} s ({len(inputs) / corpus_s:,.0f}/s)")


if __name__ == "__main__":
    main()
