"""Runs trained side by side (``torch_stacked``) are the runs trained alone, up to rounding."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from biaslint.probe import torch_stacked  # noqa: E402
from biaslint.probe.spec import Arm, Budget, Layer, Surrogate  # noqa: E402

CNN = Surrogate(
    "digits_cnn",
    (Layer("conv", 8, "relu"), Layer("conv", 8, "batchnorm"), Layer("dense", 32, "relu")),
    ("he_normal", None),
)
MLP = Surrogate(
    "digits_mlp",
    (Layer("dense", 32, "relu"), Layer("dense", 32, "batchnorm")),
    ("glorot_uniform", None),
    n_out=1,
    output_activation="sigmoid",
)
BUDGET = Budget(steps=30, log_every=10)


def _arm(value: float, layers: int) -> Arm:
    return Arm(f"b{value}", (*tuple((i, ("constant", value)) for i in range(layers)), (-1, ("zeros", 0.0))))


def _alone(surrogate: Surrogate, member: torch_stacked.Member) -> object:
    return torch_stacked.train(surrogate, [member], BUDGET)[0]


@pytest.mark.parametrize("surrogate", [CNN, MLP], ids=["cnn", "mlp-sigmoid"])
def test_a_stack_is_its_members_trained_alone(surrogate: Surrogate) -> None:
    layers = len(surrogate.hidden)
    members = [
        torch_stacked.Member(_arm(0.0, layers), 0, 0.05),
        torch_stacked.Member(_arm(-0.5, layers), 1, 0.01),  # another arm, seed and rate
        torch_stacked.Member(_arm(0.1, layers), 2, 0.05),
    ]
    stacked = torch_stacked.train(surrogate, members, BUDGET)
    for member, together in zip(members, stacked):
        alone = _alone(surrogate, member)
        assert together.loss_init == pytest.approx(alone.loss_init, rel=1e-5)  # type: ignore[attr-defined]
        assert together.grad_norm == pytest.approx(alone.grad_norm, rel=1e-4)  # type: ignore[attr-defined]
        assert together.dead_relu_frac == alone.dead_relu_frac  # type: ignore[attr-defined]
        assert together.curve == pytest.approx(alone.curve, rel=1e-3)  # type: ignore[attr-defined]
        assert together.loss_final == pytest.approx(alone.loss_final, rel=1e-3)  # type: ignore[attr-defined]
    # the members really differ: a stack that trained one network M times would not
    assert len({round(r.loss_final, 6) for r in stacked}) == 3


def test_a_diverging_member_leaves_the_others_alone() -> None:
    layers = len(MLP.hidden)
    calm = torch_stacked.Member(_arm(0.0, layers), 3, 0.05)
    wild = torch_stacked.Member(_arm(0.0, layers), 3, 1e12)  # blows up at once
    together = torch_stacked.train(MLP, [wild, calm], BUDGET)
    assert not math.isfinite(together[0].loss_final) or together[0].loss_final > 1e3
    assert together[1].loss_final == pytest.approx(_alone(MLP, calm).loss_final, rel=1e-3)  # type: ignore[attr-defined]


def test_the_rate_is_each_members_own() -> None:
    layers = len(MLP.hidden)
    still = torch_stacked.train(MLP, [torch_stacked.Member(_arm(0.0, layers), 4, 0.0)], BUDGET)[0]
    assert still.loss_final == pytest.approx(still.loss_init, rel=1e-6)  # lr 0: nothing moves
