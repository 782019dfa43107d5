"""Seeds from logs: what reading, fitting and scrubbing a log of chat requests costs, side by
side with generating as many Faker prompts.

Run: .venv/bin/python -m benchmarks.bench_logs [--entries 2000]

Prints figures; it asserts nothing. The log is synthetic (Faker support messages, a third
multi-turn, about half with an e-mail, a phone number, a card or an address), written as
JSON lines to a temporary file. Stages: read_log (JSON parsing), bodies.payload (fitting to
openai-chat), Scrubber.learn + scrub (detection and substitution), and the whole
stress.logs.seeds path through a scenario; the reference is corpus.build of the same number of
realistic.chat_prompt inputs.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TypeVar

from faker import Faker

from stress.inputs import corpus
from stress.inputs.families import catalog
from stress.logs import bodies, seeds
from stress.logs.readers import read_log
from stress.logs.scrub import Scrubber
from stress.scenario import from_dict

T = TypeVar("T")


def synthetic_log(path: Path, entries: int) -> int:
    """Write ``entries`` chat requests; returns the characters of message text written."""
    fake = Faker("en_US")
    fake.seed_instance(1)
    rng = random.Random(1)
    chars = 0
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(entries):
            text = fake.paragraph(nb_sentences=rng.randint(1, 4))
            if rng.random() < 0.5:
                extra = rng.choice(
                    (
                        f"I'm {fake.name()}, mail {fake.free_email()}.",
                        f"Call me on {fake.phone_number()}.",
                        f"Card {fake.credit_card_number()} please.",
                        f"Ship to {fake.address().replace(chr(10), ', ')}.",
                    )
                )
                text = f"{text} {extra}"
            messages = [{"role": "user", "content": text}]
            if rng.random() < 0.33:
                messages = [
                    {"role": "system", "content": "You are a support bot."},
                    {"role": "user", "content": fake.sentence()},
                    {"role": "assistant", "content": fake.paragraph()},
                    *messages,
                ]
            chars += sum(len(m["content"]) for m in messages)
            handle.write(json.dumps({"model": "m", "messages": messages}) + "\n")
    return chars


def timed(action: Callable[[], T]) -> tuple[T, float]:
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    n = args.entries

    with TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        chars = synthetic_log(path, n)
        Scrubber(seed=0).scrub_text("Warm-up: Faker's name lists, I'm Sam Smith.")

        sample, read_s = timed(lambda: read_log(path))
        payloads, fit_s = timed(
            lambda: [bodies.payload(e.body, "openai-chat")[0] for e in sample.entries]
        )
        scrubber = Scrubber(seed=0)

        def scrub_all() -> list[object]:
            for payload in payloads:
                scrubber.learn(payload)
            return [scrubber.scrub(payload) for payload in payloads]

        _, scrub_s = timed(scrub_all)
        scenario = from_dict(
            {
                "name": "bench",
                "target": {"url": "http://127.0.0.1:1", "protocol": "openai-chat"},
                "inputs": {
                    "seed": 0,
                    "count": n,
                    "from_log": {"path": str(path), "max": n},
                    "families": {"realistic.logged": 1},
                },
                "load": {"phases": [{"name": "only", "users": 1, "duration": "1s"}]},
            }
        )
        loaded, seeds_s = timed(lambda: seeds.load(scenario))
        _, generate_s = timed(
            lambda: corpus.build(
                catalog(),
                {"realistic.chat_prompt": 1.0},
                seed=0,
                count=n,
                protocol="openai-chat",
                features={},
            )
        )

    print(f"log: {n:,} chat requests, {chars / 1e6:.2f} M characters of message text")
    for name, seconds in (
        ("read_log (JSON lines)", read_s),
        ("fit to openai-chat", fit_s),
        ("scrub (learn + replace)", scrub_s),
        ("stress.logs.seeds, all of it", seeds_s),
        ("reference: Faker chat_prompt", generate_s),
    ):
        print(f"  {name:30s} {seconds:7.3f} s  {n / seconds:10,.0f} requests/s")
    print(f"  scrubbing: {chars / scrub_s / 1e6:.2f} M characters/s")
    print(f"  seeds vs generating as many Faker prompts: {seeds_s / generate_s:.1f}x the time")
    found = ", ".join(f"{k} {v}" for k, v in loaded.report["scrubbed"].items())
    print(f"  replaced: {found}")


if __name__ == "__main__":
    main()
