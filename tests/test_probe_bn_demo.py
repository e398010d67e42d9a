"""BIA201's demonstration in NumPy: batch norm cancels a bias placed straight before it."""

from __future__ import annotations

import numpy as np
import pytest

from biaslint.probe import bn_demo


@pytest.mark.parametrize("kind", ["conv", "dense", "linear"])
def test_bias_is_cancelled(kind: str) -> None:
    out = bn_demo.demo(kind, 0)
    assert set(out) == {"max_output_change", "bias_grad_norm"}
    assert 0.0 <= out["max_output_change"] <= 1e-10
    assert 0.0 <= out["bias_grad_norm"] <= 1e-10


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="conv or dense"):
        bn_demo.demo("lstm", 0)


@pytest.mark.parametrize("shape", [(16, 3, 3, 4), (32, 5)])
def test_gradient_matches_finite_differences(shape: tuple[int, ...]) -> None:
    """The backward pass is right in every direction, not only the bias's (where it is ~0)."""
    rng = np.random.RandomState(1)
    z = rng.standard_normal(shape)
    readout = rng.standard_normal((int(np.prod(shape[1:])), 4))
    direction = rng.standard_normal(shape)
    eps = 1e-6
    numeric = (bn_demo.loss(z + eps * direction, readout) - bn_demo.loss(z - eps * direction, readout)) / (
        2 * eps
    )
    analytic = float((bn_demo.loss_grad(z, readout) * direction).sum())
    assert abs(numeric) > 1e-3
    assert analytic == pytest.approx(numeric, rel=1e-5)


def test_without_the_norm_the_bias_would_matter() -> None:
    """The demonstration's ~0 is batch norm's doing: a per-channel shift leaves the normalised
    output alone, a per-example shift (not a bias) does not."""
    rng = np.random.RandomState(2)
    z = rng.standard_normal((8, 3))
    assert np.abs(bn_demo.normalise(z + np.array([1.0, -2.0, 3.0])) - bn_demo.normalise(z)).max() < 1e-12
    per_example = rng.standard_normal((8, 1))
    assert np.abs(bn_demo.normalise(z + per_example) - bn_demo.normalise(z)).max() > 0.1
