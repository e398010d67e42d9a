"""Choosing each arm's learning rate from its pilot losses (``rates.pick``)."""

from __future__ import annotations

import math

import pytest

from biaslint.probe import rates

GRID = (0.005, 0.05, 0.5)


def test_a_rate_near_best_for_every_arm_is_shared() -> None:
    # each arm's own best differs (0.05 vs 0.005), but 0.005 is within 0.05 of both bests:
    # the arms must not differ in rate because of one seed's noise
    assert rates.pick(GRID, [[0.10, 0.09, 2.3], [0.12, 0.20, 2.3]], 0.05, 0.05) == [0.005, 0.005]


def test_among_rates_the_pilot_cannot_tell_apart_the_usual_one_wins() -> None:
    # 0.005 and 0.05 are both within the margin of both arms' bests: the usual rate, not the
    # pilot's noise, decides; a pilot where nothing trained at any rate does the same
    assert rates.pick(GRID, [[0.10, 0.12, 2.3], [0.12, 0.13, 2.3]], 0.05, 0.05) == [0.05, 0.05]
    assert rates.pick(GRID, [[2.30, 2.31, 2.30], [2.31, 2.30, 2.30]], 0.05, 0.05) == [0.05, 0.05]


def test_own_rates_when_no_rate_suits_every_arm() -> None:
    # a large bias diverges at the rates that suit zeros: each arm trains at its own best
    losses = [[0.5, math.nan, math.nan], [0.9, 0.1, 0.2]]
    assert rates.pick(GRID, losses, 0.05, 0.05) == [0.005, 0.05]


def test_an_arm_that_diverged_everywhere_gets_the_usual_rate() -> None:
    losses = [[math.inf, math.nan, math.nan], [0.3, 0.1, 0.2]]
    assert rates.pick(GRID, losses, 0.05, 0.05) == [0.05, 0.05]


def test_the_lstm_grid_spans_adams_usual_range() -> None:
    # from Adam's default (0.001) up to 0.01: above it the adding problem is solved or not from
    # seed to seed whatever the forget gate, and the comparison would leave the advice's range
    from biaslint.probe.spec import Surrogate

    grid = Surrogate("adding_lstm", (), ("default", None)).lr_grid()
    assert grid[0] == pytest.approx(0.001) and max(grid) == pytest.approx(0.01)
    assert len(grid) == 3 and list(grid) == sorted(grid)
    digits = Surrogate("digits_mlp", (), ("default", None)).lr_grid()
    assert digits == pytest.approx((0.005, 0.05, 0.5))
