"""Paired comparison of two arms over seeds, with statistics a reviewer would accept.

Per seed, both arms start from the same weights and see the same batches, so the unit of
evidence is the paired difference ``d = yours - advised`` of held-out final loss (> 0: the
advice helps). From the n differences:

- a t-interval with n - 1 degrees of freedom (95%) for the mean difference;
- a two-sided p-value for "no difference": the exact sign-flip (permutation) test from 6 seeds
  on (it assumes only that d is symmetric about 0 under the null), the paired t-test below that
  (with 5 pairs the smallest sign-flip p-value is 2/32 > 0.05);
- two one-sided t-tests (TOST) against a declared absolute margin of held-out loss (±0.05
  nats on the digits) for "equivalent";
- Holm's correction of the difference p-values across every probe of one run
  (:func:`decide`), so that probing ten findings does not buy ten chances of a false verdict.

Outcomes: ``equivalent`` (TOST places the difference within the margin: a difference that
small does not matter, even when many seeds make it significant), else ``better`` (the advised
init trains better: the Holm-corrected test rejects "no difference" and the t-interval agrees),
``worse``, or ``inconclusive`` (neither shown); ``inconclusive`` with the reason "nothing
trained" when both arms stayed near chance.

Why equivalence decides first: with 8 seeds, the difference test rejects an A/A pair (no true
difference) about 4% of the time, and the differences it then finds are about 2.4 standard
errors, 0.02 nats on these surrogates; a margin of 0.05 absorbs them, so A/A probes end
"equivalent", not "better" or "worse" (``benchmarks/probe_calibration.py``). The price: a
real difference smaller than the margin is called "equivalent" too (a bias of -1 before ReLU
under He init costs about 0.03 nats on the digits MLP); the verdict's text gives the
difference and whether it was significant, so it is not hidden.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
#: fewer seeds cannot give a test with a usable false-verdict rate
MIN_SEEDS = 5
#: from this many seeds the exact sign-flip test decides (2^n sign patterns, enumerated)
SIGN_FLIP_FROM = 6
#: above this many seeds the sign patterns are sampled instead of enumerated
EXACT_UP_TO = 16

Outcome = str  # "better" | "worse" | "equivalent" | "inconclusive"


@dataclass
class Comparison:
    outcome: Outcome
    effect: float  # mean over seeds of (yours - advised) held-out final loss; > 0: advice helps
    relative: float  # effect / mean advised final loss
    ci_low: float  # 95% t-interval of the mean difference
    ci_high: float
    p_value: float  # two-sided test of "no difference" (see ``test``), before correction
    test: str  # "exact sign-flip" | "paired t"
    margin: float  # equivalence margin, absolute, in the loss's units
    p_equivalent: float  # TOST p-value (the larger of the two one-sided tests)
    n: int
    p_adjusted: float = math.nan  # Holm-adjusted p_value across the run's probes
    reason: str = ""  # "nothing trained" when both arms stayed near chance
    #: mean over seeds of (yours - advised) held-out accuracy (None for regression tasks);
    #: reported, not tested
    accuracy_effect: float | None = None

    @property
    def significant(self) -> bool:
        """The corrected test rejects "no difference" (whatever the outcome)."""
        return self.p_adjusted < ALPHA


def t_quantile(q: float, df: int) -> float:
    # scipy.special, not scipy.stats: the same Student-t functions, imported in a quarter of the
    # time (scipy.stats took 1.6 s of a 10 s probe)
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def t_cdf(x: float, df: int) -> float:
    from scipy.special import stdtr

    return float(stdtr(df, x))


def sign_flip_p(d: np.ndarray, seed: int = 0) -> float:
    """Two-sided p-value of the mean of ``d`` under random sign flips (exact up to 16 pairs)."""
    n = len(d)
    observed = abs(float(d.mean()))
    if n <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((1.0, -1.0), size=(20_000, n))
        signs[0] = 1.0  # the observed pattern counts
    means = np.abs(signs @ d) / n
    return float(np.mean(means >= observed - 1e-12 * max(1.0, observed)))


def tost_p(d: np.ndarray, margin: float) -> float:
    """Two one-sided t-tests of "the mean of ``d`` lies within ±``margin``": the larger p-value."""
    n = len(d)
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    return max(1 - t_cdf((mean + margin) / se, n - 1), t_cdf((mean - margin) / se, n - 1))


def compare(
    yours: list[float],
    advised: list[float],
    margin: float,
    chance: float | None = None,
    accuracy: tuple[list[float], list[float]] | None = None,
) -> Comparison:
    """The statistics of one probe; its outcome before the run's multiplicity correction.
    ``chance``: the loss of a model that learned nothing (both arms near it: nothing trained).
    ``accuracy``: (yours, advised) held-out accuracies per seed, for classifiers (reported)."""
    if len(yours) != len(advised) or len(yours) < MIN_SEEDS:
        raise ValueError(f"need at least {MIN_SEEDS} paired seeds, got {len(yours)}")
    y = np.asarray(yours, dtype=float)
    a = np.asarray(advised, dtype=float)
    d = y - a
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    scale = float(np.mean(np.abs(a))) or 1.0
    df = n - 1
    if se > 0:
        half = t_quantile(1 - ALPHA / 2, df) * se
        p_t = 2 * (1 - t_cdf(abs(mean) / se, df))
    else:  # every seed gave the same difference
        half = 0.0
        p_t = 1.0 if mean == 0 else 0.0
    p_eq = tost_p(d, margin)
    acc_effect = None
    if accuracy is not None:
        acc_effect = float(
            np.mean(np.asarray(accuracy[0], dtype=float) - np.asarray(accuracy[1], dtype=float))
        )
    if n >= SIGN_FLIP_FROM:
        p, test = sign_flip_p(d), "exact sign-flip"
    else:
        p, test = p_t, "paired t"
    comp = Comparison(
        "inconclusive",
        mean,
        mean / scale,
        mean - half,
        mean + half,
        p,
        test,
        margin,
        p_eq,
        n,
        accuracy_effect=acc_effect,
    )
    if chance is not None and chance > 0:
        near = 0.95 * chance
        if float(y.mean()) >= near and float(a.mean()) >= near:
            comp.reason = "nothing trained"
    return comp


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def decide(comparisons: list[Comparison]) -> None:
    """Set each comparison's outcome, with Holm's correction across all of them (one run)."""
    for comp, p_adj in zip(comparisons, holm([c.p_value for c in comparisons])):
        comp.p_adjusted = p_adj
        if comp.reason == "nothing trained":
            comp.outcome = "inconclusive"
        elif comp.p_equivalent < ALPHA:
            comp.outcome = "equivalent"
        elif p_adj < ALPHA and comp.ci_low > 0:
            comp.outcome = "better"
        elif p_adj < ALPHA and comp.ci_high < 0:
            comp.outcome = "worse"
        else:
            comp.outcome = "inconclusive"


#: what each outcome means, in plain words (the text report and the README use these)
OUTCOMES = {
    "better": "the advised init trains better on this surrogate, beyond chance across seeds",
    "worse": "your init trains better on this surrogate, beyond chance across seeds",
    "equivalent": "the two inits train to the same loss within the stated margin",
    "inconclusive": "the seeds disagree too much to say either way; more seeds or steps may decide it",
}
