"""Which learning rate each arm of a probe trains at, from its pilot-seed losses over the grid.

A bias init can change which rate trains best (a large positive bias can diverge at a rate that
suits zeros), so each arm may get its own best rate. But on one pilot seed, two rates often give
nearly the same loss, and picking each arm's best would then make the arms differ in rate by the
pilot's noise, and the comparison would measure the rate, not the bias. So: when some rates of
the grid are within the equivalence margin of every arm's best, every arm trains at one of them:
the pilot cannot tell those apart, so the one nearest the surrogate's usual rate. Only when no
such rate exists does each arm get its own best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def pick(
    grid: Sequence[float], losses: Sequence[Sequence[float]], margin: float, usual: float
) -> list[float]:
    """One rate per arm. ``losses[a][k]``: arm ``a``'s pilot held-out loss at ``grid[k]`` (nan or
    inf when it diverged). An arm that diverged at every rate gets ``usual``."""
    best = [min((v for v in arm if math.isfinite(v)), default=math.inf) for arm in losses]
    shared = [
        (abs(math.log(grid[k] / usual)), max(arm[k] - b for arm, b in zip(losses, best)), k)
        for k in range(len(grid))
        if all(math.isfinite(arm[k]) and arm[k] <= b + margin for arm, b in zip(losses, best))
    ]
    if shared:
        rate = grid[min(shared)[2]]
        return [rate] * len(losses)
    return [grid[arm.index(b)] if math.isfinite(b) else usual for arm, b in zip(losses, best)]
