"""How well personal data is found: recall per kind and per locale on a labelled log of
chat, tabular and free-text requests (benchmarks.pii_corpus, Faker in 12 locales), the false
positives on realistic prompts without personal data, and the speed.

Run: .venv/bin/python -m benchmarks.bench_scrub [--requests 2400] [--clean 1200] [--seed 0]

A value is caught when none of its pieces (a name's words, a number as written and without
separators, an address's lines with digits) is left in the scrubbed request. A false
positive is a token of a clean prompt that the scrubber changed. Speed: characters of the
labelled log's string values per second of learn + scrub. Targets (issue 19): recall
>= 99.5% overall and >= 98% per kind and locale, false positives <= 1% of tokens,
>= 0.3 M characters/s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from typing import Any

from benchmarks.pii_corpus import KINDS, LOCALES, Value, clean_prompts, labelled_log
from stress.logs.scrub import Scrubber


def caught(value: Value, scrubbed: str) -> bool:
    for piece in value.pieces:
        if value.kind == "name":
            if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", scrubbed):
                return False
        elif piece in scrubbed:
            return False
    return True


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_chars(v) for v in value.values())
    if isinstance(value, list):
        return sum(_chars(v) for v in value)
    return len(str(value))


def measure(requests: int, clean: int, seed: int) -> dict[str, Any]:
    log = labelled_log(requests, seed)
    warm = time.process_time()
    Scrubber(seed=seed).learn([body for body, _ in labelled_log(24, seed + 1)])
    warm = time.process_time() - warm  # word lists, patterns, per-length validator lists
    scrubber = Scrubber(seed=seed)
    started = time.process_time()
    for body, _ in log:
        scrubber.learn(body)
    scrubbed = [scrubber.scrub(body) for body, _ in log]
    elapsed = time.process_time() - started
    chars = sum(_chars(body) for body, _ in log)
    found: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    missed: list[tuple[str, str, str]] = []
    for (_, values), clean_body in zip(log, scrubbed, strict=True):
        text = json.dumps(clean_body, ensure_ascii=False)
        text += json.dumps(clean_body, ensure_ascii=False).replace("\\n", "\n")
        for value in values:
            total[value.kind, value.locale] += 1
            if caught(value, text):
                found[value.kind, value.locale] += 1
            else:
                missed.append((value.kind, value.locale, value.text))
    prompts = clean_prompts(clean, seed)
    negative = Scrubber(seed=seed)
    clean_started = time.process_time()
    for prompt in prompts:
        negative.learn(prompt)
    outputs = [negative.scrub_text(prompt) for prompt in prompts]
    clean_seconds = time.process_time() - clean_started
    tokens = changed = 0
    false: Counter[str] = Counter()
    for prompt, output in zip(prompts, outputs, strict=True):
        before = prompt.split()
        after = Counter(output.split())
        tokens += len(before)
        for token in before:
            if after[token] > 0:
                after[token] -= 1
            else:
                changed += 1
                false[token] += 1
    return {
        "found": found,
        "total": total,
        "missed": missed,
        "chars": chars,
        "seconds": elapsed,
        "warm": warm,
        "clean_chars": sum(map(len, prompts)),
        "clean_seconds": clean_seconds,
        "tokens": tokens,
        "changed": changed,
        "false": false,
        "kinds_fp": dict(negative.counts),
    }


def _share(found: int, total: int) -> str:
    return f"{100 * found / total:6.2f}" if total else "     -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2400)
    parser.add_argument("--clean", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--missed", type=int, default=0, help="print this many missed values")
    args = parser.parse_args()
    result = measure(args.requests, args.clean, args.seed)
    found, total = result["found"], result["total"]
    print(
        f"recall (%) per kind and locale; {sum(total.values())} values in {args.requests} requests"
    )
    print(f"{'kind':12}" + "".join(f"{loc[:5]:>7}" for loc in LOCALES) + "    all")
    for kind in KINDS:
        cells = [_share(found[kind, loc], total[kind, loc]) for loc in LOCALES]
        all_found = sum(found[kind, loc] for loc in LOCALES)
        all_total = sum(total[kind, loc] for loc in LOCALES)
        print(
            f"{kind:12}" + "".join(f"{c:>7}" for c in cells) + f" {_share(all_found, all_total):>6}"
        )
    per_locale = [
        _share(sum(found[k, loc] for k in KINDS), sum(total[k, loc] for k in KINDS))
        for loc in LOCALES
    ]
    print(
        f"{'all':12}"
        + "".join(f"{c:>7}" for c in per_locale)
        + f" {_share(sum(found.values()), sum(total.values())):>6}"
    )
    print(
        f"false positives: {result['changed']} of {result['tokens']} tokens "
        f"({100 * result['changed'] / result['tokens']:.2f}%) on {args.clean} clean prompts; "
        f"as kinds: {result['kinds_fp']}; most: {result['false'].most_common(8)}"
    )
    print(
        f"speed: {result['chars'] / result['seconds'] / 1e6:.2f} M chars/s "
        f"({result['chars']} chars in {result['seconds']:.2f} s, learn + scrub, CPU time; "
        f"{result['warm']:.2f} s once per process to load the word lists and patterns)"
    )
    print(
        f"speed on the clean prompts: {result['clean_chars'] / result['clean_seconds'] / 1e6:.2f} "
        f"M chars/s ({result['clean_chars']} chars in {result['clean_seconds']:.2f} s)"
    )
    for kind, locale, text in result["missed"][: args.missed]:
        print(f"missed {kind} {locale}: {text!r}")


if __name__ == "__main__":
    main()
