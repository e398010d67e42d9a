"""Paired comparison of two arms over seeds: a paired bootstrap of the mean difference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: a difference smaller than this fraction of the advised arm's loss is "no effect" even if significant
MIN_RELATIVE_EFFECT = 0.01
RESAMPLES = 10_000


@dataclass
class Comparison:
    verdict: str  # "confirmed" | "refuted" | "no_effect"
    effect: float  # mean over seeds of (yours - advised) final loss; > 0: the advice helps
    relative: float  # effect / mean advised final loss
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, paired bootstrap
    n: int


def compare(yours: list[float], advised: list[float], seed: int = 0) -> Comparison:
    """Is the advised arm's final loss lower than yours, seed for seed?"""
    d = np.asarray(yours, dtype=float) - np.asarray(advised, dtype=float)
    n = len(d)
    mean = float(d.mean())
    scale = float(np.mean(np.abs(advised))) or 1.0
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, n, size=(RESAMPLES, n))].mean(axis=1)
    low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
    # centred bootstrap test of mean 0
    centred = boot - mean
    p = float(min(1.0, (np.sum(np.abs(centred) >= abs(mean)) + 1) / (RESAMPLES + 1)))
    relative = mean / scale
    if low > 0 and relative > MIN_RELATIVE_EFFECT:
        verdict = "confirmed"
    elif high < 0 and relative < -MIN_RELATIVE_EFFECT:
        verdict = "refuted"
    else:
        verdict = "no_effect"
    return Comparison(verdict, mean, relative, low, high, p, n)
