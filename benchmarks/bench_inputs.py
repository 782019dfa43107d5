"""Input generation speed: inputs per second for 20,000 mixed inputs, and time per family.

Run: .venv/bin/python -m benchmarks.bench_inputs [--count 20000] [--scenario scenarios/demo.yaml]

Prints figures; it asserts nothing (a timed test would be flaky on a shared machine). The
mix is the scenario's (by default the demo's, every group); the same corpus is generated in
one process and across worker processes, and checked to be identical.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory

from stress.inputs import corpus
from stress.inputs.families import Cache, Context, Limits, catalog
from stress.runner import build_corpus, load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--scenario", default="scenarios/demo.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--top", type=int, default=15, help="families to list by time")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario, count=args.count)
    # Warm-up outside the clock: imports and the per-locale Faker pools (built once a process).
    build_corpus(scenario.model_copy(deep=True), workers=1)[:0]

    began = time.perf_counter()
    serial = build_corpus(scenario, workers=1)
    serial_s = time.perf_counter() - began
    began = time.perf_counter()
    parallel = build_corpus(scenario, workers=args.workers)
    parallel_s = time.perf_counter() - began
    same = [corpus.to_line(i) for i in serial] == [corpus.to_line(i) for i in parallel]

    with TemporaryDirectory() as folder:
        began = time.perf_counter()
        corpus.write(Path(folder) / "corpus.jsonl", serial)
        write_s = time.perf_counter() - began
        size_mb = (Path(folder) / "corpus.jsonl").stat().st_size / 1e6

    sizes = Counter(item.family for item in serial)
    groups = Counter(name.split(".")[0] for name in sizes.elements())
    print(f"scenario {args.scenario}: {len(serial):,} inputs of {len(sizes)} families")
    print(f"  groups: {', '.join(f'{g} {n}' for g, n in sorted(groups.items()))}")
    print(f"  1 process:  {serial_s:6.2f} s  {len(serial) / serial_s:9,.0f} inputs/s")
    print(
        f"  {args.workers} processes: {parallel_s:6.2f} s  {len(parallel) / parallel_s:9,.0f} "
        f"inputs/s  (identical corpus: {same})"
    )
    print(f"  corpus.jsonl: {size_mb:.1f} MB written in {write_s:.2f} s")

    # Share of time per family: each family's inputs generated alone, with a fresh cache.
    families = catalog()
    inputs = scenario.inputs
    context = Context(
        protocol=scenario.target.protocol.value,
        seed=inputs.seed,
        features={name: (f.min, f.max) for name, f in inputs.features.items()},
        limits=Limits(**inputs.limits.model_dump()),
        schema=inputs.body_schema,
    )
    spent: dict[str, float] = {}
    for name, size in sizes.items():
        cache = Cache()
        began = time.perf_counter()
        for index in range(size):
            corpus.generate(families[name], context, index, cache=cache)
        spent[name] = time.perf_counter() - began
    total = sum(spent.values())
    print(f"  time per family (alone, sum {total:.2f} s); the {args.top} slowest:")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]:
        rate = sizes[name] / seconds if seconds else float("inf")
        print(
            f"    {name:34s} {100 * seconds / total:5.1f} %  {sizes[name]:6,} inputs  "
            f"{rate:9,.0f}/s"
        )


if __name__ == "__main__":
    main()
