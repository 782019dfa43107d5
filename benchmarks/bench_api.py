"""What the Python API and the pytest plugin cost, side by side: ``python -m benchmarks.bench_api``.

1. pytest start-up (collecting an empty folder) with the stress plugin vs ``-p no:stress``,
   and what importing the plugin module takes of it (target: under 5 %: the plugin imports
   only pytest until a fixture is used)
2. ``import stress`` vs ``import stress.api`` in a fresh interpreter (what is deferred)
3. the same short run through ``stress.run`` in this process vs ``stress run`` in a child
   process, against the bundled no-op target (target: the API no slower, ratio ≤ 1.05)

Contenders alternate in one session and the figures are medians; compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import stress

SCENARIO: dict[str, Any] = {
    "name": "bench-api",
    "target": {"url": "builtin:noop", "protocol": "openai-chat", "timeout": "5s"},
    "inputs": {"seed": 1, "count": 50, "families": {"realistic.chat_prompt": 1}},
    "load": {"phases": [{"name": "only", "users": 2, "duration": "1s"}]},
}


def seconds(action: Callable[[], Any]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def alternate(contenders: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds of each contender, run in turn ``rounds`` times."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, action in contenders.items():
            times[name].append(seconds(action))
    return {name: statistics.median(values) for name, values in times.items()}


def python(*args: str, cwd: Path | None = None) -> Callable[[], Any]:
    def action() -> None:
        subprocess.run(
            [sys.executable, *args], cwd=cwd, check=False, capture_output=True, timeout=120
        )

    return action


def plugin_imports() -> float:
    """Seconds a fresh interpreter that has pytest takes to import the plugin module."""
    probe = (
        "import time, pytest; began = time.perf_counter(); import stress.pytest_plugin; "
        "print(time.perf_counter() - began)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return float(result.stdout)


def report(title: str, figures: dict[str, float], target: str) -> None:
    (base_name, base), (name, value) = figures.items()
    print(f"{title}  ({target})")
    print(f"  {base_name:<28} {base * 1000:8.0f} ms")
    print(f"  {name:<28} {value * 1000:8.0f} ms   ratio {value / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each contender")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "empty").mkdir()
        startup = alternate(
            {
                "pytest -p no:stress": python(
                    "-m", "pytest", "--co", "-q", "-p", "no:stress", cwd=folder / "empty"
                ),
                "pytest (stress plugin)": python(
                    "-m", "pytest", "--co", "-q", cwd=folder / "empty"
                ),
            },
            args.rounds,
        )
        report("1. pytest start-up", startup, "target: ratio < 1.05, noisy on a busy machine")
        own = statistics.median(plugin_imports() for _ in range(args.rounds))
        share = own / startup["pytest (stress plugin)"]
        print(f"  import stress.pytest_plugin   {own * 1000:8.1f} ms   share {share:.3f}")
        imports = alternate(
            {
                "import stress": python("-c", "import stress"),
                "import stress.api": python("-c", "import stress.api"),
            },
            args.rounds,
        )
        report("2. import cost", imports, "deferred until the API is used")
        path = folder / "bench-api.yaml"
        path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
        out = folder / "runs"
        runs = alternate(
            {
                "stress run (CLI, child)": python(
                    "-m", "stress.cli", "run", str(path), "--out", str(out)
                ),
                "stress.run (API, here)": lambda: stress.run(path, out_dir=out),
            },
            max(1, args.rounds // 2),
        )
        report("3. a 1 s run end to end", runs, "target: ratio ≤ 1.05")


if __name__ == "__main__":
    main()
