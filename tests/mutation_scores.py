"""Per-module mutation scores from `mutmut results --all true` (read on stdin).

    mutmut results --all true | python tests/mutation_scores.py [--target 85]

A mutant counts as killed when a test failed, timed out or the type check caught it;
"no tests" (no fast test reaches the code) counts as survived; mutants not checked yet are
left out. Prints one line per module and the surviving mutants' names; exits 0 always
(mutation testing is a figure, not a CI gate).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict

KILLED = {"killed", "timeout", "caught by type check"}
UNCOUNTED = {"not checked", "skipped", "check was interrupted by user"}


def module_of(mutant: str) -> str:
    """``stress.secrets.xǁRedactorǁscrub__mutmut_2`` → ``stress.secrets``."""
    head = mutant.split("__mutmut_")[0]
    parts = head.split(".")
    # The last part is the mutated function (x_name, or xǁClassǁmethod).
    return ".".join(parts[:-1])


def scores(lines: list[str]) -> tuple[dict[str, Counter[str]], dict[str, list[str]]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        if "__mutmut_" not in line or ": " not in line:
            continue
        name, status = line.strip().rsplit(": ", 1)
        if status in UNCOUNTED:
            continue
        module = module_of(name)
        killed = status in KILLED
        counts[module]["killed" if killed else "survived"] += 1
        if not killed:
            survivors[module].append(f"{name} ({status})")
    return counts, survivors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=85.0)
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    options = parser.parse_args()
    counts, survivors = scores(sys.stdin.read().splitlines())
    total = Counter[str]()
    print(f"{'module':32} {'killed':>7} {'mutants':>8} {'score':>7}")
    for module in sorted(counts):
        count = counts[module]
        total.update(count)
        checked = count["killed"] + count["survived"]
        score = 100 * count["killed"] / checked
        mark = "" if score >= options.target else f"  below {options.target:g}%"
        print(f"{module:32} {count['killed']:>7} {checked:>8} {score:>6.1f}%{mark}")
    checked = total["killed"] + total["survived"]
    if checked:
        print(
            f"{'all':32} {total['killed']:>7} {checked:>8} {100 * total['killed'] / checked:>6.1f}%"
        )
    if options.survivors:
        for module in sorted(survivors):
            print(f"\n{module}: surviving mutants (`mutmut show NAME` shows each)")
            for name in survivors[module]:
                print(f"  {name}")


if __name__ == "__main__":
    main()
