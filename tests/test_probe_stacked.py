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


@pytest.mark.parametrize("surrogate", [CNN, MLP], ids=["cnn", "mlp-sigmoid"])
def test_the_stack_computes_what_the_plain_network_computes(surrogate: Surrogate) -> None:
    # the reference is the nn.Sequential built for a run alone, in torch's default layout: a
    # stack that permuted channels (channels-last inputs, grouped convolutions, the flatten
    # before the dense layers) would give another held-out loss at init
    import torch.nn.functional as F

    from biaslint.probe import data
    from biaslint.probe.torch_backend import build

    arm = _arm(0.1, len(surrogate.hidden))
    stacked = torch_stacked.train(surrogate, [torch_stacked.Member(arm, 5, 0.05)], Budget(steps=1))[0]
    net = build(surrogate, arm, 5)
    binary = surrogate.output_activation == "sigmoid"
    _, _, x_test, y_test = data.digits(binary=binary)
    x = torch.from_numpy(x_test).reshape(
        len(x_test), *((1, 8, 8) if surrogate.task == "digits_cnn" else (64,))
    )
    net.train()  # batch norm on the batch's statistics, as the stack evaluates it
    with torch.no_grad():
        out = net(x)
    y = torch.from_numpy(y_test)
    if binary:
        expected = F.binary_cross_entropy_with_logits(out.reshape(-1), y.float().reshape(-1))
    else:
        expected = F.cross_entropy(out, y)
    assert stacked.loss_init == pytest.approx(float(expected), rel=1e-5)


def test_conv_inputs_are_channels_last() -> None:
    # oneDNN's grouped convolutions and pooling run about twice as fast channels-last (the
    # probe's 10 s per setup depends on it)
    task = torch_stacked._Task(CNN, 3)
    images = task.inputs(task.x_train[:16].unsqueeze(0).expand(3, -1, -1))
    assert images.shape == (16, 3, 8, 8)
    assert images.is_contiguous(memory_format=torch.channels_last)
