"""A bare draw (the strategy drawn straight from the buffer) gives what the ``@given`` test
run by fuzz_one_input gives, from the same Random, and leaves the Random where it leaves it:
the corpus keeps its bytes."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from stress.inputs.characters import _any_text
from stress.inputs.family import Cache

STRATEGIES = (
    _any_text(),
    st.text(min_size=1, max_size=3000),  # long buffers: some draws run out of bytes
    st.integers(0, 1000).filter(lambda n: n % 7 == 0),  # rejected tries: the retry path
    st.lists(st.floats(allow_nan=True), min_size=1, max_size=50),
)


def test_a_bare_draw_is_the_test_runs_draw() -> None:
    through_test, bare = Cache(), Cache()
    for strategy in STRATEGIES:
        for seed in range(150):
            plain, direct = random.Random(seed), random.Random(seed)
            expected = through_test.draw(strategy, plain)
            got = bare.draw(strategy, direct, bare=True)
            assert repr(got) == repr(expected), (strategy, seed)
            assert direct.getstate() == plain.getstate(), (strategy, seed)
    assert not bare._runners  # no test runner was built for the bare draws
