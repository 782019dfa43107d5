"""``random.Random.choices`` for long draws, vectorised: the same values, and the generator
left in the same state, as ``rng.choices(population, k=k)`` (the corpus keeps its bytes).

CPython's ``Random.random()`` makes each float from two 32-bit outputs of the Mersenne
Twister, ``a >> 5`` and ``b >> 6``, as ``(a * 2**26 + b) / 2**53``, and ``choices`` (no
weights) picks ``population[floor(random() * n)]`` k times. ``getrandbits(64 * k)`` returns
the same 2k outputs, in order, least significant word first, and advances the generator
exactly as k calls of ``random()`` do; NumPy then does the arithmetic for all k at once, in
the same double precision. About five times faster from a few thousand picks (the size
families, long headers); below ``VECTOR_FROM`` picks the plain call is faster. From
``TWISTER_FROM`` picks the 2k outputs come from NumPy's own Mersenne Twister (the same
algorithm) started from the generator's state, which is then set to where NumPy's ended:
for 48k picks 0.55 ms instead of 1.3 ms (``getrandbits`` and turning its big int into
bytes grow faster than the picks); handing the state over and back costs about 0.1 ms.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, TypeVar

T = TypeVar("T")

# Picks from which the vectorised draw is faster than the plain call (NumPy's fixed cost).
VECTOR_FROM = 1_000
# Picks from which NumPy's Mersenne Twister makes the outputs (handing the state over costs
# about 0.1 ms, which the cheaper outputs pay back from about 12,000 picks).
TWISTER_FROM = 12_000
# One numpy.random.MT19937, made on first use (about 0.1 ms); its state is set at each use.
_TWISTER: list[Any] = []


def _numpy() -> Any:
    """NumPy, imported here when nothing imported it before with its BLAS left to one thread:
    OpenBLAS starts a thread per CPU when it loads, which spins for about 0.1 s of CPU, and
    nothing here multiplies matrices. OPENBLAS_NUM_THREADS is set only for the import, only
    when unset, and put back after (OpenBLAS reads it once, when it loads)."""
    if "numpy" in sys.modules:
        import numpy

        return numpy
    unset = "OPENBLAS_NUM_THREADS" not in os.environ
    if unset:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy
    finally:
        if unset:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
    return numpy


def _picks(rng: random.Random, size: int, k: int) -> Any:
    """The k indexes ``rng.choices`` of a population of ``size`` picks, as a NumPy array.

    Each 64-bit little-endian word holds the two outputs of one ``random()``: ``a`` in the
    low half, ``b`` in the high half, so ``m = (a >> 5) * 2**26 + (b >> 6)`` in integers
    (exact: m < 2**53). ``random() * size`` is ``(m / 2**53) * size`` rounded once; as
    ``m / 2**53`` is exact, that is ``m * (size / 2**53)`` rounded once (``size / 2**53``
    is exact too): one multiplication in double precision, the same value."""
    np = _numpy()

    if k >= TWISTER_FROM:
        outputs = _outputs(rng, 2 * k)
        first, second = outputs[0::2], outputs[1::2]
    else:
        words = np.frombuffer(rng.getrandbits(64 * k).to_bytes(8 * k, "little"), dtype="<u8")
        first, second = words & np.uint64(0xFFFFFFFF), words >> np.uint64(32)
    whole = ((first >> np.uint64(5)) << np.uint64(26)) | (second >> np.uint64(6))
    values = whole.astype(np.float64) * (float(size) / 9007199254740992.0)
    return values.astype(np.intp)  # floor: values are >= 0


def _outputs(rng: random.Random, n: int) -> Any:
    """The next ``n`` 32-bit outputs of ``rng`` (as uint64), made by NumPy's MT19937 from
    ``rng``'s state; ``rng`` is left where n outputs leave it (its pending gauss kept)."""
    np = _numpy()
    version, internal, gauss = rng.getstate()
    if not _TWISTER:
        _TWISTER.append(np.random.MT19937(0))
    twister = _TWISTER[0]
    key = np.array(internal[:-1], dtype=np.uint32)
    twister.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": internal[-1]}}
    outputs = twister.random_raw(n)
    after = twister.state["state"]
    rng.setstate((version, (*after["key"].tolist(), int(after["pos"])), gauss))
    return outputs


def _plain(rng: random.Random, k: int) -> bool:
    return k < VECTOR_FROM or type(rng) is not random.Random or sys.byteorder != "little"


def choices(rng: random.Random, population: Sequence[T], k: int) -> list[T]:
    """``rng.choices(population, k=k)``: equal values, and ``rng`` in the same state after."""
    if _plain(rng, k):
        return rng.choices(population, k=k)
    # One itemgetter of every pick: about 12 ns a pick against 34 for map(__getitem__).
    # (k >= VECTOR_FROM here: with one index an itemgetter returns the item, not a tuple.)
    return list(itemgetter(*_picks(rng, len(population), k).tolist())(population))


def text(rng: random.Random, alphabet: Sequence[str], k: int) -> str:
    """``"".join(rng.choices(alphabet, k=k))``: the same string, and ``rng`` in the same
    state after. The picks index a table of the alphabet's code points, decoded at once:
    one byte each for single ASCII letters, else four (UTF-32), pieces of up to four code
    points padded with a NUL that is dropped after (when no piece holds a NUL itself)."""
    if _plain(rng, k):
        return "".join(rng.choices(alphabet, k=k))
    np = _numpy()

    picks = _picks(rng, len(alphabet), k)
    joined = "".join(alphabet)
    if len(joined) == len(alphabet) and joined.isascii():
        table = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        return str(table[picks].tobytes().decode("ascii"))
    width = max(len(piece) for piece in alphabet)
    surrogates = any(0xD800 <= ord(char) <= 0xDFFF for char in joined)
    if width > 4 or surrogates or (width > 1 and "\x00" in joined):
        return "".join(itemgetter(*picks.tolist())(alphabet))
    points = [[ord(char) for char in piece.ljust(width, "\x00")] for piece in alphabet]
    table = np.array(points, dtype="<u4")
    decoded = str(table[picks].tobytes().decode("utf-32-le"))
    return decoded.replace("\x00", "") if width > 1 else decoded
