"""The vectorised draws give what random.Random.choices gives, and leave the generator where
it leaves it: the corpus keeps its bytes."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from stress.inputs import fastrandom

ASCII = "abcdefghijklmnopqrstuvwxyz0123456789"
WHITESPACE = (" ", "\t", "\n", "\r\n", "\u3000", "\u00a0")
# Pieces of several code points, astral ones, a NUL, a lone surrogate, five-letter words.
ALPHABETS = (
    ASCII,
    WHITESPACE,
    ("a", "\U0001f600", "e\u0301", "\u4e2d\u6587"),
    ("\x00", "b"),
    ("\x00b", "c"),
    ("\ud800", "x"),
    ("hello", "world", "!"),
)


def same_state(a: random.Random, b: random.Random) -> bool:
    return a.getstate() == b.getstate() and a.random() == b.random() and a.gauss() == b.gauss()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("size", [1, 999, 1_000, 1_001, 4_097, 48 * 1024])
def test_choices_and_text_are_random_choices(seed: int, size: int) -> None:
    # range(2**52): every bit of every float shows in the picks.
    for population in (ASCII, WHITESPACE, tuple(range(7)), range(1 << 52)):
        plain, fast = random.Random(seed), random.Random(seed)
        plain.gauss(), fast.gauss()  # a pending gauss value is kept too
        assert fastrandom.choices(fast, population, size) == plain.choices(population, k=size)
        assert same_state(plain, fast)
    for alphabet in ALPHABETS:
        plain, fast = random.Random(seed), random.Random(seed)
        assert fastrandom.text(fast, alphabet, size) == "".join(plain.choices(alphabet, k=size))
        assert same_state(plain, fast)


def test_a_subclass_of_random_is_drawn_the_plain_way() -> None:
    class Counted(random.Random):
        calls = 0

        def random(self) -> float:
            Counted.calls += 1
            return super().random()

    assert fastrandom.choices(Counted(1), ASCII, 5_000) == random.Random(1).choices(ASCII, k=5_000)
    assert Counted.calls == 5_000


# In a fresh process: NumPy imported for a long draw, then the process's threads and the
# environment variable after it.
PROBE = """
import os, random, sys
from stress.inputs import fastrandom
assert "numpy" not in sys.modules
fastrandom.text(random.Random(1), "ab", 5_000)
assert "numpy" in sys.modules
threads = [line.split()[1] for line in open("/proc/self/status") if line.startswith("Threads:")]
print(threads[0], os.environ.get("OPENBLAS_NUM_THREADS", "unset"))
"""


@pytest.mark.skipif(
    not os.path.exists("/proc/self/status") or len(os.sched_getaffinity(0)) < 2,
    reason="counts the threads OpenBLAS starts, one per CPU: needs Linux and 2+ CPUs",
)
def test_numpy_is_imported_with_one_blas_thread_and_the_environment_left_as_it_was() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    found = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == ["1", "unset"]
    # A value the user set is theirs: kept, and OpenBLAS starts that many threads.
    found = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "OPENBLAS_NUM_THREADS": "2"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.split() == ["2", "2"]


@pytest.mark.parametrize("before", [0, 1, 311, 623, 624, 1000])
def test_long_draws_from_numpys_twister_leave_the_generator_where_random_choices_does(
    before: int,
) -> None:
    # From TWISTER_FROM picks NumPy's Mersenne Twister makes the outputs from the generator's
    # state; ``before`` outputs drawn first put the state's position anywhere in its 624
    # words (624: a refill is due on the next output).
    size = fastrandom.TWISTER_FROM + 7
    for population in (ASCII, range(1 << 52)):
        plain, fast = random.Random(before), random.Random(before)
        for rng in (plain, fast):
            rng.getrandbits(32 * before) if before else None
            rng.gauss()
        assert fastrandom.choices(fast, population, size) == plain.choices(population, k=size)
        assert same_state(plain, fast)
        # Twice in a row: the second draw starts where the first left the generator.
        assert fastrandom.choices(fast, population, size) == plain.choices(population, k=size)
        assert same_state(plain, fast)


@pytest.mark.parametrize("seed", [0, 1, 2**32, 2**63 + 12345, 2**64 - 1])
def test_seeded_is_random_random_of_the_seed(seed: int) -> None:
    from stress.inputs.family import seeded

    made, plain = seeded(seed), random.Random(seed)
    assert type(made) is random.Random
    assert same_state(made, plain)
