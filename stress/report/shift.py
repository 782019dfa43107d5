"""Distribution shift between two runs' answers (`stress compare`): label shift by the
population stability index (PSI), answer length shift by PSI and the two-sample
Kolmogorov–Smirnov test. Pure: counts and arrays in, the compare.json sections out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

# Smoothing for PSI: an empty bin on one side would make the logarithm infinite.
_PSI_EPSILON = 1e-4
_LENGTH_BINS = 10
# More distinct labels than this is not a categorical output (free text, floats).
MAX_LABELS = 100


def labels(
    source: str, before: Mapping[str, int], after: Mapping[str, int], *, psi_limit: float
) -> dict[str, Any]:
    """compare.json's ``labels``: both label counts, their PSI, regressed when PSI > limit."""
    result: dict[str, Any] = {
        "source": source,
        "base": dict(before),
        "new": dict(after),
        "psi": None,
        "regressed": False,
        "note": None,
    }
    if not before or not after:
        result["note"] = f"no {source} labels in {'NEW' if before else 'BASE'}"
    elif len(set(before) | set(after)) > MAX_LABELS:
        result["note"] = f"more than {MAX_LABELS} distinct labels: not categorical"
    else:
        result["psi"] = psi_categorical(before, after)
        result["regressed"] = result["psi"] > psi_limit
    return result


def lengths(
    source: str,
    before: np.ndarray,
    after: np.ndarray,
    *,
    psi_limit: float,
    ks_p: float,
    ks_d: float,
) -> dict[str, Any]:
    """compare.json's ``lengths``: regressed when PSI > limit, or KS p < ks_p with D > ks_d."""
    result: dict[str, Any] = {
        "source": source,
        "base": _distribution(before),
        "new": _distribution(after),
        "psi": None,
        "ks_statistic": None,
        "ks_p_value": None,
        "regressed": False,
        "histogram": {"edges": [], "base": [], "new": []},
    }
    if before.size and after.size:
        test = stats.ks_2samp(before, after)
        result["ks_statistic"] = float(test.statistic)
        result["ks_p_value"] = float(test.pvalue)
        result["psi"] = psi_numeric(before, after)
        result["regressed"] = bool(
            result["psi"] > psi_limit
            or (result["ks_p_value"] < ks_p and result["ks_statistic"] > ks_d)
        )
        result["histogram"] = _histogram(before, after)
    return result


def _distribution(values: np.ndarray) -> dict[str, Any]:
    if not values.size:
        return {"count": 0, "p50": None, "p90": None, "mean": None}
    p50, p90 = np.quantile(values, [0.5, 0.9])
    return {
        "count": int(values.size),
        "p50": float(p50),
        "p90": float(p90),
        "mean": float(values.mean()),
    }


def _histogram(before: np.ndarray, after: np.ndarray) -> dict[str, list[float]]:
    both = np.concatenate([before, after])
    edges = np.histogram_bin_edges(both, bins=min(40, max(1, len(np.unique(both)))))
    share_before = np.histogram(before, bins=edges)[0] / before.size
    share_after = np.histogram(after, bins=edges)[0] / after.size
    return {
        "edges": [float(e) for e in edges],
        "base": [float(v) for v in share_before],
        "new": [float(v) for v in share_after],
    }


def psi_categorical(before: Mapping[str, int], after: Mapping[str, int]) -> float:
    """Population stability index between two label counts (0: identical)."""
    labels = sorted(set(before) | set(after))
    p = np.array([before.get(k, 0) for k in labels], dtype=float)
    q = np.array([after.get(k, 0) for k in labels], dtype=float)
    return _psi(p / p.sum(), q / q.sum())


def psi_numeric(before: np.ndarray, after: np.ndarray) -> float:
    """PSI over BASE's deciles (ties merged), so each bin starts with about 10% of BASE."""
    edges = np.unique(np.quantile(before, np.linspace(0, 1, _LENGTH_BINS + 1)))
    if edges.size < 2:
        # BASE is one value: two bins, that value and everything else.
        p = np.array([1.0, 0.0])
        q = np.array([float(np.mean(after == edges[0])), float(np.mean(after != edges[0]))])
        return _psi(p, q)
    inner = edges[1:-1]
    p = np.bincount(np.searchsorted(inner, before, side="right"), minlength=inner.size + 1)
    q = np.bincount(np.searchsorted(inner, after, side="right"), minlength=inner.size + 1)
    return _psi(p / p.sum(), q / q.sum())


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    p = np.clip(p, _PSI_EPSILON, None)
    q = np.clip(q, _PSI_EPSILON, None)
    value = float(np.sum((q - p) * np.log(q / p)))
    return 0.0 if math.isclose(value, 0.0, abs_tol=1e-12) else value
