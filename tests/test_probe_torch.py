"""The PyTorch probe backend: pairing of arms, reproducibility, the metrics, real models."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from torch import nn  # noqa: E402

from biaslint.probe.spec import Arm, ArmRun, BiasInit, Budget, Layer, Surrogate  # noqa: E402
from biaslint.probe.torch_backend import (  # noqa: E402
    LSTMNet,
    SurrogateNet,
    TorchBackend,
    bias_parameters,
    build,
)

BACKEND = TorchBackend()
SMALL = Budget(seeds=1, steps=30, batch_size=32, lr=0.05, log_every=10)
CNN = Surrogate(
    "digits_cnn",
    (Layer("conv", 8, "relu"), Layer("conv", 8, "relu"), Layer("dense", 32, "relu")),
    ("he_normal", None),
)
MLP = Surrogate("digits_mlp", (Layer("dense", 32, "relu"), Layer("dense", 32, "relu")), ("he_normal", None))


def arm(name: str, init: BiasInit, layers: int, output: BiasInit = ("zeros", 0.0)) -> Arm:
    return Arm(name, (*((i, init) for i in range(layers)), (-1, output)))


def weight_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def numbers(run: ArmRun) -> list[float]:
    return [
        run.loss_init,
        run.loss_final,
        run.accuracy if run.accuracy is not None else -1.0,
        run.dead_relu_frac if run.dead_relu_frac is not None else -1.0,
        run.grad_norm,
        *run.curve,
    ]


def test_backend_name() -> None:
    assert BACKEND.name == "torch"


def test_build_digits_cnn_shape() -> None:
    net = build(CNN, arm("a", ("zeros", 0.0), 3), 0)
    assert isinstance(net, SurrogateNet)
    assert [type(m) for m in net.hidden_layers] == [nn.Conv2d, nn.Conv2d, nn.Linear]
    assert net.output_layer.out_features == 10
    assert any(isinstance(m, nn.MaxPool2d) for m in net.modules())  # after the second conv
    # two convs with padding 1 and one pooling: 8 channels of 4x4 into the dense layer
    assert net.hidden_layers[2].in_features == 8 * 4 * 4
    assert net(torch.zeros(5, 1, 8, 8)).shape == (5, 10)


def test_weights_shared_across_arms_biases_are_not() -> None:
    zeros = build(CNN, arm("zeros", ("zeros", 0.0), 3), 7)
    ones = build(CNN, arm("ones", ("constant", 1.0), 3, output=("normal", 0.5)), 7)
    noisy = build(CNN, arm("noisy", ("normal", 0.1), 3), 7)
    for a, b, c in zip(weight_layers(zeros), weight_layers(ones), weight_layers(noisy)):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.weight, c.weight)
    hidden_z, hidden_o = zeros.hidden_layers, ones.hidden_layers
    assert all(torch.all(m.bias == 0) for m in hidden_z)
    assert all(torch.all(m.bias == 1) for m in hidden_o)
    assert not torch.equal(zeros.output_layer.bias, ones.output_layer.bias)
    # another seed, other weights (the equality above is not vacuous)
    other = build(CNN, arm("zeros", ("zeros", 0.0), 3), 8)
    assert not torch.equal(weight_layers(zeros)[0].weight, weight_layers(other)[0].weight)


def test_framework_default_biases_identical_across_arms_and_builds() -> None:
    default: BiasInit = ("default", None)
    a = build(MLP, Arm("d", ((0, default), (1, default), (-1, default))), 3)
    b = build(MLP, Arm("d", ((0, default), (1, ("ones", None)), (-1, default))), 3)
    assert torch.equal(a.hidden_layers[0].bias, b.hidden_layers[0].bias)
    assert torch.equal(a.output_layer.bias, b.output_layer.bias)
    assert a.hidden_layers[0].bias.abs().max() > 0  # PyTorch's U(-1/sqrt(fan_in), ...), not zeros
    assert torch.all(b.hidden_layers[1].bias == 1)


def test_random_bias_of_one_layer_independent_of_the_others() -> None:
    a = build(MLP, Arm("a", ((0, ("zeros", 0.0)), (1, ("normal", 0.2)))), 4)
    b = build(MLP, Arm("b", ((0, ("uniform", 0.3)), (1, ("normal", 0.2)))), 4)
    assert torch.equal(a.hidden_layers[1].bias, b.hidden_layers[1].bias)
    assert b.hidden_layers[0].bias.abs().max() <= 0.3
    std = a.hidden_layers[1].bias.std().item()
    assert 0.05 < std < 0.5


@pytest.mark.parametrize(
    "init",
    [
        ("truncated_normal", 0.1),
        ("normal", 0.05),
        ("uniform", 0.1),
        ("he_normal", None),
        ("glorot_uniform", None),
        ("default", None),
    ],
)
def test_weight_inits(init: tuple[str, float | None]) -> None:
    surrogate = Surrogate("digits_mlp", (Layer("dense", 64, "relu"),), init)
    net = build(surrogate, arm("a", ("zeros", 0.0), 1), 0)
    w = net.hidden_layers[0].weight
    kind = init[0]
    if kind == "truncated_normal":
        assert w.abs().max() <= 2 * 0.1 + 1e-6
        assert 0.05 < w.std().item() < 0.1
    elif kind == "uniform":
        assert w.abs().max() <= 0.1
    elif kind == "normal":
        assert 0.04 < w.std().item() < 0.06
    elif kind == "he_normal":
        assert w.std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.1)
    elif kind == "glorot_uniform":
        assert w.abs().max() <= math.sqrt(6 / (64 + 64)) + 1e-6


def test_unknown_inits_are_errors() -> None:
    with pytest.raises(ValueError, match="weight init"):
        build(Surrogate("digits_mlp", (), ("bogus", None)), Arm("a", ()), 0)
    with pytest.raises(ValueError, match="bias init"):
        build(MLP, Arm("a", ((0, ("bogus", 1.0)),)), 0)


def test_run_is_reproducible() -> None:
    first = BACKEND.run(CNN, arm("a", ("constant", 0.1), 3), 2, SMALL)
    second = BACKEND.run(CNN, arm("a", ("constant", 0.1), 3), 2, SMALL)
    assert numbers(first) == pytest.approx(numbers(second), abs=1e-6)
    other_seed = BACKEND.run(CNN, arm("a", ("constant", 0.1), 3), 3, SMALL)
    assert other_seed.loss_final != pytest.approx(first.loss_final, abs=1e-6)


def test_run_metrics_shape() -> None:
    run = BACKEND.run(CNN, arm("a", ("zeros", 0.0), 3), 0, SMALL)
    assert len(run.curve) == 3  # steps 0, 10, 20
    assert all(math.isfinite(v) for v in run.curve)
    assert run.accuracy is not None and 0.0 <= run.accuracy <= 1.0
    assert run.dead_relu_frac is not None and 0.0 <= run.dead_relu_frac <= 1.0
    assert math.isfinite(run.grad_norm) and run.grad_norm > 0
    assert run.loss_init == pytest.approx(math.log(10), rel=0.5)


def test_grad_norm_and_curve_start_at_the_first_batch() -> None:
    from biaslint.probe import data

    budget = Budget(steps=5, batch_size=16, log_every=2)
    a = arm("a", ("constant", 0.1), 2)
    run = BACKEND.run(MLP, a, 1, budget)
    net = build(MLP, a, 1)
    x, y = data.digits()[:2]
    first = torch.from_numpy(data.batch_indices(len(x), 16, 5, 1)[0])
    loss = nn.functional.cross_entropy(
        net(torch.from_numpy(x).reshape(-1, 64)[first]), torch.from_numpy(y)[first]
    )
    loss.backward()
    norm = math.sqrt(sum(float((p.grad**2).sum()) for p in net.parameters()))
    assert run.grad_norm == pytest.approx(norm, rel=1e-5)
    assert len(run.curve) == 3  # steps 0, 2, 4
    assert run.curve[0] == pytest.approx(loss.item(), rel=1e-5)


def test_bias_changes_loss_init_but_not_the_weights() -> None:
    a = BACKEND.run(MLP, arm("zeros", ("zeros", 0.0), 2), 0, SMALL)
    b = BACKEND.run(MLP, arm("ones", ("constant", 1.0), 2), 0, SMALL)
    assert a.loss_init != pytest.approx(b.loss_init, abs=1e-4)


def test_negative_bias_kills_relus() -> None:
    for surrogate in (CNN, MLP):
        layers = len(surrogate.hidden)
        dead = BACKEND.run(surrogate, arm("neg", ("constant", -5.0), layers), 0, Budget(steps=1))
        alive = BACKEND.run(surrogate, arm("zeros", ("zeros", 0.0), layers), 0, Budget(steps=1))
        assert dead.dead_relu_frac is not None and alive.dead_relu_frac is not None
        assert dead.dead_relu_frac > 0.9
        assert alive.dead_relu_frac < 0.5
        assert dead.dead_relu_frac > alive.dead_relu_frac


def test_no_relu_no_dead_fraction() -> None:
    surrogate = Surrogate("digits_mlp", (Layer("dense", 16, "tanh"),), ("glorot_uniform", None))
    run = BACKEND.run(surrogate, arm("a", ("zeros", 0.0), 1), 0, Budget(steps=2))
    assert run.dead_relu_frac is None


def test_training_reduces_loss_mlp_he() -> None:
    run = BACKEND.run(MLP, arm("zeros", ("zeros", 0.0), 2), 0, Budget(steps=100))
    assert run.loss_final < 0.5 * run.loss_init
    assert run.accuracy is not None and run.accuracy > 0.8


def test_sigmoid_head_is_binary() -> None:
    surrogate = Surrogate(
        "digits_mlp", (Layer("dense", 16, "relu"),), ("he_normal", None), n_out=1, output_activation="sigmoid"
    )
    net = build(surrogate, arm("a", ("zeros", 0.0), 1), 0)
    assert net.output_layer.out_features == 1
    run = BACKEND.run(surrogate, arm("a", ("zeros", 0.0), 1), 0, SMALL)
    assert run.loss_init == pytest.approx(math.log(2), rel=0.5)
    assert run.accuracy is not None and run.accuracy > 0.8  # about 90% are negatives


def test_bias_before_batchnorm_does_not_change_the_initial_loss() -> None:
    # Evaluation normalises with batch statistics, so the bias before BN is cancelled at init too.
    surrogate = Surrogate(
        "digits_cnn", (Layer("conv", 8, "batchnorm"), Layer("dense", 16, "batchnorm")), ("he_normal", None)
    )
    a = BACKEND.run(surrogate, arm("zeros", ("zeros", 0.0), 2), 0, Budget(steps=3))
    b = BACKEND.run(surrogate, arm("ones", ("constant", 1.0), 2), 0, Budget(steps=3))
    assert a.loss_init == pytest.approx(b.loss_init, abs=1e-5)
    assert a.dead_relu_frac == b.dead_relu_frac
    net = build(surrogate, arm("zeros", ("zeros", 0.0), 2), 0)
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in net.modules())


LSTM = Surrogate("adding_lstm", (), ("default", None), seq_len=20, hidden_size=8)


def test_lstm_forget_bias_is_set() -> None:
    net = build(LSTM, Arm("f1", (), forget_bias=1.0), 0)
    assert isinstance(net, LSTMNet)
    b_ih, b_hh = net.lstm.bias_ih_l0, net.lstm.bias_hh_l0
    assert torch.all(b_ih[8:16] == 1.0)
    assert torch.all(b_ih[:8] == 0) and torch.all(b_ih[16:] == 0) and torch.all(b_hh == 0)
    other = build(LSTM, Arm("f0", (), forget_bias=0.0), 0)
    assert torch.equal(net.lstm.weight_hh_l0, other.lstm.weight_hh_l0)
    assert torch.all(other.lstm.bias_ih_l0 == 0)


def test_lstm_arms_run() -> None:
    budget = Budget(steps=20, batch_size=32, log_every=5)
    runs = [BACKEND.run(LSTM, Arm("f", (), forget_bias=fb), 0, budget) for fb in (None, 0.0, 1.0)]
    for run in runs:
        assert run.accuracy is None and run.dead_relu_frac is None
        assert math.isfinite(run.loss_init) and math.isfinite(run.loss_final)
        assert math.isfinite(run.grad_norm) and len(run.curve) == 4
    assert runs[1].loss_init != runs[2].loss_init
    again = BACKEND.run(LSTM, Arm("f", (), forget_bias=1.0), 0, budget)
    assert numbers(again) == pytest.approx(numbers(runs[2]), abs=1e-6)


def small_cnn() -> nn.Module:
    torch.manual_seed(123)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 16),
        nn.ReLU(),
        nn.Linear(16, 5),
    )


def test_bias_parameters() -> None:
    model = small_cnn()
    expected = [("0.bias", "conv"), ("6.bias", "dense"), ("8.bias", "output")]
    assert bias_parameters(model) == expected
    assert BACKEND.bias_parameters(model, (1, 8, 8)) == expected


def test_bias_parameters_output_is_the_last_called() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(4, 3)  # registered first, called last
            self.body = nn.Linear(6, 4)
            self.unused = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.body(x)))

    kinds = dict(bias_parameters(Net(), (6,)))
    assert kinds == {"unused.bias": "dense", "body.bias": "dense", "head.bias": "output"}


def test_run_model_leaves_the_model_alone() -> None:
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    variant: dict[str, BiasInit] = {"all": ("constant", 0.5), "output": ("zeros", 0.0)}
    run = BACKEND.run_model(model, (1, 8, 8), variant, 0, Budget(steps=20, batch_size=32))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert model.training
    assert math.isfinite(run.loss_init) and math.isfinite(run.loss_final)
    assert run.loss_init == pytest.approx(math.log(5), rel=0.5)
    assert run.accuracy is not None and run.dead_relu_frac is not None
    assert math.isfinite(run.grad_norm) and run.grad_norm > 0
    again = BACKEND.run_model(model, (1, 8, 8), variant, 0, Budget(steps=20, batch_size=32))
    assert numbers(again) == pytest.approx(numbers(run), abs=1e-6)


def test_run_model_variants_act_on_the_biases() -> None:
    model = small_cnn()
    budget = Budget(steps=1)
    dead = BACKEND.run_model(
        model, (1, 8, 8), {"conv": ("constant", -5.0), "dense": ("constant", -5.0)}, 0, budget
    )
    zeros = BACKEND.run_model(model, (1, 8, 8), {"all": ("zeros", 0.0)}, 0, budget)
    untouched = BACKEND.run_model(model, (1, 8, 8), {}, 0, budget)
    assert dead.dead_relu_frac is not None and zeros.dead_relu_frac is not None
    # the first conv and the dense layer die; the conv without bias before BN does not
    assert dead.dead_relu_frac > zeros.dead_relu_frac + 0.3
    assert zeros.loss_init != pytest.approx(untouched.loss_init, abs=1e-6)
    with pytest.raises(ValueError, match="bias selection"):
        BACKEND.run_model(model, (1, 8, 8), {"hidden": ("zeros", 0.0)}, 0, budget)
